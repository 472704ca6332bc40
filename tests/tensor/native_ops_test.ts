/**
 * Each native non-GEMM kernel against the CPU reference kernel it replaces,
 * called directly on the same inputs: odd shapes, every fast path (same
 * shape, scalar operands, per-channel and trailing-vector broadcasts, rows
 * that collapse), the strided general case, int32/uint8 operands, and
 * special values (±0, ±Inf, NaN, subnormals). The native kernels do the
 * reference's float64 arithmetic in the same order, so the tolerance is
 * zero: every element must be bitwise equal (`Object.is`, so +0 ≠ −0 and
 * NaN = NaN). These kernels are plain TypeScript: they run with or without a
 * BLAS.
 */
import assert from "node:assert/strict";
import {
  add,
  cpuBackend,
  type DType,
  fromArray,
  getOp,
  gt,
  initNative,
  instanceNorm3d,
  leakyRelu,
  mul,
  permute,
  Rng,
  softmax,
  sum,
  type Tensor,
  transpose,
  type TypedArray,
  where,
} from "../../mod.ts";
import type { CpuArg, CpuKernel } from "../../tensor/op.ts";
import { collapse } from "../../tensor/native/layout.ts";

const rng = new Rng(16);
const SPECIAL = [0, -0, Infinity, -Infinity, NaN, 1e-40, -1e-40, 3.5, -3.5];

function array(dtype: DType, n: number): TypedArray {
  switch (dtype) {
    case "float32":
    case "float64": {
      const a = dtype === "float32" ? new Float32Array(n) : new Float64Array(n);
      for (let i = 0; i < n; i++) a[i] = i % 7 === 3 ? SPECIAL[(i * 5) % SPECIAL.length] : rng.normal() * 2;
      return a;
    }
    case "int32":
      return Int32Array.from({ length: n }, () => rng.int(-5, 5));
    case "uint8":
      return Uint8Array.from({ length: n }, () => rng.int(0, 2));
  }
}

function arg(shape: number[], dtype: DType = "float32"): CpuArg {
  return { data: array(dtype, shape.reduce((a, b) => a * b, 1)), shape, dtype };
}

/** Runs op `name`'s CPU and native kernels on `args` and asserts bitwise-equal outputs. */
function same(name: string, args: CpuArg[], params?: unknown): void {
  const op = getOp(name);
  const native = op.kernels.native as CpuKernel<unknown> | undefined;
  assert.ok(native, `${name} has a native kernel`);
  const out = op.infer(args, params);
  const want = op.cpu(args, params, out), got = native(args, params, out);
  const what = `${name} ${args.map((a) => `[${a.shape}] ${a.dtype}`).join(", ")} ${JSON.stringify(params) ?? ""}`;
  assert.equal(got.constructor, want.constructor, `${what}: array type`);
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) assert.fail(`${what}[${i}]: native ${got[i]}, cpu ${want[i]}`);
  }
}

Deno.test("collapse: a per-channel operand of NCDHW becomes 3 axes with one scalar per row", () => {
  const c = collapse([2, 8, 4, 4, 4], [[512, 64, 16, 4, 1], [0, 1, 0, 0, 0]]);
  assert.deepEqual(c.dims, [2, 8, 64]);
  assert.deepEqual(c.strides, [[512, 64, 1], [0, 1, 0]]);
  assert.deepEqual(collapse([1, 1], [[1, 1]]), { dims: [1], strides: [[0]] });
});

const UNARY = ["neg", "exp", "log", "sqrt", "abs", "sign", "relu", "erf", "gelu", "sigmoid", "tanh"];

Deno.test("native unary maps equal the CPU kernels bitwise (float32, float64, int32)", () => {
  for (const name of UNARY) {
    same(name, [arg([3, 5, 7])]);
    same(name, [arg([1])]);
    same(name, [arg([0, 3])]);
    same(name, [arg([2, 100])]);
    same(name, [arg([2, 9], "float64")]);
    same(name, [arg([4, 3], "int32")]);
  }
});

Deno.test("native leakyRelu and its VJP equal the CPU kernels bitwise, ±0, NaN, ±Inf and alpha outside [0, 1] included", () => {
  for (const alpha of [0.01, 0.2, 0, 2, -0.5]) {
    same("leakyRelu", [arg([3, 5, 7])], { alpha });
    same("leakyReluGrad", [arg([3, 5, 7]), arg([3, 5, 7])], { alpha });
  }
  const x: CpuArg = { data: Float32Array.from(SPECIAL), shape: [SPECIAL.length], dtype: "float32" };
  same("leakyRelu", [x], { alpha: 0.01 });
  same("leakyReluGrad", [arg([SPECIAL.length]), x], { alpha: 0.01 });
  same("leakyRelu", [arg([2, 3], "float64")], { alpha: 0.01 });
  same("leakyRelu", [arg([2, 3], "int32")], { alpha: 0.01 });
  same("leakyReluGrad", [arg([2, 3], "float64"), arg([2, 3])], { alpha: 0.01 });
});

Deno.test("native cast equals the CPU kernel between every dtype pair", () => {
  for (const from of ["float32", "float64", "int32", "uint8"] as const) {
    for (const to of ["float32", "float64", "int32", "uint8"] as const) {
      same("cast", [arg([3, 7], from)], { dtype: to });
    }
  }
});

/** Shape pairs covering each layout of the binary kernels. */
const LAYOUTS: [string, number[], number[]][] = [
  ["same shape", [3, 5, 7], [3, 5, 7]],
  ["scalar right", [3, 5, 7], []],
  ["scalar left", [], [3, 5, 7]],
  ["per-channel [1,C,1,1,1]", [2, 3, 2, 3, 5], [1, 3, 1, 1, 1]],
  ["trailing vector", [3, 5, 7], [7]],
  ["leading column", [3, 5, 7], [3, 1, 1]],
  ["both broadcast (outer product)", [3, 1, 7], [1, 5, 1]],
  ["rank mismatch", [5, 7], [2, 3, 5, 7]],
  ["broadcast innermost only", [5, 1], [5, 6]],
  ["extent-1 axes", [3, 1, 7], [1, 1, 7]],
  ["empty", [0, 4], [4]],
  ["single element", [1], [1, 1]],
  // Rows of 64 or more elements take the zero-offset view path.
  ["long rows, trailing vector", [3, 70], [70]],
  ["long rows, per-channel", [2, 3, 80], [1, 3, 1]],
  ["long rows, both offset", [3, 1, 70], [1, 4, 1]],
  ["long rows, scalar left", [], [2, 65]],
];
const BINARY = ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge"];

Deno.test("native binary ops equal the CPU kernels bitwise on every broadcast layout", () => {
  for (const name of BINARY) {
    for (const [, a, b] of LAYOUTS) same(name, [arg(a), arg(b)]);
  }
});

Deno.test("native binary ops on int32, uint8 and mixed dtypes equal the CPU kernels", () => {
  for (const name of BINARY) {
    same(name, [arg([3, 5], "int32"), arg([3, 5], "int32")]);
    same(name, [arg([3, 5], "int32"), arg([5], "float32")]);
    same(name, [arg([4, 1], "uint8"), arg([1, 6], "uint8")]);
    same(name, [arg([2, 3], "float64"), arg([], "float64")]);
  }
});

Deno.test("native where equals the CPU kernel with three-way broadcasting", () => {
  same("where", [arg([3, 5, 7], "uint8"), arg([3, 5, 7]), arg([3, 5, 7])]);
  same("where", [arg([3, 1, 7], "uint8"), arg([5, 1]), arg([])]);
  same("where", [arg([], "uint8"), arg([4]), arg([2, 4])]);
  same("where", [arg([2, 6], "uint8"), arg([2, 6], "int32"), arg([6], "int32")]);
  same("where", [arg([3, 1, 70], "uint8"), arg([1, 4, 70]), arg([4, 1])]);
});

const AXES = [[0], [1], [3], [0, 2], [1, 3], [1, 2], [0, 1, 2, 3], [0, 2, 3]];

Deno.test("native sum, max and min equal the CPU kernels bitwise over every axis pattern", () => {
  for (const name of ["sum", "max", "min"]) {
    for (const axes of AXES) {
      for (const keepdims of [false, true]) {
        same(name, [arg([2, 3, 4, 5])], { axes, keepdims });
        same(name, [arg([3, 1, 4, 1])], { axes, keepdims });
      }
    }
    same(name, [arg([7])], { axes: [0], keepdims: false });
    same(name, [arg([4, 5], "int32")], { axes: [1], keepdims: false });
    same(name, [arg([4, 5], "float64")], { axes: [0], keepdims: true });
  }
  same("sum", [arg([0, 3])], { axes: [0], keepdims: false });
  same("sum", [arg([4, 5], "uint8")], { axes: [0, 1], keepdims: false });
});

Deno.test("native softmax equals the CPU kernel bitwise along every axis", () => {
  for (let axis = 0; axis < 3; axis++) same("softmax", [arg([3, 4, 5])], { axis });
  same("softmax", [arg([2, 2, 3, 3, 3])], { axis: 1 });
  const withInf: CpuArg = {
    data: Float32Array.from([1, -Infinity, 2, 0, -Infinity, -Infinity]),
    shape: [2, 3],
    dtype: "float32",
  };
  same("softmax", [withInf], { axis: 1 });
  same("softmax", [arg([3, 4], "float64")], { axis: 0 });
});

Deno.test("native normalize and normalizeBackward equal the CPU kernels bitwise", () => {
  const finite = (shape: number[]): CpuArg => {
    const a = arg(shape), d = a.data;
    for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) d[i] = i % 3;
    return a;
  };
  for (const [shape, inner] of [[[3, 5, 7], 35], [[3, 5, 7], 7], [[2, 3, 3, 4, 5], 60], [[4], 4]] as const) {
    same("normalize", [finite([...shape])], { k: 1, eps: 1e-5, inner });
    same("normalizeBackward", [finite([...shape]), finite([...shape]), finite([...shape])], { inner, eps: 1e-5 });
  }
  same("normalize", [arg([3, 4], "float64")], { k: 1, eps: 1e-5, inner: 4 });
});

Deno.test("native permute, slice, flip and expand equal the CPU kernels", () => {
  for (const dtype of ["float32", "int32", "uint8"] as const) {
    for (const perm of [[0, 1, 3, 2], [3, 2, 1, 0], [1, 0, 2, 3], [0, 2, 3, 1], [2, 0, 1, 3]]) {
      same("permute", [arg([2, 3, 4, 5], dtype)], { perm });
    }
    same("permute", [arg([40, 33], dtype)], { perm: [1, 0] });
    same("slice", [arg([4, 5, 6], dtype)], { starts: [1, 0, 2], ends: [3, 5, 5] });
    same("slice", [arg([4, 5, 40], dtype)], { starts: [0, 1, 0], ends: [4, 4, 40] });
    same("slice", [arg([4, 5, 6], dtype)], { starts: [2, 1, 3], ends: [3, 2, 4] });
    for (const axes of [[0], [2], [0, 2], [0, 1, 2]]) same("flip", [arg([3, 4, 5], dtype)], { axes });
    same("flip", [arg([3, 40], dtype)], { axes: [1] });
    same("expand", [arg([1, 3, 1], dtype)], { shape: [2, 3, 4] });
    same("expand", [arg([], dtype)], { shape: [2, 2] });
    same("expand", [arg([3, 1], dtype)], { shape: [2, 3, 40] });
    same("expand", [arg([40], dtype)], { shape: [3, 40] });
  }
});

Deno.test("native pad and concat equal the CPU kernels, rows ending in extent 1 included", () => {
  for (const dtype of ["float32", "int32", "uint8"] as const) {
    for (const value of [0, 1.5]) {
      same("pad", [arg([2, 3, 4], dtype)], { before: [0, 1, 1], after: [1, 0, 2], value });
      same("pad", [arg([2, 3, 1], dtype)], { before: [0, 0, 2], after: [0, 0, 1], value });
      same("pad", [arg([2, 3, 40], dtype)], { before: [1, 1, 1], after: [1, 1, 1], value });
    }
    for (let axis = 0; axis < 3; axis++) {
      const shape = (k: number) => [2, 3, 4].map((d, i) => (i === axis ? d + k : d));
      same("concat", [arg(shape(0), dtype), arg(shape(1), dtype), arg(shape(3), dtype)], { axis });
    }
    same("concat", [arg([2, 40], dtype), arg([2, 40], dtype)], { axis: 1 });
  }
});

const native = initNative();

Deno.test({
  name: "native backend, through the public API: ops on permuted tensors equal the CPU backend's bitwise",
  ignore: native === null,
  fn: async () => {
    const f = (a: Tensor, b: Tensor, c: Tensor) => {
      const t = transpose(a); // [2, 3, 5, 4]
      const y = add(mul(t, b), leakyRelu(permute(c, [0, 2, 1, 3])));
      const z = instanceNorm3d(permute(y, [0, 1, 3, 2]).reshape([2, 3, 4, 5, 1]));
      return where(gt(z, 0), softmax(z, 1), sum(z, [2, 3], true));
    };
    const shapes = [[2, 3, 4, 5], [3, 1, 4], [2, 5, 3, 4]];
    const cpuIn = shapes.map((s) => fromArray(array("float32", s.reduce((a, b) => a * b, 1)), s, cpuBackend));
    const natIn = await Promise.all(cpuIn.map(async (t) => fromArray(await t.data(), [...t.shape], native!)));
    const want = await f(cpuIn[0], cpuIn[1], cpuIn[2]).data();
    const y = f(natIn[0], natIn[1], natIn[2]);
    assert.equal(y.backend, "native");
    const got = await y.data();
    assert.equal(got.length, want.length);
    for (let i = 0; i < want.length; i++) {
      if (!Object.is(got[i], want[i])) assert.fail(`[${i}]: native ${got[i]}, cpu ${want[i]}`);
    }
  },
});

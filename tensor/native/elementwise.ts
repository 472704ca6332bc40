/**
 * Native elementwise kernels: unary maps, broadcasting binary ops,
 * comparisons, `where`, `cast`, and the leaky ReLU pair.
 *
 * Why generated loops: the CPU reference applies one shared loop to a
 * per-element closure, a call site V8 sees with every op's closure and cannot
 * inline (~20 ns per element). Here each (op, operand layout, dtypes) gets
 * its own loop, built once with `new Function` from the op's expression in
 * the table below and cached, so V8 keeps separate, monomorphic type
 * feedback for every loop and compiles the expression into it. Writing the
 * same loops by hand would be 17 ops × 3 layouts × several dtype pairs of
 * near-identical code. The expressions are constants of this file, never
 * input. Each one is the CPU reference's scalar function written out (the
 * `f` passed to `unary`/`binary` in `tensor/ops/elementwise.ts`), evaluated
 * in float64 and stored into the output array, so results agree with the
 * CPU backend bit for bit.
 *
 * Layouts: operands are collapsed (`layout.ts`) and the innermost row reads
 * each operand either contiguously or as one hoisted scalar (a broadcast
 * axis, e.g. a per-channel `[1,C,1,1,1]` operand); outer axes are walked by
 * an odometer, once per row. Same-shape and scalar operands are one row.
 * @module
 */
import type { CpuArg, CpuKernel, OutputMeta, TypedArray } from "../kernel_types.ts";
import { allocArray } from "../dtype.ts";
import { broadcastStrides, sizeOf, stridesOf } from "../shape.ts";
import { erf } from "../special.ts";
import { type ActivationName, ACTIVATIONS } from "../activations.ts";
import { collapse, forEachRow } from "./layout.ts";

/** The activations' names, each bound in a generated loop as `act_<name>`: the table's own CPU function. */
const ACT_NAMES = Object.keys(ACTIVATIONS) as ActivationName[];

/**
 * The scalar expression of each op, in the operands `x`, `y`, `z` and the
 * parameters `p0`, `p1`; `erf` is the CPU reference's error function, and
 * the activations call their entry of the one activation table.
 */
const EXPRESSIONS: Record<string, string> = {
  ...Object.fromEntries(ACT_NAMES.map((n) => [n, `act_${n}(x)`])),
  neg: "-x",
  exp: "Math.exp(x)",
  log: "Math.log(x)",
  sqrt: "Math.sqrt(x)",
  abs: "Math.abs(x)",
  sign: "Math.sign(x)",
  leakyRelu: "x > 0 ? x : p0 * x",
  erf: "erf(x)",
  cast: "x",
  add: "x + y",
  sub: "x - y",
  mul: "x * y",
  div: "x / y",
  pow: "Math.pow(x, y)",
  maximum: "Math.max(x, y)",
  minimum: "Math.min(x, y)",
  eq: "x === y ? 1 : 0",
  ne: "x !== y ? 1 : 0",
  lt: "x < y ? 1 : 0",
  le: "x <= y ? 1 : 0",
  gt: "x > y ? 1 : 0",
  ge: "x >= y ? 1 : 0",
  leakyReluGrad: "y > 0 ? x : p0 * x",
  where: "x !== 0 ? y : z",
};

/**
 * How the innermost row reads an operand: 0 one hoisted scalar, 1 contiguous.
 * Nothing else occurs: the innermost collapsed axis is the output's last axis
 * of extent > 1, and an operand either broadcasts along it (stride 0) or has
 * only extent-1 axes after it (stride 1).
 */
type Mode = 0 | 1;

/**
 * A generated row loop: `r[ro + i] = expr(operands at i)` for i < n, where a
 * hoisted operand k reads `ops[k][offs[k]]` and the others `ops[k][offs[k] + i]`.
 */
type RowLoop = (
  r: TypedArray,
  ro: number,
  n: number,
  ops: readonly TypedArray[],
  offs: ArrayLike<number>,
  p0: number,
  p1: number,
) => void;

const VARS = ["x", "y", "z"];
const loops = new Map<string, RowLoop>();

/**
 * Rows at least this long are passed as zero-offset `subarray` views, so the
 * loop indexes every array with the bare counter `i` (V8 then drops the
 * offset arithmetic and most bounds checks: about 1.6× faster); shorter rows
 * keep the offsets, as a view costs more than the row.
 */
const VIEW_ROW = 64;

/** The cached loop of `expr` for operand modes and array types (the key keeps every loop monomorphic). */
function rowLoop(expr: string, modes: readonly Mode[], types: string, views: boolean): RowLoop {
  const key = `${expr}|${modes.join("")}|${types}|${views}`;
  let f = loops.get(key);
  if (f) return f;
  const head: string[] = [], body: string[] = [];
  const at = (base: string) => (views ? "" : `${base} + `);
  modes.forEach((m, k) => {
    head.push(`const a${k} = ops[${k}], o${k} = offs[${k}] | 0;`);
    if (m === 0) head.push(`const ${VARS[k]} = a${k}[o${k}];`);
    else body.push(`const ${VARS[k]} = a${k}[${at(`o${k}`)}i];`);
  });
  const src = `return function rowLoop(r, ro, n, ops, offs, p0, p1) {
    ro = ro | 0;
    n = n | 0;
    ${head.join("\n    ")}
    for (let i = 0; i < n; i++) {
      ${body.join(" ")}
      r[${at("ro")}i] = ${expr};
    }
  };`;
  f = new Function("erf", ...ACT_NAMES.map((n) => `act_${n}`), src)(
    erf,
    ...ACT_NAMES.map((n) => ACTIVATIONS[n].cpu),
  ) as RowLoop;
  loops.set(key, f);
  return f;
}

/** Runs `expr` over broadcast operands into a fresh array of the output's shape and dtype. */
function mapInto(expr: string, args: readonly CpuArg[], out: OutputMeta, p0 = 0, p1 = 0): TypedArray {
  const r = allocArray(out.dtype, sizeOf(out.shape));
  if (r.length === 0) return r;
  const strides = [stridesOf(out.shape), ...args.map((a) => broadcastStrides(a.shape, out.shape))];
  const c = collapse(out.shape, strides);
  const inner = c.dims.length - 1, n = c.dims[inner];
  const modes = args.map((_, k): Mode => {
    const step = c.strides[k + 1][inner];
    if (step !== 0 && step !== 1) throw new Error(`native ${expr}: innermost stride ${step} (expected 0 or 1)`);
    return step;
  });
  const types = [r, ...args.map((a) => a.data)].map((a) => a.constructor.name).join(",");
  const data = args.map((a) => a.data);
  const offs = new Int32Array(args.length);
  if (c.dims.length === 1) {
    rowLoop(expr, modes, types, true)(r, 0, n, data, offs, p0, p1);
    return r;
  }
  if (n < VIEW_ROW) {
    const loop = rowLoop(expr, modes, types, false);
    forEachRow(c, (o) => {
      for (let k = 0; k < args.length; k++) offs[k] = o[k + 1];
      loop(r, o[0], n, data, offs, p0, p1);
    });
    return r;
  }
  const loop = rowLoop(expr, modes, types, true);
  const ops = [...data];
  forEachRow(c, (o) => {
    for (let k = 0; k < args.length; k++) {
      const ok = o[k + 1];
      if (modes[k] === 0) offs[k] = ok;
      else ops[k] = ok === 0 ? data[k] : data[k].subarray(ok);
    }
    loop(o[0] === 0 ? r : r.subarray(o[0], o[0] + n), 0, n, ops, offs, p0, p1);
  });
  return r;
}

/**
 * The native kernel of the elementwise op `name`, or undefined when it has
 * none (the backend then runs the CPU reference kernel). `params` turns the
 * op's parameters into the expression's `p0`, `p1`.
 */
export function nativeElementwise<P>(
  name: string,
  params?: (p: P) => number[],
): CpuKernel<P> | undefined {
  const expr = EXPRESSIONS[name];
  if (expr === undefined) return undefined;
  if (name === "leakyRelu") return nativeLeakyRelu as CpuKernel<P>;
  if (name === "leakyReluGrad") return nativeLeakyReluGrad as CpuKernel<P>;
  return (args: CpuArg[], p: P, out: OutputMeta): TypedArray => {
    const [p0 = 0, p1 = 0] = params ? params(p) : [];
    return mapInto(expr, args, out, p0, p1);
  };
}

/**
 * 1 where float32 bits `b` are not `> 0` as a float (negative, ±0 or NaN), else 0,
 * without a branch: random signs would mispredict one branch in two.
 */
function notPositive(b: number): number {
  return ((b - 1) | b | (0x7f800000 - b)) >>> 31;
}

/** `x > 0 ? x : alpha·x` as `x · [1, alpha][notPositive(x)]`: the same product, branch-free. */
function nativeLeakyRelu([a]: CpuArg[], p: { alpha: number }, out: OutputMeta): TypedArray {
  if (a.dtype !== "float32" || out.dtype !== "float32") return mapInto(EXPRESSIONS.leakyRelu, [a], out, p.alpha);
  const x = a.data as Float32Array, n = x.length;
  const bits = new Int32Array(x.buffer, x.byteOffset, n);
  const scale = new Float64Array([1, p.alpha]);
  const r = new Float32Array(n);
  for (let i = 0; i < n; i++) r[i] = x[i] * scale[notPositive(bits[i])];
  return r;
}

/** `x > 0 ? g : alpha·g` (the leaky ReLU VJP), branch-free as above. */
function nativeLeakyReluGrad([g, a]: CpuArg[], p: { alpha: number }, out: OutputMeta): TypedArray {
  if (g.dtype !== "float32" || a.dtype !== "float32" || out.dtype !== "float32") {
    return mapInto(EXPRESSIONS.leakyReluGrad, [g, a], out, p.alpha);
  }
  const gd = g.data as Float32Array, x = a.data as Float32Array, n = x.length;
  const bits = new Int32Array(x.buffer, x.byteOffset, n);
  const scale = new Float64Array([1, p.alpha]);
  const r = new Float32Array(n);
  for (let i = 0; i < n; i++) r[i] = gd[i] * scale[notPositive(bits[i])];
  return r;
}

/**
 * WGSL reductions (sum, max, min, argmax, argmin over any axes), softmax,
 * constant padding, concatenation and one-hot encoding.
 * @module
 */
import { type Shape, sizeOf, stridesOf } from "../shape.ts";
import type { GpuBuffer } from "./context.ts";
import { type GpuArg, type GpuKernel, wgslType } from "./kernels.ts";

function head(out: string, inputs: string[]): string {
  let code = `@group(0) @binding(0) var<storage, read_write> out: array<${out}>;\n`;
  code += `@group(0) @binding(1) var<storage, read> info: array<u32>;\n`;
  inputs.forEach((t, j) => (code += `@group(0) @binding(${j + 2}) var<storage, read> in${j}: array<${t}>;\n`));
  return code +
    `@compute @workgroup_size(64)\nfn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {\n  let i = gid.y * nwg.x * 64u + gid.x;\n  if (i >= info[0]) { return; }\n`;
}

/** Meta words decoding index `i` over `shape` into an offset through `strides`. */
function decode(varName: string, idx: string, shapeAt: number, stridesAt: number, rank: number): string {
  return `  var ${varName}: u32 = 0u;\n  { var rem = ${idx};\n    for (var d: i32 = ${
    rank - 1
  }; d >= 0; d--) {\n      let ext = info[${shapeAt}u + u32(d)];\n      ${varName} += (rem % ext) * info[${stridesAt}u + u32(d)];\n      rem = rem / ext;\n    }\n  }\n`;
}

/** Reduction kinds. */
export type ReduceKind = "sum" | "max" | "min" | "argmax" | "argmin";

/** A reduction over `params.axes` of one input. */
export function gpuReduce(kind: ReduceKind): GpuKernel<{ axes: number[] }> {
  return (ctx, [a], p, out) => {
    const st = stridesOf(a.shape);
    const keptAxes = a.shape.map((_, i) => i).filter((i) => !p.axes.includes(i));
    const keptShape = keptAxes.map((i) => a.shape[i]), keptStrides = keptAxes.map((i) => st[i]);
    const redShape = p.axes.map((i) => a.shape[i]), redStrides = p.axes.map((i) => st[i]);
    const nOut = sizeOf(keptShape), nRed = sizeOf(redShape);
    const kr = keptShape.length, rr = redShape.length;
    const words = [nOut, nRed, ...keptShape, ...keptStrides, ...redShape, ...redStrides];
    const T = wgslType(a.dtype);
    const arg = kind === "argmax" || kind === "argmin";
    const acc = kind === "sum" ? (T === "f32" ? "f32" : "i32") : T;
    let code = head(wgslType(out.dtype), [T]);
    code += decode("base", "i", 2, 2 + kr, kr);
    const init = kind === "sum" ? `${acc}(0)` : `${acc}(in0[base])`;
    code += `  var acc: ${acc} = ${init};\n  var best: u32 = 0u;\n`;
    code += `  for (var r: u32 = 0u; r < info[1]; r++) {\n`;
    code += decode("off", "r", 2 + 2 * kr, 2 + 2 * kr + rr, rr).replaceAll("\n  ", "\n    ");
    code += `    let v = ${acc}(in0[base + off]);\n`;
    if (kind === "sum") code += `    acc += v;\n`;
    else {
      const better = kind === "max" || kind === "argmax" ? "v > acc" : "v < acc";
      // NaN wins, as in the CPU reference (v != v only for NaN).
      code += `    if (${better}${T === "f32" ? " || (v != v && acc == acc)" : ""}) { acc = v; best = r; }\n`;
    }
    code += `  }\n  out[i] = ${wgslType(out.dtype)}(${arg ? "best" : "acc"});\n}\n`;
    const o = ctx.alloc(Math.max(1, nOut) * 4);
    const m = ctx.meta(words);
    ctx.dispatch(code, [o, m, a.buffer], nOut);
    ctx.release(m);
    return o;
  };
}

/** Softmax along `params.axis`, one row per invocation, max-shifted. */
export const gpuSoftmax: GpuKernel<{ axis: number }> = (ctx, [a], p, out) => {
  const n = a.shape[p.axis], inner = sizeOf(a.shape.slice(p.axis + 1));
  const rows = sizeOf(a.shape) / Math.max(1, n);
  let code = head("f32", ["f32"]);
  code += `  let n = info[1]; let inner = info[2];\n  let base = (i / inner) * n * inner + i % inner;\n`;
  code += `  var m = -3.4e38;\n  for (var k: u32 = 0u; k < n; k++) { m = max(m, in0[base + k * inner]); }\n`;
  code += `  var s = 0.0;\n  for (var k: u32 = 0u; k < n; k++) { s += exp(in0[base + k * inner] - m); }\n`;
  code += `  for (var k: u32 = 0u; k < n; k++) { out[base + k * inner] = exp(in0[base + k * inner] - m) / s; }\n}\n`;
  const o = ctx.alloc(sizeOf(out.shape) * 4);
  const m = ctx.meta([rows, n, inner]);
  ctx.dispatch(code, [o, m, a.buffer], rows);
  ctx.release(m);
  return o;
};

/** Constant padding: each output element reads the input or takes the value. */
export const gpuPad: GpuKernel<{ before: number[]; value: number }> = (ctx, [a], p, out) => {
  const rank = out.shape.length, total = sizeOf(out.shape);
  const words = [total, rank, ...out.shape, ...a.shape, ...p.before, ...stridesOf(a.shape)];
  const T = wgslType(out.dtype);
  let code = head(T, [T]);
  code += `  var rem = i; var off: u32 = 0u; var inside = true;\n`;
  code += `  for (var d: i32 = ${
    rank - 1
  }; d >= 0; d--) {\n    let ext = info[2u + u32(d)];\n    let c = i32(rem % ext); rem = rem / ext;\n`;
  code += `    let ci = c - i32(info[${2 + 2 * rank}u + u32(d)]);\n    if (ci < 0 || ci >= i32(info[${
    2 + rank
  }u + u32(d)])) { inside = false; }\n`;
  code += `    off += u32(max(ci, 0)) * info[${2 + 3 * rank}u + u32(d)];\n  }\n`;
  code += `  out[i] = select(${T}(bitcast<f32>(info[${2 + 4 * rank}u])), in0[off], inside);\n}\n`;
  const o = ctx.alloc(total * 4);
  const m = ctx.meta(words, [p.value]);
  ctx.dispatch(code, [o, m, a.buffer], total);
  ctx.release(m);
  return o;
};

/** Writes `src` into `dst` (of `dstShape`) at `origin`, one dispatch. */
function copyBox(
  ctx: Parameters<GpuKernel<unknown>>[0],
  src: GpuArg,
  dst: GpuBuffer,
  dstShape: Shape,
  origin: number[],
) {
  const rank = dstShape.length, total = sizeOf(src.shape);
  if (!total) return;
  const T = wgslType(src.dtype);
  const words = [total, rank, ...src.shape, ...origin, ...stridesOf(dstShape)];
  let code = `@group(0) @binding(0) var<storage, read_write> out: array<${T}>;\n`;
  code +=
    `@group(0) @binding(1) var<storage, read> info: array<u32>;\n@group(0) @binding(2) var<storage, read> in0: array<${T}>;\n`;
  code +=
    `@compute @workgroup_size(64)\nfn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {\n`;
  code +=
    `  let i = gid.y * nwg.x * 64u + gid.x;\n  if (i >= info[0]) { return; }\n  var rem = i; var off: u32 = 0u;\n`;
  code += `  for (var d: i32 = ${rank - 1}; d >= 0; d--) {\n    let ext = info[2u + u32(d)];\n`;
  code += `    off += (rem % ext + info[${2 + rank}u + u32(d)]) * info[${
    2 + 2 * rank
  }u + u32(d)];\n    rem = rem / ext;\n  }\n`;
  code += `  out[off] = in0[i];\n}\n`;
  const m = ctx.meta(words);
  ctx.dispatch(code, [dst, m, src.buffer], total);
  ctx.release(m);
}

/** Concatenation: one copy dispatch per input. */
export const gpuConcat: GpuKernel<{ axis: number }> = (ctx, inputs, p, out) => {
  const o = ctx.alloc(sizeOf(out.shape) * 4);
  let at = 0;
  for (const t of inputs) {
    copyBox(ctx, t, o, out.shape, out.shape.map((_, i) => (i === p.axis ? at : 0)));
    at += t.shape[p.axis];
  }
  return o;
};

/** One-hot along a new last axis; indices outside [0, classes) give an all-zero row. */
export const gpuOneHot: GpuKernel<{ classes: number }> = (ctx, [a], p, out) => {
  const total = sizeOf(out.shape);
  const T = wgslType(out.dtype);
  let code = head(T, [wgslType(a.dtype)]);
  code += `  let c = info[1];\n  out[i] = select(${T}(0), ${T}(1), i32(in0[i / c]) == i32(i % c));\n}\n`;
  const o = ctx.alloc(total * 4);
  const m = ctx.meta([total, p.classes]);
  ctx.dispatch(code, [o, m, a.buffer], total);
  ctx.release(m);
  return o;
};

/**
 * Fused normalisation over rows of `inner` trailing elements: one dispatch
 * computes each row's mean and 1/√(var + eps) (two passes over the row), a
 * second writes (x − mean)·rstd for every element.
 */
export const gpuNormalize: GpuKernel<{ inner: number; eps: number }> = (ctx, [a], p, out) => {
  const total = sizeOf(a.shape), n = p.inner, rows = n ? total / n : 0;
  const stats = ctx.alloc(Math.max(1, rows) * 8);
  let code = `@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> info: array<u32>;
@group(0) @binding(2) var<storage, read> in0: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.y * nwg.x * 64u + gid.x;
  if (i >= info[0]) { return; }
  let n = info[1]; let base = i * n;
  var s = 0.0;
  for (var k: u32 = 0u; k < n; k++) { s += in0[base + k]; }
  let mu = s / f32(n);
  var v = 0.0;
  for (var k: u32 = 0u; k < n; k++) { let d = in0[base + k] - mu; v += d * d; }
  out[2u * i] = mu;
  out[2u * i + 1u] = inverseSqrt(v / f32(n) + bitcast<f32>(info[2]));
}
`;
  const m1 = ctx.meta([rows, n], [p.eps]);
  ctx.dispatch(code, [stats, m1, a.buffer], rows);
  ctx.release(m1);
  code = `@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> info: array<u32>;
@group(0) @binding(2) var<storage, read> in0: array<f32>;
@group(0) @binding(3) var<storage, read> st: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.y * nwg.x * 64u + gid.x;
  if (i >= info[0]) { return; }
  let row = i / info[1];
  out[i] = (in0[i] - st[2u * row]) * st[2u * row + 1u];
}
`;
  const o = ctx.alloc(total * 4);
  const m2 = ctx.meta([total, n]);
  ctx.dispatch(code, [o, m2, a.buffer, stats], total);
  ctx.release(m2);
  ctx.release(stats);
  return o;
};

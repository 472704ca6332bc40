/**
 * WGSL reductions (sum, max, min, argmax, argmin over any axes), softmax,
 * constant padding, concatenation and one-hot encoding.
 * @module
 */
import { sizeOf, stridesOf } from "../shape.ts";
import type { GpuBuffer, GpuContext } from "./context.ts";
import { type GpuArg, type GpuKernel, storageHead as head, wgslType } from "./kernels.ts";

/** Meta words decoding index `i` over `shape` into an offset through `strides`. */
function decode(varName: string, idx: string, shapeAt: number, stridesAt: number, rank: number): string {
  return `  var ${varName}: u32 = 0u;\n  { var rem = ${idx};\n    for (var d: i32 = ${
    rank - 1
  }; d >= 0; d--) {\n      let ext = info[${shapeAt}u + u32(d)];\n      ${varName} += (rem % ext) * info[${stridesAt}u + u32(d)];\n      rem = rem / ext;\n    }\n  }\n`;
}

/**
 * Sums `chunks` partial results of `total` values each, laid out
 * chunk-major in `partial` (released here); one chunk is returned as is.
 */
export function sumChunks(ctx: GpuContext, partial: GpuBuffer, chunks: number, total: number): GpuBuffer {
  if (chunks === 1) return partial;
  const summed = gpuReduce("sum")(ctx, [{ buffer: partial, shape: [chunks, total], dtype: "float32" }], { axes: [0] }, {
    shape: [total],
    dtype: "float32",
  });
  ctx.release(partial);
  return summed;
}

/** Reduction kinds. */
export type ReduceKind = "sum" | "max" | "min" | "argmax" | "argmin";

/**
 * Longest loop one invocation may run. Software adapters built on Mesa's
 * gallivm (llvmpipe, lavapipe) end any shader after about 65,535 loop
 * iterations per invocation, counting nested loops together, and return
 * whatever was computed by then; kernels split longer work (measured: a loop
 * of 200,000 additions returns 65,535). The margin covers nested overhead.
 */
export const LOOP_LIMIT = 16384;

/**
 * Throws, naming the op, when one invocation would loop more than the
 * adapter allows (the result would be silently truncated otherwise).
 */
export function checkLoop(ctx: GpuContext, iterations: number, what: string): void {
  if (ctx.loopLimited && iterations > 60000) {
    throw new Error(
      `${ctx.label}: ${what} needs ${iterations} loop iterations in one shader invocation; ` +
        `this adapter (${ctx.description}) stops shaders after about 65,535`,
    );
  }
}

/**
 * A reduction over `params.axes` of one input. Reductions longer than
 * LOOP_LIMIT run in two stages: partial results over chunks, then a
 * reduction of the partials.
 */
export function gpuReduce(kind: ReduceKind): GpuKernel<{ axes: number[] }> {
  return (ctx, [a], p, out) => {
    const st = stridesOf(a.shape);
    const keptAxes = a.shape.map((_, i) => i).filter((i) => !p.axes.includes(i));
    const keptShape = keptAxes.map((i) => a.shape[i]), keptStrides = keptAxes.map((i) => st[i]);
    const redShape = p.axes.map((i) => a.shape[i]), redStrides = p.axes.map((i) => st[i]);
    const nOut = sizeOf(keptShape), nRed = sizeOf(redShape);
    const kr = keptShape.length, rr = redShape.length;
    const chunks = Math.max(1, Math.ceil(nRed / LOOP_LIMIT));
    // info: [invocations, nRed, chunks, chunk length, kept shape, kept strides, reduced shape, reduced strides]
    const words = [nOut * chunks, nRed, chunks, LOOP_LIMIT, ...keptShape, ...keptStrides, ...redShape, ...redStrides];
    const T = wgslType(a.dtype);
    const arg = kind === "argmax" || kind === "argmin";
    const acc = kind === "sum" ? (T === "f32" ? "f32" : "i32") : T;
    const final = chunks === 1;
    const outT = final ? wgslType(out.dtype) : acc;
    let code = head(outT, [T]);
    if (arg && !final) {
      code = code.replace(
        "@group(0) @binding(2)",
        "@group(0) @binding(3) var<storage, read_write> best_out: array<u32>;\n@group(0) @binding(2)",
      );
    }
    code += `  let oi = i / info[2]; let r0 = (i % info[2]) * info[3]; let r1 = min(info[1], r0 + info[3]);\n`;
    code += decode("base", "oi", 4, 4 + kr, kr);
    code += decode("off0", "r0", 4 + 2 * kr, 4 + 2 * kr + rr, rr);
    const init = kind === "sum" ? `${acc}(0)` : `${acc}(in0[base + off0])`;
    code += `  var acc: ${acc} = ${init};\n  var best: u32 = r0;\n`;
    code += `  for (var r: u32 = r0; r < r1; r++) {\n`;
    code += decode("off", "r", 4 + 2 * kr, 4 + 2 * kr + rr, rr).replaceAll("\n  ", "\n    ");
    code += `    let v = ${acc}(in0[base + off]);\n`;
    if (kind === "sum") code += `    acc += v;\n`;
    else {
      const better = kind === "max" || kind === "argmax" ? "v > acc" : "v < acc";
      // NaN wins, as in the CPU reference (v != v only for NaN).
      code += `    if (${better}${T === "f32" ? " || (v != v && acc == acc)" : ""}) { acc = v; best = r; }\n`;
    }
    if (final) code += `  }\n  out[i] = ${outT}(${arg ? "best" : "acc"});\n}\n`;
    else code += `  }\n  out[i] = acc;\n${arg ? "  best_out[i] = best;\n" : ""}}\n`;
    const o = ctx.alloc(Math.max(1, nOut * chunks) * 4);
    const bestBuf = arg && !final ? ctx.alloc(nOut * chunks * 4) : null;
    const m = ctx.meta(words);
    ctx.dispatch(code, [o, m, a.buffer, ...(bestBuf ? [bestBuf] : [])], nOut * chunks);
    ctx.release(m);
    if (final) return o;
    // Stage 2: reduce the [nOut, chunks] partials.
    const partialDtype = acc === "f32" ? "float32" : acc === "i32" ? "int32" : a.dtype;
    const partial: GpuArg = { buffer: o, shape: [nOut, chunks], dtype: partialDtype };
    if (!arg) {
      const r = gpuReduce(kind)(ctx, [partial], { axes: [1] }, out);
      ctx.release(o);
      return r;
    }
    const better = kind === "argmax" ? "v > bv" : "v < bv";
    let code2 = head(wgslType(out.dtype), [acc, "u32"]);
    code2 += `  let c = info[1];\n  var bv = in0[i * c]; var bi = in1[i * c];\n`;
    code2 += `  for (var k: u32 = 1u; k < c; k++) {\n    let v = in0[i * c + k];\n`;
    code2 += `    if (${better}${
      T === "f32" ? " || (v != v && bv == bv)" : ""
    }) { bv = v; bi = in1[i * c + k]; }\n  }\n`;
    code2 += `  out[i] = ${wgslType(out.dtype)}(bi);\n}\n`;
    const r = ctx.alloc(Math.max(1, nOut) * 4);
    const m2 = ctx.meta([nOut, chunks]);
    ctx.dispatch(code2, [r, m2, o, bestBuf!], nOut);
    ctx.release(m2);
    ctx.release(o);
    ctx.release(bestBuf!);
    return r;
  };
}

/** Softmax along `params.axis`, one row per invocation, max-shifted. */
export const gpuSoftmax: GpuKernel<{ axis: number }> = (ctx, [a], p, out) => {
  const n = a.shape[p.axis], inner = sizeOf(a.shape.slice(p.axis + 1));
  if (3 * n > LOOP_LIMIT) {
    throw new Error(
      `softmax: an axis of ${n} is longer than the WebGPU kernel's loop limit (${Math.floor(LOOP_LIMIT / 3)})`,
    );
  }
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

/** Concatenation: one copy dispatch per input. */
export const gpuConcat: GpuKernel<{ axis: number }> = (ctx, inputs, p, out) => {
  const o = ctx.alloc(sizeOf(out.shape) * 4);
  // Each input is a block of `inner` elements in each of `outer` rows of the output: one division per element.
  const outer = sizeOf(out.shape.slice(0, p.axis)), dstRow = sizeOf(out.shape.slice(p.axis));
  const step = sizeOf(out.shape.slice(p.axis + 1));
  let at = 0;
  for (const t of inputs) {
    const total = sizeOf(t.shape), inner = outer ? total / outer : 0;
    if (total) {
      const T = wgslType(t.dtype);
      const code = `${head(T, [T])}  out[(i / info[1]) * info[2] + info[3] + i % info[1]] = in0[i];
}
`;
      const m = ctx.meta([total, inner, dstRow, at * step]);
      ctx.dispatch(code, [o, m, t.buffer], total);
      ctx.release(m);
    }
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
 * How rows of `n` elements are read: as vec4 when `n` is a multiple of 4
 * (chunk lengths are then multiples of 4 too, and indices count vec4s), else
 * as scalars; `sum(x)` adds the lanes of an accumulator.
 */
function rowLanes(n: number): { v: number; E: string; sum: (x: string) => string } {
  const v = n % 4 === 0 ? 4 : 1;
  return { v, E: v === 4 ? "vec4<f32>" : "f32", sum: (x) => (v === 4 ? `dot(${x}, vec4<f32>(1.0))` : x) };
}

/** Per-row [mean, 1/√(var + eps)] of `a` read as rows of `inner` elements (two passes per chunk, Chan merge). */
function rowStats(ctx: GpuContext, a: GpuArg, inner: number, eps: number): GpuBuffer {
  const total = sizeOf(a.shape), n = inner, rows = n ? total / n : 0;
  const chunk = Math.floor(LOOP_LIMIT / 2), chunks = Math.max(1, Math.ceil(n / chunk));
  const stats = ctx.alloc(Math.max(1, rows) * 8);
  const partial = ctx.alloc(Math.max(1, rows * chunks) * 12);
  const { v, E, sum: red } = rowLanes(n);
  let code = `${head("f32", [E])}
  let n = info[1]; let chunks = info[2]; let len = info[3];
  let row = i / chunks; let k0 = (i % chunks) * len; let k1 = min(n, k0 + len);
  let base = row * n;
  var s = ${E}(0.0);
  for (var k: u32 = k0; k < k1; k++) { s += in0[base + k]; }
  let cnt = f32(k1 - k0) * ${v}.0;
  let mu = ${red("s")} / cnt;
  var s2 = ${E}(0.0);
  for (var k: u32 = k0; k < k1; k++) { let d = in0[base + k] - mu; s2 += d * d; }
  let m2 = ${red("s2")};
  out[3u * i] = cnt; out[3u * i + 1u] = mu; out[3u * i + 2u] = m2;
}
`;
  const m1 = ctx.meta([rows * chunks, n / v, chunks, chunk / v]);
  ctx.dispatch(code, [partial, m1, a.buffer], rows * chunks);
  ctx.release(m1);
  code = `${head("f32", ["f32"])}
  let chunks = info[1];
  var cnt = in0[3u * i * chunks]; var mu = in0[3u * i * chunks + 1u]; var m2 = in0[3u * i * chunks + 2u];
  for (var c: u32 = 1u; c < chunks; c++) {
    let j = 3u * (i * chunks + c);
    let nb = in0[j]; let d = in0[j + 1u] - mu; let tot = cnt + nb;
    mu += d * nb / tot;
    m2 += in0[j + 2u] + d * d * cnt * nb / tot;
    cnt = tot;
  }
  out[2u * i] = mu;
  out[2u * i + 1u] = inverseSqrt(m2 / cnt + bitcast<f32>(info[2]));
}
`;
  const m2 = ctx.meta([rows, chunks], [eps]);
  ctx.dispatch(code, [stats, m2, partial], rows);
  ctx.release(m2);
  ctx.release(partial);
  return stats;
}

/**
 * Fused normalisation over rows of `inner` trailing elements: one dispatch
 * computes each row's mean and 1/√(var + eps), a second writes
 * (x − mean)·rstd for every element. Rows longer than the loop limit get
 * their statistics in chunks (count, mean, M2 each, two passes over the
 * chunk), merged per row with Chan et al.'s pairwise update.
 */
export const gpuNormalize: GpuKernel<{ inner: number; eps: number }> = (ctx, [a], p) => {
  const total = sizeOf(a.shape), n = p.inner;
  const stats = rowStats(ctx, a, n, p.eps);
  const { v, E } = rowLanes(n);
  // in0 x, in1 the row statistics [mean, rstd].
  const code = `${head(E, [E, "f32"])}
  let row = i / info[1];
  out[i] = (in0[i] - in1[2u * row]) * in1[2u * row + 1u];
}
`;
  const o = ctx.alloc(total * 4);
  const m3 = ctx.meta([total / v, n / v]);
  ctx.dispatch(code, [o, m3, a.buffer, stats], total / v);
  ctx.release(m3);
  ctx.release(stats);
  return o;
};

/**
 * The normalize VJP in one pass structure: row statistics of x (as the
 * forward), per-row means of g and g·x̂ (chunked partial sums, then a
 * per-row merge), and dx = rstd·(g − mean(g) − x̂·mean(g·x̂)) per element.
 */
export const gpuNormalizeBackward: GpuKernel<{ inner: number; eps: number }> = (ctx, [x, y, g], p) => {
  const total = sizeOf(x.shape), n = p.inner, rows = n ? total / n : 0;
  const stats = rowStats(ctx, x, n, p.eps);
  const chunk = LOOP_LIMIT, chunks = Math.max(1, Math.ceil(n / chunk));
  const partial = ctx.alloc(Math.max(1, rows * chunks) * 8);
  const { v, E, sum: red } = rowLanes(n);
  // in0 x̂, in1 g: per (row, chunk) the sums of g and g·x̂.
  let code = `${head("f32", [E, E])}
  let n = info[1]; let chunks = info[2]; let len = info[3];
  let row = i / chunks; let k0 = (i % chunks) * len; let k1 = min(n, k0 + len);
  let base = row * n;
  var sg = ${E}(0.0); var sgy = ${E}(0.0);
  for (var k: u32 = k0; k < k1; k++) { let gk = in1[base + k]; sg += gk; sgy += gk * in0[base + k]; }
  out[2u * i] = ${red("sg")}; out[2u * i + 1u] = ${red("sgy")};
}
`;
  const m1 = ctx.meta([rows * chunks, n / v, chunks, chunk / v]);
  ctx.dispatch(code, [partial, m1, y.buffer, g.buffer], rows * chunks);
  ctx.release(m1);
  const means = ctx.alloc(Math.max(1, rows) * 8);
  code = `${head("f32", ["f32"])}
  let chunks = info[1];
  var sg = 0.0; var sgy = 0.0;
  for (var c: u32 = 0u; c < chunks; c++) { sg += in0[2u * (i * chunks + c)]; sgy += in0[2u * (i * chunks + c) + 1u]; }
  let n = f32(info[2]);
  out[2u * i] = sg / n; out[2u * i + 1u] = sgy / n;
}
`;
  const m2 = ctx.meta([rows, chunks, n]);
  ctx.dispatch(code, [means, m2, partial], rows);
  ctx.release(m2);
  ctx.release(partial);
  // in0 x̂, in1 g, in2 [mean, rstd], in3 [mean(g), mean(g·x̂)].
  code = `${head(E, [E, E, "f32", "f32"])}
  let row = i / info[1];
  out[i] = in2[2u * row + 1u] * (in1[i] - in3[2u * row] - in0[i] * in3[2u * row + 1u]);
}
`;
  const o = ctx.alloc(total * 4);
  const m3 = ctx.meta([total / v, n / v]);
  ctx.dispatch(code, [o, m3, y.buffer, g.buffer, stats, means], total / v);
  ctx.release(m3);
  ctx.release(stats);
  ctx.release(means);
  return o;
};

/**
 * CPU kernels for the NN primitives that are not compositions: softmax along
 * an axis and one-hot encoding.
 * @module
 */
import type { CpuArg, OutputMeta } from "../kernel_types.ts";
import { allocArray, type TypedArray } from "../dtype.ts";
import { sizeOf } from "../shape.ts";

/** Numerically stable softmax along `axis` (max-shifted). */
export function softmaxKernel([a]: CpuArg[], p: { axis: number }, out: OutputMeta): TypedArray {
  const n = a.shape[p.axis];
  const inner = sizeOf(a.shape.slice(p.axis + 1));
  const outer = sizeOf(a.shape.slice(0, p.axis));
  const x = a.data;
  const r = allocArray(out.dtype, x.length);
  const e = new Float64Array(n);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      let m = -Infinity;
      for (let k = 0; k < n; k++) m = Math.max(m, x[base + k * inner]);
      let s = 0;
      for (let k = 0; k < n; k++) s += e[k] = Math.exp(x[base + k * inner] - m);
      for (let k = 0; k < n; k++) r[base + k * inner] = e[k] / s;
    }
  }
  return r;
}

/** One-hot along a new last axis; throws on an index outside `[0, classes)`. */
export function oneHotKernel([a]: CpuArg[], p: { classes: number }, out: OutputMeta): TypedArray {
  const r = allocArray(out.dtype, a.data.length * p.classes);
  for (let i = 0; i < a.data.length; i++) {
    const c = a.data[i];
    if (c < 0 || c >= p.classes) {
      throw new RangeError(`oneHot: index ${c} at element ${i} is outside [0, ${p.classes})`);
    }
    r[i * p.classes + c] = 1;
  }
  return r;
}

/** `(x − mean) / √(var + eps)` over each row of `inner` trailing elements (biased variance, two passes). */
export function normalizeKernel([a]: CpuArg[], p: { inner: number; eps: number }, out: OutputMeta): TypedArray {
  const x = a.data, n = p.inner, rows = n ? x.length / n : 0;
  const r = allocArray(out.dtype, x.length);
  for (let row = 0; row < rows; row++) {
    const base = row * n;
    let s = 0;
    for (let i = 0; i < n; i++) s += x[base + i];
    const mu = s / n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (x[base + i] - mu) ** 2;
    const rstd = 1 / Math.sqrt(v / n + p.eps);
    for (let i = 0; i < n; i++) r[base + i] = (x[base + i] - mu) * rstd;
  }
  return r;
}

/**
 * The normalize VJP fused: per row of `inner` elements, with r = 1/√(var(x) + eps)
 * and x̂ the forward output, dx = r·(g − mean(g) − x̂·mean(g·x̂)).
 */
export function normalizeBackwardKernel(
  [xa, ya, ga]: CpuArg[],
  p: { inner: number; eps: number },
  out: OutputMeta,
): TypedArray {
  const x = xa.data, y = ya.data, g = ga.data, n = p.inner, rows = n ? x.length / n : 0;
  const r = allocArray(out.dtype, x.length);
  for (let row = 0; row < rows; row++) {
    const base = row * n;
    let s = 0;
    for (let i = 0; i < n; i++) s += x[base + i];
    const mu = s / n;
    let v = 0, sg = 0, sgy = 0;
    for (let i = 0; i < n; i++) {
      v += (x[base + i] - mu) ** 2;
      sg += g[base + i];
      sgy += g[base + i] * y[base + i];
    }
    const rstd = 1 / Math.sqrt(v / n + p.eps), mg = sg / n, mgy = sgy / n;
    for (let i = 0; i < n; i++) r[base + i] = rstd * (g[base + i] - mg - y[base + i] * mgy);
  }
  return r;
}

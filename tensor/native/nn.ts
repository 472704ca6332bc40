/**
 * Native softmax, normalize (instance and layer norm) and its fused VJP on
 * float32 arrays. Each does the CPU reference kernel's float64 arithmetic in
 * the same order, so the results agree bit for bit; the gain is monomorphic
 * loops and, in the VJP, one pass fewer. Softmax costs what its `Math.exp`
 * calls cost; normalize's sums are chains of dependent additions. (Four
 * interleaved partial sums would break the chains, but not bitwise, and V8's
 * bounds checks on `x[i + k]` made them slower here.) Other dtypes run the
 * CPU reference kernels.
 * @module
 */
import type { CpuArg, OutputMeta, TypedArray } from "../kernel_types.ts";
import { sizeOf } from "../shape.ts";
import { normalizeBackwardKernel, normalizeKernel, softmaxKernel } from "../cpu/nn.ts";

/**
 * Softmax along `axis`, max-shifted. Per output, as in the reference:
 * m = max_k x_k, s = Σ_k e_k with e_k = exp(x_k − m) summed in k order, y_k = e_k / s.
 */
export function nativeSoftmax(inputs: CpuArg[], p: { axis: number }, out: OutputMeta): TypedArray {
  const [a] = inputs;
  if (a.dtype !== "float32") return softmaxKernel(inputs, p, out);
  const n = a.shape[p.axis];
  const inner = sizeOf(a.shape.slice(p.axis + 1));
  const outer = sizeOf(a.shape.slice(0, p.axis));
  const x = a.data as Float32Array;
  const r = new Float32Array(x.length);
  const e = new Float64Array(n);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      let m = -Infinity, s = 0;
      for (let k = 0, q = base; k < n; k++, q += inner) m = Math.max(m, x[q]);
      for (let k = 0, q = base; k < n; k++, q += inner) s += e[k] = Math.exp(x[q] - m);
      for (let k = 0, q = base; k < n; k++, q += inner) r[q] = e[k] / s;
    }
  }
  return r;
}

/** `(x − mean) / √(var + eps)` over rows of `inner` elements: the reference's two passes, then the write. */
export function nativeNormalize(inputs: CpuArg[], p: { inner: number; eps: number }, out: OutputMeta): TypedArray {
  const [a] = inputs;
  if (a.dtype !== "float32") return normalizeKernel(inputs, p, out);
  const x = a.data as Float32Array, n = p.inner, rows = n ? x.length / n : 0;
  const r = new Float32Array(x.length);
  for (let row = 0; row < rows; row++) {
    const base = row * n, end = base + n;
    let s = 0;
    for (let i = base; i < end; i++) s += x[i];
    const mu = s / n;
    let v = 0;
    for (let i = base; i < end; i++) v += (x[i] - mu) ** 2;
    const rstd = 1 / Math.sqrt(v / n + p.eps);
    for (let i = base; i < end; i++) r[i] = (x[i] - mu) * rstd;
  }
  return r;
}

/**
 * The normalize VJP, dx = r·(g − mean(g) − x̂·mean(g·x̂)) per row, with the
 * sums of g and g·x̂ moved into the first pass (each sum keeps its order).
 */
export function nativeNormalizeBackward(
  inputs: CpuArg[],
  p: { inner: number; eps: number },
  out: OutputMeta,
): TypedArray {
  const [xa, ya, ga] = inputs;
  if (inputs.some((t) => t.dtype !== "float32")) return normalizeBackwardKernel(inputs, p, out);
  const x = xa.data as Float32Array, y = ya.data as Float32Array, g = ga.data as Float32Array;
  const n = p.inner, rows = n ? x.length / n : 0;
  const r = new Float32Array(x.length);
  for (let row = 0; row < rows; row++) {
    const base = row * n, end = base + n;
    let s = 0, sg = 0, sgy = 0;
    for (let i = base; i < end; i++) {
      const gi = g[i];
      s += x[i];
      sg += gi;
      sgy += gi * y[i];
    }
    const mu = s / n;
    let v = 0;
    for (let i = base; i < end; i++) v += (x[i] - mu) ** 2;
    const rstd = 1 / Math.sqrt(v / n + p.eps), mg = sg / n, mgy = sgy / n;
    for (let i = base; i < end; i++) r[i] = rstd * (g[i] - mg - y[i] * mgy);
  }
  return r;
}

/**
 * The native fused Adam/AdamW (and AMSGrad) update. It performs the CPU
 * backend's sequence of float32 operations (`tensor/cpu/backend.ts`: a
 * `Math.fround` after every operation, in the order of the composed ops), so
 * all three paths agree bit for bit. The weight-decay form and AMSGrad are
 * decided once per call, outside the loops, and each loop touches only the
 * arrays it needs.
 * @module
 */
import type { AdamHandles, AdamHyper } from "../kernel_types.ts";

const f = Math.fround;

/** One update of a float32 parameter of `size` elements; returns fresh p, m, v (and vmax). */
export function nativeAdamUpdate(s: AdamHandles, size: number, h: AdamHyper): AdamHandles {
  const p = s.p as Float32Array, g = s.g as Float32Array, m = s.m as Float32Array, v = s.v as Float32Array;
  const vmax = s.vmax as Float32Array | undefined;
  const P = new Float32Array(size), M = new Float32Array(size), V = new Float32Array(size);
  const decay = f(1 - h.lr * h.wd), c1 = f(1 - h.b1), c2 = f(1 - h.b2), b2 = f(h.b2), wd = f(h.wd);
  const eps = f(h.eps), bc2 = f(h.bc2Sqrt), step = f(h.stepSize);
  // 0: no decay, 1: decoupled (AdamW) decay of p, 2: L2 decay added to g.
  const mode = h.wd === 0 ? 0 : h.decoupled ? 1 : 2;
  if (vmax) {
    const VM = new Float32Array(size);
    amsgradLoop(p, g, m, v, vmax, P, M, V, VM, size, mode, decay, wd, c1, c2, b2, eps, bc2, step);
    return { p: P, m: M, v: V, vmax: VM };
  }
  adamLoop(p, g, m, v, P, M, V, size, mode, decay, wd, c1, c2, b2, eps, bc2, step);
  return { p: P, m: M, v: V };
}

function adamLoop(
  p: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  P: Float32Array,
  M: Float32Array,
  V: Float32Array,
  size: number,
  mode: number,
  decay: number,
  wd: number,
  c1: number,
  c2: number,
  b2: number,
  eps: number,
  bc2: number,
  step: number,
): void {
  for (let i = 0; i < size; i++) {
    let pi = p[i], gi = g[i];
    if (mode === 1) pi = f(pi * decay);
    else if (mode === 2) gi = f(gi + f(pi * wd));
    const mo = m[i];
    const mi = f(mo + f(f(gi - mo) * c1));
    const vi = f(f(v[i] * b2) + f(f(gi * gi) * c2));
    const denom = f(f(f(Math.sqrt(vi)) / bc2) + eps);
    P[i] = f(pi - f(f(mi / denom) * step));
    M[i] = mi;
    V[i] = vi;
  }
}

function amsgradLoop(
  p: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  vmax: Float32Array,
  P: Float32Array,
  M: Float32Array,
  V: Float32Array,
  VM: Float32Array,
  size: number,
  mode: number,
  decay: number,
  wd: number,
  c1: number,
  c2: number,
  b2: number,
  eps: number,
  bc2: number,
  step: number,
): void {
  for (let i = 0; i < size; i++) {
    let pi = p[i], gi = g[i];
    if (mode === 1) pi = f(pi * decay);
    else if (mode === 2) gi = f(gi + f(pi * wd));
    const mo = m[i];
    const mi = f(mo + f(f(gi - mo) * c1));
    const vi = f(f(v[i] * b2) + f(f(gi * gi) * c2));
    const second = Math.max(vmax[i], vi);
    VM[i] = second;
    const denom = f(f(f(Math.sqrt(second)) / bc2) + eps);
    P[i] = f(pi - f(f(mi / denom) * step));
    M[i] = mi;
    V[i] = vi;
  }
}

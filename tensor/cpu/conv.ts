/**
 * CPU kernels for 3-D convolution (NCDHW, PyTorch weight layouts): the
 * forward conv, the transposed conv, and the weight gradient that both of
 * their VJPs share. Direct loops with the valid index ranges hoisted, so the
 * innermost loop has no bounds checks.
 * @module
 */
import type { ConvParams, CpuArg, OutputMeta } from "../kernel_types.ts";
import { allocArray, type TypedArray } from "../dtype.ts";

export type { ConvParams } from "../kernel_types.ts";

/**
 * The indices j in [0, len) whose partner `j·s − p + off` lies in [0, target):
 * returns the half-open range [lo, hi).
 */
function valid(len: number, target: number, s: number, p: number, off: number): [number, number] {
  const lo = Math.max(0, Math.ceil((p - off) / s));
  const hi = Math.min(len, Math.floor((target - 1 + p - off) / s) + 1);
  return [lo, Math.max(lo, hi)];
}

function toOut(acc: Float64Array, out: OutputMeta): TypedArray {
  const r = allocArray(out.dtype, acc.length);
  r.set(acc);
  return r;
}

/** y[n,o,q] = Σ_{c in o's group, k} w[o,c,k] · x[n,c,q·s − p + k·d]. */
export function conv3dKernel([x, w]: CpuArg[], p: ConvParams, out: OutputMeta): TypedArray {
  const [N, C, D, H, W] = x.shape;
  const [O, Cg, KD, KH, KW] = w.shape;
  const [, , OD, OH, OW] = out.shape;
  const [sd, sh, sw] = p.stride, [pd, ph, pw] = p.padding, [dd, dh, dw] = p.dilation;
  const Og = O / p.groups;
  const X = x.data, Wt = w.data;
  const acc = new Float64Array(N * O * OD * OH * OW);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      const g = Math.floor(o / Og);
      const outBase = (n * O + o) * OD * OH * OW;
      for (let cl = 0; cl < Cg; cl++) {
        const xBase = (n * C + g * Cg + cl) * D * H * W;
        for (let kd = 0; kd < KD; kd++) {
          const [d0, d1] = valid(OD, D, sd, pd, kd * dd);
          for (let kh = 0; kh < KH; kh++) {
            const [h0, h1] = valid(OH, H, sh, ph, kh * dh);
            for (let kw = 0; kw < KW; kw++) {
              const wv = Wt[(((o * Cg + cl) * KD + kd) * KH + kh) * KW + kw];
              if (wv === 0) continue;
              const [w0, w1] = valid(OW, W, sw, pw, kw * dw);
              for (let od = d0; od < d1; od++) {
                const id = od * sd - pd + kd * dd;
                for (let oh = h0; oh < h1; oh++) {
                  const ih = oh * sh - ph + kh * dh;
                  const rowIn = xBase + (id * H + ih) * W - pw + kw * dw;
                  const rowOut = outBase + (od * OH + oh) * OW;
                  for (let ow = w0; ow < w1; ow++) acc[rowOut + ow] += wv * X[rowIn + ow * sw];
                }
              }
            }
          }
        }
      }
    }
  }
  return toOut(acc, out);
}

/** The adjoint of conv3d in x: y[n,o,i·s − p + k·d] += w[c,o,k] · x[n,c,i]. Weight [Cin, Cout/groups, k…]. */
export function convTranspose3dKernel([x, w]: CpuArg[], p: ConvParams, out: OutputMeta): TypedArray {
  const [N, C, D, H, W] = x.shape;
  const [, Og, KD, KH, KW] = w.shape;
  const [, O, OD, OH, OW] = out.shape;
  const [sd, sh, sw] = p.stride, [pd, ph, pw] = p.padding, [dd, dh, dw] = p.dilation;
  const Cig = C / p.groups;
  const X = x.data, Wt = w.data;
  const acc = new Float64Array(N * O * OD * OH * OW);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const g = Math.floor(c / Cig);
      const xBase = (n * C + c) * D * H * W;
      for (let ol = 0; ol < Og; ol++) {
        const outBase = (n * O + g * Og + ol) * OD * OH * OW;
        for (let kd = 0; kd < KD; kd++) {
          const [d0, d1] = valid(D, OD, sd, pd, kd * dd);
          for (let kh = 0; kh < KH; kh++) {
            const [h0, h1] = valid(H, OH, sh, ph, kh * dh);
            for (let kw = 0; kw < KW; kw++) {
              const wv = Wt[(((c * Og + ol) * KD + kd) * KH + kh) * KW + kw];
              if (wv === 0) continue;
              const [w0, w1] = valid(W, OW, sw, pw, kw * dw);
              for (let id = d0; id < d1; id++) {
                const od = id * sd - pd + kd * dd;
                for (let ih = h0; ih < h1; ih++) {
                  const oh = ih * sh - ph + kh * dh;
                  const rowIn = xBase + (id * H + ih) * W;
                  const rowOut = outBase + (od * OH + oh) * OW - pw + kw * dw;
                  for (let iw = w0; iw < w1; iw++) acc[rowOut + iw * sw] += wv * X[rowIn + iw];
                }
              }
            }
          }
        }
      }
    }
  }
  return toOut(acc, out);
}

/**
 * dW[o,c,k] = Σ_n Σ_q gy[n,o,q] · x[n, o's group c, q·s − p + k·d]: the
 * weight gradient of conv3d, and (with x and gy swapped) of convTranspose3d.
 */
export function conv3dWeightGradKernel([x, gy]: CpuArg[], p: ConvParams, out: OutputMeta): TypedArray {
  const [N, C, D, H, W] = x.shape;
  const [, O, OD, OH, OW] = gy.shape;
  const [, Cg, KD, KH, KW] = out.shape;
  const [sd, sh, sw] = p.stride, [pd, ph, pw] = p.padding, [dd, dh, dw] = p.dilation;
  const Og = O / p.groups;
  const X = x.data, G = gy.data;
  const acc = new Float64Array(O * Cg * KD * KH * KW);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      const g = Math.floor(o / Og);
      const gBase = (n * O + o) * OD * OH * OW;
      for (let cl = 0; cl < Cg; cl++) {
        const xBase = (n * C + g * Cg + cl) * D * H * W;
        for (let kd = 0; kd < KD; kd++) {
          const [d0, d1] = valid(OD, D, sd, pd, kd * dd);
          for (let kh = 0; kh < KH; kh++) {
            const [h0, h1] = valid(OH, H, sh, ph, kh * dh);
            for (let kw = 0; kw < KW; kw++) {
              const [w0, w1] = valid(OW, W, sw, pw, kw * dw);
              let s = 0;
              for (let od = d0; od < d1; od++) {
                const id = od * sd - pd + kd * dd;
                for (let oh = h0; oh < h1; oh++) {
                  const ih = oh * sh - ph + kh * dh;
                  const rowIn = xBase + (id * H + ih) * W - pw + kw * dw;
                  const rowOut = gBase + (od * OH + oh) * OW;
                  for (let ow = w0; ow < w1; ow++) s += G[rowOut + ow] * X[rowIn + ow * sw];
                }
              }
              acc[(((o * Cg + cl) * KD + kd) * KH + kh) * KW + kw] += s;
            }
          }
        }
      }
    }
  }
  return toOut(acc, out);
}

/**
 * Strided iteration, the one loop that broadcasting, permutes, slices,
 * flips and expands share on the CPU.
 * @module
 */
import type { TypedArray } from "../dtype.ts";
import type { Shape } from "../shape.ts";

/**
 * Writes `out[i] = src[offset + Σ_k idx_k · strides_k]` for every row-major
 * index `idx` of `shape`. Strides may be 0 (broadcast) or negative (flip).
 */
export function gather(
  src: TypedArray,
  offset: number,
  strides: readonly number[],
  shape: Shape,
  out: TypedArray,
): void {
  const rank = shape.length;
  const total = out.length;
  if (total === 0) return;
  if (rank === 0) {
    out[0] = src[offset];
    return;
  }
  const inner = shape[rank - 1];
  const innerStride = strides[rank - 1];
  const idx = new Array<number>(rank).fill(0);
  let base = offset;
  for (let o = 0; o < total; o += inner) {
    let p = base;
    for (let j = 0; j < inner; j++, p += innerStride) out[o + j] = src[p];
    // advance the odometer over the outer axes
    for (let ax = rank - 2; ax >= 0; ax--) {
      idx[ax]++;
      base += strides[ax];
      if (idx[ax] < shape[ax]) break;
      base -= strides[ax] * shape[ax];
      idx[ax] = 0;
    }
  }
}

/**
 * Calls `f(o, ia, ib)` for each row-major output index `o` of `shape`, with
 * the matching offsets into two inputs read through (broadcast) strides.
 */
export function forEach2(
  shape: Shape,
  sa: readonly number[],
  sb: readonly number[],
  f: (o: number, ia: number, ib: number) => void,
): void {
  const rank = shape.length;
  let total = 1;
  for (const d of shape) total *= d;
  if (total === 0) return;
  if (rank === 0) {
    f(0, 0, 0);
    return;
  }
  const idx = new Array<number>(rank).fill(0);
  let ia = 0, ib = 0;
  const inner = shape[rank - 1], ta = sa[rank - 1], tb = sb[rank - 1];
  for (let o = 0; o < total; o += inner) {
    for (let j = 0, pa = ia, pb = ib; j < inner; j++, pa += ta, pb += tb) f(o + j, pa, pb);
    for (let ax = rank - 2; ax >= 0; ax--) {
      idx[ax]++;
      ia += sa[ax];
      ib += sb[ax];
      if (idx[ax] < shape[ax]) break;
      ia -= sa[ax] * shape[ax];
      ib -= sb[ax] * shape[ax];
      idx[ax] = 0;
    }
  }
}

/**
 * CPU kernels that move data without arithmetic: permute, slice, flip,
 * expand (all through `gather`), pad and concat.
 * @module
 */
import type { CpuArg, CpuKernel, OutputMeta } from "../kernel_types.ts";
import { allocArray, type TypedArray } from "../dtype.ts";
import { broadcastStrides, type Shape, sizeOf, stridesOf } from "../shape.ts";
import { gather } from "./strided.ts";

/** The strided copy the four gather kernels share: `out[i] = src[offset + Σ idx_k · strides_k]`. */
export type Gather = (
  src: TypedArray,
  offset: number,
  strides: readonly number[],
  shape: Shape,
  out: TypedArray,
) => void;

/**
 * permute, slice, flip and expand, each one strided gather: built once with
 * the reference `gather` for this backend, and with the native backend's
 * collapsed-row gather there.
 */
export function gatherKernels(g: Gather): {
  permute: CpuKernel<{ perm: number[] }>;
  slice: CpuKernel<{ starts: number[] }>;
  flip: CpuKernel<{ axes: number[] }>;
  expand: CpuKernel<unknown>;
} {
  return {
    // Output axis i reads input axis `perm[i]`.
    permute([a], p, out) {
      const s = stridesOf(a.shape);
      const r = allocArray(out.dtype, a.data.length);
      g(a.data, 0, p.perm.map((ax) => s[ax]), out.shape, r);
      return r;
    },
    // Copies the box `[starts, starts + out.shape)`.
    slice([a], p, out) {
      const s = stridesOf(a.shape);
      const offset = p.starts.reduce((acc, st, i) => acc + st * s[i], 0);
      const r = allocArray(out.dtype, sizeOf(out.shape));
      g(a.data, offset, s, out.shape, r);
      return r;
    },
    // Reverses the listed axes (negative strides from the far end).
    flip([a], p, out) {
      const s = stridesOf(a.shape);
      let offset = 0;
      const strides = s.map((st, i) => {
        if (!p.axes.includes(i)) return st;
        offset += (a.shape[i] - 1) * st;
        return -st;
      });
      const r = allocArray(out.dtype, a.data.length);
      g(a.data, offset, strides, out.shape, r);
      return r;
    },
    // Materialises a broadcast.
    expand([a], _p, out) {
      const r = allocArray(out.dtype, sizeOf(out.shape));
      g(a.data, 0, broadcastStrides(a.shape, out.shape), out.shape, r);
      return r;
    },
  };
}

const REFERENCE = gatherKernels(gather);

/** Output axis i reads input axis `perm[i]`. */
export const permuteKernel: CpuKernel<{ perm: number[] }> = REFERENCE.permute;
/** Copies the box `[starts, starts + out.shape)`. */
export const sliceKernel: CpuKernel<{ starts: number[] }> = REFERENCE.slice;
/** Reverses the listed axes. */
export const flipKernel: CpuKernel<{ axes: number[] }> = REFERENCE.flip;
/** Materialises a broadcast. */
export const expandKernel: CpuKernel<unknown> = REFERENCE.expand;

/** Constant padding: `before[i]` and `after[i]` elements around axis i. */
export function padKernel([a]: CpuArg[], p: { before: number[]; value: number }, out: OutputMeta): TypedArray {
  const r = allocArray(out.dtype, sizeOf(out.shape));
  if (p.value !== 0) r.fill(p.value);
  copyBox(a.data, a.shape, r, out.shape, p.before);
  return r;
}

/** Joins inputs along `axis`. */
export function concatKernel(inputs: CpuArg[], p: { axis: number }, out: OutputMeta): TypedArray {
  const r = allocArray(out.dtype, sizeOf(out.shape));
  let at = 0;
  for (const a of inputs) {
    const origin = out.shape.map((_, i) => (i === p.axis ? at : 0));
    copyBox(a.data, a.shape, r, out.shape, origin);
    at += a.shape[p.axis];
  }
  return r;
}

/** Writes `src` (of `shape`) into `dst` (of `dstShape`) at `origin`. */
function copyBox(src: TypedArray, shape: Shape, dst: TypedArray, dstShape: Shape, origin: readonly number[]): void {
  const rank = shape.length;
  if (src.length === 0) return;
  const ds = stridesOf(dstShape);
  const inner = rank ? shape[rank - 1] : 1;
  const outer = src.length / inner;
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < outer; o++) {
    let base = 0;
    for (let ax = 0; ax < rank; ax++) base += (idx[ax] + origin[ax]) * ds[ax];
    dst.set(src.subarray(o * inner, o * inner + inner), base);
    for (let ax = rank - 2; ax >= 0; ax--) {
      if (++idx[ax] < shape[ax]) break;
      idx[ax] = 0;
    }
  }
}

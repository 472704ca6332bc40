/**
 * Native copies: permute, slice, flip and expand (one strided gather),
 * pad and concat. Axes are collapsed first (`layout.ts`), so a slice of a
 * volume or a concat along channels becomes a few long rows; a row that is
 * contiguous in the source is one `TypedArray.set` (a memory copy), a
 * broadcast row one `fill`, and anything else a plain loop. Any dtype: the
 * values are copied, never computed, so they equal the CPU kernels' exactly.
 * @module
 */
import type { CpuArg, CpuKernel, OutputMeta, TypedArray } from "../kernel_types.ts";
import { allocArray } from "../dtype.ts";
import { type Shape, sizeOf, stridesOf } from "../shape.ts";
import { gather as referenceGather } from "../cpu/strided.ts";
import { gatherKernels } from "../cpu/movement.ts";
import { collapse, forEachRow } from "./layout.ts";

/** Below this many elements a row is copied by a loop: `set` on a fresh `subarray` costs more. */
const SHORT_ROW = 32;

/** Copies `n` elements from `src[p + i·step]` to `dst[o + i]`. */
function copyRow(src: TypedArray, p: number, step: number, n: number, dst: TypedArray, o: number): void {
  if (step === 1) {
    if (n >= SHORT_ROW) dst.set(src.subarray(p, p + n), o);
    else for (let i = 0; i < n; i++) dst[o + i] = src[p + i];
  } else if (step === 0) {
    dst.fill(src[p], o, o + n);
  } else {
    for (let i = 0; i < n; i++) dst[o + i] = src[p + i * step];
  }
}

/** `out[i] = src[offset + Σ idx_k · strides_k]` over the row-major indices of `shape` (the CPU `gather`). */
function gather(src: TypedArray, offset: number, strides: readonly number[], shape: Shape, out: TypedArray): void {
  if (out.length === 0) return;
  const c = collapse(shape, [stridesOf(shape), strides]);
  const inner = c.dims.length - 1, n = c.dims[inner], step = c.strides[1][inner];
  // Short strided rows (a channels-last permute reads 8 channels 262,144 apart): the reference's inline
  // odometer, on the collapsed axes, beats a callback per row.
  if (n < SHORT_ROW && step !== 1) referenceGather(src, offset, c.strides[1], c.dims, out);
  else forEachRow(c, (o) => copyRow(src, offset + o[1], step, n, out, o[0]));
}

const KERNELS = gatherKernels(gather);

/** Output axis i reads input axis `perm[i]`. */
export const nativePermute: CpuKernel<{ perm: number[] }> = KERNELS.permute;
/** Copies the box `[starts, starts + out.shape)`. */
export const nativeSlice: CpuKernel<{ starts: number[] }> = KERNELS.slice;
/** Reverses the listed axes. */
export const nativeFlip: CpuKernel<{ axes: number[] }> = KERNELS.flip;
/** Materialises a broadcast. */
export const nativeExpand: CpuKernel<unknown> = KERNELS.expand;

/** Writes all of `src` (of `shape`) into `dst` (of `dstShape`) at `origin`. */
function copyBox(src: TypedArray, shape: Shape, dst: TypedArray, dstShape: Shape, origin: readonly number[]): void {
  if (src.length === 0) return;
  const ds = stridesOf(dstShape);
  const base = origin.reduce((acc, v, i) => acc + v * ds[i], 0);
  const c = collapse(shape, [stridesOf(shape), ds]);
  const inner = c.dims.length - 1, n = c.dims[inner], step = c.strides[1][inner];
  // The source is contiguous, so its innermost stride is 1; the destination's is 1 unless `shape` ends in 1s.
  forEachRow(c, (o) => {
    if (step === 1) copyRow(src, o[0], 1, n, dst, base + o[1]);
    else for (let i = 0, q = base + o[1]; i < n; i++, q += step) dst[q] = src[o[0] + i];
  });
}

/** Constant padding: `before[i]` and `after[i]` elements around axis i. */
export function nativePad([a]: CpuArg[], p: { before: number[]; value: number }, out: OutputMeta): TypedArray {
  const r = allocArray(out.dtype, sizeOf(out.shape));
  if (p.value !== 0) r.fill(p.value);
  copyBox(a.data, a.shape, r, out.shape, p.before);
  return r;
}

/** Joins inputs along `axis`: per index of the axes before it, each input adds one contiguous chunk. */
export function nativeConcat(inputs: CpuArg[], p: { axis: number }, out: OutputMeta): TypedArray {
  const r = allocArray(out.dtype, sizeOf(out.shape));
  const outer = sizeOf(out.shape.slice(0, p.axis)), inner = sizeOf(out.shape.slice(p.axis + 1));
  const rowLen = out.shape[p.axis] * inner;
  let at = 0;
  for (const a of inputs) {
    const chunk = a.shape[p.axis] * inner;
    for (let o = 0; o < outer; o++) copyRow(a.data, o * chunk, 1, chunk, r, o * rowLen + at);
    at += chunk;
  }
  return r;
}

/**
 * CPU reduction kernels over any set of axes.
 * @module
 */
import type { CpuArg, OutputMeta, ReduceParams } from "../kernel_types.ts";
import { allocArray, type TypedArray } from "../dtype.ts";
import { type Shape, sizeOf, stridesOf } from "../shape.ts";
import { forEach2 } from "./strided.ts";

export type { ReduceParams } from "../kernel_types.ts";

/** Strides that map an input index to its output slot (0 on reduced axes). */
function outStrides(shape: Shape, axes: readonly number[]): number[] {
  const keep = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const s = stridesOf(keep);
  for (const a of axes) s[a] = 0;
  return s;
}

/** Builds a reduction kernel from an initial value and a combining step. */
export function reduceKernel(init: number, step: (acc: number, x: number) => number) {
  return ([a]: CpuArg[], p: ReduceParams, out: OutputMeta): TypedArray => {
    const acc = new Float64Array(sizeOf(out.shape)).fill(init);
    const x = a.data;
    forEach2(a.shape, stridesOf(a.shape), outStrides(a.shape, p.axes), (_o, ia, ib) => {
      acc[ib] = step(acc[ib], x[ia]);
    });
    const r = allocArray(out.dtype, acc.length);
    r.set(acc);
    return r;
  };
}

/** Sum. */
export const sumKernel = reduceKernel(0, (acc, x) => acc + x);
/** Maximum; NaN wins, as in PyTorch. */
export const maxKernel = reduceKernel(-Infinity, (acc, x) => (x > acc || x !== x ? x : acc));
/** Minimum; NaN wins. */
export const minKernel = reduceKernel(Infinity, (acc, x) => (x < acc || x !== x ? x : acc));

/** Index of the first maximum (or minimum, with `sign = -1`) along one axis. */
export function argKernel(sign: 1 | -1) {
  return ([a]: CpuArg[], p: ReduceParams, out: OutputMeta): TypedArray => {
    const axis = p.axes[0];
    const n = a.shape[axis];
    const inner = sizeOf(a.shape.slice(axis + 1));
    const outer = sizeOf(a.shape.slice(0, axis));
    const r = allocArray(out.dtype, outer * inner);
    const x = a.data;
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        let best = 0, bv = sign * x[o * n * inner + i];
        for (let k = 1; k < n; k++) {
          const v = sign * x[(o * n + k) * inner + i];
          if (v > bv || (v !== v && bv === bv)) {
            bv = v;
            best = k;
          }
        }
        r[o * inner + i] = best;
      }
    }
    return r;
  };
}

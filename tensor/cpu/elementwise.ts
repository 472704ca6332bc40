/**
 * CPU kernel builders for elementwise ops: a scalar function becomes a
 * kernel over whole arrays, with NumPy broadcasting for binary ops.
 * @module
 */
import type { CpuArg, CpuKernel, OutputMeta } from "../kernel_types.ts";
import { allocArray, type TypedArray } from "../dtype.ts";
import { broadcastStrides, sizeOf } from "../shape.ts";
import { forEach2 } from "./strided.ts";

/** A kernel that applies `f` to every element. */
export function unaryKernel<P>(f: (x: number, p: P) => number): CpuKernel<P> {
  return ([a]: CpuArg[], p: P, out: OutputMeta): TypedArray => {
    const r = allocArray(out.dtype, a.data.length);
    const x = a.data;
    for (let i = 0; i < x.length; i++) r[i] = f(x[i], p);
    return r;
  };
}

/** A kernel that applies `f` pairwise with broadcasting. */
export function binaryKernel<P>(f: (x: number, y: number) => number): CpuKernel<P> {
  return ([a, b]: CpuArg[], _p: P, out: OutputMeta): TypedArray => {
    const r = allocArray(out.dtype, sizeOf(out.shape));
    const x = a.data, y = b.data;
    if (x.length === r.length && y.length === r.length) {
      for (let i = 0; i < r.length; i++) r[i] = f(x[i], y[i]);
    } else if (y.length === 1 && x.length === r.length) {
      const c = y[0];
      for (let i = 0; i < r.length; i++) r[i] = f(x[i], c);
    } else {
      const sa = broadcastStrides(a.shape, out.shape), sb = broadcastStrides(b.shape, out.shape);
      forEach2(out.shape, sa, sb, (o, ia, ib) => {
        r[o] = f(x[ia], y[ib]);
      });
    }
    return r;
  };
}

/** `where(cond, a, b)` with three-way broadcasting. */
export function whereKernel([c, a, b]: CpuArg[], _p: unknown, out: OutputMeta): TypedArray {
  const r = allocArray(out.dtype, sizeOf(out.shape));
  const sc = broadcastStrides(c.shape, out.shape);
  const sa = broadcastStrides(a.shape, out.shape);
  const sb = broadcastStrides(b.shape, out.shape);
  // First pass writes a-or-b through forEach2 over (c, a); then b where c is false.
  forEach2(out.shape, sc, sa, (o, ic, ia) => {
    if (c.data[ic] !== 0) r[o] = a.data[ia];
  });
  forEach2(out.shape, sc, sb, (o, ic, ib) => {
    if (c.data[ic] === 0) r[o] = b.data[ib];
  });
  return r;
}

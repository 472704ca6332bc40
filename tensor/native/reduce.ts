/**
 * Native sum, max and min over any axes of a float32 input. The input's axes
 * are collapsed into alternating runs of kept and reduced axes, and the
 * input is read once, in order: a reduced innermost run folds a contiguous
 * row into one accumulator, a kept one adds a row into a row of
 * accumulators. Each accumulator (float64) takes its elements in the same
 * order as in the CPU reference kernel, so results agree bit for bit. Other
 * input dtypes run the CPU reference kernel.
 * @module
 */
import type { CpuArg, CpuKernel, OutputMeta, TypedArray } from "../kernel_types.ts";
import { allocArray } from "../dtype.ts";
import { stridesOf } from "../shape.ts";
import { maxKernel, minKernel, type ReduceParams, sumKernel } from "../cpu/reduce.ts";
import { collapse, forEachRow } from "./layout.ts";

type Kind = "sum" | "max" | "min";

/** Folds `x[p .. p + n)` into `init` (one accumulator). */
const FOLD: Record<Kind, (x: Float32Array, p: number, n: number, init: number) => number> = {
  sum(x, p, n, s) {
    for (let i = p, end = p + n; i < end; i++) s += x[i];
    return s;
  },
  max(x, p, n, m) {
    for (let i = p, end = p + n; i < end; i++) {
      const v = x[i];
      if (v > m || v !== v) m = v;
    }
    return m;
  },
  min(x, p, n, m) {
    for (let i = p, end = p + n; i < end; i++) {
      const v = x[i];
      if (v < m || v !== v) m = v;
    }
    return m;
  },
};

/** Combines `x[p .. p + n)` into `acc[o .. o + n)` (a row of accumulators). */
const COMBINE: Record<Kind, (x: Float32Array, p: number, n: number, acc: Float64Array, o: number) => void> = {
  sum(x, p, n, acc, o) {
    for (let j = o, q = p, end = o + n; j < end; j++, q++) acc[j] += x[q];
  },
  max(x, p, n, acc, o) {
    for (let j = o, q = p, end = o + n; j < end; j++, q++) {
      const v = x[q];
      if (v > acc[j] || v !== v) acc[j] = v;
    }
  },
  min(x, p, n, acc, o) {
    for (let j = o, q = p, end = o + n; j < end; j++, q++) {
      const v = x[q];
      if (v < acc[j] || v !== v) acc[j] = v;
    }
  },
};

const INIT: Record<Kind, number> = { sum: 0, max: -Infinity, min: Infinity };
const REFERENCE: Record<Kind, CpuKernel<ReduceParams>> = { sum: sumKernel, max: maxKernel, min: minKernel };

/** The native kernel of the reduction `kind`. */
export function nativeReduce(kind: Kind): CpuKernel<ReduceParams> {
  const fold = FOLD[kind], combine = COMBINE[kind], init = INIT[kind];
  return ([a]: CpuArg[], p: ReduceParams, out: OutputMeta): TypedArray => {
    if (a.dtype !== "float32") return REFERENCE[kind]([a], p, out);
    const x = a.data as Float32Array;
    const kept = a.shape.map((d, i) => (p.axes.includes(i) ? 1 : d));
    const accStrides = stridesOf(kept);
    for (const ax of p.axes) accStrides[ax] = 0;
    const acc = new Float64Array(kept.reduce((n, d) => n * d, 1)).fill(init);
    if (x.length > 0) {
      const c = collapse(a.shape, [stridesOf(a.shape), accStrides]);
      const inner = c.dims.length - 1, n = c.dims[inner];
      if (c.strides[1][inner] === 0) {
        forEachRow(c, (o) => (acc[o[1]] = fold(x, o[0], n, acc[o[1]])));
      } else {
        forEachRow(c, (o) => combine(x, o[0], n, acc, o[1]));
      }
    }
    const r = allocArray(out.dtype, acc.length);
    r.set(acc);
    return r;
  };
}

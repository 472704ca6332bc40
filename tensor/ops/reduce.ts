/**
 * Reductions over any axes, with `keepdims`: sum, max, min, argmax, argmin
 * (primitives) and mean, var, logsumexp (compositions).
 * @module
 */
import { type DType, isFloat } from "../dtype.ts";
import { fmtShape, ShapeError } from "../errors.ts";
import { apply } from "../op.ts";
import { defineOp, type OpDef, type TensorMeta } from "../registry.ts";
import { normAxes, normAxis, sameShape, type Shape, sizeOf } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { argKernel, maxKernel, minKernel, type ReduceParams, sumKernel } from "../cpu/reduce.ts";
import { gpuReduce, type ReduceKind } from "../webgpu/kernels_reduce.ts";
import { nativeReduce } from "../native/reduce.ts";
import { add, cast, div, eq, exp, log, mul, stopGradient, sub } from "./elementwise.ts";
import { expand, reshape } from "./movement.ts";

function reducedShape(shape: Shape, p: ReduceParams): number[] {
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (!p.axes.includes(i)) out.push(d);
    else if (p.keepdims) out.push(1);
  });
  return out;
}

function keptShape(shape: Shape, axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

function reduceInfer(dtypeOf: (d: DType) => DType) {
  return ([a]: readonly TensorMeta[], p: ReduceParams) => ({
    shape: reducedShape(a.shape, p),
    dtype: dtypeOf(a.dtype),
  });
}

/** The gradient of a reduction, broadcast back over the reduced axes. */
function spread(g: Tensor, x: Tensor, axes: readonly number[]): Tensor {
  return expand(reshape(g, keptShape(x.shape, axes)), [...x.shape]);
}

const SUM = defineOp<ReduceParams>({
  name: "sum",
  infer: reduceInfer((d) => (d === "uint8" ? "int32" : d)),
  cpu: sumKernel,
  kernels: { webgpu: gpuReduce("sum"), native: nativeReduce("sum") },
  vjp: (g, { inputs: [x], params }) => [spread(g, x, params.axes)],
});

// Ties share the gradient evenly (PyTorch's amax/amin rule).
function extremumVjp(g: Tensor, x: Tensor, y: Tensor, axes: readonly number[]): Tensor {
  const mask = cast(eq(x, spread(y, x, axes)), g.dtype);
  const count = sum(mask, [...axes], true);
  return mul(spread(g, x, axes), div(mask, count));
}

function extremum(name: ReduceKind, kernel: typeof maxKernel): OpDef<ReduceParams> {
  return defineOp<ReduceParams>({
    name,
    infer: ([a], p) => {
      for (const ax of p.axes) {
        if (a.shape[ax] === 0) throw new ShapeError(`${name}: cannot reduce empty axis ${ax} of ${fmtShape(a.shape)}`);
      }
      return { shape: reducedShape(a.shape, p), dtype: a.dtype };
    },
    cpu: kernel,
    kernels: { webgpu: gpuReduce(name), native: nativeReduce(name as "max" | "min") },
    vjp: (g, { inputs: [x], output, params }) => [extremumVjp(g, x, output, params.axes)],
  });
}
const MAX = extremum("max", maxKernel);
const MIN = extremum("min", minKernel);

function argOp(name: ReduceKind, sign: 1 | -1): OpDef<ReduceParams> {
  return defineOp<ReduceParams>({
    name,
    infer: ([a], p) => {
      if (a.shape[p.axes[0]] === 0) throw new ShapeError(`${name}: empty axis ${p.axes[0]} of ${fmtShape(a.shape)}`);
      return { shape: reducedShape(a.shape, p), dtype: "int32" };
    },
    cpu: argKernel(sign),
    kernels: { webgpu: gpuReduce(name) },
    nondiff: "integer output",
  });
}
const ARGMAX = argOp("argmax", 1);
const ARGMIN = argOp("argmin", -1);

/** Sum over `axes` (default: all). uint8 sums to int32. */
export function sum(x: Tensor, axes?: number | number[], keepdims = false): Tensor {
  return apply(SUM, [x], { axes: normAxes("sum", axes, x.rank), keepdims });
}

/** Maximum over `axes` (default: all). */
export function max(x: Tensor, axes?: number | number[], keepdims = false): Tensor {
  return apply(MAX, [x], { axes: normAxes("max", axes, x.rank), keepdims });
}

/** Minimum over `axes` (default: all). */
export function min(x: Tensor, axes?: number | number[], keepdims = false): Tensor {
  return apply(MIN, [x], { axes: normAxes("min", axes, x.rank), keepdims });
}

/** Index (int32) of the first maximum along `axis`. */
export function argmax(x: Tensor, axis: number, keepdims = false): Tensor {
  return apply(ARGMAX, [x], { axes: [normAxis("argmax", axis, x.rank)], keepdims });
}

/** Index (int32) of the first minimum along `axis`. */
export function argmin(x: Tensor, axis: number, keepdims = false): Tensor {
  return apply(ARGMIN, [x], { axes: [normAxis("argmin", axis, x.rank)], keepdims });
}

function countOf(x: Tensor, axes: readonly number[]): number {
  return axes.reduce((n, a) => n * x.shape[a], 1);
}

/** Arithmetic mean over `axes` (default: all); integers give float32. */
export function mean(x: Tensor, axes?: number | number[], keepdims = false): Tensor {
  const ax = normAxes("mean", axes, x.rank);
  const xf = isFloat(x.dtype) ? x : cast(x, "float32");
  return div(sum(xf, ax, keepdims), countOf(x, ax));
}

/** Options of {@link variance}. */
export interface VarOptions {
  /** Keep reduced axes with extent 1. */
  keepdims?: boolean;
  /** Bessel's correction: divide by N − correction (PyTorch's default is 1). */
  correction?: number;
}

/** Variance over `axes` (default: all), `Σ(x − mean)² / (N − correction)`. */
export function variance(x: Tensor, axes?: number | number[], opts: VarOptions = {}): Tensor {
  const ax = normAxes("var", axes, x.rank);
  const d = sub(x, mean(x, ax, true));
  return div(sum(mul(d, d), ax, opts.keepdims ?? false), countOf(x, ax) - (opts.correction ?? 1));
}

/** `log Σ exp(x)` over `axes`, computed stably by shifting by the maximum. */
export function logsumexp(x: Tensor, axes?: number | number[], keepdims = false): Tensor {
  const ax = normAxes("logsumexp", axes, x.rank);
  const m = stopGradient(max(x, ax, true));
  const r = add(log(sum(exp(sub(x, m)), ax, true)), m);
  return keepdims ? r : reshape(r, x.shape.filter((_, i) => !ax.includes(i)));
}

/**
 * Sums `g` down to `shape`, undoing NumPy broadcasting (the reverse of
 * `expand`): extra leading axes and axes where `shape` has 1 are summed.
 */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const s = axes.length ? sum(g, axes, true) : g;
  if (sizeOf(s.shape) !== sizeOf(shape)) {
    throw new ShapeError(`sumTo: cannot reduce ${fmtShape(g.shape)} to ${fmtShape(shape)}`);
  }
  return reshape(s, [...shape]);
}

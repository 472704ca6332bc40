/**
 * Shape ops: reshape (a view), permute/transpose, slice, pad, flip, expand,
 * concat/stack and squeeze/unsqueeze.
 * @module
 */
import { fmtShape, ShapeError } from "../errors.ts";
import { apply } from "../op.ts";
import { defineOp } from "../registry.ts";
import { broadcastShapes, broadcastStrides, normAxes, normAxis, sizeOf, stridesOf } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { concatKernel, expandKernel, flipKernel, padKernel, permuteKernel, sliceKernel } from "../cpu/movement.ts";
import { sumTo } from "./reduce.ts";
import { gpuGather, gpuView } from "../webgpu/kernels.ts";
import { gpuConcat, gpuPad } from "../webgpu/kernels_reduce.ts";
import { nativeConcat, nativeExpand, nativeFlip, nativePad, nativePermute, nativeSlice } from "../native/movement.ts";

const RESHAPE = defineOp<{ shape: number[] }>({
  name: "reshape",
  infer: ([a], p) => ({ shape: p.shape, dtype: a.dtype }),
  cpu: ([a]) => a.data,
  kernels: { webgpu: gpuView },
  vjp: (g, { inputs: [x] }) => [reshape(g, [...x.shape])],
});

const PERMUTE = defineOp<{ perm: number[] }>({
  name: "permute",
  infer: ([a], p) => ({ shape: p.perm.map((i) => a.shape[i]), dtype: a.dtype }),
  cpu: permuteKernel,
  kernels: {
    webgpu: gpuGather<{ perm: number[] }>((a, p) => {
      const st = stridesOf(a.shape);
      return { offset: 0, strides: p.perm.map((ax) => st[ax]) };
    }),
    native: nativePermute,
  },
  vjp: (g, { params }) => {
    const inv = new Array<number>(params.perm.length);
    params.perm.forEach((src, dst) => (inv[src] = dst));
    return [permute(g, inv)];
  },
});

const SLICE = defineOp<{ starts: number[]; ends: number[] }>({
  name: "slice",
  infer: ([a], p) => ({ shape: p.ends.map((e, i) => e - p.starts[i]), dtype: a.dtype }),
  cpu: sliceKernel,
  kernels: {
    webgpu: gpuGather<{ starts: number[] }>((a, p) => {
      const st = stridesOf(a.shape);
      return { offset: p.starts.reduce((acc, v, i) => acc + v * st[i], 0), strides: st };
    }),
    native: nativeSlice,
  },
  vjp: (g, { inputs: [x], params }) => [
    pad(g, params.starts.map((s, i) => [s, x.shape[i] - params.ends[i]] as [number, number])),
  ],
});

const PAD = defineOp<{ before: number[]; after: number[]; value: number }>({
  name: "pad",
  infer: ([a], p) => ({ shape: a.shape.map((d, i) => d + p.before[i] + p.after[i]), dtype: a.dtype }),
  cpu: padKernel,
  kernels: { webgpu: gpuPad, native: nativePad },
  vjp: (g, { inputs: [x], params }) => [
    slice(g, params.before, params.before.map((b, i) => b + x.shape[i])),
  ],
});

const FLIP = defineOp<{ axes: number[] }>({
  name: "flip",
  infer: ([a]) => ({ shape: a.shape, dtype: a.dtype }),
  cpu: flipKernel,
  kernels: {
    webgpu: gpuGather<{ axes: number[] }>((a, p) => {
      const st = stridesOf(a.shape);
      const offset = p.axes.reduce((acc, ax) => acc + (a.shape[ax] - 1) * st[ax], 0);
      return { offset, strides: st.map((v, i) => (p.axes.includes(i) ? -v : v)) };
    }),
    native: nativeFlip,
  },
  vjp: (g, { params }) => [flip(g, params.axes)],
});

const EXPAND = defineOp<{ shape: number[] }>({
  name: "expand",
  infer: ([a], p) => {
    const b = broadcastShapes("expand", a.shape, p.shape);
    if (b.length !== p.shape.length || b.some((d, i) => d !== p.shape[i])) {
      throw new ShapeError(`expand: cannot expand ${fmtShape(a.shape)} to ${fmtShape(p.shape)}`);
    }
    return { shape: p.shape, dtype: a.dtype };
  },
  cpu: expandKernel,
  kernels: {
    webgpu: gpuGather((a, _p, out) => ({ offset: 0, strides: broadcastStrides(a.shape, out.shape) })),
    native: nativeExpand,
  },
  vjp: (g, { inputs: [x] }) => [sumTo(g, x.shape)],
});

const CONCAT = defineOp<{ axis: number }>({
  name: "concat",
  infer: (inputs, { axis }) => {
    const first = inputs[0];
    let total = 0;
    for (const t of inputs) {
      const ok = t.shape.length === first.shape.length && t.shape.every((d, i) => i === axis || d === first.shape[i]);
      if (!ok || t.dtype !== first.dtype) {
        throw new ShapeError(
          `concat: along axis ${axis}, ${inputs.map((x) => `${fmtShape(x.shape)} ${x.dtype}`).join(", ")} do not fit`,
        );
      }
      total += t.shape[axis];
    }
    return { shape: first.shape.map((d, i) => (i === axis ? total : d)), dtype: first.dtype };
  },
  cpu: concatKernel,
  kernels: { webgpu: gpuConcat, native: nativeConcat },
  vjp: (g, { inputs, params: { axis } }) => {
    let at = 0;
    return inputs.map((t) => {
      const starts = g.shape.map((_, i) => (i === axis ? at : 0));
      const ends = g.shape.map((d, i) => (i === axis ? at + t.shape[axis] : d));
      at += t.shape[axis];
      return slice(g, starts, ends);
    });
  },
});

/**
 * Same data in a new shape (a view: no copy). One extent may be `-1`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { arange, reshape } from "@lorapt/core";
 * assert.ok(reshape(arange(6), [2, -1]).shape.join() === "2,3");
 * ```
 */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const known = shape.filter((d) => d !== -1);
  const holes = shape.length - known.length;
  const knownSize = sizeOf(known);
  const full = shape.map((d) => (d === -1 ? (knownSize ? x.size / knownSize : 0) : d));
  if (holes > 1 || !full.every((d) => Number.isInteger(d) && d >= 0) || sizeOf(full) !== x.size) {
    throw new ShapeError(`reshape: cannot reshape ${fmtShape(x.shape)} (${x.size} elements) to ${fmtShape(shape)}`);
  }
  if (full.length === x.rank && full.every((d, i) => d === x.shape[i])) return x;
  return apply(RESHAPE, [x], { shape: full });
}

/** Reorders axes: output axis i is input axis `perm[i]`. */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const p = perm.map((a) => normAxis("permute", a, x.rank));
  if (p.length !== x.rank || new Set(p).size !== p.length) {
    throw new ShapeError(`permute: ${fmtShape(perm)} is not a permutation of the axes of ${fmtShape(x.shape)}`);
  }
  if (p.every((a, i) => a === i)) return x;
  return apply(PERMUTE, [x], { perm: p });
}

/** Swaps axes `a` and `b` (by default the last two). */
export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  const perm = Array.from({ length: x.rank }, (_, i) => i);
  const i = normAxis("transpose", a, x.rank), j = normAxis("transpose", b, x.rank);
  [perm[i], perm[j]] = [perm[j], perm[i]];
  return permute(x, perm);
}

/**
 * The box `[starts[i], ends[i])` on each axis. Missing entries mean the whole
 * axis; negative indices count from the end; bounds are clamped, as in Python.
 */
export function slice(x: Tensor, starts: readonly number[], ends?: readonly number[]): Tensor {
  if (starts.length > x.rank || (ends && ends.length > x.rank)) {
    throw new ShapeError(`slice: ${starts.length} starts for ${fmtShape(x.shape)}`);
  }
  const clamp = (v: number, d: number) => Math.min(d, Math.max(0, v < 0 ? v + d : v));
  const s = x.shape.map((d, i) => clamp(starts[i] ?? 0, d));
  const e = x.shape.map((d, i) => Math.max(s[i], clamp(ends?.[i] ?? d, d)));
  if (s.every((v) => v === 0) && e.every((v, i) => v === x.shape[i])) return x;
  return apply(SLICE, [x], { starts: s, ends: e });
}

/** The part of `x` from `start` (inclusive) for `length` elements along `axis`. */
export function narrow(x: Tensor, axis: number, start: number, length: number): Tensor {
  const ax = normAxis("narrow", axis, x.rank);
  if (start < 0 || length < 0 || start + length > x.shape[ax]) {
    throw new ShapeError(`narrow: [${start}, ${start + length}) is outside axis ${ax} of ${fmtShape(x.shape)}`);
  }
  const starts = x.shape.map((_, i) => (i === ax ? start : 0));
  const ends = x.shape.map((d, i) => (i === ax ? start + length : d));
  return slice(x, starts, ends);
}

/** Pads each axis i with `widths[i] = [before, after]` copies of `value`. */
export function pad(x: Tensor, widths: readonly (readonly [number, number])[], value = 0): Tensor {
  if (
    widths.length !== x.rank ||
    widths.some(([b, a]) => !(Number.isInteger(b) && b >= 0 && Number.isInteger(a) && a >= 0))
  ) {
    throw new ShapeError(`pad: widths ${JSON.stringify(widths)} do not fit ${fmtShape(x.shape)}`);
  }
  if (widths.every(([b, a]) => b === 0 && a === 0)) return x;
  return apply(PAD, [x], { before: widths.map((w) => w[0]), after: widths.map((w) => w[1]), value });
}

/** Reverses the order of elements along `axes`. */
export function flip(x: Tensor, axes: number | readonly number[]): Tensor {
  return apply(FLIP, [x], { axes: normAxes("flip", typeof axes === "number" ? axes : [...axes], x.rank) });
}

/** Broadcasts `x` to `shape` (NumPy rules). */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  if (shape.length === x.rank && shape.every((d, i) => d === x.shape[i])) return x;
  return apply(EXPAND, [x], { shape: [...shape] });
}

/** Broadcasts `x` to the shape of `like`. */
export function expandAs(x: Tensor, like: Tensor): Tensor {
  return expand(x, [...like.shape]);
}

/** Joins tensors along an existing `axis`. */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (!xs.length) throw new ShapeError("concat: no tensors given");
  if (xs.length === 1) return xs[0];
  return apply(CONCAT, xs, { axis: normAxis("concat", axis, xs[0].rank) });
}

/** Joins tensors of one shape along a new `axis`. */
export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  if (!xs.length) throw new ShapeError("stack: no tensors given");
  const ax = normAxis("stack", axis, xs[0].rank + 1);
  return concat(xs.map((t) => unsqueeze(t, ax)), ax);
}

/** Removes size-1 axes: all of them, or those listed. */
export function squeeze(x: Tensor, axes?: number | readonly number[]): Tensor {
  const list = axes === undefined
    ? x.shape.flatMap((d, i) => (d === 1 ? [i] : []))
    : normAxes("squeeze", typeof axes === "number" ? axes : [...axes], x.rank);
  for (const a of list) {
    if (x.shape[a] !== 1) throw new ShapeError(`squeeze: axis ${a} of ${fmtShape(x.shape)} is not 1`);
  }
  return reshape(x, x.shape.filter((_, i) => !list.includes(i)));
}

/** Inserts a size-1 axis at `axis` (negative counts from the end of the result). */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  const ax = normAxis("unsqueeze", axis, x.rank + 1);
  const s: number[] = [...x.shape];
  s.splice(ax, 0, 1);
  return reshape(x, s);
}

/** Moves axis `from` to position `to`, keeping the other axes in order. */
export function moveAxis(x: Tensor, from: number, to: number): Tensor {
  const f = normAxis("moveAxis", from, x.rank), t = normAxis("moveAxis", to, x.rank);
  const perm = Array.from({ length: x.rank }, (_, i) => i).filter((i) => i !== f);
  perm.splice(t, 0, f);
  return permute(x, perm);
}

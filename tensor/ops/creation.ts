/**
 * Creating tensors: from values, constants, ranges and seeded random draws.
 * @module
 */
import { type Backend, getBackend } from "../backend.ts";
import { allocArray, castArray, type DType, dtypeOfArray, type TypedArray } from "../dtype.ts";
import { fmtShape, ShapeError } from "../errors.ts";
import { wrapStorage } from "../op.ts";
import { defaultRng, type Rng } from "../random.ts";
import { checkShape, type Shape, sizeOf } from "../shape.ts";
import type { NestedArray, Tensor } from "../tensor.ts";

/** Options shared by the creation functions. */
export interface CreateOptions {
  /** Element type (default `float32`, or the typed array's own type). */
  dtype?: DType;
  /** Backend name or object (default: the current backend). */
  backend?: Backend;
}

/** Options of the random creation functions. */
export interface RandomOptions extends CreateOptions {
  /** Generator to draw from (default: the global one, see `seed`). */
  rng?: Rng;
}

/**
 * Wraps a typed array of the right length as a tensor (copies it); its dtype
 * is the array's. A plain JS array is a TypeError: use {@link tensor}, which
 * makes float32 (a plain array read as bytes would wrap 300 to 44).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fromArray } from "@lorapt/core";
 * assert.equal(fromArray(new Int32Array([1, 2, 3, 4]), [2, 2]).dtype, "int32");
 * assert.throws(() => fromArray([1.5, 2.5] as unknown as Float32Array, [2]), /plain JS array.*use tensor\(/);
 * ```
 */
export function fromArray(data: TypedArray, shape: Shape, backend: Backend = getBackend()): Tensor {
  if (!ArrayBuffer.isView(data) || data instanceof DataView) {
    const what = Array.isArray(data) ? "a plain JS array" : data === null ? "null" : `a ${typeof data}`;
    throw new TypeError(
      `fromArray: data is ${what}, not a typed array (Float32Array, Int32Array, Uint8Array, …); ` +
        `for numbers use tensor([…], shape), which makes float32`,
    );
  }
  checkShape("fromArray", shape);
  if (data.length !== sizeOf(shape)) {
    throw new ShapeError(`fromArray: ${data.length} values cannot fill shape ${fmtShape(shape)} (${sizeOf(shape)})`);
  }
  const dtype = dtypeOfArray(data);
  if (!backend.dtypes.includes(dtype)) {
    throw new ShapeError(`fromArray: backend "${backend.name}" has no ${dtype}`);
  }
  return wrapStorage(shape, dtype, { backend, handle: backend.upload(data) });
}

function inferShape(values: NestedArray): number[] {
  const shape: number[] = [];
  let v: NestedArray = values;
  while (Array.isArray(v)) {
    shape.push(v.length);
    v = v[0];
  }
  return shape;
}

function flatten(values: NestedArray, shape: number[], axis: number, out: number[]): void {
  if (axis === shape.length) {
    if (typeof values !== "number") throw new ShapeError(`tensor: ragged nested array (expected ${fmtShape(shape)})`);
    out.push(values);
    return;
  }
  if (!Array.isArray(values) || values.length !== shape[axis]) {
    throw new ShapeError(`tensor: ragged nested array at depth ${axis} (expected ${fmtShape(shape)})`);
  }
  for (const v of values) flatten(v, shape, axis + 1, out);
}

/**
 * Creates a tensor from a number, nested arrays or a typed array. `shape`
 * reshapes flat input; nested input infers it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tensor } from "@lorapt/core";
 * const t = tensor([[1, 2, 3], [4, 5, 6]]);
 * assert.ok(t.shape.join() === "2,3" && t.dtype === "float32");
 * ```
 */
export function tensor(
  values: NestedArray | TypedArray | readonly number[],
  shape?: Shape,
  opts: CreateOptions = {},
): Tensor {
  let flat: ArrayLike<number>;
  let inferred: number[];
  let dtype = opts.dtype;
  if (ArrayBuffer.isView(values)) {
    flat = values as TypedArray;
    inferred = [flat.length];
    dtype ??= dtypeOfArray(values as TypedArray);
  } else {
    inferred = inferShape(values as NestedArray);
    const out: number[] = [];
    flatten(values as NestedArray, inferred, 0, out);
    flat = out;
  }
  const finalShape = shape ?? inferred;
  return fromArray(castArray(flat, dtype ?? "float32"), finalShape, opts.backend);
}

/** A tensor of `shape` filled with `value`. */
export function full(shape: Shape, value: number, opts: CreateOptions = {}): Tensor {
  checkShape("full", shape);
  const a = allocArray(opts.dtype ?? "float32", sizeOf(shape));
  a.fill(value);
  return fromArray(a, shape, opts.backend);
}

/** A tensor of zeros. */
export function zeros(shape: Shape, opts: CreateOptions = {}): Tensor {
  return full(shape, 0, opts);
}

/** A tensor of ones. */
export function ones(shape: Shape, opts: CreateOptions = {}): Tensor {
  return full(shape, 1, opts);
}

/** A scalar (rank-0) tensor. */
export function scalar(value: number, opts: CreateOptions = {}): Tensor {
  return full([], value, opts);
}

/** Zeros with the shape, dtype and backend of `t`. */
export function zerosLike(t: Tensor): Tensor {
  return full(t.shape, 0, { dtype: t.dtype, backend: t.storage.backend });
}

/** Ones with the shape, dtype and backend of `t`. */
export function onesLike(t: Tensor): Tensor {
  return full(t.shape, 1, { dtype: t.dtype, backend: t.storage.backend });
}

/**
 * `[start, start+step, …)` up to but excluding `stop`, like `torch.arange`.
 * With one argument, counts from 0.
 */
export function arange(start: number, stop?: number, step = 1, opts: CreateOptions = {}): Tensor {
  if (stop === undefined) [start, stop] = [0, start];
  if (step === 0) throw new ShapeError("arange: step must be non-zero");
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const dtype = opts.dtype ?? (Number.isInteger(start) && Number.isInteger(step) ? "int32" : "float32");
  const a = allocArray(dtype, n);
  for (let i = 0; i < n; i++) a[i] = start + i * step;
  return fromArray(a, [n], opts.backend);
}

/** Uniform samples in [0, 1) from a seeded generator. */
export function rand(shape: Shape, opts: RandomOptions = {}): Tensor {
  checkShape("rand", shape);
  const rng = opts.rng ?? defaultRng();
  const a = allocArray(opts.dtype ?? "float32", sizeOf(shape));
  for (let i = 0; i < a.length; i++) a[i] = rng.uniform();
  return fromArray(a, shape, opts.backend);
}

/** Standard-normal samples from a seeded generator. */
export function randn(shape: Shape, opts: RandomOptions = {}): Tensor {
  checkShape("randn", shape);
  const rng = opts.rng ?? defaultRng();
  const a = allocArray(opts.dtype ?? "float32", sizeOf(shape));
  for (let i = 0; i < a.length; i++) a[i] = rng.normal();
  return fromArray(a, shape, opts.backend);
}

/**
 * The Tensor: an immutable n-dimensional array with a shape, a dtype and
 * storage on one backend. Ops never write into their inputs; `assign` swaps a
 * parameter's storage for an optimizer update.
 * @module
 */
import type { Backend } from "./backend.ts";
import type { DType, TypedArray } from "./dtype.ts";
import { fmtShape, ShapeError } from "./errors.ts";
import { sameShape, type Shape, sizeOf } from "./shape.ts";
import { trackTensor } from "./scope.ts";
import type { AnyOpDef } from "./op.ts";
import * as ew from "./ops/elementwise.ts";
import * as red from "./ops/reduce.ts";
import * as mv from "./ops/movement.ts";
import { matmul } from "./ops/linalg.ts";
import { softmax } from "./ops/nn.ts";

/** Backend storage shared by a tensor and its views; freed when no tensor refers to it. */
export interface Storage {
  /** The backend that owns the handle. */
  readonly backend: Backend;
  /** The backend's handle (a typed array on the CPU, a buffer on WebGPU). */
  readonly handle: unknown;
  /** Number of live tensors using this storage. */
  refs: number;
}

/** A recorded application of an op, kept on its output for reverse mode. */
export interface GradNode {
  /** The op that produced the tensor. */
  readonly op: AnyOpDef;
  /** Its inputs. */
  readonly inputs: readonly Tensor[];
  /** Its parameters. */
  readonly params: unknown;
}

/** A value that can stand where a tensor is expected: a tensor or a plain number. */
export type TensorLike = Tensor | number;

/** Nested arrays of numbers, as returned by {@link Tensor.array}. */
export type NestedArray = number | NestedArray[];

let nextId = 1;

/** The storage a tensor holds, boxed so the finalizer sees later `assign`s. */
interface StorageCell {
  storage: Storage | null;
}

/**
 * Safety net for device memory: a tensor that is garbage-collected without
 * `dispose` (and outside any `tidy`) releases its storage here. CPU storage
 * is ordinary garbage-collected memory and is not registered.
 */
const finalizer = new FinalizationRegistry<StorageCell>((cell) => {
  const s = cell.storage;
  cell.storage = null;
  if (s && --s.refs === 0) s.backend.free(s.handle);
});

/**
 * An n-dimensional array on a backend. Create tensors with `tensor`, `zeros`,
 * `randn` and friends; transform them with ops (functions or methods).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tensor } from "@lorapt/core";
 * const a = tensor([[1, 2], [3, 4]]);
 * const b = a.matmul(a).sum();
 * assert.ok((await b.item()) === 54);
 * ```
 */
export class Tensor {
  /** Unique id, for debugging and graph bookkeeping. */
  readonly id: number;
  /** Extent of each axis. */
  readonly shape: Shape;
  /** Element type. */
  readonly dtype: DType;
  /** Marks a leaf whose gradient is wanted (a parameter). */
  requiresGrad = false;
  /** The op application that produced this tensor, when recorded for autodiff. */
  node: GradNode | null = null;
  /** Brand used to recognise tensors across module copies. */
  readonly isTensor = true;
  #storage: Storage | null;
  #cell: StorageCell | null = null;

  /** Wraps existing storage. Use the creation functions instead of calling this directly. */
  constructor(shape: Shape, dtype: DType, storage: Storage) {
    this.id = nextId++;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.#storage = storage;
    storage.refs++;
    if (storage.backend.name !== "cpu") {
      this.#cell = { storage };
      finalizer.register(this, this.#cell, this);
    }
    trackTensor(this);
  }

  /** Number of elements. */
  get size(): number {
    return sizeOf(this.shape);
  }

  /** Number of axes. */
  get rank(): number {
    return this.shape.length;
  }

  /** True after {@link dispose}. */
  get disposed(): boolean {
    return this.#storage === null;
  }

  /** The storage; throws if the tensor was disposed. */
  get storage(): Storage {
    if (!this.#storage) {
      throw new Error(`tensor#${this.id} ${fmtShape(this.shape)} ${this.dtype} was disposed`);
    }
    return this.#storage;
  }

  /** Name of the backend that holds the data. */
  get backend(): string {
    return this.storage.backend.name;
  }

  /** True when this tensor takes part in reverse mode (a parameter or a recorded result). */
  get tracked(): boolean {
    return this.requiresGrad || this.node !== null;
  }

  /** Copies the data to the host as a typed array (row-major). */
  data(): Promise<TypedArray> {
    const s = this.storage;
    return s.backend.download(s.handle, this.dtype, this.size);
  }

  /** Synchronous read; only backends with synchronous storage (the CPU) support it. */
  dataSync(): TypedArray {
    const s = this.storage;
    if (!s.backend.readSync) {
      throw new Error(`dataSync: backend "${s.backend.name}" reads asynchronously; use await t.data()`);
    }
    return s.backend.readSync(s.handle, this.dtype, this.size);
  }

  /** The data as nested arrays. */
  async array(): Promise<NestedArray> {
    const flat = await this.data();
    const build = (axis: number, offset: number): NestedArray => {
      if (axis === this.shape.length) return flat[offset];
      const inner = sizeOf(this.shape.slice(axis + 1));
      return Array.from({ length: this.shape[axis] }, (_, i) => build(axis + 1, offset + i * inner));
    };
    return build(0, 0);
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new ShapeError(`item: tensor ${fmtShape(this.shape)} has ${this.size} elements`);
    return (await this.data())[0];
  }

  /** Releases the storage (shared storage is freed with its last user). Idempotent. */
  dispose(): void {
    const s = this.#storage;
    if (!s) return;
    this.#storage = null;
    this.node = null;
    if (this.#cell) {
      finalizer.unregister(this);
      this.#cell.storage = null;
    }
    if (--s.refs === 0) s.backend.free(s.handle);
  }

  /**
   * Replaces this tensor's value with `value`'s (same shape and dtype); used
   * by optimizers to update parameters. The two then share storage, so
   * `value` may be disposed (or left to `tidy`) afterwards. Drops any
   * recorded graph node.
   */
  assign(value: Tensor): void {
    if (!sameShape(value.shape, this.shape) || value.dtype !== this.dtype) {
      throw new ShapeError(
        `assign: value ${fmtShape(value.shape)} ${value.dtype} does not match tensor ${
          fmtShape(this.shape)
        } ${this.dtype}`,
      );
    }
    const s = value.storage;
    s.refs++;
    const old = this.#storage;
    this.#storage = s;
    if (this.#cell) this.#cell.storage = s;
    this.node = null;
    if (old && --old.refs === 0) old.backend.free(old.handle);
  }

  /** A short description: `Tensor[2,3] float32 cpu`. */
  toString(): string {
    return `Tensor${fmtShape(this.shape)} ${this.dtype} ${this.disposed ? "disposed" : this.backend}`;
  }

  /** Elementwise `this + other` with broadcasting. */
  add(other: TensorLike): Tensor {
    return ew.add(this, other);
  }
  /** Elementwise `this - other` with broadcasting. */
  sub(other: TensorLike): Tensor {
    return ew.sub(this, other);
  }
  /** Elementwise `this * other` with broadcasting. */
  mul(other: TensorLike): Tensor {
    return ew.mul(this, other);
  }
  /** Elementwise `this / other` with broadcasting. */
  div(other: TensorLike): Tensor {
    return ew.div(this, other);
  }
  /** Elementwise `this ** other` with broadcasting. */
  pow(other: TensorLike): Tensor {
    return ew.pow(this, other);
  }
  /** Elementwise negation. */
  neg(): Tensor {
    return ew.neg(this);
  }
  /** Elementwise `e^x`. */
  exp(): Tensor {
    return ew.exp(this);
  }
  /** Elementwise natural logarithm. */
  log(): Tensor {
    return ew.log(this);
  }
  /** Elementwise square root. */
  sqrt(): Tensor {
    return ew.sqrt(this);
  }
  /** Elementwise absolute value. */
  abs(): Tensor {
    return ew.abs(this);
  }
  /** Elementwise `max(x, 0)`. */
  relu(): Tensor {
    return ew.relu(this);
  }
  /** Elementwise exact GELU, `x Φ(x)`. */
  gelu(): Tensor {
    return ew.gelu(this);
  }
  /** Elementwise logistic sigmoid. */
  sigmoid(): Tensor {
    return ew.sigmoid(this);
  }
  /** Elementwise hyperbolic tangent. */
  tanh(): Tensor {
    return ew.tanh(this);
  }
  /** Converts to `dtype`. */
  cast(dtype: DType): Tensor {
    return ew.cast(this, dtype);
  }
  /** Batched matrix product with broadcasting over leading axes. */
  matmul(other: Tensor): Tensor {
    return matmul(this, other);
  }
  /** Sum over `axes` (all by default). */
  sum(axes?: number | number[], keepdims = false): Tensor {
    return red.sum(this, axes, keepdims);
  }
  /** Mean over `axes` (all by default). */
  mean(axes?: number | number[], keepdims = false): Tensor {
    return red.mean(this, axes, keepdims);
  }
  /** Maximum over `axes` (all by default). */
  max(axes?: number | number[], keepdims = false): Tensor {
    return red.max(this, axes, keepdims);
  }
  /** Minimum over `axes` (all by default). */
  min(axes?: number | number[], keepdims = false): Tensor {
    return red.min(this, axes, keepdims);
  }
  /** Index of the maximum along `axis` (int32). */
  argmax(axis: number, keepdims = false): Tensor {
    return red.argmax(this, axis, keepdims);
  }
  /** Softmax along `axis` (default: last). */
  softmax(axis = -1): Tensor {
    return softmax(this, axis);
  }
  /** Same data, new shape; one extent may be `-1`. */
  reshape(shape: number[]): Tensor {
    return mv.reshape(this, shape);
  }
  /** Reorders axes: output axis i is input axis `perm[i]`. */
  permute(perm: number[]): Tensor {
    return mv.permute(this, perm);
  }
  /** Swaps two axes (by default the last two). */
  transpose(a = -2, b = -1): Tensor {
    return mv.transpose(this, a, b);
  }
  /** Broadcasts to `shape`. */
  expand(shape: number[]): Tensor {
    return mv.expand(this, shape);
  }
  /** Removes size-1 axes (all, or those listed). */
  squeeze(axes?: number | number[]): Tensor {
    return mv.squeeze(this, axes);
  }
  /** Inserts a size-1 axis at `axis`. */
  unsqueeze(axis: number): Tensor {
    return mv.unsqueeze(this, axis);
  }
  /** A copy with no autodiff history (gradients stop here). */
  detach(): Tensor {
    return ew.stopGradient(this);
  }
}

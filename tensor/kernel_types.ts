/**
 * The types a kernel and a backend see: element types, shapes, an input's
 * metadata and data, an output's metadata, the parameters of the ops that
 * several backends implement, and the backend interface itself.
 *
 * This module imports nothing, so a backend (cpu/, webgpu/, native/) depends
 * on it and never on another backend or on the op layer (DESIGN.md, "Tensors
 * and backends"). `dtype.ts`, `shape.ts`, `backend.ts` and `registry.ts`
 * re-export what they used to define.
 * @module
 */

/** The element type of a tensor. */
export type DType = "float32" | "float64" | "int32" | "uint8";

/** The typed array that stores each {@link DType}. */
export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;

/** A tensor shape: one non-negative integer per axis. */
export type Shape = readonly number[];

/** Shape and dtype of an input, as seen by a shape rule. */
export interface TensorMeta {
  /** Input shape. */
  readonly shape: Shape;
  /** Input dtype. */
  readonly dtype: DType;
}

/** Shape and dtype of an op's output, as computed by the op's shape rule. */
export interface OutputMeta {
  /** Output shape. */
  shape: Shape;
  /** Output dtype. */
  dtype: DType;
}

/** An input as a CPU kernel sees it. */
export interface CpuArg extends TensorMeta {
  /** Row-major data; kernels must not write into it. */
  readonly data: TypedArray;
}

/** A CPU kernel: reads its inputs, returns a fresh (or, for views, shared) array. */
export type CpuKernel<P> = (inputs: CpuArg[], params: P, out: OutputMeta) => TypedArray;

/** An input as a backend's `run` sees it: metadata and the backend's storage handle (a `Tensor` is one). */
export interface KernelInput extends TensorMeta {
  /** The storage; `handle` is what the backend's `upload` or `run` returned. */
  readonly storage: { readonly handle: unknown };
}

/** What a backend's `run` reads of an op definition (an `OpDef` is one). */
export interface KernelOp {
  /** The op's name, for messages. */
  readonly name: string;
  /** The reference kernel. */
  // deno-lint-ignore no-explicit-any
  readonly cpu: CpuKernel<any>;
  /** Kernels of other backends, keyed by backend name. */
  readonly kernels: Record<string, unknown>;
}

/** What every backend implements. */
export interface Backend {
  /** Backend name, e.g. `"cpu"` or `"webgpu"`. */
  readonly name: string;
  /** Dtypes this backend can store. */
  readonly dtypes: readonly DType[];
  /** Copies host data into new backend storage and returns its handle. */
  upload(data: TypedArray): unknown;
  /** Reads storage back to the host. */
  download(handle: unknown, dtype: DType, size: number): Promise<TypedArray>;
  /** Reads storage synchronously, where the backend can (the CPU backend can). */
  readSync?(handle: unknown, dtype: DType, size: number): TypedArray;
  /** Releases storage. */
  free(handle: unknown): void;
  /** Runs `op` on `inputs` and returns the output's storage handle. */
  run(op: KernelOp, inputs: readonly KernelInput[], params: unknown, out: OutputMeta): unknown;
  /** Submits queued work, where the backend queues (optional). */
  flush?(): void;
  /**
   * One Adam/AdamW update of a float32 parameter in a single kernel (optional;
   * optimizers fall back to composing ops). Reads the handles in `state`,
   * never writes them, and returns new storage for the parameter and moments.
   */
  adamUpdate?(state: AdamHandles, size: number, h: AdamHyper): AdamHandles;
}

/** Storage handles of one parameter's Adam state (`vmax` with AMSGrad); `g` is the gradient (input only). */
export interface AdamHandles {
  /** Parameter. */
  p: unknown;
  /** Gradient (input only; absent from results). */
  g?: unknown;
  /** First moment. */
  m: unknown;
  /** Second moment. */
  v: unknown;
  /** Running maximum of the second moment (AMSGrad). */
  vmax?: unknown;
}

/**
 * The scalars of one Adam step, as `torch.optim.adam._single_tensor_adam`
 * uses them: g ← g + wd·p (coupled) or p ← p(1 − lr·wd) (decoupled);
 * m ← m + (g − m)(1 − β₁); v ← β₂v + (1 − β₂)g²; v̂ ← max(v̂, v) with AMSGrad;
 * p ← p − stepSize · m / (√v̂ / bc2Sqrt + eps).
 */
export interface AdamHyper {
  /** β₁. */
  b1: number;
  /** β₂. */
  b2: number;
  /** Learning rate. */
  lr: number;
  /** Weight decay. */
  wd: number;
  /** Decoupled (AdamW) decay instead of L2 in the gradient. */
  decoupled: boolean;
  /** lr / (1 − β₁ᵗ). */
  stepSize: number;
  /** √(1 − β₂ᵗ). */
  bc2Sqrt: number;
  /** ε. */
  eps: number;
}

/** Parameters of a reduction: sorted axes, and whether reduced axes stay as size 1. */
export interface ReduceParams {
  /** Axes to reduce, sorted, non-negative. */
  axes: number[];
  /** Keep reduced axes with extent 1. */
  keepdims: boolean;
}

/** Geometry shared by the three conv kernels (conv3d, convTranspose3d, conv3dWeightGrad). */
export interface ConvParams {
  /** Stride per spatial axis (D, H, W). */
  stride: [number, number, number];
  /** Zero padding per spatial axis. */
  padding: [number, number, number];
  /** Dilation per spatial axis. */
  dilation: [number, number, number];
  /** Channel groups. */
  groups: number;
}

/** Activations the fused `linear` op applies after its bias (see `activations.ts`). */
export type LinearActivation = "none" | "relu" | "gelu";

/** Parameters of the fused `linear` op. */
export interface LinearParams {
  /** Applied to x·Wᵀ + b. */
  activation: LinearActivation;
}

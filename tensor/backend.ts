/**
 * The backend interface and the registry that picks the default backend.
 *
 * A backend owns storage (allocate, upload, download, free) and runs ops. Each
 * op names its kernel per backend in its own definition (see `op.ts`), so
 * adding an op never touches a backend's dispatch code.
 * @module
 */
import type { DType, TypedArray } from "./dtype.ts";
import type { Shape } from "./shape.ts";
import type { AnyOpDef } from "./op.ts";
import type { Tensor } from "./tensor.ts";
import { cpuBackend } from "./cpu/backend.ts";

/** Shape and dtype of an op's output, as computed by the op's shape rule. */
export interface OutputMeta {
  /** Output shape. */
  shape: Shape;
  /** Output dtype. */
  dtype: DType;
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
  run(op: AnyOpDef, inputs: readonly Tensor[], params: unknown, out: OutputMeta): unknown;
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

const backends = new Map<string, Backend>();
let current: Backend | null = null;
registerBackend(cpuBackend);

/** Registers a backend under its name. The first one registered becomes the default. */
export function registerBackend(b: Backend): void {
  backends.set(b.name, b);
  if (!current) current = b;
}

/** Makes the named backend the default for new tensors. */
export function setBackend(name: string): void {
  const b = backends.get(name);
  if (!b) {
    throw new Error(
      `setBackend: unknown backend "${name}" (registered: ${[...backends.keys()].join(", ")})`,
    );
  }
  current = b;
}

/** The backend new tensors are created on. */
export function getBackend(): Backend {
  if (!current) throw new Error("getBackend: no backend registered");
  return current;
}

/** The backend registered under `name`. */
export function backendByName(name: string): Backend {
  const b = backends.get(name);
  if (!b) throw new Error(`backendByName: unknown backend "${name}"`);
  return b;
}

/** Names of the registered backends. */
export function listBackends(): string[] {
  return [...backends.keys()];
}

/**
 * Op definitions and the one function that applies them.
 *
 * An op is declared once: its name, its shape/dtype rule, a kernel per
 * backend and its vector-Jacobian product (VJP) written with other ops. An op
 * whose output carries no gradient (comparisons, argmax, oneHot) says so with
 * `nondiff`; an op with neither raises `NoGradientError` when differentiated.
 * @module
 */
import type { OutputMeta } from "./backend.ts";
import type { DType, TypedArray } from "./dtype.ts";
import { fmtShape, ShapeError } from "./errors.ts";
import { isGradEnabled } from "./grad_mode.ts";
import type { Shape } from "./shape.ts";
import { type Storage, Tensor } from "./tensor.ts";

/** Shape and dtype of an input, as seen by a shape rule. */
export interface TensorMeta {
  /** Input shape. */
  readonly shape: Shape;
  /** Input dtype. */
  readonly dtype: DType;
}

/** An input as a CPU kernel sees it. */
export interface CpuArg extends TensorMeta {
  /** Row-major data; kernels must not write into it. */
  readonly data: TypedArray;
}

/** A CPU kernel: reads its inputs, returns a fresh (or, for views, shared) array. */
export type CpuKernel<P> = (inputs: CpuArg[], params: P, out: OutputMeta) => TypedArray;

/** What a VJP sees: the op's inputs, output and parameters. */
export interface OpContext<P> {
  /** The inputs the op was applied to. */
  readonly inputs: readonly Tensor[];
  /** The op's output. */
  readonly output: Tensor;
  /** The op's parameters. */
  readonly params: P;
  /** Which inputs need a cotangent; a VJP may skip (return `null` for) the others. */
  readonly needsGrad: readonly boolean[];
}

/**
 * A vector-Jacobian product: given the cotangent `g` of the output, returns
 * one cotangent per input (or `null` where an input takes no gradient).
 */
export type Vjp<P> = (g: Tensor, ctx: OpContext<P>) => (Tensor | null)[];

/** The single declaration of an op. */
export interface OpDef<P = unknown> {
  /** Unique name, used in messages and by the gradient-coverage test. */
  readonly name: string;
  /** Shape and dtype rule; throws a `ShapeError` naming the op on bad inputs. */
  readonly infer: (inputs: readonly TensorMeta[], params: P) => OutputMeta;
  /** The reference kernel. */
  readonly cpu: CpuKernel<P>;
  /** Kernels of other backends, keyed by backend name (filled in by those backends). */
  readonly kernels: Record<string, unknown>;
  /** Reverse-mode rule, written with other ops. */
  readonly vjp?: Vjp<P>;
  /** Set when the output is piecewise constant or discrete: it carries no gradient. */
  readonly nondiff?: string;
}

/** An op definition of any parameter type. */
// deno-lint-ignore no-explicit-any
export type AnyOpDef = OpDef<any>;

const registry = new Map<string, AnyOpDef>();

/** Declares an op and registers it; names must be unique. */
export function defineOp<P>(def: Omit<OpDef<P>, "kernels"> & { kernels?: Record<string, unknown> }): OpDef<P> {
  if (registry.has(def.name)) throw new Error(`defineOp: op "${def.name}" is already defined`);
  const full: OpDef<P> = { ...def, kernels: def.kernels ?? {} };
  registry.set(def.name, full);
  return full;
}

/** Every registered op, in definition order. */
export function listOps(): AnyOpDef[] {
  return [...registry.values()];
}

/** The op registered under `name`. */
export function getOp(name: string): AnyOpDef {
  const op = registry.get(name);
  if (!op) throw new Error(`getOp: no op named "${name}"`);
  return op;
}

/** Wraps a backend handle as a new tensor. */
export function wrapStorage(shape: Shape, dtype: DType, storage: Omit<Storage, "refs">): Tensor {
  return new Tensor(shape, dtype, { ...storage, refs: 0 });
}

/**
 * Applies `op` to `inputs`: checks shapes, runs the kernel of the inputs'
 * backend and, when gradients are being recorded, attaches a graph node.
 */
export function apply<P>(op: OpDef<P>, inputs: readonly Tensor[], params: P): Tensor {
  const backend = inputs[0].storage.backend;
  for (const t of inputs) {
    if (t.storage.backend !== backend) {
      throw new ShapeError(
        `${op.name}: inputs live on different backends (${inputs.map((x) => x.backend).join(", ")})`,
      );
    }
  }
  const meta = op.infer(inputs, params);
  if (!backend.dtypes.includes(meta.dtype)) {
    throw new ShapeError(`${op.name}: backend "${backend.name}" has no ${meta.dtype} (output ${fmtShape(meta.shape)})`);
  }
  const handle = backend.run(op, inputs, params, meta);
  const shared = inputs.find((t) => t.storage.handle === handle);
  const out = shared
    ? new Tensor(meta.shape, meta.dtype, shared.storage)
    : wrapStorage(meta.shape, meta.dtype, { backend, handle });
  if (op.nondiff === undefined && isGradEnabled() && inputs.some((t) => t.tracked)) {
    out.node = { op, inputs: [...inputs], params };
  }
  return out;
}

/**
 * The op registry: the types an op declaration uses and `defineOp`. It
 * imports nothing at run time, so op modules can register themselves during
 * module evaluation whatever order the package's modules load in.
 * @module
 */
import type { CpuKernel, KernelOp, OutputMeta, TensorMeta } from "./kernel_types.ts";
import type { Tensor } from "./tensor.ts";

export type { CpuArg, CpuKernel, TensorMeta } from "./kernel_types.ts";

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
export interface OpDef<P = unknown> extends KernelOp {
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

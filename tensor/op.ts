/**
 * Applying ops. An op is declared once (see `registry.ts`): its name, its
 * shape/dtype rule, a kernel per backend and its vector-Jacobian product
 * (VJP) written with other ops. An op whose output carries no gradient
 * (comparisons, argmax, oneHot) says so with `nondiff`; an op with neither
 * raises `NoGradientError` when differentiated.
 * @module
 */
// The registry comes first: op modules evaluated through tensor.ts below need it.
export { defineOp, getOp, listOps } from "./registry.ts";
import type { DType } from "./dtype.ts";
import { fmtShape, ShapeError } from "./errors.ts";
import { isGradEnabled } from "./grad_mode.ts";
import type { OpDef } from "./registry.ts";
import type { Shape } from "./shape.ts";
import { type Storage, Tensor } from "./tensor.ts";

export type { AnyOpDef, CpuArg, CpuKernel, OpContext, OpDef, TensorMeta, Vjp } from "./registry.ts";

/** Wraps a backend handle as a new tensor. */
export function wrapStorage(shape: Shape, dtype: DType, storage: Omit<Storage, "refs">): Tensor {
  return new Tensor(shape, dtype, { ...storage, refs: 0 });
}

/**
 * Applies `op` to `inputs`: checks shapes, runs the kernel of the inputs'
 * backend and, when gradients are being recorded, attaches a graph node.
 */
export function apply<P>(op: OpDef<P>, inputs: readonly Tensor[], params: P): Tensor {
  inputs.forEach((t, i) => {
    if ((t as { isTensor?: boolean } | null | undefined)?.isTensor !== true) {
      const got = t === null || t === undefined ? String(t) : Array.isArray(t) ? "a plain JS array" : `a ${typeof t}`;
      throw new TypeError(`${op.name}: input ${i} is ${got}, not a Tensor (make one with tensor(…))`);
    }
  });
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

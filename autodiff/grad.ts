/**
 * Function transforms in the style of JAX: `grad`, `valueAndGrad`, and
 * `noGrad` to switch recording off.
 * @module
 */
import { fmtShape, ShapeError } from "../tensor/errors.ts";
import { withGradMode } from "../tensor/grad_mode.ts";
import { Tensor } from "../tensor/tensor.ts";
import { gradients } from "./backward.ts";

/** A scalar-valued function of tensors. */
export type ScalarFn = (...args: Tensor[]) => Tensor;

/** The result of {@link valueAndGrad}: the function's value and one gradient per argument. */
export interface ValueAndGrad {
  /** `f(...args)`. */
  value: Tensor;
  /** `∂f/∂args[i]` for each argument, in order. */
  grads: Tensor[];
}

/** A fresh leaf sharing `t`'s storage, so `t` itself is not marked. */
function leafOf(t: Tensor): Tensor {
  const leaf = new Tensor(t.shape, t.dtype, t.storage);
  leaf.requiresGrad = true;
  return leaf;
}

/**
 * Transforms a scalar function into one that returns its value and its
 * gradient with respect to every argument.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tensor, valueAndGrad } from "@lorapt/core";
 * const f = (x: import("@lorapt/core").Tensor) => x.mul(x).sum();
 * const { value, grads } = valueAndGrad(f)(tensor([1, 2, 3]));
 * assert.ok((await value.item()) === 14);
 * assert.ok((await grads[0].data()).join() === "2,4,6");
 * ```
 */
export function valueAndGrad(f: ScalarFn): (...args: Tensor[]) => ValueAndGrad {
  return (...args: Tensor[]) => {
    const leaves = args.map(leafOf);
    try {
      const value = f(...leaves);
      if (value.size !== 1) {
        throw new ShapeError(`grad: f must return a single-element tensor, got ${fmtShape(value.shape)}`);
      }
      return { value, grads: gradients(value, leaves) };
    } finally {
      // Leaves no longer need protection from tidy scopes.
      for (const l of leaves) l.requiresGrad = false;
    }
  };
}

/**
 * Transforms a scalar function into one that returns its gradient with
 * respect to every argument.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { grad, tensor } from "@lorapt/core";
 * const [g] = grad((x) => x.exp().sum())(tensor([0]));
 * assert.ok((await g.item()) === 1);
 * ```
 */
export function grad(f: ScalarFn): (...args: Tensor[]) => Tensor[] {
  const vg = valueAndGrad(f);
  return (...args: Tensor[]) => vg(...args).grads;
}

/** Runs `fn` without recording the graph: results carry no gradient history. */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

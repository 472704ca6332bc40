/**
 * @lorapt/core: tensors with reverse-mode autodiff, third-order tensor
 * algebra (t-product, t-SVD), and parameter-efficient fine-tuning of a 3-D
 * UNETR, LoRA-PT among them.
 *
 * @example
 * ```ts
 * import { grad, tensor } from "@lorapt/core";
 * const [g] = grad((x) => x.mul(x).sum())(tensor([1, 2, 3]));
 * console.assert((await g.data()).join() === "2,4,6");
 * ```
 * @module
 */
export * from "./tensor/mod.ts";
export * from "./autodiff/mod.ts";

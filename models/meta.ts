/**
 * Shape-only ("meta") tensors: a tensor with a shape and a dtype but no data.
 *
 * Every op still runs its own shape rule on meta inputs, so a model built
 * with `{ materialize: false }` can be counted, listed and even run forward
 * to trace its shapes (the 93 M-parameter reference UNETR at 128³) without
 * allocating or computing anything. Reading a meta tensor's values throws.
 *
 * The meta backend is deliberately not registered with the tensor library's
 * backend registry: nothing can end up on it by default.
 * @module
 */
import { type Backend, type DType, type Shape, Tensor } from "../tensor/mod.ts";

function noData(): never {
  throw new Error("meta tensor: it has a shape but no data (built with materialize: false); load weights first");
}

/** A backend whose storage holds nothing; ops only compute output shapes. */
export const metaBackend: Backend = {
  name: "meta",
  dtypes: ["float32", "float64", "int32", "uint8"],
  upload: () => ({}),
  download: () => Promise.reject(new Error("meta tensor: it has a shape but no data")),
  readSync: noData,
  free: () => {},
  // A fresh handle per result, so no output is mistaken for a view of an input.
  run: () => ({}),
};

/**
 * A tensor of `shape` with no data, for shape-only tracing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { matmul } from "../tensor/mod.ts";
 * import { metaTensor } from "./meta.ts";
 * const y = matmul(metaTensor([512, 768]), metaTensor([768, 2304]));
 * assert.deepEqual([...y.shape], [512, 2304]);
 * ```
 */
export function metaTensor(shape: Shape, dtype: DType = "float32"): Tensor {
  return new Tensor(shape, dtype, { backend: metaBackend, handle: {}, refs: 0 });
}

/** True when `t` is a shape-only tensor (see {@link metaTensor}). */
export function isMeta(t: Tensor): boolean {
  return t.storage.backend === metaBackend;
}

/**
 * Element types. `float64` exists for gradient checks and runs on the CPU
 * backend only; `int32` and `uint8` hold indices, labels and masks.
 * @module
 */

import type { DType, TypedArray } from "./kernel_types.ts";

export type { DType, TypedArray };

/** Allocates a zero-filled typed array of `dtype` with `size` elements. */
export function allocArray(dtype: DType, size: number): TypedArray {
  switch (dtype) {
    case "float32":
      return new Float32Array(size);
    case "float64":
      return new Float64Array(size);
    case "int32":
      return new Int32Array(size);
    case "uint8":
      return new Uint8Array(size);
  }
}

/** Bytes per element of `dtype`. */
export function bytesPerElement(dtype: DType): number {
  return dtype === "float64" ? 8 : dtype === "uint8" ? 1 : 4;
}

/** True for `float32` and `float64`. */
export function isFloat(dtype: DType): boolean {
  return dtype === "float32" || dtype === "float64";
}

/** The dtype that matches a typed array. */
export function dtypeOfArray(a: TypedArray): DType {
  if (a instanceof Float32Array) return "float32";
  if (a instanceof Float64Array) return "float64";
  if (a instanceof Int32Array) return "int32";
  return "uint8";
}

const RANK: Record<DType, number> = { uint8: 0, int32: 1, float32: 2, float64: 3 };

/**
 * The dtype of a binary operation's result: the wider of the two, in the
 * order uint8 < int32 < float32 < float64 (PyTorch's rule for these four).
 */
export function promote(a: DType, b: DType): DType {
  return RANK[a] >= RANK[b] ? a : b;
}

/** The dtype a float-only op returns for an input dtype (ints become float32). */
export function floatOf(dtype: DType): DType {
  return isFloat(dtype) ? dtype : "float32";
}

/** Converts `src` to a typed array of `dtype` (a copy, with truncation for ints). */
export function castArray(src: ArrayLike<number>, dtype: DType): TypedArray {
  const out = allocArray(dtype, src.length);
  if (dtype === "uint8" || dtype === "int32") {
    for (let i = 0; i < src.length; i++) out[i] = Math.trunc(src[i]);
  } else {
    out.set(src);
  }
  return out;
}

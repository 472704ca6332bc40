/**
 * Complex tensors, one convention for the whole library: a complex tensor is
 * a real tensor whose **last axis has size 2** and holds (real, imaginary),
 * like `torch.view_as_real`. An n1×n2×n3 complex tensor has shape
 * `[n1, n2, n3, 2]`. Every op stays single-output and real-valued, so the
 * existing ops (slice, permute, matmul on the parts …) and their gradients
 * work on complex data unchanged; the gradient of a real loss with respect to
 * a complex tensor is the pair (∂L/∂re, ∂L/∂im).
 * @module
 */
import { fmtShape, ShapeError } from "../errors.ts";
import { add, mul, sub } from "../ops/elementwise.ts";
import { tensor } from "../ops/creation.ts";
import { matmul } from "../ops/linalg.ts";
import { narrow, reshape, stack } from "../ops/movement.ts";
import type { Tensor } from "../tensor.ts";

function checkComplex(op: string, z: Tensor): void {
  if (z.rank < 1 || z.shape[z.rank - 1] !== 2) {
    throw new ShapeError(`${op}: a complex tensor has a last axis of size 2 (re, im), got ${fmtShape(z.shape)}`);
  }
}

/**
 * Builds a complex tensor from real and imaginary parts of one shape: the
 * result has that shape plus a last axis of size 2.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { complex, imag, real, tensor } from "@lorapt/core";
 * // A 2×2×3 complex tensor whose every entry is 1 + 2i.
 * const z = complex(tensor([[[1, 1, 1], [1, 1, 1]], [[1, 1, 1], [1, 1, 1]]]), tensor([[[2, 2, 2], [2, 2, 2]], [[2, 2, 2], [2, 2, 2]]]));
 * assert.deepEqual(z.shape, [2, 2, 3, 2]);
 * assert.deepEqual([...(await real(z).data())], new Array(12).fill(1));
 * assert.deepEqual([...(await imag(z).data())], new Array(12).fill(2));
 * ```
 */
export function complex(re: Tensor, im: Tensor): Tensor {
  if (re.shape.length !== im.shape.length || re.shape.some((d, i) => d !== im.shape[i])) {
    throw new ShapeError(`complex: real part ${fmtShape(re.shape)} and imaginary part ${fmtShape(im.shape)} differ`);
  }
  return stack([re, im], -1);
}

/**
 * The real part of a complex tensor (drops the last axis).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fft3, real, tensor } from "@lorapt/core";
 * // The zero-frequency slice of a 2×2×3 tensor is the sum of its frontal slices.
 * const A = tensor([[[1, 2, 3], [0, 0, 1]], [[1, 1, 1], [2, 0, 0]]]);
 * const re = await real(fft3(A)).array() as number[][][];
 * assert.deepEqual(re.map((row) => row.map((tube) => Math.round(tube[0]))), [[6, 1], [3, 2]]);
 * ```
 */
export function real(z: Tensor): Tensor {
  checkComplex("real", z);
  return reshape(narrow(z, -1, 0, 1), z.shape.slice(0, -1));
}

/**
 * The imaginary part of a complex tensor (drops the last axis).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fft3, imag, tensor } from "@lorapt/core";
 * // A real 2×2×3 tensor has a real zero-frequency slice: imaginary part 0.
 * const A = tensor([[[1, 2, 3], [0, 0, 1]], [[1, 1, 1], [2, 0, 0]]]);
 * const im = await imag(fft3(A)).array() as number[][][];
 * assert.ok(im.flat().every((tube) => Math.abs(tube[0]) < 1e-6));
 * ```
 */
export function imag(z: Tensor): Tensor {
  checkComplex("imag", z);
  return reshape(narrow(z, -1, 1, 1), z.shape.slice(0, -1));
}

/**
 * The complex conjugate: negates the imaginary parts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { conj, fft3, tensor } from "@lorapt/core";
 * // For a real tensor, slices k and n3−k of the DFT are conjugates: Â_2 = conj(Â_1) when n3 = 3.
 * const A = tensor([[[1, 2, 3], [0, 0, 1]], [[1, 1, 1], [2, 0, 0]]]);
 * const F = await fft3(A).array() as number[][][][];
 * const C = await conj(fft3(A)).array() as number[][][][];
 * for (const [i, j] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
 *   assert.ok(Math.abs(F[i][j][2][0] - C[i][j][1][0]) < 1e-5 && Math.abs(F[i][j][2][1] - C[i][j][1][1]) < 1e-5);
 * }
 * ```
 */
export function conj(z: Tensor): Tensor {
  checkComplex("conj", z);
  return mul(z, tensor([1, -1], [2], { dtype: z.dtype, backend: z.storage.backend }));
}

/**
 * Batched complex matrix product `[..., m, k, 2] × [..., k, n, 2] → [..., m, n, 2]`
 * with broadcast batch axes, from four real matmuls:
 * (A + iB)(C + iD) = (AC − BD) + i(AD + BC). Differentiable by composition.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cmatmul, tensor } from "@lorapt/core";
 * // A batch of 3 complex 2×2 matrices times i·I (2×2): multiplying by i maps (re, im) to (−im, re).
 * const a = tensor(Array.from({ length: 24 }, (_, i) => i), [3, 2, 2, 2]);
 * const iI = tensor([[[0, 1], [0, 0]], [[0, 0], [0, 1]]]);
 * const p = await cmatmul(a, iI).data(), x = await a.data();
 * for (let e = 0; e < 12; e++) assert.ok(p[2 * e] === -x[2 * e + 1] && p[2 * e + 1] === x[2 * e]);
 * ```
 */
export function cmatmul(a: Tensor, b: Tensor): Tensor {
  checkComplex("cmatmul", a);
  checkComplex("cmatmul", b);
  if (a.rank < 3 || b.rank < 3) {
    throw new ShapeError(`cmatmul: ${fmtShape(a.shape)} × ${fmtShape(b.shape)}: both need [..., rows, cols, 2]`);
  }
  const ar = real(a), ai = imag(a), br = real(b), bi = imag(b);
  return complex(sub(matmul(ar, br), matmul(ai, bi)), add(matmul(ar, bi), matmul(ai, br)));
}

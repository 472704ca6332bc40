/**
 * The DFT along mode 3 of a third-order tensor, as differentiable ops.
 *
 * Convention (README.md §2, next to this file): Â_k = Σ_l A_l e^{−2πikl/n3} over the
 * frontal slices A_l = A[:, :, l]; the inverse carries the 1/n3. Inputs:
 * - a real tensor `[n1, n2, n3]`, or
 * - a complex tensor `[n1, n2, n3, 2]` (last axis = (re, im), see `complex.ts`).
 * `fft3` and `ifft3` accept both and always return a complex `[n1, n2, n3, 2]`.
 * `rfft3` takes a real tensor and keeps only the ⌊n3/2⌋+1 slices that
 * conjugate symmetry (Â_{n3−k} = conj Â_k) does not determine; `irfft3`
 * inverts it to a real tensor.
 *
 * VJPs, from the adjoints of the DFT matrix F (F^H = n3·F^{-1}):
 * fft3ᵀ(G) = n3·ifft3(G), ifft3ᵀ(G) = fft3(G)/n3 (real part for a real
 * input); rfft3ᵀ(G) = n3·Re ifft3(G zero-padded to n3 slices);
 * irfft3ᵀ(g) = (c_k/n3)·rfft3(g), c_k = 1 for k = 0 and k = n3/2, else 2.
 * @module
 */
import { allocArray, type DType, floatOf } from "../dtype.ts";
import { fmtShape, ShapeError } from "../errors.ts";
import { apply } from "../op.ts";
import { defineOp, type TensorMeta } from "../registry.ts";
import { gpuDft, gpuIrfft } from "../webgpu/kernels_dft.ts";
import { div, mul } from "../ops/elementwise.ts";
import { tensor } from "../ops/creation.ts";
import { pad } from "../ops/movement.ts";
import type { Tensor } from "../tensor.ts";
import { real } from "./complex.ts";
import { dftTubes, halfLength, irfftTubes } from "./tubes.ts";

function isComplex3(shape: readonly number[]): boolean {
  return shape.length === 4 && shape[3] === 2;
}

function checkFloat(op: string, a: TensorMeta): DType {
  if (a.dtype !== "float32" && a.dtype !== "float64") {
    throw new ShapeError(`${op}: expects float32 or float64, got ${a.dtype} ${fmtShape(a.shape)}`);
  }
  return floatOf(a.dtype);
}

function inferDft(op: string) {
  return ([a]: readonly TensorMeta[]) => {
    if (a.shape.length !== 3 && !isComplex3(a.shape)) {
      throw new ShapeError(
        `${op}: expects a real [n1,n2,n3] or complex [n1,n2,n3,2] tensor, got ${fmtShape(a.shape)}`,
      );
    }
    return { shape: [a.shape[0], a.shape[1], a.shape[2], 2], dtype: checkFloat(op, a) };
  };
}

function dftOp(name: string, inverse: boolean) {
  return defineOp<undefined>({
    name,
    infer: inferDft(name),
    kernels: { webgpu: gpuDft(inverse) },
    cpu: ([a], _p, out) => {
      const [n1, n2, n] = a.shape;
      const r = dftTubes(a.data, n1 * n2, n, { complexIn: a.shape.length === 4, inverse, scale: inverse ? 1 / n : 1 });
      const o = allocArray(out.dtype, r.length);
      o.set(r);
      return o;
    },
    vjp: (g, { inputs: [a] }) => {
      const n = a.shape[2];
      const back = inverse ? div(fft3(g), n) : mul(ifft3(g), n);
      return [a.rank === 3 ? real(back) : back];
    },
  });
}

const FFT3 = dftOp("fft3", false);
const IFFT3 = dftOp("ifft3", true);

const RFFT3 = defineOp<undefined>({
  name: "rfft3",
  kernels: { webgpu: gpuDft(false) },
  infer: ([a]) => {
    if (a.shape.length !== 3) throw new ShapeError(`rfft3: expects a real [n1,n2,n3] tensor, got ${fmtShape(a.shape)}`);
    return { shape: [a.shape[0], a.shape[1], halfLength(a.shape[2]), 2], dtype: checkFloat("rfft3", a) };
  },
  cpu: ([a], _p, out) => {
    const [n1, n2, n] = a.shape;
    const r = dftTubes(a.data, n1 * n2, n, { complexIn: false, inverse: false, keep: halfLength(n) });
    const o = allocArray(out.dtype, r.length);
    o.set(r);
    return o;
  },
  vjp: (g, { inputs: [a] }) => {
    const n = a.shape[2], h = g.shape[2];
    return [mul(real(ifft3(pad(g, [[0, 0], [0, 0], [0, n - h], [0, 0]]))), n)];
  },
});

const IRFFT3 = defineOp<{ n: number }>({
  name: "irfft3",
  kernels: { webgpu: gpuIrfft },
  infer: ([a], { n }) => {
    if (!isComplex3(a.shape) || a.shape[2] !== halfLength(n)) {
      throw new ShapeError(
        `irfft3: n3 = ${n} needs a complex [n1,n2,${halfLength(n)},2] half spectrum, got ${fmtShape(a.shape)}`,
      );
    }
    return { shape: [a.shape[0], a.shape[1], n], dtype: checkFloat("irfft3", a) };
  },
  cpu: ([a], { n }, out) => {
    const r = irfftTubes(a.data, a.shape[0] * a.shape[1], n);
    const o = allocArray(out.dtype, r.length);
    o.set(r);
    return o;
  },
  vjp: (g, { params: { n } }) => {
    const h = halfLength(n);
    const w = Array.from({ length: h }, (_, k) => (k === 0 || 2 * k === n ? 1 : 2) / n);
    return [mul(rfft3(g), tensor(w, [h, 1], { dtype: g.dtype, backend: g.storage.backend }))];
  },
});

/**
 * The DFT along mode 3: Â[:, :, k] = Σ_l A[:, :, l]·e^{−2πikl/n3}, for any
 * n3 (mixed-radix Cooley–Tukey; Bluestein for prime factors above 31). A real
 * `[n1,n2,n3]` or complex `[n1,n2,n3,2]` input gives a complex `[n1,n2,n3,2]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fft3, tensor } from "@lorapt/core";
 * // 2×2×3: each tube A[i][j] = (A_0, A_1, A_2)[i, j] gets a length-3 DFT.
 * const A = tensor([[[1, 2, 3], [1, 0, 0]], [[1, 1, 1], [0, 1, 0]]]);
 * const F = await fft3(A).array() as number[][][][];
 * // DFT(1, 2, 3) = (6, −1.5 + 0.866i, −1.5 − 0.866i)
 * assert.ok(Math.abs(F[0][0][0][0] - 6) < 1e-6 && Math.abs(F[0][0][1][1] - Math.sqrt(3) / 2) < 1e-6);
 * // DFT of an impulse at l = 0 is all ones; of a constant tube, (3, 0, 0).
 * assert.deepEqual(F[0][1].map((z) => z[0]), [1, 1, 1]);
 * assert.ok(Math.abs(F[1][0][1][0]) < 1e-6 && F[1][0][0][0] === 3);
 * ```
 */
export function fft3(a: Tensor): Tensor {
  return apply(FFT3, [a], undefined);
}

/**
 * The inverse DFT along mode 3, A_l = (1/n3) Σ_k Â_k e^{+2πikl/n3}. Takes a
 * complex `[n1,n2,n3,2]` (or real `[n1,n2,n3]`) tensor and returns a complex
 * `[n1,n2,n3,2]`; use `real()` when the result is known to be real.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fft3, ifft3, real, tensor } from "@lorapt/core";
 * const A = tensor([[[1, 2, 3], [1, 0, 0]], [[1, 1, 1], [0, 1, 0]]]); // 2×2×3
 * const back = await real(ifft3(fft3(A))).data();
 * const orig = await A.data();
 * assert.ok(back.every((v, i) => Math.abs(v - orig[i]) < 1e-6));
 * ```
 */
export function ifft3(a: Tensor): Tensor {
  return apply(IFFT3, [a], undefined);
}

/**
 * The DFT along mode 3 of a real tensor, keeping only slices k = 0..⌊n3/2⌋:
 * `[n1,n2,n3]` → complex `[n1,n2,⌊n3/2⌋+1,2]`. The other slices follow from
 * conjugate symmetry, Â_{n3−k} = conj(Â_k).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fft3, rfft3, tensor } from "@lorapt/core";
 * const A = tensor([[[1, 2, 3], [1, 0, 0]], [[1, 1, 1], [0, 1, 0]]]); // 2×2×3
 * const half = rfft3(A);
 * assert.deepEqual(half.shape, [2, 2, 2, 2]); // ⌊3/2⌋+1 = 2 slices
 * const H = await half.array() as number[][][][], F = await fft3(A).array() as number[][][][];
 * assert.ok(Math.abs(H[0][0][1][1] - F[0][0][1][1]) < 1e-6);
 * ```
 */
export function rfft3(a: Tensor): Tensor {
  return apply(RFFT3, [a], undefined);
}

/**
 * The inverse of {@link rfft3}: a complex half spectrum `[n1,n2,⌊n3/2⌋+1,2]`
 * → the real tensor `[n1,n2,n3]` whose DFT it is (n3 must be given, since
 * n3 = 2h−2 and 2h−1 have the same half length). The imaginary parts of
 * slice 0 (and of slice n3/2 for even n3) are ignored, as in numpy's irfft.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { irfft3, rfft3, tensor } from "@lorapt/core";
 * const A = tensor([[[1, 2, 3], [1, 0, 0]], [[1, 1, 1], [0, 1, 0]]]); // 2×2×3
 * const back = await irfft3(rfft3(A), 3).data();
 * const orig = await A.data();
 * assert.ok(back.every((v, i) => Math.abs(v - orig[i]) < 1e-6));
 * ```
 */
export function irfft3(a: Tensor, n3: number): Tensor {
  if (!Number.isInteger(n3) || n3 < 1) throw new ShapeError(`irfft3: n3 must be a positive integer, got ${n3}`);
  return apply(IRFFT3, [a], { n: n3 });
}

/**
 * The t-product algebra of Kilmer & Martin (2011): t-product (Fourier and
 * block-circulant forms), t-transpose, identity, f-diagonal tensors and
 * orthogonality. Conventions: README.md §3 next to this file, frontal slices A_l =
 * A[:, :, l], l = 0..n3−1.
 * @module
 */
import { allocArray } from "../dtype.ts";
import { fmtShape, ShapeError } from "../errors.ts";
import { apply } from "../op.ts";
import { defineOp } from "../registry.ts";
import { gpuTtranspose } from "../webgpu/kernels_dft.ts";
import { type CreateOptions, fromArray } from "../ops/creation.ts";
import { mul } from "../ops/elementwise.ts";
import { matmul } from "../ops/linalg.ts";
import { concat, narrow, pad, permute, reshape } from "../ops/movement.ts";
import type { Tensor } from "../tensor.ts";
import { withGradMode } from "../grad_mode.ts";
import { cmatmul } from "./complex.ts";
import { irfft3, rfft3 } from "./fft.ts";

function check3(op: string, a: Tensor): void {
  if (a.rank !== 3) throw new ShapeError(`${op}: expects a third-order tensor [n1,n2,n3], got ${fmtShape(a.shape)}`);
}

function checkProduct(op: string, a: Tensor, b: Tensor): void {
  check3(op, a);
  check3(op, b);
  if (a.shape[1] !== b.shape[0] || a.shape[2] !== b.shape[2]) {
    throw new ShapeError(
      `${op}: ${fmtShape(a.shape)} * ${fmtShape(b.shape)}: needs [n1,n2,n3] * [n2,l,n3] (inner sizes ${
        a.shape[1]
      } and ${b.shape[0]}, tube lengths ${a.shape[2]} and ${b.shape[2]})`,
    );
  }
}

/**
 * The t-product A * B of A `[n1,n2,n3]` and B `[n2,l,n3]` → `[n1,l,n3]`,
 * computed slice by slice in the Fourier domain: (A*B)^_k = Â_k·B̂_k. Only
 * the ⌊n3/2⌋+1 slices of the real DFT are multiplied (`rfft3` → complex
 * matmul → `irfft3`), so it costs O(n1·n2·l·n3) plus the FFTs, against
 * O(n1·n2·l·n3²) for the block-circulant form. Differentiable by composition.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tensor, tprod } from "@lorapt/core";
 * // 2×2×3 tensors. B is the "shift": slice B_1 = I, B_0 = B_2 = 0.
 * const A = tensor([[[1, 2, 3], [0, 1, 0]], [[4, 0, 0], [1, 1, 1]]]);
 * const B = tensor([[[0, 1, 0], [0, 0, 0]], [[0, 0, 0], [0, 1, 0]]]);
 * // (A*B)_l = Σ_m A_{(l−m) mod 3} B_m = A_{(l−1) mod 3}: the slices of A, rotated by one.
 * const C = await tprod(A, B).array() as number[][][];
 * assert.deepEqual(C.map((r) => r.map((t) => t.map(Math.round))), [[[3, 1, 2], [0, 0, 1]], [[0, 4, 0], [1, 1, 1]]]);
 * ```
 */
export function tprod(a: Tensor, b: Tensor): Tensor {
  checkProduct("tprod", a, b);
  const n = a.shape[2];
  const ah = permute(rfft3(a), [2, 0, 1, 3]); // [h, n1, n2, 2]: one complex matrix per slice
  const bh = permute(rfft3(b), [2, 0, 1, 3]);
  return irfft3(permute(cmatmul(ah, bh), [1, 2, 0, 3]), n);
}

/**
 * The block-circulant matrix circ(A) `[n1·n3, n2·n3]`: block (i, j) is the
 * frontal slice A_{(i−j) mod n3}, so its first block column is A_0..A_{n3−1}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bcirc, tensor } from "@lorapt/core";
 * // 2×2×3: A_0 = [[1,0],[0,1]], A_1 = [[2,0],[0,0]], A_2 = [[0,3],[0,0]].
 * const A = tensor([[[1, 2, 0], [0, 0, 3]], [[0, 0, 0], [1, 0, 0]]]);
 * const M = await bcirc(A).array() as number[][];
 * assert.deepEqual(M, [
 *   [1, 0, 0, 3, 2, 0], // [A_0 A_2 A_1]
 *   [0, 1, 0, 0, 0, 0],
 *   [2, 0, 1, 0, 0, 3], // [A_1 A_0 A_2]
 *   [0, 0, 0, 1, 0, 0],
 *   [0, 3, 2, 0, 1, 0], // [A_2 A_1 A_0]
 *   [0, 0, 0, 0, 0, 1],
 * ]);
 * ```
 */
export function bcirc(a: Tensor): Tensor {
  check3("bcirc", a);
  const [n1, n2, n] = a.shape;
  const slices = Array.from({ length: n }, (_, l) => reshape(narrow(a, 2, l, 1), [n1, n2]));
  const rows = Array.from({ length: n }, (_, i) => concat(slices.map((_, j) => slices[(i - j + n) % n]), 1));
  return concat(rows, 0);
}

/**
 * unfold(A): the frontal slices of A `[n1,n2,n3]` stacked vertically,
 * `[n1·n3, n2]`. {@link fold} inverts it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tensor, unfold } from "@lorapt/core";
 * const A = tensor([[[1, 2, 3], [4, 5, 6]], [[7, 8, 9], [10, 11, 12]]]); // 2×2×3
 * assert.deepEqual(await unfold(A).array(), [[1, 4], [7, 10], [2, 5], [8, 11], [3, 6], [9, 12]]);
 * ```
 */
export function unfold(a: Tensor): Tensor {
  check3("unfold", a);
  const [n1, n2, n] = a.shape;
  return reshape(permute(a, [2, 0, 1]), [n * n1, n2]);
}

/**
 * fold(M, n3): the inverse of {@link unfold}, `[n1·n3, n2]` → `[n1, n2, n3]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fold, tensor, unfold } from "@lorapt/core";
 * const A = tensor([[[1, 2, 3], [4, 5, 6]], [[7, 8, 9], [10, 11, 12]]]); // 2×2×3
 * assert.deepEqual(await fold(unfold(A), 3).array(), await A.array());
 * ```
 */
export function fold(m: Tensor, n3: number): Tensor {
  if (m.rank !== 2 || m.shape[0] % n3 !== 0) {
    throw new ShapeError(`fold: expects a [n1·${n3}, n2] matrix, got ${fmtShape(m.shape)}`);
  }
  return permute(reshape(m, [n3, m.shape[0] / n3, m.shape[1]]), [1, 2, 0]);
}

/**
 * The t-product by its definition, A * B = fold(circ(A)·unfold(B)): one
 * matrix product with the block-circulant matrix. O(n3²) memory and work; for
 * teaching and as the reference that {@link tprod} is tested against.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tensor, tprod, tprodCirculant } from "@lorapt/core";
 * const A = tensor([[[1, 2, 3], [0, 1, 0]], [[4, 0, 0], [1, 1, 1]]]); // 2×2×3
 * const B = tensor([[[1, 0, 2], [0, 1, 0]], [[0, 0, 1], [3, 0, 0]]]);
 * const viaCirc = await tprodCirculant(A, B).data(), viaFft = await tprod(A, B).data();
 * assert.ok(viaCirc.every((v, i) => Math.abs(v - viaFft[i]) < 1e-5));
 * ```
 */
export function tprodCirculant(a: Tensor, b: Tensor): Tensor {
  checkProduct("tprodCirculant", a, b);
  return fold(matmul(bcirc(a), unfold(b)), a.shape[2]);
}

const TTRANSPOSE = defineOp<undefined>({
  name: "ttranspose",
  kernels: { webgpu: gpuTtranspose },
  infer: ([a]) => {
    if (a.shape.length !== 3) {
      throw new ShapeError(`ttranspose: expects a third-order tensor [n1,n2,n3], got ${fmtShape(a.shape)}`);
    }
    return { shape: [a.shape[1], a.shape[0], a.shape[2]], dtype: a.dtype };
  },
  cpu: ([a], _p, out) => {
    const [n1, n2, n] = a.shape, x = a.data, y = allocArray(out.dtype, x.length);
    for (let i = 0; i < n1; i++) {
      for (let j = 0; j < n2; j++) {
        const src = (i * n2 + j) * n, dst = (j * n1 + i) * n;
        y[dst] = x[src];
        for (let l = 1; l < n; l++) y[dst + l] = x[src + n - l];
      }
    }
    return y;
  },
  // The t-transpose is a permutation of the entries and its own inverse: its VJP is itself.
  vjp: (g) => [ttranspose(g)],
});

/**
 * The t-transpose Aᵀ `[n2,n1,n3]`: transpose every frontal slice, then
 * reverse the order of slices 1..n3−1, i.e. (Aᵀ)_0 = A_0ᵀ and
 * (Aᵀ)_l = A_{n3−l}ᵀ. In the Fourier domain (Aᵀ)^_k = (Â_k)ᴴ, and
 * (A*B)ᵀ = Bᵀ*Aᵀ.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tensor, ttranspose } from "@lorapt/core";
 * // 2×2×3 with tubes A[i][j]: entry (j, i) of Aᵀ holds tube A[i][j] with slices 1 and 2 swapped.
 * const A = tensor([[[1, 2, 3], [4, 5, 6]], [[7, 8, 9], [10, 11, 12]]]);
 * assert.deepEqual(await ttranspose(A).array(), [[[1, 3, 2], [7, 9, 8]], [[4, 6, 5], [10, 12, 11]]]);
 * ```
 */
export function ttranspose(a: Tensor): Tensor {
  return apply(TTRANSPOSE, [a], undefined);
}

/**
 * The identity tensor I `[n,n,n3]`: first frontal slice I_n, all others zero,
 * so that I * A = A * I = A (every Fourier slice Î_k is I_n).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tensor, tidentity, tprod } from "@lorapt/core";
 * const I = tidentity(2, 3);
 * assert.deepEqual(await I.array(), [[[1, 0, 0], [0, 0, 0]], [[0, 0, 0], [1, 0, 0]]]);
 * const A = tensor([[[1, 2, 3], [4, 5, 6]], [[7, 8, 9], [10, 11, 12]]]); // 2×2×3
 * const IA = await tprod(I, A).data(), orig = await A.data();
 * assert.ok(IA.every((v, i) => Math.abs(v - orig[i]) < 1e-5));
 * ```
 */
export function tidentity(n: number, n3: number, opts: CreateOptions = {}): Tensor {
  if (!(Number.isInteger(n) && n >= 1 && Number.isInteger(n3) && n3 >= 1)) {
    throw new ShapeError(`tidentity: n and n3 must be positive integers, got ${n} and ${n3}`);
  }
  const d = allocArray(opts.dtype ?? "float32", n * n * n3);
  for (let i = 0; i < n; i++) d[(i * n + i) * n3] = 1;
  return fromArray(d, [n, n, n3], opts.backend);
}

/**
 * The f-diagonal tensor with the given diagonal tubes: `tubes` `[r, n3]` →
 * S `[r, r, n3]` with S[i, i, :] = tubes[i, :] and zeros elsewhere (every
 * frontal slice diagonal). With `shape = [n1, n2]` (both ≥ r) the result is
 * `[n1, n2, n3]`, zero-padded. Differentiable in `tubes`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fdiag, tensor } from "@lorapt/core";
 * const S = fdiag(tensor([[1, 2, 3], [4, 5, 6]])); // two tubes of length 3 → 2×2×3
 * assert.deepEqual(await S.array(), [[[1, 2, 3], [0, 0, 0]], [[0, 0, 0], [4, 5, 6]]]);
 * ```
 */
export function fdiag(tubes: Tensor, shape?: readonly [number, number]): Tensor {
  if (tubes.rank !== 2) throw new ShapeError(`fdiag: expects tubes [r, n3], got ${fmtShape(tubes.shape)}`);
  const [r, n] = tubes.shape;
  const [n1, n2] = shape ?? [r, r];
  if (n1 < r || n2 < r) throw new ShapeError(`fdiag: ${r} tubes do not fit a ${n1}×${n2} f-diagonal tensor`);
  const eye = allocArray(tubes.dtype, r * r);
  for (let i = 0; i < r; i++) eye[i * r + i] = 1;
  const s = mul(reshape(tubes, [r, 1, n]), fromArray(eye, [r, r, 1], tubes.storage.backend));
  return pad(s, [[0, n1 - r], [0, n2 - r], [0, 0]]);
}

/**
 * True when Qᵀ*Q = I within `tol` (largest absolute deviation), i.e. the
 * columns of Q `[n1,n2,n3]` are t-orthonormal (every Fourier slice has
 * orthonormal columns); for square Q also Q*Qᵀ = I, which makes Q
 * orthogonal (every Q̂_k unitary).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isOrthogonal, tensor, tidentity } from "@lorapt/core";
 * assert.ok(await isOrthogonal(tidentity(2, 3)));
 * // 2×2×3 "slice shift" P with P_1 = I: orthogonal, since Pᵀ*P = I.
 * assert.ok(await isOrthogonal(tensor([[[0, 1, 0], [0, 0, 0]], [[0, 0, 0], [0, 1, 0]]])));
 * assert.ok(!(await isOrthogonal(tensor([[[2, 0, 0], [0, 0, 0]], [[0, 0, 0], [1, 0, 0]]]))));
 * ```
 */
export async function isOrthogonal(q: Tensor, tol = 1e-5): Promise<boolean> {
  check3("isOrthogonal", q);
  const [n1, n2, n] = q.shape;
  const dev = async (p: Tensor, k: number) => {
    const d = await p.data();
    let e = 0;
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        for (let l = 0; l < n; l++) e = Math.max(e, Math.abs(d[(i * k + j) * n + l] - (i === j && l === 0 ? 1 : 0)));
      }
    }
    return e;
  };
  const [qtq, qqt] = withGradMode(false, () => [tprod(ttranspose(q), q), n1 === n2 ? tprod(q, ttranspose(q)) : null]);
  const e1 = await dev(qtq, n2);
  const e2 = qqt ? await dev(qqt, n1) : 0;
  return e1 <= tol && e2 <= tol;
}

/**
 * The t-SVD A = U * S * Vᵀ of a real third-order tensor, its truncation to
 * tubal rank r, and the quantities defined through it (tubal rank, tensor
 * nuclear norm): Kilmer & Martin (2011) and the paper's §3.2; README.md §4–6.
 *
 * Method: Â = rfft3(A) gives the ⌊n3/2⌋+1 Fourier slices that conjugate
 * symmetry does not determine. Each slice gets a complex SVD
 * Â_k = Û_k·Ŝ_k·V̂_kᴴ (real arithmetic on the real slices k = 0 and k = n3/2,
 * so their factors are real); the other slices are their conjugates
 * (Û_{n3−k} = conj Û_k, Ŝ_{n3−k} = Ŝ_k, V̂_{n3−k} = conj V̂_k), and the
 * inverse DFT of Û, Ŝ, V̂ gives **real** U, S, V.
 *
 * Phase convention (deterministic; slice SVDs are unique only up to a unit
 * phase per singular pair): the largest-magnitude entry of every left
 * singular vector û (the first one on ties) is made real and positive, and
 * v̂ gets the same phase. On the real slices this is a sign choice.
 * @module
 */
import { allocArray } from "../dtype.ts";
import { fmtShape, ShapeError } from "../errors.ts";
import { fromArray } from "../ops/creation.ts";
import type { Tensor } from "../tensor.ts";
import type { ComplexMatrix, ComplexSvd } from "./complex_matrix.ts";
import { jacobiSvd } from "./svd_jacobi.ts";
import { sliceTopR } from "./svd_gram.ts";
import { SvdConvergenceError, topRSvd } from "./svd_topr.ts";
import { halfLength, type HalfSpectrum, irfftSlices, rfftSlices, rfftSlicesBlas } from "./tubes.ts";

/** A t-SVD A = U * S * Vᵀ with real factors. */
export interface TSvd {
  /** Left factor: orthogonal `[n1,n1,n3]` (full) or `[n1,r,n3]` with Uᵀ*U = I (truncated). */
  U: Tensor;
  /** f-diagonal core: `[n1,n2,n3]` (full) or `[r,r,n3]` (truncated). */
  S: Tensor;
  /** Right factor: orthogonal `[n2,n2,n3]` (full) or `[n2,r,n3]` with Vᵀ*V = I (truncated). */
  V: Tensor;
}

/**
 * A truncated t-SVD A_r = U * fdiag(S) * Vᵀ of tubal rank r: U `[n1,r,n3]`
 * and V `[n2,r,n3]` with Uᵀ*U = Vᵀ*V = I, and the r singular tubes S
 * `[r,n3]` (the diagonal of the f-diagonal core; `fdiag(S)` rebuilds it).
 */
export interface TSvdTruncation {
  /** Left factor `[n1,r,n3]`. */
  U: Tensor;
  /** Singular tubes `[r,n3]`: tube i is the core's entry (i, i, :). */
  S: Tensor;
  /** Right factor `[n2,r,n3]`. */
  V: Tensor;
}

/** A truncated t-SVD with its principal part and what is left, from `tsvdTruncate(a, r, { parts: true })`. */
export interface TSvdParts extends TSvdTruncation {
  /** A_r = U * fdiag(S) * Vᵀ, the best tubal-rank-r approximation of A, `[n1,n2,n3]`. */
  principal: Tensor;
  /** A − A_r, `[n1,n2,n3]`. */
  residual: Tensor;
}

/** How each Fourier slice is decomposed by {@link tsvdTruncate}. */
export type SliceSvdMethod = "auto" | "jacobi" | "krylov" | "lapack";

/** Options of {@link tsvdTruncate}. */
export interface TSvdOptions {
  /**
   * `"jacobi"`: full one-sided Jacobi SVD of each slice (exact; O(n1·n2·min(n1,n2)) per sweep).
   * `"krylov"`: the top r triplets only, by restarted block Lanczos run until every triplet's
   * residual is at most `tol`·σ_1 (O(n1·n2·b) per block step; products through the system BLAS when loaded).
   * `"lapack"`: the top r eigenpairs of each slice's Gram matrix (the smaller of ÂᴴÂ, ÂÂᴴ) by LAPACK's
   * `zheevr`/`dsyevr`, checked by the same residual test (and orthonormality); a slice that fails the check, or a
   * library without LAPACK, falls back to Krylov.
   * `"auto"` (default): Jacobi when min(n1,n2) ≤ 64 or 4r ≥ min(n1,n2), else `"lapack"`.
   */
  method?: SliceSvdMethod;
  /**
   * LAPACK and Krylov methods: converged when ‖Â_k·v − σ·u‖ and ‖Â_kᴴ·u − σ·v‖ are at most tol·σ_1(Â_k)
   * for each of the r triplets of every slice (default 1e-8); the LAPACK result must also have ‖UᴴU − I‖ and
   * ‖VᴴV − I‖ at most tol.
   */
  tol?: number;
  /** Krylov method: restarts allowed per slice before an `SvdConvergenceError` is thrown (default 100). */
  maxRestarts?: number;
  /** Krylov method: block size (default max(8, r + 2)). */
  blockSize?: number;
  /** Krylov method: seed of the random start blocks (default 0). */
  seed?: number;
  /** Also return `principal` = U * fdiag(S) * Vᵀ and `residual` = A − principal (default false). */
  parts?: boolean;
}

function check3(op: string, a: Tensor): [number, number, number] {
  if (a.rank !== 3 || (a.dtype !== "float32" && a.dtype !== "float64")) {
    throw new ShapeError(
      `${op}: expects a real float third-order tensor [n1,n2,n3], got ${fmtShape(a.shape)} ${a.dtype}`,
    );
  }
  return [a.shape[0], a.shape[1], a.shape[2]];
}

async function spectrumOf(a: Tensor): Promise<HalfSpectrum> {
  const [n1, n2, n] = a.shape;
  return rfftSlices(await a.data(), n1 * n2, n);
}

function sliceOf(spec: HalfSpectrum, k: number, rows: number, cols: number): ComplexMatrix {
  return { rows, cols, re: spec.re[k], im: spec.im[k] };
}

function emptySpectrum(h: number, tubes: number): HalfSpectrum {
  return {
    re: Array.from({ length: h }, () => new Float64Array(tubes)),
    im: Array.from({ length: h }, () => new Float64Array(tubes)),
  };
}

/** Copies the first `k` columns of `m` into slice `at` of a spectrum with k-wide rows. */
function putColumns(spec: HalfSpectrum, at: number, m: ComplexMatrix, k: number): void {
  for (let i = 0; i < m.rows; i++) {
    for (let c = 0; c < k; c++) {
      spec.re[at][i * k + c] = m.re[i * m.cols + c];
      spec.im[at][i * k + c] = m.im[i * m.cols + c];
    }
  }
}

/** The f-diagonal `[n1,n2,n]` array with the given diagonal tubes (`[d, n]`); off-diagonal entries exactly 0. */
function diagonalCore(tubes: Float64Array, n1: number, n2: number, n: number): Float64Array {
  const out = new Float64Array(n1 * n2 * n);
  for (let i = 0; i < tubes.length / n; i++) out.set(tubes.subarray(i * n, (i + 1) * n), (i * n2 + i) * n);
  return out;
}

function toTensor(data: Float64Array, shape: number[], like: Tensor): Tensor {
  const out = allocArray(like.dtype, data.length);
  out.set(data);
  return fromArray(out, shape, like.storage.backend);
}

/**
 * The full t-SVD A = U * S * Vᵀ: U `[n1,n1,n3]` and V `[n2,n2,n3]`
 * orthogonal, S `[n1,n2,n3]` f-diagonal, all real, from ⌊n3/2⌋+1 complex
 * Jacobi SVDs of the Fourier slices. Within each Fourier slice the singular
 * values descend. Meant for small and medium tensors; use
 * {@link tsvdTruncate} for the leading tubes of a large one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isOrthogonal, tensor, tprod, tsvd, ttranspose } from "@lorapt/core";
 * const A = tensor([[[1, 2, 3], [0, 1, 0]], [[4, 0, 0], [1, 1, 1]]], undefined, { dtype: "float64" }); // 2×2×3
 * const { U, S, V } = await tsvd(A);
 * const back = await tprod(tprod(U, S), ttranspose(V)).data(), orig = await A.data();
 * assert.ok(back.every((v, i) => Math.abs(v - orig[i]) < 1e-12));
 * assert.ok(await isOrthogonal(U, 1e-12) && await isOrthogonal(V, 1e-12));
 * const s = await S.array() as number[][][];
 * assert.deepEqual(s[0][1], [0, 0, 0]); // f-diagonal: off-diagonal tubes vanish
 * ```
 */
export async function tsvd(a: Tensor): Promise<TSvd> {
  const [n1, n2, n] = check3("tsvd", a);
  const h = halfLength(n), spec = await spectrumOf(a);
  const mn = Math.min(n1, n2);
  const u = emptySpectrum(h, n1 * n1), s = emptySpectrum(h, mn), v = emptySpectrum(h, n2 * n2);
  for (let k = 0; k < h; k++) {
    const svd = jacobiSvd(sliceOf(spec, k, n1, n2), { full: true });
    putColumns(u, k, svd.u, n1);
    putColumns(v, k, svd.v, n2);
    s.re[k].set(svd.s);
  }
  return {
    U: toTensor(irfftSlices(u, n1 * n1, n), [n1, n1, n], a),
    S: toTensor(diagonalCore(irfftSlices(s, mn, n), n1, n2, n), [n1, n2, n], a),
    V: toTensor(irfftSlices(v, n2 * n2, n), [n2, n2, n], a),
  };
}

/**
 * The truncated t-SVD: tubal-rank-r factors U `[n1,r,n3]`, singular tubes
 * S `[r,n3]` and V `[n2,r,n3]`, all real, with A_r = U * fdiag(S) * Vᵀ. In
 * the Fourier domain this keeps the top r singular triplets of every slice
 * Â_k, which makes A_r the best approximation of tubal rank r (Kilmer &
 * Martin 2011, §4): ‖A − A_r‖²_F = (1/n3) Σ_k Σ_{i>r} σ_i(Â_k)². Large
 * slices are decomposed through the top eigenpairs of their Gram matrix on
 * LAPACK, or by a Krylov method, neither of which forms the full SVD; both
 * are checked by a residual test (see {@link TSvdOptions}); the Krylov method throws
 * `SvdConvergenceError` rather than return unconverged factors. With
 * `{ parts: true }` the principal part A_r and the residual A − A_r come
 * back too (formed in float64, then rounded once to A's dtype).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fourierSingularValues, tensor, tsvdTruncate } from "@lorapt/core";
 * const A = tensor([[[1, 2, 3], [0, 1, 0]], [[4, 0, 0], [1, 1, 1]]], undefined, { dtype: "float64" }); // 2×2×3
 * const { U, S, V, principal, residual } = await tsvdTruncate(A, 1, { parts: true });
 * assert.deepEqual([U.shape, S.shape, V.shape], [[2, 1, 3], [1, 3], [2, 1, 3]]);
 * // The error is the energy of the dropped Fourier singular values, divided by n3.
 * const sv = await fourierSingularValues(A);
 * const dropped = sv.reduce((acc, s) => acc + s[1] ** 2, 0) / 3;
 * const res = [...await residual.data()];
 * assert.ok(Math.abs(res.reduce((acc, x) => acc + x * x, 0) - dropped) < 1e-12);
 * const p = await principal.data(), orig = await A.data();
 * assert.ok(p.every((x, i) => Math.abs(x + res[i] - orig[i]) < 1e-12));
 * ```
 */
export function tsvdTruncate(a: Tensor, r: number, opts: TSvdOptions & { parts: true }): Promise<TSvdParts>;
/** The truncated t-SVD factors U, S (tubes), V; see the overload above. */
export function tsvdTruncate(a: Tensor, r: number, opts?: TSvdOptions): Promise<TSvdTruncation>;
export async function tsvdTruncate(a: Tensor, r: number, opts: TSvdOptions = {}): Promise<TSvdTruncation | TSvdParts> {
  const [n1, n2, n] = check3("tsvdTruncate", a);
  const mn = Math.min(n1, n2);
  if (!(Number.isInteger(r) && r >= 1 && r <= mn)) {
    throw new ShapeError(
      `tsvdTruncate: tubal rank r must be an integer in [1, ${mn}] for ${fmtShape(a.shape)}, got ${r}`,
    );
  }
  const method = opts.method ?? "auto";
  if (method !== "auto" && method !== "jacobi" && method !== "krylov" && method !== "lapack") {
    throw new RangeError(
      `tsvdTruncate: method must be "auto", "jacobi", "krylov" or "lapack", got ${JSON.stringify(method)}`,
    );
  }
  const jacobi = method === "jacobi" || (method === "auto" && (mn <= 64 || 4 * r >= mn));
  const h = halfLength(n), data = await a.data();
  // The DFT as one BLAS product where a BLAS is loaded (several times faster than the JS FFT for n3 = 12 or 48).
  const spec = (data instanceof Float64Array && !jacobi ? rfftSlicesBlas(data, n1 * n2, n) : null) ??
    rfftSlices(data, n1 * n2, n);
  const u = emptySpectrum(h, n1 * r), s = emptySpectrum(h, r), v = emptySpectrum(h, n2 * r);
  for (let k = 0; k < h; k++) {
    const slice = sliceOf(spec, k, n1, n2);
    const svd: ComplexSvd = jacobi ? jacobiSvd(slice) : krylovSlice(slice, r, k, a, opts, method !== "krylov");
    putColumns(u, k, svd.u, r);
    putColumns(v, k, svd.v, r);
    s.re[k].set(svd.s.subarray(0, r));
    // The slice is no longer needed: overwrite it with the principal part Û_k·Ŝ_k·V̂_kᴴ.
    if (opts.parts) principalSlice(slice, svd, r);
  }
  const factors: TSvdTruncation = {
    U: toTensor(irfftSlices(u, n1 * r, n), [n1, r, n], a),
    S: toTensor(irfftSlices(s, r, n), [r, n], a),
    V: toTensor(irfftSlices(v, n2 * r, n), [n2, r, n], a),
  };
  if (!opts.parts) return factors;
  // A_r in float64, then both parts rounded once to A's dtype (A − A_r is formed before rounding).
  const p64 = irfftSlices(spec, n1 * n2, n);
  const principal = allocArray(a.dtype, p64.length), residual = allocArray(a.dtype, p64.length);
  for (let i = 0; i < p64.length; i++) (principal[i] = p64[i], residual[i] = data[i] - p64[i]);
  const backend = a.storage.backend;
  return {
    ...factors,
    principal: fromArray(principal, [n1, n2, n], backend),
    residual: fromArray(residual, [n1, n2, n], backend),
  };
}

/**
 * The top-r triplets of Fourier slice k by the LAPACK Gram path (`gram`, with the Krylov fallback) or the Krylov
 * method alone; a convergence failure names the slice.
 */
function krylovSlice(
  slice: ComplexMatrix,
  r: number,
  k: number,
  a: Tensor,
  opts: TSvdOptions,
  gram: boolean,
): ComplexSvd {
  const n = a.shape[2];
  const o = {
    tol: opts.tol,
    maxRestarts: opts.maxRestarts,
    blockSize: opts.blockSize,
    seed: (opts.seed ?? 0) + k,
    real: k === 0 || 2 * k === n,
  };
  try {
    return gram ? sliceTopR(slice, r, o) : topRSvd(slice, r, o);
  } catch (e) {
    if (e instanceof SvdConvergenceError) {
      throw new SvdConvergenceError(
        `tsvdTruncate: Fourier slice ${k} of ${fmtShape(a.shape)}: ${e.message}`,
        e.residual,
      );
    }
    throw e;
  }
}

/** out ← Σ_{c<r} σ_c·u_c·v_cᴴ, one rank-1 update per singular triplet. */
function principalSlice(out: ComplexMatrix, svd: ComplexSvd, r: number): void {
  const { rows: m, cols: n, re, im } = out, { u, v } = svd;
  re.fill(0);
  im.fill(0);
  const vr = new Float64Array(n), vi = new Float64Array(n);
  for (let c = 0; c < r; c++) {
    for (let j = 0; j < n; j++) (vr[j] = v.re[j * v.cols + c], vi[j] = -v.im[j * v.cols + c]);
    for (let i = 0; i < m; i++) {
      const ar = u.re[i * u.cols + c] * svd.s[c], ai = u.im[i * u.cols + c] * svd.s[c], o = i * n;
      for (let j = 0; j < n; j++) {
        re[o + j] += ar * vr[j] - ai * vi[j];
        im[o + j] += ar * vi[j] + ai * vr[j];
      }
    }
  }
}

/**
 * The singular values σ_i(Â_k) of every Fourier slice k = 0..n3−1 (each
 * array descending, min(n1,n2) values; slices k and n3−k coincide). These
 * are what tubal rank, the tensor nuclear norm and the truncation error are
 * made of.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fourierSingularValues, tidentity } from "@lorapt/core";
 * // Every Fourier slice of the 2×2×3 identity is I_2: singular values (1, 1).
 * const sv = await fourierSingularValues(tidentity(2, 3));
 * assert.equal(sv.length, 3);
 * assert.ok(sv.every((s) => Math.abs(s[0] - 1) < 1e-6 && Math.abs(s[1] - 1) < 1e-6));
 * ```
 */
export async function fourierSingularValues(a: Tensor): Promise<Float64Array[]> {
  const [n1, n2, n] = check3("fourierSingularValues", a);
  const spec = await spectrumOf(a), h = halfLength(n);
  const half = Array.from({ length: h }, (_, k) => jacobiSvd(sliceOf(spec, k, n1, n2)).s.slice());
  return Array.from({ length: n }, (_, k) => half[k < h ? k : n - k]);
}

/**
 * The tubal rank: the number of non-zero singular tubes of the t-SVD, i.e.
 * max_k rank(Â_k). A singular value counts as zero when it is at most
 * `tol`·σ_max; the default tol is max(n1,n2)·n3·ε (ε = 2⁻²³ for float32,
 * 2⁻⁵² for float64), as numpy's `matrix_rank` does for matrices.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tensor, tprod, tubalRank } from "@lorapt/core";
 * // x (2×1×3) * y (1×2×3) has tubal rank 1 although its frontal slices have rank up to 2.
 * const x = tensor([[[1, 2, 0]], [[0, 1, 1]]]), y = tensor([[[1, 0, 0], [0, 1, 3]]]);
 * assert.equal(await tubalRank(tprod(x, y)), 1);
 * assert.equal(await tubalRank(tensor([[[1, 0, 0], [0, 0, 0]], [[0, 0, 0], [1, 0, 0]]])), 2);
 * ```
 */
export async function tubalRank(a: Tensor, tol?: number): Promise<number> {
  const [n1, n2, n] = check3("tubalRank", a);
  const eps = a.dtype === "float64" ? 2 ** -52 : 2 ** -23;
  const sv = await fourierSingularValues(a);
  const smax = Math.max(0, ...sv.map((s) => s[0] ?? 0));
  const cut = (tol ?? Math.max(n1, n2) * n * eps) * smax;
  return Math.max(...sv.map((s) => s.filter((x) => x > cut).length));
}

/**
 * The tensor nuclear norm ‖A‖_* = (1/n3) Σ_k ‖Â_k‖_* = (1/n3) Σ_k Σ_i σ_i(Â_k)
 * (the 1/n3 normalization of Lu et al., TPAMI 2020, which equals the sum of
 * the first frontal slice of S, Σ_i S(i,i,0), and makes ‖·‖_* the dual of
 * the tensor spectral norm max_k ‖Â_k‖₂).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tidentity, tnn } from "@lorapt/core";
 * // The 2×2×3 identity: each of the 3 Fourier slices is I_2 (nuclear norm 2), so (1/3)·(2+2+2) = 2.
 * assert.ok(Math.abs(await tnn(tidentity(2, 3)) - 2) < 1e-6);
 * ```
 */
export async function tnn(a: Tensor): Promise<number> {
  const [, , n] = check3("tnn", a);
  const sv = await fourierSingularValues(a);
  return sv.reduce((acc, s) => acc + s.reduce((x, y) => x + y, 0), 0) / n;
}

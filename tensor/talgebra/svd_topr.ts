/**
 * The leading r singular triplets of a large complex matrix, converged to a
 * residual tolerance: thick-restart block Golub–Kahan–Lanczos
 * bidiagonalization with full reorthogonalization and Rayleigh–Ritz
 * (Golub & Van Loan §10.4; the restart is Baglama & Reichel's, SIAM J. Sci.
 * Comput. 27, 2005).
 *
 * Two orthonormal bases grow in blocks of b columns: P (right, n×K) and
 * Q (left, m×K) with Y = A·P kept alongside, Q_j = orth(A·P_j ⊥ Q) and
 * P_{j+1} = orth(Aᴴ·Q_j ⊥ P). The small matrix B = Qᴴ·A·P = Qᴴ·Y (K×K)
 * has the SVD B = X·Σ·Wᴴ, which gives the Ritz triplets (σ_i, Q·x_i, P·w_i).
 * A triplet counts as converged when both residuals
 * ‖A·v − σ·u‖ and ‖Aᴴ·u − σ·v‖ are at most `tol`·σ_1. Otherwise the bases
 * shrink to the k leading Ritz vectors plus the next P block (which holds
 * their residual directions), and grow again. Krylov methods converge where
 * the spectrum is nearly flat (σ_1/σ_2 ≈ 1.05 on randomly initialised
 * weights), where plain subspace iteration stalls.
 *
 * The products with A and Aᴴ (and the Gram products) go through `dgemm` of
 * the system BLAS when one is loaded (a complex product is two real dgemms
 * on the stacked block [re | im]); otherwise plain loops compute the same.
 * A real matrix (`real: true`) is handled in real arithmetic, so its factors
 * stay real.
 * @module
 */
import { blasStatus, dgemm, type Gemm as BlasGemm, type Trans } from "../native/blas.ts";
import { Rng } from "../random.ts";
import { type ComplexMatrix, type ComplexSvd, fixPhases } from "./complex_matrix.ts";
import { jacobiSvd } from "./svd_jacobi.ts";

/** Options of {@link topRSvd}. */
export interface TopROptions {
  /** Converged when every residual of the r triplets is at most tol·σ_1 (default 1e-8). */
  tol?: number;
  /** Largest number of restarts before {@link SvdConvergenceError} is thrown (default 100). */
  maxRestarts?: number;
  /** Block size b (default max(8, r + 2), at most min(rows, cols)). */
  blockSize?: number;
  /** Seed of the random start block (default 0). */
  seed?: number;
  /** The matrix is real: work in real arithmetic, so that every factor stays real. */
  real?: boolean;
  /** Run the products on the system BLAS when one is loaded (default true); false: plain loops. */
  blas?: boolean;
}

/** What {@link topRSvd} returns: the triplets and what it took to converge. */
export interface TopRResult extends ComplexSvd {
  /** Restarts performed (0 when the first basis was enough). */
  restarts: number;
  /** Products of A or Aᴴ with a block, counted in columns. */
  products: number;
  /** The largest residual of the r triplets, relative to σ_1. */
  residual: number;
}

/** The iteration cap of {@link topRSvd} was reached before the residual test passed. */
export class SvdConvergenceError extends Error {
  /** The largest relative residual reached. */
  readonly residual: number;
  /** Creates the error. */
  constructor(message: string, residual: number) {
    super(message);
    this.name = "SvdConvergenceError";
    this.residual = residual;
  }
}

/** Row-major real matrix view: `rows`×`cols` at `data[off + i*ld + j]`. */
interface View {
  data: Float64Array;
  off: number;
  ld: number;
}

type Gemm = BlasGemm<Float64Array>;

/** C ← α·op(A)·B + β·C in plain loops (row-major, op(A) m×k, B k×n): the fallback without a BLAS. */
function gemmLoops(
  ta: Trans,
  _tb: Trans,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float64Array,
  lda: number,
  b: Float64Array,
  ldb: number,
  beta: number,
  c: Float64Array,
  ldc: number,
): void {
  for (let i = 0; i < m; i++) {
    const oc = i * ldc;
    if (beta === 0) c.fill(0, oc, oc + n);
    else if (beta !== 1) { for (let j = 0; j < n; j++) c[oc + j] *= beta; }
  }
  for (let i = 0; i < m; i++) {
    const oc = i * ldc;
    for (let p = 0; p < k; p++) {
      const x = alpha * (ta === "N" ? a[i * lda + p] : a[p * lda + i]);
      if (x === 0) continue;
      const ob = p * ldb;
      for (let j = 0; j < n; j++) c[oc + j] += x * b[ob + j];
    }
  }
}

/** The real GEMM in use: the BLAS when loaded (needs --allow-ffi) and allowed, else {@link gemmLoops}. */
function pickGemm(blas: boolean): Gemm {
  return blas && blasStatus().library ? dgemm : gemmLoops;
}

/** A complex row-major matrix with a row stride: columns [c0, c0+w) of a wider buffer. */
interface CBuf {
  rows: number;
  ld: number;
  re: Float64Array;
  im: Float64Array;
}

function cbuf(rows: number, cols: number): CBuf {
  return { rows, ld: cols, re: new Float64Array(rows * cols), im: new Float64Array(rows * cols) };
}

/** The solver's working state for one matrix. */
class Solver {
  readonly m: number;
  readonly n: number;
  readonly real: boolean;
  readonly gemm: Gemm;
  readonly a: ComplexMatrix;
  products = 0;
  /** Scratch for a stacked block [re | im] and the two real products. */
  #stack = new Float64Array(0);
  #t1 = new Float64Array(0);
  #t2 = new Float64Array(0);

  constructor(a: ComplexMatrix, real: boolean, blas: boolean) {
    this.a = a;
    this.m = a.rows;
    this.n = a.cols;
    this.real = real;
    this.gemm = pickGemm(blas);
  }

  #scratch(rows: number, w: number): void {
    const need = rows * 2 * w;
    if (this.#stack.length < need) this.#stack = new Float64Array(need);
    if (this.#t1.length < need) (this.#t1 = new Float64Array(need), this.#t2 = new Float64Array(need));
  }

  /**
   * out[:, oc:oc+w] ← op(A)·x[:, xc:xc+w] with op = A (`adjoint` false) or
   * Aᴴ. Complex: both real parts of A multiply the stacked [x_re | x_im], then
   * Re = T1_re ∓ T2_im and Im = T1_im ± T2_re.
   */
  apply(adjoint: boolean, x: CBuf, xc: number, w: number, out: CBuf, oc: number): void {
    const { m, n, a, gemm } = this;
    const rowsIn = adjoint ? m : n, rowsOut = adjoint ? n : m, ta: Trans = adjoint ? "T" : "N";
    this.products += w;
    if (this.real) {
      gemm(ta, "N", rowsOut, w, rowsIn, 1, a.re, n, x.re.subarray(xc), x.ld, 0, out.re.subarray(oc), out.ld);
      return;
    }
    this.#scratch(Math.max(m, n), w);
    const st = this.#stack, t1 = this.#t1, t2 = this.#t2, w2 = 2 * w;
    for (let i = 0; i < rowsIn; i++) {
      const o = i * x.ld + xc;
      st.set(x.re.subarray(o, o + w), i * w2);
      st.set(x.im.subarray(o, o + w), i * w2 + w);
    }
    gemm(ta, "N", rowsOut, w2, rowsIn, 1, a.re, n, st, w2, 0, t1, w2);
    gemm(ta, "N", rowsOut, w2, rowsIn, 1, a.im, n, st, w2, 0, t2, w2);
    const sg = adjoint ? -1 : 1; // A: (Ar + iAi)(xr + ixi);  Aᴴ: (Arᵀ − iAiᵀ)(xr + ixi)
    for (let i = 0; i < rowsOut; i++) {
      const o = i * out.ld + oc, t = i * w2;
      for (let c = 0; c < w; c++) {
        out.re[o + c] = t1[t + c] - sg * t2[t + w + c];
        out.im[o + c] = t1[t + w + c] + sg * t2[t + c];
      }
    }
  }

  /** C (k×w, ld w) ← Bᴴ·X for B = b[:, 0:k] and X = x[:, xc:xc+w], both with `rows` rows. */
  adjointTimes(b: CBuf, k: number, x: CBuf, xc: number, w: number): CBuf {
    const c = cbuf(k, w), rows = b.rows, g = this.gemm;
    const xr = x.re.subarray(xc), xi = x.im.subarray(xc);
    g("T", "N", k, w, rows, 1, b.re, b.ld, xr, x.ld, 0, c.re, w);
    if (this.real) return c;
    g("T", "N", k, w, rows, 1, b.im, b.ld, xi, x.ld, 1, c.re, w);
    g("T", "N", k, w, rows, 1, b.re, b.ld, xi, x.ld, 0, c.im, w);
    g("T", "N", k, w, rows, -1, b.im, b.ld, xr, x.ld, 1, c.im, w);
    return c;
  }

  /** out[:, oc:oc+w] ← β·out + α·B·C for B = b[:, 0:k] and C k×w (ld c.ld). */
  times(b: CBuf, k: number, c: CBuf, w: number, out: CBuf, oc: number, alpha: number, beta: number): void {
    const g = this.gemm, rows = b.rows, or = out.re.subarray(oc), oi = out.im.subarray(oc);
    g("N", "N", rows, w, k, alpha, b.re, b.ld, c.re, c.ld, beta, or, out.ld);
    if (this.real) return;
    g("N", "N", rows, w, k, -alpha, b.im, b.ld, c.im, c.ld, 1, or, out.ld);
    g("N", "N", rows, w, k, alpha, b.re, b.ld, c.im, c.ld, beta, oi, out.ld);
    g("N", "N", rows, w, k, alpha, b.im, b.ld, c.re, c.ld, 1, oi, out.ld);
  }

  /**
   * Makes columns [c0, c0+w) of `q` orthonormal and orthogonal to its first
   * c0 columns: block classical Gram–Schmidt against them twice (through
   * GEMM), then Gram–Schmidt twice within the block. A column that
   * (nearly) vanishes is replaced by a random vector orthogonal to all
   * others, so the basis keeps full rank (its true content lies in the span
   * already).
   */
  orthonormalize(q: CBuf, c0: number, w: number, rng: Rng): void {
    const before = new Float64Array(w);
    for (let c = 0; c < w; c++) before[c] = columnNorm(q, c0 + c);
    this.projectOut(q, c0, w);
    this.normalizeBlock(q, c0, w, rng, before);
  }

  /** Columns [c0, c0+w) of `q` minus their components along its first c0 columns (block CGS, twice, on GEMM). */
  projectOut(q: CBuf, c0: number, w: number): void {
    if (c0 === 0) return;
    for (let pass = 0; pass < 2; pass++) {
      const coef = this.adjointTimes(q, c0, q, c0, w);
      this.times(q, c0, coef, w, q, c0, -1, 1);
    }
  }

  /** Gram–Schmidt (twice) within columns [c0, c0+w), replacing a column whose norm fell below 1e-10·`before`. */
  normalizeBlock(q: CBuf, c0: number, w: number, rng: Rng, before: Float64Array): void {
    const rows = q.rows, ld = q.ld;
    for (let c = 0; c < w; c++) {
      const col = c0 + c;
      projectWithin(q, c0, col, this.real);
      if (!(columnNorm(q, col) > 1e-10 * before[c])) {
        for (let i = 0; i < rows; i++) {
          (q.re[i * ld + col] = rng.normal(), q.im[i * ld + col] = this.real ? 0 : rng.normal());
        }
        projectWithin(q, 0, col, this.real);
      }
      const len = columnNorm(q, col);
      if (!(len > 0)) throw new Error(`topRSvd: no room for basis column ${col} of ${rows} (internal error)`);
      for (let i = 0; i < rows; i++) (q.re[i * ld + col] /= len, q.im[i * ld + col] /= len);
    }
  }
}

function columnNorm(q: CBuf, col: number): number {
  let s = 0;
  for (let i = 0; i < q.rows; i++) s += q.re[i * q.ld + col] ** 2 + q.im[i * q.ld + col] ** 2;
  return Math.sqrt(s);
}

/** Removes from column `col` its components along columns [from, col), twice. */
function projectWithin(q: CBuf, from: number, col: number, real: boolean): void {
  const { rows, ld, re, im } = q;
  for (let pass = 0; pass < 2; pass++) {
    for (let j = from; j < col; j++) {
      let dr = 0, di = 0; // q_jᴴ q_col
      for (let i = 0; i < rows; i++) {
        const ur = re[i * ld + j], ui = im[i * ld + j], yr = re[i * ld + col], yi = im[i * ld + col];
        dr += ur * yr + ui * yi;
        if (!real) di += ur * yi - ui * yr;
      }
      for (let i = 0; i < rows; i++) {
        const ur = re[i * ld + j], ui = im[i * ld + j];
        re[i * ld + col] -= dr * ur - di * ui;
        if (!real) im[i * ld + col] -= dr * ui + di * ur;
      }
    }
  }
}

/** Columns of `src` (ld src.ld), the first k, as an independent buffer. */
function leading(src: CBuf, k: number): CBuf {
  const out = cbuf(src.rows, k);
  for (let i = 0; i < src.rows; i++) {
    out.re.set(src.re.subarray(i * src.ld, i * src.ld + k), i * k);
    out.im.set(src.im.subarray(i * src.ld, i * src.ld + k), i * k);
  }
  return out;
}

function toMatrix(b: CBuf, k: number): ComplexMatrix {
  const l = leading(b, k);
  return { rows: b.rows, cols: k, re: l.re, im: l.im };
}

/**
 * The leading r singular triplets of `a` (s: r values descending, u:
 * rows×r, v: cols×r), each with both residuals at most `tol`·σ_1, in the
 * phase convention of {@link fixPhases}. Throws {@link SvdConvergenceError}
 * when `maxRestarts` restarts do not reach the tolerance.
 */
export function topRSvd(a: ComplexMatrix, r: number, opts: TopROptions = {}): TopRResult {
  const m = a.rows, n = a.cols, mn = Math.min(m, n);
  if (!(Number.isInteger(r) && r >= 1 && r <= mn)) {
    throw new RangeError(`topRSvd: r must be an integer in [1, ${mn}] for a ${m}×${n} matrix, got ${r}`);
  }
  const tol = opts.tol ?? 1e-8, maxRestarts = opts.maxRestarts ?? 100;
  if (!(tol > 0)) throw new RangeError(`topRSvd: tol must be positive, got ${tol}`);
  const b = Math.min(mn, opts.blockSize ?? Math.max(8, r + 2));
  if (!(Number.isInteger(b) && b >= 1)) throw new RangeError(`topRSvd: blockSize must be a positive integer, got ${b}`);
  // Kept Ritz vectors at a restart, and the basis size at which Rayleigh–Ritz runs.
  // Whole blocks only: the thick restart needs the full last block (it carries the residual directions).
  // About 48 new columns per restart: fewer restarts (and products) than a small basis, while the Rayleigh–Ritz SVD
  // of the K×K projection (Jacobi, O(K³)) stays cheap next to the products.
  // The next block F must fit beside a full basis (kmax + b ≤ min(m, n)); where it would not, the basis grows to the
  // whole space once and Rayleigh–Ritz is exact.
  const keep = Math.min(mn, b * Math.ceil((r + b) / b)), grown = keep + b * Math.max(2, Math.ceil(48 / b));
  const kmax = grown + b <= mn ? grown : mn;
  const real = opts.real ?? false, rng = new Rng(opts.seed ?? 0);
  const sv = new Solver(a, real, opts.blas ?? true);
  const P = cbuf(n, kmax), Q = cbuf(m, kmax), Y = cbuf(m, kmax);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < b; c++) (P.re[i * kmax + c] = rng.normal(), P.im[i * kmax + c] = real ? 0 : rng.normal());
  }
  sv.orthonormalize(P, 0, b, rng);
  let k = 0; // columns of P, Q and Y in use; the next P block sits at [k, k + w)
  let w = b, lastW = b;
  let restarts = 0, worst = Infinity;
  for (;;) {
    // Grow: Y_j = A·P_j, Q_j = orth(Y_j ⊥ Q), P_{j+1} = orth(Aᴴ·Q_j ⊥ P).
    for (;;) {
      sv.apply(false, P, k, w, Y, k);
      copyColumns(Y, Q, k, w);
      sv.orthonormalize(Q, k, w, rng);
      const lastQ = k;
      (k += w, lastW = w);
      w = Math.min(lastW, kmax - k);
      if (w <= 0) break;
      sv.apply(true, Q, lastQ, w, P, k);
      sv.orthonormalize(P, k, w, rng);
    }
    // Rayleigh–Ritz: B = Qᴴ·Y = X·Σ·Wᴴ.
    const B = sv.adjointTimes(Q, k, Y, 0, k);
    const small = jacobiSvd({ rows: k, cols: k, re: B.re, im: B.im });
    const X = cbuf(k, k), W = cbuf(k, k);
    X.re.set(small.u.re), X.im.set(small.u.im), W.re.set(small.v.re), W.im.set(small.v.im);
    const s = small.s, s1 = s[0];
    // The next P block F = Aᴴ·Q_last ⊥ P. In exact arithmetic Aᴴ·u_i − σ_i·v_i = F·x_i(last block rows) and
    // A·v_i = σ_i·u_i, so F gives the residuals without products; the explicit check below confirms them.
    const full = k >= mn, next = cbuf(n, k + lastW);
    let estimate = 0;
    if (!full) {
      copyColumns(P, next, 0, k);
      sv.apply(true, Q, k - lastW, lastW, next, k);
      const before = new Float64Array(lastW);
      for (let c = 0; c < lastW; c++) before[c] = columnNorm(next, k + c);
      sv.projectOut(next, k, lastW);
      for (let c = 0; c < r; c++) {
        let e = 0;
        for (let i = 0; i < n; i++) {
          let fr = 0, fi = 0;
          for (let j = 0; j < lastW; j++) {
            const o = i * next.ld + k + j, xo = (k - lastW + j) * k + c;
            const ar = next.re[o], ai = next.im[o], xr = X.re[xo], xi = X.im[xo];
            (fr += ar * xr - ai * xi, fi += ar * xi + ai * xr);
          }
          e += fr * fr + fi * fi;
        }
        estimate = Math.max(estimate, Math.sqrt(e));
      }
      estimate = s1 > 0 ? estimate / s1 : 0;
      sv.normalizeBlock(next, k, lastW, rng, before);
    }
    if (full || estimate <= tol) {
      const checked = explicitResidual(sv, P, Q, X, W, s, k, r);
      worst = checked.worst;
      if (worst <= tol || (full && worst <= Math.max(tol, 1e-8))) {
        const { u, v } = checked;
        return { ...fixPhases({ s: s.slice(0, r), u, v }), restarts, products: sv.products, residual: worst };
      }
      if (full) {
        throw new SvdConvergenceError(
          `topRSvd: the full ${m}×${n} basis left a residual ${worst.toExponential(2)}`,
          worst,
        );
      }
    } else worst = estimate;
    if (restarts >= maxRestarts) {
      throw new SvdConvergenceError(
        `topRSvd: ${m}×${n} matrix, r = ${r}: residual ${worst.toExponential(2)}·σ₁ after ${restarts} restarts ` +
          `(tol ${tol}); raise maxRestarts or tol, or use the Jacobi SVD`,
        worst,
      );
    }
    restarts++;
    // Thick restart: F (now orthonormal) holds the residual directions of the kept Ritz vectors;
    // P ← [P·W_keep, F], Q ← Q·X_keep, Y ← Y·W_keep.
    const wNext = Math.min(lastW, kmax - keep);
    const Pk = cbuf(n, k), Qk = cbuf(m, k), Yk = cbuf(m, k);
    copyColumns(P, Pk, 0, k), copyColumns(Q, Qk, 0, k), copyColumns(Y, Yk, 0, k);
    sv.times(Pk, k, W, keep, P, 0, 1, 0);
    sv.times(Qk, k, X, keep, Q, 0, 1, 0);
    sv.times(Yk, k, W, keep, Y, 0, 1, 0);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < wNext; c++) {
        P.re[i * kmax + keep + c] = next.re[i * next.ld + k + c];
        P.im[i * kmax + keep + c] = next.im[i * next.ld + k + c];
      }
    }
    k = keep;
    w = wNext;
  }
}

/** U_r = Q·X_r and V_r = P·W_r, the r leading Ritz vectors, as matrices. */
function leadingTriplets(
  sv: Solver,
  P: CBuf,
  Q: CBuf,
  X: CBuf,
  W: CBuf,
  k: number,
  r: number,
): { u: ComplexMatrix; v: ComplexMatrix } {
  const U = cbuf(Q.rows, r), V = cbuf(P.rows, r);
  sv.times(Q, k, X, r, U, 0, 1, 0);
  sv.times(P, k, W, r, V, 0, 1, 0);
  return { u: toMatrix(U, r), v: toMatrix(V, r) };
}

/** max_i max(‖A·v_i − σ_i·u_i‖, ‖Aᴴ·u_i − σ_i·v_i‖)/σ_1 over the r leading Ritz triplets, by explicit products. */
function explicitResidual(
  sv: Solver,
  P: CBuf,
  Q: CBuf,
  X: CBuf,
  W: CBuf,
  s: Float64Array,
  k: number,
  r: number,
): { worst: number; u: ComplexMatrix; v: ComplexMatrix } {
  const m = Q.rows, n = P.rows, { u, v } = leadingTriplets(sv, P, Q, X, W, k, r);
  const U: CBuf = { rows: m, ld: r, re: u.re, im: u.im }, V: CBuf = { rows: n, ld: r, re: v.re, im: v.im };
  const AV = cbuf(m, r), AhU = cbuf(n, r);
  sv.apply(false, V, 0, r, AV, 0);
  sv.apply(true, U, 0, r, AhU, 0);
  let worst = 0;
  for (let c = 0; c < r; c++) {
    let e1 = 0, e2 = 0;
    for (let i = 0; i < m; i++) {
      e1 += (AV.re[i * r + c] - s[c] * U.re[i * r + c]) ** 2 + (AV.im[i * r + c] - s[c] * U.im[i * r + c]) ** 2;
    }
    for (let i = 0; i < n; i++) {
      e2 += (AhU.re[i * r + c] - s[c] * V.re[i * r + c]) ** 2 + (AhU.im[i * r + c] - s[c] * V.im[i * r + c]) ** 2;
    }
    worst = Math.max(worst, Math.sqrt(Math.max(e1, e2)));
  }
  return { worst: s[0] > 0 ? worst / s[0] : 0, u, v };
}

/** dst[:, c0:c0+w] ← src[:, c0:c0+w] (same row count). */
function copyColumns(src: CBuf, dst: CBuf, c0: number, w: number): void {
  for (let i = 0; i < src.rows; i++) {
    const os = i * src.ld + c0, od = i * dst.ld + c0;
    dst.re.set(src.re.subarray(os, os + w), od);
    dst.im.set(src.im.subarray(os, os + w), od);
  }
}

/**
 * The leading r singular triplets of a large complex matrix without forming
 * its full decomposition: a randomized range finder with power (subspace)
 * iterations and a Rayleigh–Ritz step (Halko, Martinsson & Tropp 2011,
 * Algorithms 4.4 and 5.1).
 *
 * With ℓ = r + oversampling random start vectors Ω: Y = A·Ω, Q = orth(Y),
 * then alternately Z = Aᴴ·Q and Q = orth(A·orth(Z)). Each orthonormalization
 * yields Ritz estimates of σ_1..σ_ℓ (the singular values of its R factor),
 * which increase towards the true values; iteration stops when the leading r
 * estimates change by less than `tol`·σ_1 between two half-steps, or after
 * `maxIters` power iterations. Finally Z = Aᴴ·Q = B^H with B = Qᴴ·A, whose
 * small SVD B = X·Σ·Wᴴ gives A ≈ (Q·X)·Σ·Wᴴ. The subspace error decays like
 * (σ_{ℓ+1}/σ_r)^{2q+1} after q power iterations.
 *
 * Cost: 2(q+1) products of A (or Aᴴ) with an n×ℓ block, O(mnℓ) each, plus
 * O((m+n)ℓ²) for the orthonormalizations; never O(mn·min(m,n)).
 * @module
 */
import { Rng } from "../random.ts";
import { cadjoint, type ComplexMatrix, type ComplexSvd, czeros, fixPhases } from "./complex_matrix.ts";
import { jacobiSvd } from "./svd_jacobi.ts";

/** Options of {@link topRSvd}. */
export interface TopROptions {
  /** Extra random vectors beyond r (default 10). */
  oversample?: number;
  /** Largest number of power iterations (default 8). */
  maxIters?: number;
  /** Stop when the leading r Ritz values change by less than tol·σ_1 (default 1e-10). */
  tol?: number;
  /** Seed of the random start block (default 0). */
  seed?: number;
  /** The matrix is real: draw real random vectors, so that every factor stays real. */
  real?: boolean;
}

/** What {@link topRSvd} returns: the triplets and how many power iterations ran. */
export interface TopRResult extends ComplexSvd {
  /** Power iterations performed. */
  iterations: number;
}

/** A block of k column vectors of length len, column-major. */
interface Block {
  len: number;
  k: number;
  re: Float64Array;
  im: Float64Array;
}

/** The leading r singular triplets of `a` (s: r values, u: rows×r, v: cols×r), phase-fixed. */
export function topRSvd(a: ComplexMatrix, r: number, opts: TopROptions = {}): TopRResult {
  const m = a.rows, n = a.cols, mn = Math.min(m, n);
  if (!(Number.isInteger(r) && r >= 1 && r <= mn)) {
    throw new RangeError(`topRSvd: r must be an integer in [1, ${mn}] for a ${m}×${n} matrix, got ${r}`);
  }
  // Rounded up to a multiple of 4, the width of the product kernel: the extra vectors are free.
  const l = Math.min(mn, Math.ceil((r + (opts.oversample ?? 10)) / 4) * 4);
  const maxIters = opts.maxIters ?? 8, tol = opts.tol ?? 1e-10;
  const rng = new Rng(opts.seed ?? 0);
  const aH = cadjoint(a);
  const omega = blockOf(n, l);
  const draw = opts.real ? () => 0 : () => rng.normal();
  for (let i = 0; i < omega.re.length; i++) (omega.re[i] = rng.normal(), omega.im[i] = draw());

  let q = orthonormalize(multiply(a, omega), rng, draw).q;
  let prev: Float64Array | null = null;
  let z: Block, iterations = 0;
  for (;;) {
    z = multiply(aH, q);
    const { q: zq, r: rz } = orthonormalize(z, rng, draw);
    const est = svals(rz);
    if ((prev && converged(est, prev, r, tol)) || iterations >= maxIters) break;
    const y = orthonormalize(multiply(a, zq), rng, draw);
    q = y.q;
    prev = svals(y.r);
    iterations++;
  }
  // z = Aᴴ·Q = Bᴴ = Wb·Σ·Xᴴ (Jacobi on the tall n×ℓ block), so A ≈ Q·B = (Q·X)·Σ·Wbᴴ.
  const small = jacobiSvd(blockToMatrix(z));
  const u = czeros(m, r), v = czeros(n, r);
  for (let c = 0; c < r; c++) {
    for (let j = 0; j < n; j++) {
      v.re[j * r + c] = small.u.re[j * l + c];
      v.im[j * r + c] = small.u.im[j * l + c];
    }
    for (let t = 0; t < l; t++) {
      const xr = small.v.re[t * l + c], xi = small.v.im[t * l + c];
      if (xr === 0 && xi === 0) continue;
      const o = t * m;
      for (let i = 0; i < m; i++) {
        const qr = q.re[o + i], qi = q.im[o + i];
        u.re[i * r + c] += qr * xr - qi * xi;
        u.im[i * r + c] += qr * xi + qi * xr;
      }
    }
  }
  return { ...fixPhases({ s: small.s.slice(0, r), u, v }), iterations };
}

function blockOf(len: number, k: number): Block {
  return { len, k, re: new Float64Array(len * k), im: new Float64Array(len * k) };
}

function blockToMatrix(b: Block): ComplexMatrix {
  const out = czeros(b.len, b.k);
  for (let c = 0; c < b.k; c++) {
    for (let i = 0; i < b.len; i++) {
      (out.re[i * b.k + c] = b.re[c * b.len + i], out.im[i * b.k + c] = b.im[c * b.len + i]);
    }
  }
  return out;
}

/** Singular values of a small square matrix given column-major (the R of a QR). */
function svals(r: Block): Float64Array {
  const k = r.k, mat = czeros(k, k);
  for (let c = 0; c < k; c++) {
    for (let i = 0; i < k; i++) (mat.re[i * k + c] = r.re[c * k + i], mat.im[i * k + c] = r.im[c * k + i]);
  }
  return jacobiSvd(mat).s;
}

function converged(est: Float64Array, prev: Float64Array, r: number, tol: number): boolean {
  const scale = Math.max(est[0], 1e-300);
  for (let i = 0; i < r; i++) if (Math.abs(est[i] - prev[i]) > tol * scale) return false;
  return true;
}

/**
 * C = A·B for A row-major (rows×cols) and B a block of column vectors of
 * length cols: C[i, c] = Σ_p A[i, p]·B[p, c], four columns at a time so each
 * loaded entry of A serves four complex multiply-adds.
 */
function multiply(a: ComplexMatrix, b: Block): Block {
  const m = a.rows, n = a.cols, k = b.k, ar = a.re, ai = a.im, br = b.re, bi = b.im;
  const out = blockOf(m, k), cr = out.re, ci = out.im;
  for (let i = 0; i < m; i++) {
    const oa = i * n;
    let c = 0;
    for (; c + 4 <= k; c += 4) {
      const o0 = c * n, o1 = o0 + n, o2 = o1 + n, o3 = o2 + n;
      let s0r = 0, s0i = 0, s1r = 0, s1i = 0, s2r = 0, s2i = 0, s3r = 0, s3i = 0;
      for (let p = 0; p < n; p++) {
        const xr = ar[oa + p], xi = ai[oa + p];
        let yr = br[o0 + p], yi = bi[o0 + p];
        s0r += xr * yr - xi * yi;
        s0i += xr * yi + xi * yr;
        yr = br[o1 + p], yi = bi[o1 + p];
        s1r += xr * yr - xi * yi;
        s1i += xr * yi + xi * yr;
        yr = br[o2 + p], yi = bi[o2 + p];
        s2r += xr * yr - xi * yi;
        s2i += xr * yi + xi * yr;
        yr = br[o3 + p], yi = bi[o3 + p];
        s3r += xr * yr - xi * yi;
        s3i += xr * yi + xi * yr;
      }
      (cr[c * m + i] = s0r, ci[c * m + i] = s0i, cr[(c + 1) * m + i] = s1r, ci[(c + 1) * m + i] = s1i);
      (cr[(c + 2) * m + i] = s2r, ci[(c + 2) * m + i] = s2i, cr[(c + 3) * m + i] = s3r, ci[(c + 3) * m + i] = s3i);
    }
    for (; c < k; c++) {
      const o0 = c * n;
      let sr = 0, si = 0;
      for (let p = 0; p < n; p++) {
        const xr = ar[oa + p], xi = ai[oa + p], yr = br[o0 + p], yi = bi[o0 + p];
        sr += xr * yr - xi * yi;
        si += xr * yi + xi * yr;
      }
      (cr[c * m + i] = sr, ci[c * m + i] = si);
    }
  }
  return out;
}

/**
 * Thin QR by Gram–Schmidt applied twice ("twice is enough"), as accurate as
 * Householder for full-rank blocks. A column that vanishes (rank
 * deficiency) is replaced by a random vector orthogonal to the others, with
 * a zero diagonal entry in R, so Q always has k orthonormal columns.
 */
function orthonormalize(y: Block, rng: Rng, drawIm: () => number): { q: Block; r: Block } {
  const len = y.len, k = y.k;
  const q: Block = { len, k, re: y.re.slice(), im: y.im.slice() };
  const r = blockOf(k, k);
  for (let c = 0; c < k; c++) {
    const oc = c * len;
    let before = 0;
    for (let i = 0; i < len; i++) before += q.re[oc + i] ** 2 + q.im[oc + i] ** 2;
    project(q, c, r, true);
    let norm = columnNorm(q, c);
    if (norm <= 1e-13 * Math.sqrt(before) || norm === 0) {
      for (let i = 0; i < len; i++) (q.re[oc + i] = rng.normal(), q.im[oc + i] = drawIm());
      project(q, c, r, false);
      norm = columnNorm(q, c);
      r.re[c * k + c] = 0;
    } else {
      r.re[c * k + c] = norm;
    }
    for (let i = 0; i < len; i++) (q.re[oc + i] /= norm, q.im[oc + i] /= norm);
  }
  return { q, r };
}

function columnNorm(q: Block, c: number): number {
  let s = 0;
  for (let i = c * q.len; i < (c + 1) * q.len; i++) s += q.re[i] ** 2 + q.im[i] ** 2;
  return Math.sqrt(s);
}

/** Removes from column c its components along columns 0..c−1, twice; adds the coefficients to R when asked. */
function project(q: Block, c: number, r: Block, record: boolean): void {
  const len = q.len, k = q.k, oc = c * len;
  for (let pass = 0; pass < 2; pass++) {
    for (let j = 0; j < c; j++) {
      const oj = j * len;
      let dr = 0, di = 0; // q_jᴴ y
      for (let i = 0; i < len; i++) {
        const ur = q.re[oj + i], ui = q.im[oj + i], yr = q.re[oc + i], yi = q.im[oc + i];
        dr += ur * yr + ui * yi;
        di += ur * yi - ui * yr;
      }
      for (let i = 0; i < len; i++) {
        const ur = q.re[oj + i], ui = q.im[oj + i];
        q.re[oc + i] -= dr * ur - di * ui;
        q.im[oc + i] -= dr * ui + di * ur;
      }
      if (record) (r.re[c * k + j] += dr, r.im[c * k + j] += di);
    }
  }
}

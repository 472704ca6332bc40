/**
 * One-sided Jacobi (Hestenes) SVD of a complex matrix: accurate to working
 * precision, O(sweeps·m·n²), for small Fourier slices and as the reference
 * that the top-r method is tested against.
 *
 * The columns w_p, w_q of a working copy W are rotated until every pair is
 * orthogonal; the accumulated rotations form V, so that A·V = W = U·Σ.
 * A complex pair with Gram matrix [[α, γ], [γ̄, β]] is first made real by the
 * phase e^{−i·arg γ} on w_q, then rotated by the real Jacobi rotation that
 * zeroes |γ| (Demmel & Veselić 1992; Golub & Van Loan §8.6.3).
 * @module
 */
import { type ComplexMatrix, type ComplexSvd, czeros, fixPhases } from "./complex_matrix.ts";

/** Options of {@link jacobiSvd}. */
export interface JacobiOptions {
  /** Complete U and V to square unitary matrices (default false: min(m,n) columns each). */
  full?: boolean;
  /** Largest number of sweeps (default 60). */
  maxSweeps?: number;
}

/**
 * The SVD A = U·diag(s)·Vᴴ. Thin by default (k = min(m, n) columns), full
 * with `{ full: true }`. Singular vectors of zero singular values are
 * completed to an orthonormal set by Gram–Schmidt on the standard basis.
 * The phase convention of {@link fixPhases} is applied.
 */
export function jacobiSvd(a: ComplexMatrix, opts: JacobiOptions = {}): ComplexSvd {
  const tall = a.rows >= a.cols;
  // Work on the tall one of A and Aᴴ, stored column-major: column j at [j*m, (j+1)*m).
  const m = tall ? a.rows : a.cols, n = tall ? a.cols : a.rows;
  const wr = new Float64Array(m * n), wi = new Float64Array(m * n);
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < a.cols; j++) {
      const o = tall ? j * m + i : i * m + j;
      wr[o] = a.re[i * a.cols + j];
      wi[o] = tall ? a.im[i * a.cols + j] : -a.im[i * a.cols + j];
    }
  }
  const vr = new Float64Array(n * n), vi = new Float64Array(n * n);
  for (let j = 0; j < n; j++) vr[j * n + j] = 1;
  rotateToOrthogonal(wr, wi, m, n, vr, vi, opts.maxSweeps ?? 60);

  const norms = Array.from({ length: n }, (_, j) => {
    let s = 0;
    for (let i = 0; i < m; i++) s += wr[j * m + i] ** 2 + wi[j * m + i] ** 2;
    return Math.sqrt(s);
  });
  const order = norms.map((_, j) => j).sort((x, y) => norms[y] - norms[x] || x - y);
  const s = Float64Array.from(order, (j) => norms[j]);
  // Columns whose norm is at round-off level carry no direction: complete them instead.
  const zeroTol = (s[0] ?? 0) * Math.max(m, n) * 2.2e-16 * 4;
  const kW = opts.full ? m : n;
  const W = czeros(m, kW), V = czeros(n, n);
  const known: boolean[] = new Array(kW).fill(false);
  order.forEach((j, c) => {
    for (let i = 0; i < n; i++) (V.re[i * n + c] = vr[j * n + i], V.im[i * n + c] = vi[j * n + i]);
    if (s[c] <= zeroTol || s[c] === 0) return;
    for (let i = 0; i < m; i++) (W.re[i * kW + c] = wr[j * m + i] / s[c], W.im[i * kW + c] = wi[j * m + i] / s[c]);
    known[c] = true;
  });
  completeBasis(W, known);
  // tall: A = W Σ Vᴴ.  wide: Aᴴ = W Σ Vᴴ, so A = V Σ Wᴴ.
  return fixPhases(tall ? { s, u: W, v: V } : { s, u: V, v: W });
}

/** Rotates the n columns of W (m rows, column-major) until they are pairwise orthogonal. */
function rotateToOrthogonal(
  wr: Float64Array,
  wi: Float64Array,
  m: number,
  n: number,
  vr: Float64Array,
  vi: Float64Array,
  maxSweeps: number,
): void {
  const tol = 2.2e-16 * Math.max(m, 4);
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const op = p * m, oq = q * m;
        let alpha = 0, beta = 0, gr = 0, gi = 0;
        for (let i = 0; i < m; i++) {
          const ar = wr[op + i], ai = wi[op + i], br = wr[oq + i], bi = wi[oq + i];
          alpha += ar * ar + ai * ai;
          beta += br * br + bi * bi;
          gr += ar * br + ai * bi; // γ = w_pᴴ w_q
          gi += ar * bi - ai * br;
        }
        const g = Math.hypot(gr, gi);
        if (g === 0 || g <= tol * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * g);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t), s = c * t;
        const er = gr / g, ei = -gi / g; // e^{−i·arg γ}
        rotatePair(wr, wi, op, oq, m, c, s, er, ei);
        rotatePair(vr, vi, p * n, q * n, n, c, s, er, ei);
      }
    }
    if (!rotated) return;
  }
}

/** w_p ← c·w_p − s·e·w_q,  w_q ← s·w_p + c·e·w_q  with e = er + i·ei. */
function rotatePair(
  xr: Float64Array,
  xi: Float64Array,
  op: number,
  oq: number,
  len: number,
  c: number,
  s: number,
  er: number,
  ei: number,
): void {
  for (let i = 0; i < len; i++) {
    const ar = xr[op + i], ai = xi[op + i];
    const qr = xr[oq + i], qi = xi[oq + i];
    const br = qr * er - qi * ei, bi = qr * ei + qi * er;
    xr[op + i] = c * ar - s * br;
    xi[op + i] = c * ai - s * bi;
    xr[oq + i] = s * ar + c * br;
    xi[oq + i] = s * ai + c * bi;
  }
}

/**
 * Fills the columns of U (row-major) not marked `known` with unit vectors
 * orthogonal to all others: Gram–Schmidt (twice) on e_1, e_2, … in order,
 * accepting a candidate whose residual norm² is at least 1/(2m). The
 * rejected candidates' residuals sum to less than 1/2, so the scan always
 * finds enough vectors.
 */
export function completeBasis(u: ComplexMatrix, known: boolean[]): void {
  const m = u.rows, k = u.cols;
  const missing = known.flatMap((ok, c) => (ok ? [] : [c]));
  if (!missing.length) return;
  const have = known.flatMap((ok, c) => (ok ? [c] : []));
  const xr = new Float64Array(m), xi = new Float64Array(m);
  let cand = 0;
  for (const c of missing) {
    for (; cand < m; cand++) {
      xr.fill(0), xi.fill(0);
      xr[cand] = 1;
      for (let pass = 0; pass < 2; pass++) {
        for (const h of have) {
          let dr = 0, di = 0; // u_hᴴ x
          for (let i = 0; i < m; i++) {
            const ur = u.re[i * k + h], ui = u.im[i * k + h];
            dr += ur * xr[i] + ui * xi[i];
            di += ur * xi[i] - ui * xr[i];
          }
          for (let i = 0; i < m; i++) {
            const ur = u.re[i * k + h], ui = u.im[i * k + h];
            xr[i] -= dr * ur - di * ui;
            xi[i] -= dr * ui + di * ur;
          }
        }
      }
      let nn = 0;
      for (let i = 0; i < m; i++) nn += xr[i] * xr[i] + xi[i] * xi[i];
      if (nn >= 1 / (2 * m)) {
        const inv = 1 / Math.sqrt(nn);
        for (let i = 0; i < m; i++) (u.re[i * k + c] = xr[i] * inv, u.im[i * k + c] = xi[i] * inv);
        have.push(c);
        cand++;
        break;
      }
    }
    if (!have.includes(c)) throw new Error(`completeBasis: could not complete column ${c} of a ${m}×${k} basis`);
  }
}

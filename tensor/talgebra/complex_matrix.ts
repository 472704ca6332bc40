/**
 * Dense complex matrices as plain float64 arrays, for the slice SVDs of the
 * t-SVD: real and imaginary parts in separate row-major arrays. These are
 * numerics helpers, not tensor ops.
 * @module
 */
import type { Rng } from "../random.ts";

/** A rows×cols complex matrix, row-major, with separate real and imaginary parts. */
export interface ComplexMatrix {
  /** Number of rows. */
  rows: number;
  /** Number of columns. */
  cols: number;
  /** Real parts, `rows*cols` values, row-major. */
  re: Float64Array;
  /** Imaginary parts, `rows*cols` values, row-major. */
  im: Float64Array;
}

/** A (thin or full) SVD A = U·diag(s)·Vᴴ, singular values in descending order. */
export interface ComplexSvd {
  /** Singular values, descending. */
  s: Float64Array;
  /** Left singular vectors as columns (rows × k). */
  u: ComplexMatrix;
  /** Right singular vectors as columns (cols × k). */
  v: ComplexMatrix;
}

/** A zero matrix. */
export function czeros(rows: number, cols: number): ComplexMatrix {
  return { rows, cols, re: new Float64Array(rows * cols), im: new Float64Array(rows * cols) };
}

/** A matrix with standard-normal real and imaginary parts. */
export function crandn(rows: number, cols: number, rng: Rng): ComplexMatrix {
  const m = czeros(rows, cols);
  for (let i = 0; i < m.re.length; i++) (m.re[i] = rng.normal(), m.im[i] = rng.normal());
  return m;
}

/** The conjugate transpose Aᴴ. */
export function cadjoint(a: ComplexMatrix): ComplexMatrix {
  const out = czeros(a.cols, a.rows);
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < a.cols; j++) {
      out.re[j * a.rows + i] = a.re[i * a.cols + j];
      out.im[j * a.rows + i] = -a.im[i * a.cols + j];
    }
  }
  return out;
}

/** The first `k` columns. */
export function leadingColumns(a: ComplexMatrix, k: number): ComplexMatrix {
  const out = czeros(a.rows, k);
  for (let i = 0; i < a.rows; i++) {
    out.re.set(a.re.subarray(i * a.cols, i * a.cols + k), i * k);
    out.im.set(a.im.subarray(i * a.cols, i * a.cols + k), i * k);
  }
  return out;
}

/** The product A·B (plain triple loop; for small matrices and tests). */
export function cmatmulDense(a: ComplexMatrix, b: ComplexMatrix): ComplexMatrix {
  const out = czeros(a.rows, b.cols);
  for (let i = 0; i < a.rows; i++) {
    for (let p = 0; p < a.cols; p++) {
      const ar = a.re[i * a.cols + p], ai = a.im[i * a.cols + p];
      for (let j = 0; j < b.cols; j++) {
        const br = b.re[p * b.cols + j], bi = b.im[p * b.cols + j];
        out.re[i * b.cols + j] += ar * br - ai * bi;
        out.im[i * b.cols + j] += ar * bi + ai * br;
      }
    }
  }
  return out;
}

/**
 * The deterministic phase convention of the t-SVD: each singular pair
 * (u_j, v_j) is multiplied by the unit phase that makes the largest-magnitude
 * entry of u_j real and positive (the first such entry on ties). For a real
 * matrix this is a sign choice, so real slices keep real factors.
 */
export function fixPhases(svd: ComplexSvd): ComplexSvd {
  const { u, v } = svd;
  // Extra completion columns (full SVD of a non-square matrix) take the phase of their own largest entry.
  for (let j = 0; j < Math.max(u.cols, v.cols); j++) {
    const lead = j < u.cols ? u : v;
    let best = -1, at = 0;
    for (let i = 0; i < lead.rows; i++) {
      const m = lead.re[i * lead.cols + j] ** 2 + lead.im[i * lead.cols + j] ** 2;
      if (m > best * (1 + 1e-12)) (best = m, at = i);
    }
    const mag = Math.sqrt(best);
    if (mag === 0) continue;
    const pr = lead.re[at * lead.cols + j] / mag, pi = -lead.im[at * lead.cols + j] / mag;
    for (const w of [u, v]) {
      if (j >= w.cols) continue;
      for (let i = 0; i < w.rows; i++) {
        const o = i * w.cols + j, a = w.re[o], b = w.im[o];
        w.re[o] = a * pr - b * pi;
        w.im[o] = a * pi + b * pr;
      }
    }
    lead.im[at * lead.cols + j] = 0;
  }
  return svd;
}

/**
 * The leading r singular triplets of a complex (or real) matrix through the
 * Hermitian eigenproblem of its Gram matrix, on LAPACK: G = AᴴA when
 * n ≤ m, else G = A·Aᴴ (`zherk`, or `dsyrk` for a real matrix), the top r
 * eigenpairs of G by `zheevr`/`dsyevr` (MRRR, RANGE = 'I'), σ = ‖A·v‖ and
 * u = A·v/σ (or the mirror image for a wide A). For r = 1 (LoRA-PT's rank) and
 * a Gram matrix of order ≥ 64 the top eigenpair comes first from Lanczos with full
 * reorthogonalisation on G itself (about 65–75 G·q products on a 768×768
 * flat-spectrum slice: ≈ 45 ms against zheevr's ≈ 72 ms, measured on this
 * 2-core AVX-512 machine; unetr-base LoRA-PT init 5.5 → 4.7 s, bench/RESULTS.md);
 * if it does not converge within
 * `gramMaxIter` steps or its triplets fail the check below, zheevr/dsyevr
 * runs, and after that the block Lanczos on A.
 *
 * Accuracy: the eigenvectors of G are accurate to about ε·σ₁²/(σ_r² − σ_{r+1}²)
 * (Golub & Van Loan §8.1), which stays tiny in float64 even for the nearly
 * flat spectra of randomly initialised weights (σ₁/σ₂ ≈ 1.005), where a
 * Krylov method needs hundreds of products. What squaring loses is the small
 * singular values: below about √ε·σ₁ they are noise. So every result is
 * verified — both residuals ‖A·v − σ·u‖, ‖Aᴴ·u − σ·v‖ at most tol·σ₁ per
 * triplet and UᴴU, VᴴV within tol of I — and {@link sliceTopR} falls back to
 * the block Lanczos solver (svd_topr.ts) when the check fails, when σ_r = 0,
 * or when the library has no LAPACK.
 * @module
 */
import { lapack, type LapackApi } from "../native/blas.ts";
import { type ComplexMatrix, type ComplexSvd, fixPhases } from "./complex_matrix.ts";
import { type TopROptions, topRSvd } from "./svd_topr.ts";
import { Rng } from "../random.ts";

/** Which solver produced a slice's triplets. */
export type SlicePath = "gram-lanczos" | "lapack" | "lanczos";

/** Options of {@link sliceTopR}: those of the Lanczos fallback plus the LAPACK to use. */
export interface SliceTopROptions extends TopROptions {
  /** The LAPACK routines (default: the system library's; null: none, so Lanczos runs). */
  lapack?: LapackApi | null;
  /** Cap on the Lanczos steps on the Gram matrix before zheevr/dsyevr takes over (default 300; 0: skip that path). */
  gramMaxIter?: number;
}

/** The triplets of {@link sliceTopR}, the path that produced them and, after a fallback, why. */
export interface SliceTopRResult extends ComplexSvd {
  /** "gram-lanczos" (Lanczos on the Gram matrix), "lapack" (zheevr/dsyevr on it) or "lanczos" (on A, the last resort). */
  path: SlicePath;
  /** Why the earlier paths were not used (null when the first one tried was). */
  fallback: string | null;
  /** The largest residual of the r triplets, relative to σ₁. */
  residual: number;
}

/**
 * The top r triplets of `a` by the Gram eigenproblem, verified; or a string
 * saying why not (no LAPACK, LAPACK's INFO, σ_r = 0, a failed check).
 */
export function gramTopR(
  a: ComplexMatrix,
  r: number,
  real: boolean,
  tol: number,
  api: LapackApi,
  lanczos: { maxIter: number } = { maxIter: 0 },
):
  | ComplexSvd & {
    residual: number;
  }
  | string
  | { lanczosFailed: string } {
  const m = a.rows, n = a.cols, tall = n <= m, g = tall ? n : m;
  if (!(Number.isInteger(r) && r >= 1 && r <= g)) {
    throw new RangeError(`gramTopR: r must be an integer in [1, ${g}] for a ${m}×${n} matrix, got ${r}`);
  }
  const useLanczos = lanczos.maxIter > 0 && r <= LANCZOS_MAX_R && g >= LANCZOS_MIN_N;
  // x: the eigenvectors' side (v when tall, u when wide, g×r); y = op(A)·x/σ the other side (h×r).
  const h = tall ? m : n, x = new Float64Array(2 * g * r), y = new Float64Array(2 * h * r);
  const s = new Float64Array(r);
  let az: Float64Array | null = null; // A interleaved (complex only)
  if (real) {
    const c = new Float64Array(g * g);
    api.dsyrk(tall ? "T" : "N", g, tall ? m : n, a.re, n, c);
    const xr = new Float64Array(g * r), yr = new Float64Array(h * r);
    const lz = useLanczos ? gramLanczos(hermitianFull(c, g, true), g, r, true, tol, lanczos.maxIter, api) : null;
    if (typeof lz === "string") return { lanczosFailed: lz };
    if (lz) { for (let i = 0; i < g * r; i++) xr[i] = lz[2 * i]; }
    else {
      // Symmetric: the row-major upper triangle is the column-major lower one.
      const e = api.dsyevr(g, c, g - r + 1, g);
      if (e.info !== 0) return `dsyevr INFO ${e.info}`;
      for (let j = 0; j < r; j++) {
        const col = r - 1 - j; // descending
        for (let i = 0; i < g; i++) xr[i * r + j] = e.z[col * g + i];
      }
    }
    realGemm(tall, a.re, m, n, xr, yr, r);
    for (let j = 0; j < r; j++) {
      let ss = 0;
      for (let i = 0; i < h; i++) ss += yr[i * r + j] ** 2;
      s[j] = Math.sqrt(ss);
      if (!(s[j] > 0)) return `σ_${j + 1} = 0`;
      for (let i = 0; i < h; i++) yr[i * r + j] /= s[j];
    }
    for (let i = 0; i < g * r; i++) x[2 * i] = xr[i];
    for (let i = 0; i < h * r; i++) y[2 * i] = yr[i];
  } else {
    az = new Float64Array(2 * m * n);
    for (let i = 0; i < m * n; i++) (az[2 * i] = a.re[i], az[2 * i + 1] = a.im[i]);
    const c = new Float64Array(2 * g * g);
    api.zherk(tall ? "C" : "N", g, tall ? m : n, az, n, c);
    const lz = useLanczos ? gramLanczos(hermitianFull(c, g, false), g, r, false, tol, lanczos.maxIter, api) : null;
    if (typeof lz === "string") return { lanczosFailed: lz };
    if (lz) x.set(lz);
    else {
      // The row-major upper triangle read column-major is the lower triangle of Gᵀ = conj(G): its eigenvectors
      // are the conjugates of G's.
      const e = api.zheevr(g, c, g - r + 1, g);
      if (e.info !== 0) return `zheevr INFO ${e.info}`;
      for (let j = 0; j < r; j++) {
        const col = r - 1 - j;
        for (let i = 0; i < g; i++) {
          x[2 * (i * r + j)] = e.z[2 * (col * g + i)];
          x[2 * (i * r + j) + 1] = -e.z[2 * (col * g + i) + 1];
        }
      }
    }
    api.zgemm(tall ? "N" : "C", h, r, g, az, n, x, y);
    for (let j = 0; j < r; j++) {
      let ss = 0;
      for (let i = 0; i < h; i++) ss += y[2 * (i * r + j)] ** 2 + y[2 * (i * r + j) + 1] ** 2;
      s[j] = Math.sqrt(ss);
      if (!(s[j] > 0)) return `σ_${j + 1} = 0`;
      for (let i = 0; i < h; i++) (y[2 * (i * r + j)] /= s[j], y[2 * (i * r + j) + 1] /= s[j]);
    }
  }
  const [u, v] = tall ? [y, x] : [x, y];
  const fail = (why: string) => useLanczos ? { lanczosFailed: why } : why;
  const residual = verify(a, az, real, api, u, v, s, r);
  if (!(residual <= tol)) return fail(`residual ${residual.toExponential(2)}·σ₁ above tol ${tol}`);
  const ortho = Math.max(orthoError(u, m, r), orthoError(v, n, r));
  if (!(ortho <= tol)) return fail(`orthonormality error ${ortho.toExponential(2)} above tol ${tol}`);
  return { ...fixPhases({ s, u: split(u, m, r), v: split(v, n, r) }), residual };
}

/**
 * The Gram-Lanczos path is tried for r = 1 only: single-vector Lanczos sees one copy of a repeated eigenvalue, so
 * for r ≥ 2 at σ₁ = σ₂ (say) it would return σ₁, σ₃ with perfect residuals, a wrong answer the check cannot catch.
 * For r = 1 any converged top eigenvector is a right answer.
 */
const LANCZOS_MAX_R = 1;
/** ...and a Gram matrix of at least this order (below it zheevr costs less than the iterations). */
const LANCZOS_MIN_N = 64;
/** The default cap on Lanczos steps (G·q products) before the Gram-Lanczos path gives up for zheevr. */
export const GRAM_LANCZOS_MAX_ITER = 300;

/** The full row-major Hermitian (symmetric when `real`) g×g matrix, interleaved, from the upper triangle `c`. */
function hermitianFull(c: Float64Array, g: number, real: boolean): Float64Array {
  const f = new Float64Array(2 * g * g);
  for (let i = 0; i < g; i++) {
    for (let j = i; j < g; j++) {
      const re = real ? c[i * g + j] : c[2 * (i * g + j)], im = real ? 0 : c[2 * (i * g + j) + 1];
      (f[2 * (i * g + j)] = re, f[2 * (i * g + j) + 1] = im);
      (f[2 * (j * g + i)] = re, f[2 * (j * g + i) + 1] = i === j ? 0 : -im);
    }
  }
  return f;
}

/**
 * The top r eigenvectors of the Hermitian g×g `gf` (full, row-major, interleaved) by Lanczos with full
 * reorthogonalisation (classical Gram–Schmidt twice, as zgemm products), Ritz pairs from `dsyevr` on the
 * tridiagonal T; stops when every ‖G·y − θ·y‖ = β_k·|s_k| ≤ tol/10·θ₁ (then ‖Aᴴu − σv‖ ≈ that/σ, so the SVD
 * check with `tol` passes; Golub & Van Loan §10.1). Returns g×r interleaved, descending, or why not.
 */
function gramLanczos(
  gf: Float64Array,
  g: number,
  r: number,
  real: boolean,
  tol: number,
  maxIter: number,
  api: LapackApi,
): Float64Array | string {
  const kmax = Math.min(g, maxIter), qc = new Float64Array(2 * g * (kmax + 1)); // rows: conj(q_j)
  const alpha: number[] = [], beta: number[] = [];
  const w = new Float64Array(2 * g), coef = new Float64Array(2 * (kmax + 1)), proj = new Float64Array(2 * g);
  const rng = new Rng(0x5eed);
  let nrm = 0;
  for (let i = 0; i < g; i++) {
    (w[2 * i] = rng.normal(), w[2 * i + 1] = real ? 0 : rng.normal());
    nrm += w[2 * i] ** 2 + w[2 * i + 1] ** 2;
  }
  nrm = Math.sqrt(nrm);
  for (let i = 0; i < g; i++) (qc[2 * i] = w[2 * i] / nrm, qc[2 * i + 1] = -w[2 * i + 1] / nrm);
  const q = new Float64Array(2 * g);
  for (let k = 1; k <= kmax; k++) {
    const j = k - 1; // the newest vector q_j
    for (let i = 0; i < g; i++) (q[2 * i] = qc[2 * (j * g + i)], q[2 * i + 1] = -qc[2 * (j * g + i) + 1]);
    api.zgemm("N", g, 1, g, gf, g, q, w); // w = G·q_j
    let a = 0;
    for (let i = 0; i < g; i++) a += q[2 * i] * w[2 * i] + q[2 * i + 1] * w[2 * i + 1];
    alpha.push(a);
    for (let pass = 0; pass < 2; pass++) {
      api.zgemm("N", k, 1, g, qc, g, w, coef); // coef_i = q_iᴴ·w
      api.zgemm("C", g, 1, k, qc, g, coef, proj); // Σ q_i·coef_i
      for (let i = 0; i < 2 * g; i++) w[i] -= proj[i];
    }
    let b = 0;
    for (let i = 0; i < 2 * g; i++) b += w[i] * w[i];
    b = Math.sqrt(b);
    const exhausted = k === g || !(b > 1e-14 * Math.abs(alpha[0]));
    if (k >= r && (k % 5 === 0 || k === kmax || exhausted)) {
      const t = new Float64Array(k * k); // column-major lower triangle of T
      for (let i = 0; i < k; i++) (t[i * k + i] = alpha[i], i + 1 < k && (t[i * k + i + 1] = beta[i]));
      const e = api.dsyevr(k, t, k - r + 1, k);
      if (e.info !== 0) return `Gram-Lanczos: dsyevr INFO ${e.info} on T of order ${k}`;
      const top = Math.abs(e.w[r - 1]);
      let ok = true;
      for (let c = 0; c < r && ok; c++) ok = (exhausted ? 0 : b * Math.abs(e.z[c * k + k - 1])) <= (tol / 10) * top;
      if (ok) {
        const x = new Float64Array(2 * g * r);
        for (let c = 0; c < r; c++) {
          const col = r - 1 - c; // descending
          for (let p = 0; p < k; p++) {
            const sp = e.z[col * k + p];
            for (let i = 0; i < g; i++) {
              x[2 * (i * r + c)] += sp * qc[2 * (p * g + i)];
              x[2 * (i * r + c) + 1] -= sp * qc[2 * (p * g + i) + 1];
            }
          }
        }
        return x;
      }
    }
    if (exhausted || k === kmax) break;
    beta.push(b);
    for (let i = 0; i < g; i++) (qc[2 * (k * g + i)] = w[2 * i] / b, qc[2 * (k * g + i) + 1] = -w[2 * i + 1] / b);
  }
  return `Gram-Lanczos: no convergence in ${kmax} steps`;
}

/** y ← A·x (tall) or Aᵀ·x (wide) for a real row-major m×n A and row-major x with r columns, in plain loops. */
function realGemm(tall: boolean, a: Float64Array, m: number, n: number, x: Float64Array, y: Float64Array, r: number) {
  // r is small (the tubal rank): O(m·n·r) loops cost little next to the Gram product and the eigensolver.
  y.fill(0);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < n; p++) {
      const aip = a[i * n + p];
      if (aip === 0) continue;
      if (tall) { for (let c = 0; c < r; c++) y[i * r + c] += aip * x[p * r + c]; }
      else for (let c = 0; c < r; c++) y[p * r + c] += aip * x[i * r + c];
    }
  }
}

/** max over triplets of max(‖A·v − σ·u‖, ‖Aᴴ·u − σ·v‖)/σ₁, by explicit products (u m×r, v n×r, interleaved). */
function verify(
  a: ComplexMatrix,
  az: Float64Array | null,
  real: boolean,
  api: LapackApi,
  u: Float64Array,
  v: Float64Array,
  s: Float64Array,
  r: number,
): number {
  const m = a.rows, n = a.cols, av = new Float64Array(2 * m * r), ahu = new Float64Array(2 * n * r);
  if (real) {
    const vr = new Float64Array(n * r), ur = new Float64Array(m * r), avr = new Float64Array(m * r);
    const ahur = new Float64Array(n * r);
    for (let i = 0; i < n * r; i++) vr[i] = v[2 * i];
    for (let i = 0; i < m * r; i++) ur[i] = u[2 * i];
    realGemm(true, a.re, m, n, vr, avr, r);
    realGemm(false, a.re, m, n, ur, ahur, r);
    for (let i = 0; i < m * r; i++) av[2 * i] = avr[i];
    for (let i = 0; i < n * r; i++) ahu[2 * i] = ahur[i];
  } else {
    api.zgemm("N", m, r, n, az!, n, v, av);
    api.zgemm("C", n, r, m, az!, n, u, ahu);
  }
  let worst = 0;
  for (let c = 0; c < r; c++) {
    let e1 = 0, e2 = 0;
    for (let i = 0; i < m; i++) {
      const o = 2 * (i * r + c);
      e1 += (av[o] - s[c] * u[o]) ** 2 + (av[o + 1] - s[c] * u[o + 1]) ** 2;
    }
    for (let i = 0; i < n; i++) {
      const o = 2 * (i * r + c);
      e2 += (ahu[o] - s[c] * v[o]) ** 2 + (ahu[o + 1] - s[c] * v[o + 1]) ** 2;
    }
    worst = Math.max(worst, Math.sqrt(Math.max(e1, e2)));
  }
  return worst / s[0];
}

/** max |(XᴴX − I)_ij| for an interleaved rows×r matrix X. */
function orthoError(x: Float64Array, rows: number, r: number): number {
  let worst = 0;
  for (let p = 0; p < r; p++) {
    for (let q = p; q < r; q++) {
      let re = 0, im = 0;
      for (let i = 0; i < rows; i++) {
        const a = 2 * (i * r + p), b = 2 * (i * r + q);
        re += x[a] * x[b] + x[a + 1] * x[b + 1];
        im += x[a] * x[b + 1] - x[a + 1] * x[b];
      }
      worst = Math.max(worst, Math.hypot(re - (p === q ? 1 : 0), im));
    }
  }
  return worst;
}

function split(x: Float64Array, rows: number, cols: number): ComplexMatrix {
  const re = new Float64Array(rows * cols), im = new Float64Array(rows * cols);
  for (let i = 0; i < rows * cols; i++) (re[i] = x[2 * i], im[i] = x[2 * i + 1]);
  return { rows, cols, re, im };
}

/**
 * The top r singular triplets of a Fourier slice: the verified Gram
 * eigenproblem on LAPACK ({@link gramTopR}) when the library has it, else
 * (or when its check fails) the block Lanczos solver `topRSvd`. The result
 * says which path ran and why the first was skipped.
 */
export function sliceTopR(a: ComplexMatrix, r: number, opts: SliceTopROptions = {}): SliceTopRResult {
  const api = opts.lapack === undefined ? lapack() : opts.lapack, tol = opts.tol ?? 1e-8;
  let fallback = "no LAPACK in the loaded BLAS";
  const maxIter = opts.gramMaxIter ?? GRAM_LANCZOS_MAX_ITER;
  if (!(Number.isInteger(maxIter) && maxIter >= 0)) {
    throw new RangeError(`sliceTopR: gramMaxIter must be a non-negative integer, got ${maxIter}`);
  }
  if (api) {
    let first: string | null = null;
    let got = gramTopR(a, r, opts.real ?? false, tol, api, { maxIter });
    if (typeof got === "object" && "lanczosFailed" in got) {
      first = got.lanczosFailed;
      got = gramTopR(a, r, opts.real ?? false, tol, api);
    } else if (typeof got === "object") {
      const tried = maxIter > 0 && r <= LANCZOS_MAX_R && Math.min(a.rows, a.cols) >= LANCZOS_MIN_N;
      return { ...got, path: tried ? "gram-lanczos" : "lapack", fallback: null };
    }
    if (typeof got === "object" && !("lanczosFailed" in got)) return { ...got, path: "lapack", fallback: first };
    fallback = first ? `${first}; ${got}` : String(got);
  }
  const { s, u, v, residual } = topRSvd(a, r, opts);
  return { s, u, v, residual, path: "lanczos", fallback };
}

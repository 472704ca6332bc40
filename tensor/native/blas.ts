/**
 * The system BLAS through Deno's FFI: `cblas_sgemm` and `cblas_dgemm` on
 * row-major typed arrays, passed zero-copy (a subarray passes its own
 * offset). Which library: the file named by `LORAPT_BLAS`, else OpenBLAS on
 * Linux (`libopenblas.so.0`, Debian's `libopenblas0-pthread`), Accelerate on
 * macOS, else any `libcblas`/`libblas` that exports the CBLAS symbols.
 *
 * Loading is lazy and happens once; {@link blasStatus} says what was found,
 * or why nothing was (no `--allow-ffi`, no library, a library without
 * `cblas_sgemm`), so that `useBackend("auto")` can name the reason.
 * @module
 */

/** `"N"`: use the operand as stored; `"T"`: use its transpose. */
export type Trans = "N" | "T";

/** What a BLAS search found. */
export interface BlasStatus {
  /** The library file that was loaded, or null when none was. */
  readonly library: string | null;
  /** Why no library was loaded (null when one was). */
  readonly reason: string | null;
  /** OpenBLAS's kernel family (e.g. "SkylakeX", "Haswell"), where the library says. */
  readonly core: string | null;
  /** Threads the library uses, where it says. */
  readonly threads: number | null;
}

const GEMM_PARAMS = [
  "i32", // order
  "i32", // transA
  "i32", // transB
  "i32", // m
  "i32", // n
  "i32", // k
  "f32", // alpha
  "buffer", // A
  "i32", // lda
  "buffer", // B
  "i32", // ldb
  "f32", // beta
  "buffer", // C
  "i32", // ldc
] as const;

const SYMBOLS = {
  cblas_sgemm: { parameters: GEMM_PARAMS, result: "void" },
  cblas_dgemm: {
    parameters: [
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "f64",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "f64",
      "buffer",
      "i32",
    ],
    result: "void",
  },
} as const;

const B = "buffer" as const;
/**
 * Level-3 complex and symmetric products and LAPACK's MRRR eigensolvers, used by the Gram-matrix path of the
 * t-SVD (tensor/talgebra/svd_gram.ts). Optional: a CBLAS without them still loads, and {@link lapack} says null.
 * The LAPACK routines are Fortran: every argument is a pointer, matrices are column-major, and gfortran appends one
 * hidden length per character argument (JOBZ, RANGE, UPLO).
 */
const LAPACK_SYMBOLS = {
  cblas_dsyrk: {
    parameters: ["i32", "i32", "i32", "i32", "i32", "f64", B, "i32", "f64", B, "i32"],
    result: "void",
    optional: true,
  },
  cblas_zherk: {
    parameters: ["i32", "i32", "i32", "i32", "i32", "f64", B, "i32", "f64", B, "i32"],
    result: "void",
    optional: true,
  },
  cblas_zgemm: {
    parameters: ["i32", "i32", "i32", "i32", "i32", "i32", B, B, "i32", B, "i32", B, B, "i32"],
    result: "void",
    optional: true,
  },
  dsyevr_: { parameters: [...Array(21).fill(B), "usize", "usize", "usize"], result: "void", optional: true },
  zheevr_: { parameters: [...Array(23).fill(B), "usize", "usize", "usize"], result: "void", optional: true },
} as const;

const OPENBLAS_SYMBOLS = {
  openblas_get_num_threads: { parameters: [], result: "i32", optional: true },
  openblas_set_num_threads: { parameters: ["i32"], result: "void", optional: true },
  openblas_get_corename: { parameters: [], result: "pointer", optional: true },
} as const;

type Lib = Deno.DynamicLibrary<typeof SYMBOLS & typeof OPENBLAS_SYMBOLS & typeof LAPACK_SYMBOLS>;

const ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112, CONJ_TRANS = 113, UPPER = 121;

/** The candidate library files, in the order they are tried. */
export function blasCandidates(): string[] {
  let named: string | undefined;
  try {
    named = Deno.env.get("LORAPT_BLAS");
  } catch {
    named = undefined; // no --allow-env: only the platform defaults are tried
  }
  if (named) return [named];
  if (Deno.build.os === "darwin") return ["/System/Library/Frameworks/Accelerate.framework/Accelerate"];
  if (Deno.build.os === "windows") return ["libopenblas.dll", "openblas.dll"];
  return ["libopenblas.so.0", "libopenblas.so", "libcblas.so.3", "libblas.so.3"];
}

let lib: Lib | null = null;
let status: BlasStatus | null = null;

function load(): BlasStatus {
  if (status) return status;
  const tried: string[] = [];
  for (const path of blasCandidates()) {
    try {
      lib = Deno.dlopen(path, { ...SYMBOLS, ...OPENBLAS_SYMBOLS, ...LAPACK_SYMBOLS }) as Lib;
    } catch (e) {
      if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
        return status = { library: null, reason: "no --allow-ffi permission", core: null, threads: null };
      }
      tried.push(`${path} (${(e as Error).message.split("\n")[0]})`);
      continue;
    }
    const s = lib.symbols;
    const core = s.openblas_get_corename ? Deno.UnsafePointerView.getCString(s.openblas_get_corename()!) : null;
    const threads = s.openblas_get_num_threads ? s.openblas_get_num_threads() : null;
    return status = { library: path, reason: null, core, threads };
  }
  const named = blasCandidates().length === 1 && Deno.build.os === "linux" ? " (LORAPT_BLAS)" : "";
  return status = {
    library: null,
    reason: `no CBLAS library found${named}: tried ${
      tried.join("; ")
    }; on Debian/Ubuntu: apt-get install libopenblas0-pthread`,
    core: null,
    threads: null,
  };
}

/** Finds and loads the BLAS once, and says what was found or why nothing was. */
export function blasStatus(): BlasStatus {
  return load();
}

function symbols(): Lib["symbols"] {
  if (!lib) {
    const s = load();
    if (!lib) throw new Error(`native backend: ${s.reason}`);
  }
  return lib.symbols;
}

/** Sets the library's thread count (OpenBLAS only; a no-op elsewhere). */
export function setBlasThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setBlasThreads: expected a positive integer, got ${n}`);
  symbols().openblas_set_num_threads?.(n);
}

/**
 * A row-major GEMM, C ← α·op(A)·op(B) + β·C with op(A) m×k, op(B) k×n and
 * C m×n; `lda`, `ldb`, `ldc` are row strides as stored.
 */
export type Gemm<T extends Float32Array | Float64Array> = (
  ta: Trans,
  tb: Trans,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: T,
  lda: number,
  b: T,
  ldb: number,
  beta: number,
  c: T,
  ldc: number,
) => void;

/** One CBLAS gemm symbol as a {@link Gemm} (row-major; an empty C is left alone). */
function gemmOf<T extends Float32Array | Float64Array>(name: "cblas_sgemm" | "cblas_dgemm"): Gemm<T> {
  return (ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) => {
    if (m === 0 || n === 0) return;
    const t = (x: Trans) => (x === "T" ? TRANS : NO_TRANS);
    symbols()[name](ROW_MAJOR, t(ta), t(tb), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  };
}

/** {@link Gemm} on float32 matrices: `cblas_sgemm`. */
export const sgemm: Gemm<Float32Array> = gemmOf("cblas_sgemm");

/** {@link Gemm} on float64 matrices: `cblas_dgemm`. */
export const dgemm: Gemm<Float64Array> = gemmOf("cblas_dgemm");

/**
 * The symmetric/Hermitian eigensolvers and the products around them, as the
 * Gram-matrix t-SVD path uses them. {@link lapack} returns the system
 * library's; tests inject their own (or null) to exercise the fallback.
 */
export interface LapackApi {
  /** C ← A·Aᴴ (`trans` "N", A n×k) or Aᴴ·A ("C", A k×n), upper triangle of the row-major n×n C; complex interleaved. */
  zherk(trans: "N" | "C", n: number, k: number, a: Float64Array, lda: number, c: Float64Array): void;
  /** C ← A·Aᵀ (`trans` "N", A n×k) or Aᵀ·A ("T", A k×n), upper triangle of the row-major n×n C. */
  dsyrk(trans: "N" | "T", n: number, k: number, a: Float64Array, lda: number, c: Float64Array): void;
  /** C ← op(A)·B for row-major complex interleaved matrices, op(A) m×k ("N" or "C": conjugate transpose), B k×n. */
  zgemm(
    ta: "N" | "C",
    m: number,
    n: number,
    k: number,
    a: Float64Array,
    lda: number,
    b: Float64Array,
    c: Float64Array,
  ): void;
  /** See {@link zheevr}. */
  zheevr(n: number, a: Float64Array, il: number, iu: number): EigenResult;
  /** See {@link dsyevr}. */
  dsyevr(n: number, a: Float64Array, il: number, iu: number): EigenResult;
}

/** Eigenpairs il..iu (1-based, ascending) of a symmetric/Hermitian matrix from {@link zheevr} or {@link dsyevr}. */
export interface EigenResult {
  /** LAPACK's INFO: 0 on success. */
  info: number;
  /** The eigenvalues, ascending (iu − il + 1 of them). */
  w: Float64Array;
  /** The eigenvectors, column-major n×(iu − il + 1) (interleaved re, im for zheevr). */
  z: Float64Array;
}

const char = (c: string) => new Uint8Array([c.charCodeAt(0)]);
const int = (x: number) => new Int32Array([x]);
const dbl = (x: number) => new Float64Array([x]);
/** LAPACK's dlamch('S'), the safe minimum: the ABSTOL that gives the most accurate eigenvalues (dsyevr docs). */
const SAFE_MIN = 2 ** -1022;

function lapackSymbols(): Lib["symbols"] {
  const s = symbols();
  if (!s.zheevr_ || !s.dsyevr_ || !s.cblas_zherk || !s.cblas_dsyrk || !s.cblas_zgemm) {
    throw new Error(`LAPACK: ${blasStatus().library} lacks zheevr_/dsyevr_/cblas_zherk/cblas_dsyrk/cblas_zgemm`);
  }
  return s;
}

/**
 * Eigenpairs il..iu (1-based, in ascending order of eigenvalue) of the
 * Hermitian n×n matrix whose **lower** triangle is held column-major in `a`
 * (complex interleaved: re, im), by LAPACK's `zheevr` (JOBZ = 'V',
 * RANGE = 'I', MRRR). A row-major matrix with its upper triangle filled is
 * this matrix's transpose, i.e. its conjugate: the caller conjugates the
 * eigenvectors back. `a` is overwritten. The workspace sizes come from a
 * query call (LWORK = LRWORK = LIWORK = −1).
 */
export function zheevr(n: number, a: Float64Array, il: number, iu: number): EigenResult {
  const s = lapackSymbols(), k = iu - il + 1;
  if (!(Number.isInteger(n) && n >= 1 && a.length >= 2 * n * n && il >= 1 && iu <= n && k >= 1)) {
    throw new RangeError(
      `zheevr: need 1 ≤ il ≤ iu ≤ n and 2n² values, got n = ${n}, il = ${il}, iu = ${iu}, ${a.length}`,
    );
  }
  const m = int(0), w = new Float64Array(n), z = new Float64Array(2 * n * k), isuppz = new Int32Array(2 * k);
  const info = int(0);
  const call = (
    work: Float64Array,
    lwork: number,
    rwork: Float64Array,
    lrwork: number,
    iwork: Int32Array,
    liwork: number,
  ) =>
    s.zheevr_!(
      char("V"),
      char("I"),
      char("L"),
      int(n),
      a,
      int(n),
      dbl(0),
      dbl(0),
      int(il),
      int(iu),
      dbl(SAFE_MIN),
      m,
      w,
      z,
      int(n),
      isuppz,
      work,
      int(lwork),
      rwork,
      int(lrwork),
      iwork,
      int(liwork),
      info,
      1n,
      1n,
      1n,
    );
  const wq = new Float64Array(2), rq = new Float64Array(1), iq = new Int32Array(1);
  call(wq, -1, rq, -1, iq, -1);
  if (info[0] !== 0) return { info: info[0], w: w.subarray(0, 0), z };
  const lw = Math.ceil(wq[0]), lrw = Math.ceil(rq[0]), liw = iq[0];
  call(new Float64Array(2 * lw), lw, new Float64Array(lrw), lrw, new Int32Array(liw), liw);
  return { info: info[0] !== 0 ? info[0] : m[0] === k ? 0 : -1000, w: w.subarray(0, k), z };
}

/** {@link zheevr} for a real symmetric matrix (LAPACK's `dsyevr`); `a` is n×n, its lower triangle column-major. */
export function dsyevr(n: number, a: Float64Array, il: number, iu: number): EigenResult {
  const s = lapackSymbols(), k = iu - il + 1;
  if (!(Number.isInteger(n) && n >= 1 && a.length >= n * n && il >= 1 && iu <= n && k >= 1)) {
    throw new RangeError(
      `dsyevr: need 1 ≤ il ≤ iu ≤ n and n² values, got n = ${n}, il = ${il}, iu = ${iu}, ${a.length}`,
    );
  }
  const m = int(0), w = new Float64Array(n), z = new Float64Array(n * k), isuppz = new Int32Array(2 * k);
  const info = int(0);
  const call = (work: Float64Array, lwork: number, iwork: Int32Array, liwork: number) =>
    s.dsyevr_!(
      char("V"),
      char("I"),
      char("L"),
      int(n),
      a,
      int(n),
      dbl(0),
      dbl(0),
      int(il),
      int(iu),
      dbl(SAFE_MIN),
      m,
      w,
      z,
      int(n),
      isuppz,
      work,
      int(lwork),
      iwork,
      int(liwork),
      info,
      1n,
      1n,
      1n,
    );
  const wq = new Float64Array(1), iq = new Int32Array(1);
  call(wq, -1, iq, -1);
  if (info[0] !== 0) return { info: info[0], w: w.subarray(0, 0), z };
  const lw = Math.ceil(wq[0]), liw = iq[0];
  call(new Float64Array(lw), lw, new Int32Array(liw), liw);
  return { info: info[0] !== 0 ? info[0] : m[0] === k ? 0 : -1000, w: w.subarray(0, k), z };
}

const SYSTEM_LAPACK: LapackApi = {
  zherk(trans, n, k, a, lda, c) {
    lapackSymbols().cblas_zherk!(ROW_MAJOR, UPPER, trans === "C" ? CONJ_TRANS : NO_TRANS, n, k, 1, a, lda, 0, c, n);
  },
  dsyrk(trans, n, k, a, lda, c) {
    lapackSymbols().cblas_dsyrk!(ROW_MAJOR, UPPER, trans === "T" ? TRANS : NO_TRANS, n, k, 1, a, lda, 0, c, n);
  },
  zgemm(ta, m, n, k, a, lda, b, c) {
    const one = new Float64Array([1, 0]), zero = new Float64Array([0, 0]);
    lapackSymbols().cblas_zgemm!(
      ROW_MAJOR,
      ta === "C" ? CONJ_TRANS : NO_TRANS,
      NO_TRANS,
      m,
      n,
      k,
      one,
      a,
      lda,
      b,
      n,
      zero,
      c,
      n,
    );
  },
  zheevr,
  dsyevr,
};

/** Whether the loaded BLAS also exports the LAPACK eigensolvers and products of {@link LapackApi}. */
export function lapackAvailable(): boolean {
  if (!blasStatus().library || !lib) return false;
  const s = lib.symbols;
  return !!(s.zheevr_ && s.dsyevr_ && s.cblas_zherk && s.cblas_dsyrk && s.cblas_zgemm);
}

/** The system library's {@link LapackApi}, or null when there is none (no BLAS, or a CBLAS without LAPACK). */
export function lapack(): LapackApi | null {
  return lapackAvailable() ? SYSTEM_LAPACK : null;
}

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

const OPENBLAS_SYMBOLS = {
  openblas_get_num_threads: { parameters: [], result: "i32", optional: true },
  openblas_set_num_threads: { parameters: ["i32"], result: "void", optional: true },
  openblas_get_corename: { parameters: [], result: "pointer", optional: true },
} as const;

type Lib = Deno.DynamicLibrary<typeof SYMBOLS & typeof OPENBLAS_SYMBOLS>;

const ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112;

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
      lib = Deno.dlopen(path, { ...SYMBOLS, ...OPENBLAS_SYMBOLS }) as Lib;
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
 * C ← α·op(A)·op(B) + β·C for row-major float32 matrices, op(A) m×k,
 * op(B) k×n, C m×n; `lda`, `ldb`, `ldc` are row strides as stored.
 */
export function sgemm(
  ta: Trans,
  tb: Trans,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float32Array,
  lda: number,
  b: Float32Array,
  ldb: number,
  beta: number,
  c: Float32Array,
  ldc: number,
): void {
  if (m === 0 || n === 0) return;
  symbols().cblas_sgemm(
    ROW_MAJOR,
    ta === "T" ? TRANS : NO_TRANS,
    tb === "T" ? TRANS : NO_TRANS,
    m,
    n,
    k,
    alpha,
    a,
    lda,
    b,
    ldb,
    beta,
    c,
    ldc,
  );
}

/** {@link sgemm} in float64. */
export function dgemm(
  ta: Trans,
  tb: Trans,
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
  if (m === 0 || n === 0) return;
  symbols().cblas_dgemm(
    ROW_MAJOR,
    ta === "T" ? TRANS : NO_TRANS,
    tb === "T" ? TRANS : NO_TRANS,
    m,
    n,
    k,
    alpha,
    a,
    lda,
    b,
    ldb,
    beta,
    c,
    ldc,
  );
}

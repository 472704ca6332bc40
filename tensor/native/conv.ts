/**
 * Native 3-D convolutions on `cblas_sgemm`: conv3d, convTranspose3d and
 * conv3dWeightGrad in NCDHW with PyTorch weight layouts, for float32 (other
 * dtypes take the CPU reference kernels of `tensor/cpu/conv.ts`). One group
 * of one batch item is one GEMM problem; three methods cover UNETR's
 * convolutions (models/unetr.ts, models/unetr_blocks.ts):
 *
 * - **pointwise** (1³, stride 1, no padding: the residual `conv3` and the
 *   output block): the input is already the GEMM operand, `Y = W·X`.
 * - **shifted GEMMs** (every stride-1 conv, from
 *   {@link NativeConvTuning.shiftMinChannels} input channels per group, by
 *   default all: the 3³ pad 1 convs of every res block and their input
 *   gradients): the input is copied once onto a zero-padded grid
 *   `[C, Dp, Hp, Wp]`, the output is computed on that grid, and kernel tap
 *   (a, b, c) is one GEMM `Y += W_t · Xp[:, off_t …]` whose B operand is the
 *   padded input offset by `off_t = a·d·Hp·Wp + b·d·Wp + c·d` — no im2col
 *   buffer. Columns with `h ≥ OH` or `w ≥ OW` are computed and cropped
 *   (6% extra work at 64³). The output is accumulated in column chunks of
 *   {@link NativeConvTuning.gemmColumns} so that the 27 GEMMs of a chunk
 *   re-read it from cache, not memory. The weight gradient is the same
 *   loop with `dW_t += GYp · Xp[:, off_t …]ᵀ`; these small-output products
 *   (and every other weight-gradient GEMM up to 32×32 outputs) run as 8×8
 *   blocks on AVX-512 OpenBLAS cores, which compute them 1.2–2.5× faster
 *   there (see `WGRAD_BLOCKED_MAX`).
 * - **im2col in chunks** (strided convs: the input gradient of UNETR's 2³
 *   stride 2 upsampling, the ViT's 16³ stride 16 patch embedding, and their
 *   weight gradients): column blocks of whole output rows, each block about
 *   {@link NativeConvTuning.colBlockBytes} (cache-sized). With stride =
 *   kernel the columns are a permutation of the input, so nothing is
 *   duplicated.
 *
 * convTranspose3d with stride 1 is conv3d with the kernel flipped and its
 * two channel axes swapped, padding `d·(k−1) − p` (negative padding crops),
 * so it takes the shifted path. With stride > 1 (UNETR's 2³ stride 2
 * upsampling) it is one GEMM `colᵀ = Wᵀ·X` per chunk of input rows followed
 * by col2im (a scatter-add; a plain permutation when stride = kernel).
 *
 * Why these, measured (2026-12-03, Intel Sapphire Rapids, 2 cores, AVX-512,
 * OpenBLAS 0.3.21 SkylakeX kernels; the machine was shared, load average
 * 2.5–10, so same-run A/B pairs, not absolute numbers, decided):
 * - conv3d 1×32×64³ → 32, 3³ pad 1 in `bench/native_conv.ts`, final code,
 *   load 2.3: shifted GEMMs 85 / 86 / 66 GFLOP/s (forward, input and weight
 *   gradient; PyTorch 1.13 on 2 threads 199 / 177 / 190 in the same run,
 *   0.35–0.49×; an earlier run at load 3 gave 52 / 55 / 50 against 90 / 89 /
 *   96) against im2col 32–35 (the column buffer, 27× the input, is filled
 *   in TypeScript and costs more than its GEMM). At 1, 2, 4, 8 and 16 input
 *   channels (the 64³ convs of `unetr-small`, batch 2) shifted GEMMs were
 *   1–10× faster than im2col in every pass, so every stride-1 conv takes
 *   them.
 * - Per core (OpenBLAS on 1 thread, CPU time, so less exposed to the load):
 *   an isolated 32×8192×32 tap GEMM runs at 78 GFLOP/s (1024³: 126), the
 *   whole shifted conv at 72–78 / 73–76 / 62–69 (forward / input / weight
 *   gradient; PyTorch on 1 thread: 84 forward), at 8³–16³ 51–65 (PyTorch:
 *   121–148).
 *   The rest is the padded copy, the crop and first-touch page faults of
 *   the output. A tap GEMM reuses each packed input element only O = 32
 *   times, which caps it below a large GEMM; folding the 3 W-taps into
 *   K = 96 did not raise the isolated GEMM's rate, so it was not done.
 *   `gemmColumns`: under load 2048–16384 measured alike; at load 2.3, with
 *   CPU time on 2 threads, 4096 beat 8192 by 5–7% at 32→32 @64³ and by up
 *   to 2× at 16→8 @64³ (forward 27 → 61 GFLOP/s per core), so 4096 is the
 *   default.
 * - On 2 cores shared with other jobs, OpenBLAS's second thread added
 *   little (the tap GEMMs alone: 72–91 GFLOP/s on 1 thread, 84–86 on 2), so
 *   the single-threaded copies weigh more than the per-core numbers say.
 *
 * Every temporary buffer (padded input slab, column block, output chunk) is
 * at most {@link NativeConvTuning.maxTempBytes}, except that one output row
 * (im2col) or one padded output plane plus its halo (shifted) is the
 * smallest unit; the padded input is split into depth slabs when it exceeds
 * the bound. The three temporary buffers are kept for the next call
 * ({@link releaseNativeConvScratch} drops them). Threads: OpenBLAS's own (both cores here); the copies are plain
 * loops over typed arrays.
 * @module
 */
import type { ConvParams, CpuArg, OutputMeta, TypedArray } from "../kernel_types.ts";
import { conv3dKernel, conv3dWeightGradKernel, convTranspose3dKernel } from "../cpu/conv.ts";
import { blasStatus, sgemm } from "./blas.ts";

/** Sizes that bound and shape the native convolutions' temporary buffers. */
export interface NativeConvTuning {
  /** Upper bound in bytes on any one temporary buffer (default 64 MiB). */
  maxTempBytes: number;
  /** Output columns accumulated per GEMM chunk on the shifted path (cache-sized; default 4096). */
  gemmColumns: number;
  /** Target bytes of one im2col / col2im block, so that it is re-read from cache by the GEMM (default 1 MiB). */
  colBlockBytes: number;
  /** Input channels per group from which stride-1 convolutions take shifted GEMMs instead of im2col (default 1: all). */
  shiftMinChannels: number;
}

/** Drops the temporary buffers that the native convolutions keep between calls (up to 3 × maxTempBytes). */
export function releaseNativeConvScratch(): void {
  scratchBuffers.clear();
}

const tuning: NativeConvTuning = {
  maxTempBytes: 64 * 2 ** 20,
  gemmColumns: 4096,
  colBlockBytes: 2 ** 20,
  shiftMinChannels: 1,
};

/**
 * Sets some of the tuning sizes and returns the previous ones (tests lower
 * them to run the chunk loops more than once on small shapes).
 */
export function setNativeConvTuning(t: Partial<NativeConvTuning>): NativeConvTuning {
  const previous = { ...tuning };
  for (const [k, v] of Object.entries(t) as [keyof NativeConvTuning, number][]) {
    if (!(k in tuning)) throw new RangeError(`setNativeConvTuning: unknown option ${k}`);
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`setNativeConvTuning: ${k} must be a positive integer, got ${v}`);
    }
    tuning[k] = v;
  }
  return previous;
}

/** One grouped conv3d problem: y[n, o, q] = Σ_{c, t} w[o, c, t] · x[n, c, q·s − p + t·d], p may be negative. */
interface Problem {
  N: number;
  C: number;
  D: number;
  H: number;
  W: number;
  O: number;
  OD: number;
  OH: number;
  OW: number;
  K: [number, number, number];
  s: [number, number, number];
  p: [number, number, number];
  d: [number, number, number];
  groups: number;
}

function problem(x: CpuArg, out5: readonly number[], O: number, K: readonly number[], p: ConvParams): Problem {
  const [N, C, D, H, W] = x.shape;
  return {
    N,
    C,
    D,
    H,
    W,
    O,
    OD: out5[2],
    OH: out5[3],
    OW: out5[4],
    K: [K[0], K[1], K[2]],
    s: [...p.stride],
    p: [...p.padding],
    d: [...p.dilation],
    groups: p.groups,
  };
}

const isF32 = (...ts: { dtype: string }[]): boolean => ts.every((t) => t.dtype === "float32");
const taps = (q: Problem): number => q.K[0] * q.K[1] * q.K[2];
const pointwise = (q: Problem): boolean =>
  taps(q) === 1 && q.s.every((v) => v === 1) && q.p.every((v) => v === 0) &&
  q.OD === q.D && q.OH === q.H && q.OW === q.W;
const shifted = (q: Problem): boolean => q.s.every((v) => v === 1) && q.C / q.groups >= tuning.shiftMinChannels;

/** Weight [O, Cg, T] → [T, O, Cg], so that each tap's O×Cg matrix is contiguous (written in order). */
function tapMajor(w: Float32Array, O: number, Cg: number, T: number): Float32Array {
  const r = new Float32Array(w.length);
  for (let t = 0, dst = 0; t < T; t++) {
    for (let oc = 0; oc < O * Cg; oc++) r[dst++] = w[oc * T + t];
  }
  return r;
}

// Temporary buffers are kept between calls, one per role, so that a training step does not pay the page faults of
// fresh allocations each time (about 0.5 ms per MiB here, 13% of a 64³ conv); each is at most maxTempBytes, apart
// from the smallest units named in the module doc.
const scratchBuffers = new Map<string, Float32Array>();

/** A buffer of `floats` for `role` ("slab", "chunk", "col"), zeroed when `zero`. */
function scratch(role: string, floats: number, zero: boolean): Float32Array {
  const b = scratchBuffers.get(role);
  if (!b || b.length < floats) {
    const fresh = new Float32Array(floats); // a new buffer is zero already
    scratchBuffers.set(role, fresh);
    return fresh;
  }
  const v = b.subarray(0, floats);
  if (zero) v.fill(0);
  return v;
}

// The innermost loops are these small functions rather than loops inside the big ones: V8 optimises a function that
// is called often and inlines it, while a hot loop deep in a function that runs a few times only gets on-stack
// replacement, which it left again and again here ("exit from OSR'd inner loop", 3–5× slower col2im).

/** dst[d + i] = src[s + i·stride] for i < n. */
function copyRun(dst: Float32Array, d: number, src: Float32Array, s: number, stride: number, n: number): void {
  if (stride === 1) { for (let i = 0; i < n; i++) dst[d + i] = src[s + i]; }
  else for (let i = 0; i < n; i++) dst[d + i] = src[s + i * stride];
}

/** dst[d + i·k + j] = src[s + j·ld + i] for i < n, j < k: k rows of a column block interleaved into one output row. */
function interleave(
  dst: Float32Array,
  d: number,
  src: Float32Array,
  s: number,
  ld: number,
  n: number,
  k: number,
): void {
  if (k === 2) {
    for (let i = 0; i < n; i++) {
      dst[d + 2 * i] = src[s + i];
      dst[d + 2 * i + 1] = src[s + ld + i];
    }
    return;
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) dst[d + i * k + j] = src[s + j * ld + i];
}

/** dst[d + i·stride] += src[s + i] for i < n. */
function addRun(dst: Float32Array, d: number, stride: number, src: Float32Array, s: number, n: number): void {
  for (let i = 0; i < n; i++) dst[d + i * stride] += src[s + i];
}

// ---------------------------------------------------------------- shifted GEMMs

/** Geometry of the padded grid and its depth slabs for a stride-1 problem. */
interface Grid {
  Hp: number;
  Wp: number;
  plane: number;
  halo: number;
  /** Output planes per slab. */
  S: number;
  /** Output columns per GEMM chunk (whole padded rows). */
  Lc: number;
  offs: Int32Array;
}

function grid(q: Problem, Cg: number, Og: number): Grid {
  const [KD, KH, KW] = q.K, [dd, dh, dw] = q.d;
  const Hp = q.OH + (KH - 1) * dh, Wp = q.OW + (KW - 1) * dw, plane = Hp * Wp, halo = (KD - 1) * dd;
  const floats = Math.floor(tuning.maxTempBytes / 4);
  const S = Math.max(1, Math.min(q.OD, Math.floor(floats / (Cg * plane)) - halo));
  const needed = Math.min(S, q.OD) * Hp; // padded rows of one slab's output
  const rows = Math.max(1, Math.min(Math.floor(tuning.gemmColumns / Wp), Math.floor(floats / (Og * Wp)), needed));
  const offs = new Int32Array(KD * KH * KW);
  for (let a = 0, t = 0; a < KD; a++) {
    for (let b = 0; b < KH; b++) for (let c = 0; c < KW; c++) offs[t++] = a * dd * plane + b * dh * Wp + c * dw;
  }
  return { Hp, Wp, plane, halo, S, Lc: rows * Wp, offs };
}

/**
 * Copies x[n, c0 … c0+Cg, planes od0 − p … ] onto the zero-padded slab `xs`
 * [Cg, Sp, Hp, Wp]. Only the cells that hold input are written, and planes
 * outside the input are zeroed. The border cells (rows and columns of
 * padding) are never written, so they stay zero from the buffer's
 * allocation: `Sp` changes the channel stride by whole planes only, so
 * every layout has its border cells at the same offsets within a plane.
 * This saves a fill call per padded row.
 */
function fillSlab(
  X: Float32Array,
  q: Problem,
  gr: Grid,
  n: number,
  c0: number,
  Cg: number,
  od0: number,
  Sp: number,
  xs: Float32Array,
): void {
  const { D, H, W } = q, { Wp, plane } = gr, [pd, ph, pw] = q.p;
  const zw0 = Math.max(0, pw), zw1 = Math.min(Wp, W + pw); // padded columns that hold input
  const zh0 = Math.max(0, ph), zh1 = Math.min(gr.Hp, H + ph); // padded rows that hold input
  for (let c = 0; c < Cg; c++) {
    const xc = (n * q.C + c0 + c) * D * H * W;
    for (let zd = 0; zd < Sp; zd++) {
      const id = od0 + zd - pd, pbase = (c * Sp + zd) * plane;
      if (id < 0 || id >= D) {
        xs.fill(0, pbase, pbase + plane);
        continue;
      }
      for (let zh = zh0; zh < zh1; zh++) {
        const row = pbase + zh * Wp, src = xc + (id * H + zh - ph) * W - pw;
        copyRun(xs, row + zw0, X, src + zw0, 1, zw1 - zw0);
      }
    }
  }
}

/** conv3d with stride 1 by one GEMM per tap on the padded grid; `wt` is tap-major [T, O, Cg]. */
function convShifted(X: Float32Array, wt: Float32Array, q: Problem, Y: Float32Array): void {
  const G = q.groups, Cg = q.C / G, Og = q.O / G, T = taps(q), P = q.OD * q.OH * q.OW;
  const gr = grid(q, Cg, Og), { Hp, Wp, plane, halo, S, Lc, offs } = gr;
  const xs = scratch("slab", Cg * (Math.min(S, q.OD) + halo) * plane, true);
  const yc = scratch("chunk", Og * Lc, false); // every tap-0 GEMM overwrites the columns it uses
  for (let n = 0; n < q.N; n++) {
    for (let g = 0; g < G; g++) {
      for (let od0 = 0; od0 < q.OD; od0 += S) {
        const Sn = Math.min(S, q.OD - od0), Sp = Sn + halo, ldb = Sp * plane;
        fillSlab(X, q, gr, n, g * Cg, Cg, od0, Sp, xs);
        const L = (Sn - 1) * plane + (q.OH - 1) * Wp + q.OW; // last needed column + 1
        for (let j0 = 0; j0 < L; j0 += Lc) {
          const nc = Math.min(Lc, L - j0);
          for (let t = 0; t < T; t++) {
            const a = wt.subarray((t * q.O + g * Og) * Cg, (t * q.O + (g + 1) * Og) * Cg);
            sgemm("N", "N", Og, nc, Cg, 1, a, Cg, xs.subarray(j0 + offs[t]), ldb, t === 0 ? 0 : 1, yc, Lc);
          }
          // Crop: padded row ρ = zd·Hp + zh holds output row (od0 + zd, zh) when zh < OH.
          const r0 = j0 / Wp, r1 = Math.ceil((j0 + nc) / Wp);
          for (let o = 0; o < Og; o++) {
            const yo = ((n * q.O + g * Og + o) * P) + od0 * q.OH * q.OW;
            for (let r = r0; r < r1; r++) {
              const zd = Math.floor(r / Hp), zh = r - zd * Hp;
              if (zh >= q.OH) continue;
              const src = o * Lc + (r - r0) * Wp, dst = yo + (zd * q.OH + zh) * q.OW;
              copyRun(Y, dst, yc, src, 1, q.OW);
            }
          }
        }
      }
    }
  }
}

/**
 * Output sizes m·n up to which a weight-gradient GEMM runs as 8×8 blocks, on OpenBLAS cores that have its
 * small-matrix kernels (the AVX-512 ones). Measured on OpenBLAS 0.3.21, `N,T`, K ≈ 4–8k, per core: SkylakeX 8×8
 * 79 GFLOP/s, 16×32 52 (as 8×8 blocks: 82), 32×32 65 (blocks: 75–79), 64×128 98 (blocks: 68); with
 * `OPENBLAS_CORETYPE=Haswell` (AVX2) 8×8 blocks ran at 28–30 against 49–64 unblocked, so there they are not used.
 */
const WGRAD_BLOCKED_MAX = 32 * 32;
const SMALL_KERNEL_CORES = new Set(["skylakex", "cooperlake", "sapphirerapids"]);
let blockedWgrad: boolean | null = null;

function useBlockedWgrad(): boolean {
  return blockedWgrad ??= SMALL_KERNEL_CORES.has((blasStatus().core ?? "").toLowerCase());
}

/** C (m×n) += A (m×k) · Bᵀ (B stored n×k): the weight-gradient product, as 8×8 blocks when small (see above). */
function gemmNTAccumulate(
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  lda: number,
  b: Float32Array,
  ldb: number,
  c: Float32Array,
  ldc: number,
): void {
  if (m * n > WGRAD_BLOCKED_MAX || !useBlockedWgrad()) {
    sgemm("N", "T", m, n, k, 1, a, lda, b, ldb, 1, c, ldc);
    return;
  }
  for (let i = 0; i < m; i += 8) {
    for (let j = 0; j < n; j += 8) {
      const bm = Math.min(8, m - i), bn = Math.min(8, n - j);
      sgemm(
        "N",
        "T",
        bm,
        bn,
        k,
        1,
        a.subarray(i * lda),
        lda,
        b.subarray(j * ldb),
        ldb,
        1,
        c.subarray(i * ldc + j),
        ldc,
      );
    }
  }
}

/** dW (tap-major [T, O, Cg], accumulated) of a stride-1 conv by one GEMM per tap on the padded grid. */
function wgradShifted(X: Float32Array, GY: Float32Array, q: Problem, dwt: Float32Array): void {
  const G = q.groups, Cg = q.C / G, Og = q.O / G, T = taps(q), P = q.OD * q.OH * q.OW;
  const gr = grid(q, Cg, Og), { Hp, Wp, plane, halo, S, Lc, offs } = gr;
  const xs = scratch("slab", Cg * (Math.min(S, q.OD) + halo) * plane, true);
  const gc = scratch("chunk", Og * Lc, true); // its columns OW … Wp must be zero
  for (let n = 0; n < q.N; n++) {
    for (let g = 0; g < G; g++) {
      for (let od0 = 0; od0 < q.OD; od0 += S) {
        const Sn = Math.min(S, q.OD - od0), Sp = Sn + halo, ldb = Sp * plane;
        fillSlab(X, q, gr, n, g * Cg, Cg, od0, Sp, xs);
        const L = (Sn - 1) * plane + (q.OH - 1) * Wp + q.OW;
        for (let j0 = 0; j0 < L; j0 += Lc) {
          const nc = Math.min(Lc, L - j0);
          // gy on the padded grid, zero where the grid has no output (h ≥ OH or w ≥ OW).
          const r0 = j0 / Wp, r1 = Math.ceil((j0 + nc) / Wp);
          for (let o = 0; o < Og; o++) {
            const go = ((n * q.O + g * Og + o) * P) + od0 * q.OH * q.OW;
            for (let r = r0; r < r1; r++) {
              const zd = Math.floor(r / Hp), zh = r - zd * Hp, dst = o * Lc + (r - r0) * Wp;
              if (zh >= q.OH) {
                gc.fill(0, dst, dst + Wp);
                continue;
              }
              const src = go + (zd * q.OH + zh) * q.OW;
              copyRun(gc, dst, GY, src, 1, q.OW);
              // Columns OW … Wp of a row are never written: chunks start on whole rows, so they stay zero.
            }
          }
          for (let t = 0; t < T; t++) {
            const c = dwt.subarray((t * q.O + g * Og) * Cg, (t * q.O + (g + 1) * Og) * Cg);
            gemmNTAccumulate(Og, Cg, nc, gc, Lc, xs.subarray(j0 + offs[t]), ldb, c, Cg);
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------- im2col / col2im

/** Rows of `rowLen` columns per im2col / col2im block whose buffer has `bufRows` rows. */
function blockRows(rowLen: number, bufRows: number): number {
  const cols = Math.floor(Math.min(tuning.colBlockBytes, tuning.maxTempBytes) / 4 / bufRows);
  return Math.max(1, Math.floor(cols / rowLen));
}

/** Fills col [Cg·T, R·OW] for output rows r0 … r0+R (row r = od·OH + oh) of batch n, channels c0 …. */
function im2col(
  X: Float32Array,
  q: Problem,
  n: number,
  c0: number,
  Cg: number,
  r0: number,
  R: number,
  col: Float32Array,
) {
  const { D, H, W, OH, OW } = q, [KD, KH, KW] = q.K, [sd, sh, sw] = q.s, [pd, ph, pw] = q.p, [dd, dh, dw] = q.d;
  const ncols = R * OW;
  let row = 0;
  for (let c = 0; c < Cg; c++) {
    const xc = (n * q.C + c0 + c) * D * H * W;
    for (let kd = 0; kd < KD; kd++) {
      for (let kh = 0; kh < KH; kh++) {
        for (let kw = 0; kw < KW; kw++, row++) {
          const off = kw * dw - pw;
          // Valid ow: 0 ≤ ow·sw + off < W.
          const w0 = Math.min(OW, Math.max(0, Math.ceil(-off / sw)));
          const w1 = Math.max(w0, Math.min(OW, Math.floor((W - 1 - off) / sw) + 1));
          const base = row * ncols;
          for (let r = 0; r < R; r++) {
            const orow = r0 + r, od = Math.floor(orow / OH), oh = orow - od * OH;
            const id = od * sd - pd + kd * dd, ih = oh * sh - ph + kh * dh, dst = base + r * OW;
            if (id < 0 || id >= D || ih < 0 || ih >= H) {
              col.fill(0, dst, dst + OW);
              continue;
            }
            const src = xc + (id * H + ih) * W + off;
            for (let ow = 0; ow < w0; ow++) col[dst + ow] = 0;
            copyRun(col, dst + w0, X, src + w0 * sw, sw, w1 - w0);
            for (let ow = w1; ow < OW; ow++) col[dst + ow] = 0;
          }
        }
      }
    }
  }
}

function convIm2col(X: Float32Array, w: Float32Array, q: Problem, Y: Float32Array): void {
  const G = q.groups, Cg = q.C / G, Og = q.O / G, CK = Cg * taps(q), P = q.OD * q.OH * q.OW, rows = q.OD * q.OH;
  const R = Math.min(rows, blockRows(q.OW, CK));
  const col = scratch("col", CK * R * q.OW, false); // im2col writes every cell
  for (let n = 0; n < q.N; n++) {
    for (let g = 0; g < G; g++) {
      const a = w.subarray(g * Og * CK, (g + 1) * Og * CK);
      for (let r0 = 0; r0 < rows; r0 += R) {
        const Rn = Math.min(R, rows - r0), nc = Rn * q.OW;
        im2col(X, q, n, g * Cg, Cg, r0, Rn, col);
        sgemm("N", "N", Og, nc, CK, 1, a, CK, col, nc, 0, Y.subarray((n * q.O + g * Og) * P + r0 * q.OW), P);
      }
    }
  }
}

function wgradIm2col(X: Float32Array, GY: Float32Array, q: Problem, dw: Float32Array): void {
  const G = q.groups, Cg = q.C / G, Og = q.O / G, CK = Cg * taps(q), P = q.OD * q.OH * q.OW, rows = q.OD * q.OH;
  const R = Math.min(rows, blockRows(q.OW, CK));
  const col = scratch("col", CK * R * q.OW, false); // im2col writes every cell
  for (let n = 0; n < q.N; n++) {
    for (let g = 0; g < G; g++) {
      const c = dw.subarray(g * Og * CK, (g + 1) * Og * CK);
      for (let r0 = 0; r0 < rows; r0 += R) {
        const Rn = Math.min(R, rows - r0), nc = Rn * q.OW;
        im2col(X, q, n, g * Cg, Cg, r0, Rn, col);
        gemmNTAccumulate(Og, CK, nc, GY.subarray((n * q.O + g * Og) * P + r0 * q.OW), P, col, nc, c, CK);
      }
    }
  }
}

/**
 * convTranspose3d by colᵀ = W[g]ᵀ · X[n, g] per block of input rows, then
 * col2im: y[n, o, i·s − p + t·d] += colᵀ[(o, t), i]. Weight [Cin, Og, T].
 */
function convTransposeCol2im(
  X: Float32Array,
  w: Float32Array,
  x5: readonly number[],
  q: Problem,
  Y: Float32Array,
): void {
  const [N, C, D, H, W] = x5, G = q.groups, Cig = C / G, Og = q.O / G, T = taps(q), OK = Og * T;
  const { OD, OH, OW } = q, [KD, KH, KW] = q.K, [sd, sh, sw] = q.s, [pd, ph, pw] = q.p, [dd, dh, dw] = q.d;
  const Pin = D * H * W, Pout = OD * OH * OW, rows = D * H;
  const R = Math.min(rows, blockRows(W, OK));
  const col = scratch("col", OK * R * W, false); // the GEMM writes every cell
  const tiles = q.K.every((k, i) => q.s[i] === k && q.p[i] === 0 && q.d[i] === 1);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      const a = w.subarray(g * Cig * OK, (g + 1) * Cig * OK);
      for (let r0 = 0; r0 < rows; r0 += R) {
        const Rn = Math.min(R, rows - r0), nc = Rn * W;
        sgemm("T", "N", OK, nc, Cig, 1, a, OK, X.subarray((n * C + g * Cig) * Pin + r0 * W), Pin, 0, col, nc);
        if (tiles) {
          // stride = kernel, no padding, no dilation: each output cell comes from one tap; rows are written whole.
          for (let o = 0, row = 0; o < Og; o++) {
            const yo = (n * q.O + g * Og + o) * Pout;
            for (let kd = 0; kd < KD; kd++) {
              for (let kh = 0; kh < KH; kh++, row += KW) {
                for (let r = 0; r < Rn; r++) {
                  const irow = r0 + r, id = Math.floor(irow / H), ih = irow - id * H;
                  const dst = yo + ((id * KD + kd) * OH + ih * KH + kh) * OW;
                  interleave(Y, dst, col, row * nc + r * W, nc, W, KW);
                }
              }
            }
          }
          continue;
        }
        let row = 0;
        for (let o = 0; o < Og; o++) {
          const yo = (n * q.O + g * Og + o) * Pout;
          for (let kd = 0; kd < KD; kd++) {
            for (let kh = 0; kh < KH; kh++) {
              for (let kw = 0; kw < KW; kw++, row++) {
                const off = kw * dw - pw;
                // Valid iw: 0 ≤ iw·sw + off < OW.
                const i0 = Math.min(W, Math.max(0, Math.ceil(-off / sw)));
                const i1 = Math.max(i0, Math.min(W, Math.floor((OW - 1 - off) / sw) + 1));
                for (let r = 0; r < Rn; r++) {
                  const irow = r0 + r, id = Math.floor(irow / H), ih = irow - id * H;
                  const od = id * sd - pd + kd * dd, oh = ih * sh - ph + kh * dh;
                  if (od < 0 || od >= OD || oh < 0 || oh >= OH) continue;
                  const dst = yo + (od * OH + oh) * OW + off, src = row * nc + r * W;
                  addRun(Y, dst + i0 * sw, sw, col, src + i0, i1 - i0);
                }
              }
            }
          }
        }
      }
    }
  }
}

/** conv3d on one of the three methods (see the module doc); `w` is [O, Cg, KD, KH, KW]. */
function convForward(X: Float32Array, w: Float32Array, q: Problem, Y: Float32Array): void {
  const G = q.groups, Cg = q.C / G, Og = q.O / G, P = q.OD * q.OH * q.OW;
  if (pointwise(q)) {
    for (let n = 0; n < q.N; n++) {
      for (let g = 0; g < G; g++) {
        const b = X.subarray((n * q.C + g * Cg) * P, (n * q.C + (g + 1) * Cg) * P);
        sgemm("N", "N", Og, P, Cg, 1, w.subarray(g * Og * Cg), Cg, b, P, 0, Y.subarray((n * q.O + g * Og) * P), P);
      }
    }
  } else if (shifted(q)) {
    convShifted(X, tapMajor(w, q.O, Cg, taps(q)), q, Y);
  } else {
    convIm2col(X, w, q, Y);
  }
}

/** Native conv3d: float32 on sgemm (module doc), other dtypes on the CPU reference kernel. */
export function nativeConv3d(inputs: CpuArg[], p: ConvParams, out: OutputMeta): TypedArray {
  const [x, w] = inputs;
  if (out.dtype !== "float32" || !isF32(x, w)) return conv3dKernel(inputs, p, out);
  const Y = new Float32Array(out.shape.reduce((a, b) => a * b, 1));
  if (Y.length === 0) return Y;
  convForward(
    x.data as Float32Array,
    w.data as Float32Array,
    problem(x, out.shape, w.shape[0], w.shape.slice(2), p),
    Y,
  );
  return Y;
}

/** Native convTranspose3d: stride 1 as a flipped conv3d, otherwise GEMM + col2im; other dtypes on the CPU kernel. */
export function nativeConvTranspose3d(inputs: CpuArg[], p: ConvParams, out: OutputMeta): TypedArray {
  const [x, w] = inputs;
  if (out.dtype !== "float32" || !isF32(x, w)) return convTranspose3dKernel(inputs, p, out);
  const Y = new Float32Array(out.shape.reduce((a, b) => a * b, 1));
  if (Y.length === 0) return Y;
  const [Cin, Og, KD, KH, KW] = w.shape, G = p.groups, Cig = Cin / G, T = KD * KH * KW;
  const W = w.data as Float32Array, X = x.data as Float32Array;
  if (p.stride.every((s) => s === 1)) {
    // y[o, q] = Σ_{c, t'} wf[o, c, t'] · x[c, q − (d·(k−1) − p) + t'·d] with wf[g·Og + o, c, t'] = w[g·Cig + c, o, T−1−t'].
    const wf = new Float32Array(W.length);
    for (let g = 0; g < G; g++) {
      for (let c = 0; c < Cig; c++) {
        for (let o = 0; o < Og; o++) {
          const src = ((g * Cig + c) * Og + o) * T, dst = ((g * Og + o) * Cig + c) * T;
          for (let t = 0; t < T; t++) wf[dst + t] = W[src + T - 1 - t];
        }
      }
    }
    const K = [KD, KH, KW];
    const flipped: ConvParams = {
      stride: [1, 1, 1],
      padding: [0, 1, 2].map((i) => p.dilation[i] * (K[i] - 1) - p.padding[i]) as [number, number, number],
      dilation: p.dilation,
      groups: G,
    };
    convForward(X, wf, problem(x, out.shape, Og * G, K, flipped), Y);
    return Y;
  }
  convTransposeCol2im(X, W, x.shape, problem(x, out.shape, Og * G, [KD, KH, KW], p), Y);
  return Y;
}

/** Native conv3dWeightGrad: dW[o, c, t] = Σ gy[n, o, q] · x[n, c, q·s − p + t·d]; other dtypes on the CPU kernel. */
export function nativeConv3dWeightGrad(inputs: CpuArg[], p: ConvParams, out: OutputMeta): TypedArray {
  const [x, gy] = inputs;
  if (out.dtype !== "float32" || !isF32(x, gy)) return conv3dWeightGradKernel(inputs, p, out);
  const [O, Cg, KD, KH, KW] = out.shape, T = KD * KH * KW;
  const dw = new Float32Array(O * Cg * T);
  const q = problem(x, gy.shape, O, [KD, KH, KW], p);
  const X = x.data as Float32Array, GY = gy.data as Float32Array;
  if (dw.length === 0 || q.OD * q.OH * q.OW === 0 || q.N === 0) return dw;
  const G = p.groups, Og = O / G, P = q.OD * q.OH * q.OW;
  if (pointwise(q)) {
    for (let n = 0; n < q.N; n++) {
      for (let g = 0; g < G; g++) {
        const a = GY.subarray((n * O + g * Og) * P), b = X.subarray((n * q.C + g * Cg) * P);
        gemmNTAccumulate(Og, Cg, P, a, P, b, P, dw.subarray(g * Og * Cg), Cg);
      }
    }
  } else if (shifted(q)) {
    const dwt = new Float32Array(dw.length);
    wgradShifted(X, GY, q, dwt);
    for (let t = 0; t < T; t++) {
      for (let o = 0; o < O; o++) {
        const src = (t * O + o) * Cg;
        for (let c = 0; c < Cg; c++) dw[(o * Cg + c) * T + t] = dwt[src + c];
      }
    }
  } else {
    wgradIm2col(X, GY, q, dw);
  }
  return dw;
}

/**
 * DFTs of the tubes of a third-order tensor, between the tensor layout
 * (tube-major: element k of tube t at `t*n + k`, complex values as
 * interleaved (re, im) pairs) and the engine's slice-major batches. Large
 * tensors are processed in chunks of tubes, so the working set stays in cache
 * and the extra memory stays small.
 * @module
 */
import { blasStatus, dgemm } from "../native/blas.ts";
import { planFor } from "./fft_plan.ts";

/** Tubes per chunk: about 64k complex values per batch. */
function chunkOf(n: number, tubes: number): number {
  return Math.max(1, Math.min(tubes, Math.floor(65536 / n)));
}

/** Number of Fourier slices that determine a real tube's DFT by conjugate symmetry. */
export function halfLength(n: number): number {
  return Math.floor(n / 2) + 1;
}

/** Options of {@link dftTubes}. */
export interface DftTubesOptions {
  /** Input holds interleaved complex values (else real values). */
  complexIn: boolean;
  /** Inverse transform (e^{+2πikl/n}) instead of forward. */
  inverse: boolean;
  /** Factor applied to the output (1 by default; 1/n for the inverse DFT). */
  scale?: number;
  /** Keep only the first `keep` frequencies of each tube (default n). */
  keep?: number;
}

/**
 * The DFT of each of `tubes` tubes of length `n`. Returns interleaved complex
 * values, tube-major: `[tubes, keep, 2]`.
 */
export function dftTubes(src: ArrayLike<number>, tubes: number, n: number, opts: DftTubesOptions): Float64Array {
  const keep = opts.keep ?? n, scale = opts.scale ?? 1;
  const out = new Float64Array(tubes * keep * 2);
  const plan = planFor(n), C = chunkOf(n, tubes);
  const re = new Float64Array(n * C), im = new Float64Array(n * C);
  for (let t0 = 0; t0 < tubes; t0 += C) {
    const T = Math.min(C, tubes - t0);
    for (let t = 0; t < T; t++) {
      const tube = t0 + t;
      for (let k = 0; k < n; k++) {
        if (opts.complexIn) {
          re[k * T + t] = src[(tube * n + k) * 2];
          im[k * T + t] = src[(tube * n + k) * 2 + 1];
        } else {
          re[k * T + t] = src[tube * n + k];
          im[k * T + t] = 0;
        }
      }
    }
    plan.transform(re, im, T, opts.inverse);
    for (let t = 0; t < T; t++) {
      const o = (t0 + t) * keep * 2;
      for (let k = 0; k < keep; k++) {
        out[o + 2 * k] = re[k * T + t] * scale;
        out[o + 2 * k + 1] = im[k * T + t] * scale;
      }
    }
  }
  return out;
}

/**
 * The real inverse DFT (with the 1/n factor) of `tubes` half spectra
 * `[tubes, ⌊n/2⌋+1, 2]`: the missing frequencies are conj(X_{n−k}), and the
 * imaginary parts of X_0 (and of X_{n/2} for even n) are ignored, as
 * `numpy.fft.irfft` does. Returns real tubes `[tubes, n]`.
 */
export function irfftTubes(src: ArrayLike<number>, tubes: number, n: number): Float64Array {
  const h = halfLength(n);
  const out = new Float64Array(tubes * n);
  const plan = planFor(n), C = chunkOf(n, tubes);
  const re = new Float64Array(n * C), im = new Float64Array(n * C);
  for (let t0 = 0; t0 < tubes; t0 += C) {
    const T = Math.min(C, tubes - t0);
    for (let t = 0; t < T; t++) {
      const o = (t0 + t) * h * 2;
      for (let k = 0; k < n; k++) {
        const j = k < h ? k : n - k, s = k < h ? 1 : -1;
        const real = k === 0 || 2 * k === n;
        re[k * T + t] = src[o + 2 * j];
        im[k * T + t] = real ? 0 : s * src[o + 2 * j + 1];
      }
    }
    plan.transform(re, im, T, true);
    for (let t = 0; t < T; t++) {
      for (let k = 0; k < n; k++) out[(t0 + t) * n + k] = re[k * T + t] / n;
    }
  }
  return out;
}

/** Fourier slices of a real tensor: `re[k]`, `im[k]` hold Â_k (row-major n1×n2) for k ≤ ⌊n/2⌋. */
export interface HalfSpectrum {
  /** Real parts, one array of n1·n2 values per slice. */
  re: Float64Array[];
  /** Imaginary parts, one array of n1·n2 values per slice. */
  im: Float64Array[];
}

/**
 * {@link rfftSlices} as one matrix product on the system BLAS, or null when
 * none is loaded: [Re; Im] (2h×tubes) = [cos; −sin](2πkt/n) (2h×n) ·
 * srcᵀ, i.e. the DFT by definition, which for the short tubes of the t-SVD
 * (n3 = 12 or 48) runs several times faster than the JS FFT at the same
 * float64 accuracy (errors about n·ε·‖tube‖). The angles are reduced
 * exactly (kt mod n) before cos/sin.
 */
export function rfftSlicesBlas(src: Float64Array, tubes: number, n: number): HalfSpectrum | null {
  if (!blasStatus().library) return null;
  const h = halfLength(n), f = new Float64Array(2 * h * n), out = new Float64Array(2 * h * tubes);
  for (let k = 0; k < h; k++) {
    for (let t = 0; t < n; t++) {
      const angle = (2 * Math.PI * ((k * t) % n)) / n;
      (f[k * n + t] = Math.cos(angle), f[(h + k) * n + t] = -Math.sin(angle));
    }
  }
  dgemm("N", "T", 2 * h, tubes, n, 1, f, n, src, n, 0, out, tubes);
  return {
    re: Array.from({ length: h }, (_, k) => out.subarray(k * tubes, (k + 1) * tubes)),
    im: Array.from({ length: h }, (_, k) => out.subarray((h + k) * tubes, (h + k + 1) * tubes)),
  };
}

/**
 * The Fourier slices Â_0..Â_{⌊n/2⌋} of a real tensor stored tube-major
 * (`src[t*n + k]`, t = i·n2 + j). Two real tubes share one complex FFT
 * (x + iy), then are separated with X_k = (Z_k + conj Z_{n−k})/2 and
 * Y_k = (Z_k − conj Z_{n−k})/(2i).
 */
export function rfftSlices(src: ArrayLike<number>, tubes: number, n: number): HalfSpectrum {
  const h = halfLength(n);
  const re = Array.from({ length: h }, () => new Float64Array(tubes));
  const im = Array.from({ length: h }, () => new Float64Array(tubes));
  const plan = planFor(n), C = chunkOf(n, Math.ceil(tubes / 2));
  const zr = new Float64Array(n * C), zi = new Float64Array(n * C);
  for (let t0 = 0; t0 < tubes; t0 += 2 * C) {
    const pairs = Math.min(C, Math.ceil((tubes - t0) / 2));
    const T = pairs;
    for (let t = 0; t < T; t++) {
      const a = t0 + 2 * t, b = a + 1;
      for (let k = 0; k < n; k++) {
        zr[k * T + t] = src[a * n + k];
        zi[k * T + t] = b < tubes ? src[b * n + k] : 0;
      }
    }
    plan.transform(zr, zi, T, false);
    for (let k = 0; k < h; k++) {
      const kk = (n - k) % n, sr = re[k], si = im[k];
      for (let t = 0; t < T; t++) {
        const ar = zr[k * T + t], ai = zi[k * T + t], br = zr[kk * T + t], bi = -zi[kk * T + t];
        const a = t0 + 2 * t;
        sr[a] = 0.5 * (ar + br);
        si[a] = 0.5 * (ai + bi);
        if (a + 1 < tubes) {
          // (Z_k − conj Z_{n−k}) / (2i) = (d_i − i d_r)/2 with d = Z_k − conj Z_{n−k}
          sr[a + 1] = 0.5 * (ai - bi);
          si[a + 1] = -0.5 * (ar - br);
        }
      }
    }
  }
  return { re, im };
}

/**
 * Inverse of {@link rfftSlices}: real tubes `[tubes, n]` from the slices
 * Â_0..Â_{⌊n/2⌋} (each of `tubes` values), with the 1/n factor. Two real
 * outputs share one complex inverse FFT: IDFT(X + iY) = x + iy.
 */
export function irfftSlices(spec: HalfSpectrum, tubes: number, n: number): Float64Array {
  const h = halfLength(n);
  const out = new Float64Array(tubes * n);
  const plan = planFor(n), C = chunkOf(n, Math.ceil(tubes / 2));
  const zr = new Float64Array(n * C), zi = new Float64Array(n * C);
  for (let t0 = 0; t0 < tubes; t0 += 2 * C) {
    const T = Math.min(C, Math.ceil((tubes - t0) / 2));
    for (let k = 0; k < n; k++) {
      // X_k for k ≥ h is conj(X_{n−k}); slices 0 and n/2 are taken as real.
      const j = k < h ? k : n - k, s = k < h ? 1 : -1, realSlice = k === 0 || 2 * k === n;
      const sr = spec.re[j], si = spec.im[j];
      for (let t = 0; t < T; t++) {
        const a = t0 + 2 * t, b = a + 1;
        const xr = sr[a], xi = realSlice ? 0 : s * si[a];
        const yr = b < tubes ? sr[b] : 0, yi = b < tubes && !realSlice ? s * si[b] : 0;
        zr[k * T + t] = xr - yi; // X + iY
        zi[k * T + t] = xi + yr;
      }
    }
    plan.transform(zr, zi, T, true);
    for (let t = 0; t < T; t++) {
      const a = t0 + 2 * t, b = a + 1;
      for (let k = 0; k < n; k++) {
        out[a * n + k] = zr[k * T + t] / n;
        if (b < tubes) out[b * n + k] = zi[k * T + t] / n;
      }
    }
  }
  return out;
}

/**
 * The FFT engine behind `fft3`, `ifft3`, `rfft3`, `irfft3` and the t-SVD:
 * plain float64 numerics, not tensor ops.
 *
 * A third-order tensor has n1·n2 tubes of length n3 and every tube gets the
 * same transform, so the engine transforms a whole batch of T tubes at once.
 * The batch is stored "slice-major": element k of tube t sits at `k*T + t`,
 * real and imaginary parts in separate arrays. Every butterfly is then one
 * long loop over the T tubes, which keeps the per-tube overhead at zero even
 * for n3 = 12.
 *
 * Algorithm (any n): mixed-radix decimation-in-time Cooley–Tukey with
 * dedicated butterflies for radix 2, 3 and 4 and a generic O(p²) butterfly
 * for the other prime factors up to {@link MAX_DIRECT_RADIX}. A length with a
 * larger prime factor goes through Bluestein's chirp-z algorithm, which
 * rewrites the DFT as a convolution computed with power-of-two FFTs, so the
 * cost stays O(n log n) for every n.
 * @module
 */

/** Prime factors above this are handled by Bluestein's algorithm instead of an O(p²) butterfly. */
export const MAX_DIRECT_RADIX = 31;

/** Radices of `n`: fours first, then a two, then the odd primes in ascending order. */
export function radicesOf(n: number): number[] {
  const out: number[] = [];
  let m = n;
  while (m % 4 === 0) (out.push(4), m /= 4);
  if (m % 2 === 0) (out.push(2), m /= 2);
  for (let p = 3; p * p <= m; p += 2) while (m % p === 0) (out.push(p), m /= p);
  if (m > 1) out.push(m);
  return out;
}

const plans = new Map<number, FftPlan>();

/** The (cached) plan for length `n`. */
export function planFor(n: number): FftPlan {
  let p = plans.get(n);
  if (!p) plans.set(n, p = new FftPlan(n));
  return p;
}

/**
 * An unnormalized DFT of length n applied in place to T tubes stored
 * slice-major: X_k = Σ_l x_l e^{∓2πikl/n} (− forward, + inverse).
 */
export class FftPlan {
  /** Transform length. */
  readonly n: number;
  readonly #radices: number[];
  readonly #cos: Float64Array;
  readonly #sin: Float64Array;
  readonly #bluestein: Bluestein | null;

  /** Plans a transform of length `n ≥ 1`. */
  constructor(n: number) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`FftPlan: length must be a positive integer, got ${n}`);
    this.n = n;
    this.#radices = radicesOf(n);
    this.#cos = new Float64Array(n);
    this.#sin = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      this.#cos[j] = Math.cos((2 * Math.PI * j) / n);
      this.#sin[j] = Math.sin((2 * Math.PI * j) / n);
    }
    const big = this.#radices.some((p) => p > MAX_DIRECT_RADIX);
    this.#bluestein = big ? new Bluestein(n) : null;
  }

  /** Transforms T tubes in place (`re`, `im` hold n·T values each, slice-major). Unscaled. */
  transform(re: Float64Array, im: Float64Array, T: number, inverse: boolean): void {
    if (this.n === 1) return;
    if (this.#bluestein) return this.#bluestein.transform(re, im, T, inverse);
    const inRe = re.slice(0, this.n * T), inIm = im.slice(0, this.n * T);
    const maxP = Math.max(...this.#radices);
    const scratch = { re: new Float64Array(maxP * T), im: new Float64Array(maxP * T) };
    this.#rec(inRe, inIm, 0, 1, this.n, 0, re, im, 0, T, inverse ? 1 : -1, scratch);
  }

  /**
   * DIT step: the DFT of the n elements in[inOff + stride·t] is written to
   * out[outOff .. outOff+n). With n = p·m: X_{k+mq} = Σ_r ω_p^{rq} (ω_n^{rk} Y_r[k]),
   * where Y_r is the length-m DFT of the r-th decimated subsequence.
   */
  #rec(
    inRe: Float64Array,
    inIm: Float64Array,
    inOff: number,
    stride: number,
    n: number,
    level: number,
    re: Float64Array,
    im: Float64Array,
    outOff: number,
    T: number,
    sign: number,
    s: { re: Float64Array; im: Float64Array },
  ): void {
    if (n === 1) {
      re.set(inRe.subarray(inOff * T, inOff * T + T), outOff * T);
      im.set(inIm.subarray(inOff * T, inOff * T + T), outOff * T);
      return;
    }
    const p = this.#radices[level], m = n / p;
    for (let r = 0; r < p; r++) {
      this.#rec(inRe, inIm, inOff + r * stride, stride * p, m, level + 1, re, im, outOff + r * m, T, sign, s);
    }
    const N = this.n, step = N / n, cos = this.#cos, sin = this.#sin;
    const zr = s.re, zi = s.im;
    for (let k = 0; k < m; k++) {
      // Gather z_r = ω_n^{rk} Y_r[k] into scratch row r.
      for (let r = 0; r < p; r++) {
        const src = (outOff + r * m + k) * T, dst = r * T;
        const tw = (r * k * step) % N;
        if (tw === 0) {
          zr.set(re.subarray(src, src + T), dst);
          zi.set(im.subarray(src, src + T), dst);
        } else {
          const c = cos[tw], sn = sign * sin[tw];
          for (let t = 0; t < T; t++) {
            const a = re[src + t], b = im[src + t];
            zr[dst + t] = a * c - b * sn;
            zi[dst + t] = a * sn + b * c;
          }
        }
      }
      const base = (outOff + k) * T, mT = m * T;
      if (p === 2) butterfly2(zr, zi, re, im, base, mT, T);
      else if (p === 4) butterfly4(zr, zi, re, im, base, mT, T, sign);
      else if (p === 3) butterfly3(zr, zi, re, im, base, mT, T, sign);
      else this.#butterflyGeneric(p, zr, zi, re, im, base, mT, T, sign);
    }
  }

  #butterflyGeneric(
    p: number,
    zr: Float64Array,
    zi: Float64Array,
    re: Float64Array,
    im: Float64Array,
    base: number,
    mT: number,
    T: number,
    sign: number,
  ): void {
    const N = this.n, step = N / p;
    for (let q = 0; q < p; q++) {
      const o = base + q * mT;
      for (let t = 0; t < T; t++) (re[o + t] = zr[t], im[o + t] = zi[t]);
      for (let r = 1; r < p; r++) {
        const tw = ((r * q) % p) * step;
        const c = this.#cos[tw], sn = sign * this.#sin[tw], z = r * T;
        for (let t = 0; t < T; t++) {
          const a = zr[z + t], b = zi[z + t];
          re[o + t] += a * c - b * sn;
          im[o + t] += a * sn + b * c;
        }
      }
    }
  }
}

function butterfly2(
  zr: Float64Array,
  zi: Float64Array,
  re: Float64Array,
  im: Float64Array,
  o: number,
  mT: number,
  T: number,
) {
  for (let t = 0; t < T; t++) {
    const ar = zr[t], ai = zi[t], br = zr[T + t], bi = zi[T + t];
    re[o + t] = ar + br;
    im[o + t] = ai + bi;
    re[o + mT + t] = ar - br;
    im[o + mT + t] = ai - bi;
  }
}

const SIN60 = Math.sqrt(3) / 2;

// X_1, X_2 = z0 − (z1+z2)/2 ± sign·i·(√3/2)(z1 − z2): ω_3 = −1/2 + sign·i·√3/2.
function butterfly3(
  zr: Float64Array,
  zi: Float64Array,
  re: Float64Array,
  im: Float64Array,
  o: number,
  mT: number,
  T: number,
  sign: number,
) {
  const s = sign * SIN60;
  for (let t = 0; t < T; t++) {
    const ar = zr[t], ai = zi[t], br = zr[T + t], bi = zi[T + t], cr = zr[2 * T + t], ci = zi[2 * T + t];
    const sr = br + cr, si = bi + ci, dr = br - cr, di = bi - ci;
    const mr = ar - 0.5 * sr, mi = ai - 0.5 * si;
    re[o + t] = ar + sr;
    im[o + t] = ai + si;
    re[o + mT + t] = mr - s * di;
    im[o + mT + t] = mi + s * dr;
    re[o + 2 * mT + t] = mr + s * di;
    im[o + 2 * mT + t] = mi - s * dr;
  }
}

// ω_4 = sign·i, so X_1 = (z0 − z2) + sign·i(z1 − z3) and X_3 = (z0 − z2) − sign·i(z1 − z3).
function butterfly4(
  zr: Float64Array,
  zi: Float64Array,
  re: Float64Array,
  im: Float64Array,
  o: number,
  mT: number,
  T: number,
  sign: number,
) {
  for (let t = 0; t < T; t++) {
    const ar = zr[t], ai = zi[t], br = zr[T + t], bi = zi[T + t];
    const cr = zr[2 * T + t], ci = zi[2 * T + t], dr = zr[3 * T + t], di = zi[3 * T + t];
    const s0r = ar + cr, s0i = ai + ci, d0r = ar - cr, d0i = ai - ci;
    const s1r = br + dr, s1i = bi + di, d1r = br - dr, d1i = bi - di;
    re[o + t] = s0r + s1r;
    im[o + t] = s0i + s1i;
    re[o + 2 * mT + t] = s0r - s1r;
    im[o + 2 * mT + t] = s0i - s1i;
    // sign·i·(d1r + i d1i) = −sign·d1i + i·sign·d1r
    re[o + mT + t] = d0r - sign * d1i;
    im[o + mT + t] = d0i + sign * d1r;
    re[o + 3 * mT + t] = d0r + sign * d1i;
    im[o + 3 * mT + t] = d0i - sign * d1r;
  }
}

/**
 * Bluestein's algorithm: with kl = (k² + l² − (k−l)²)/2,
 * X_k = w_k Σ_l (x_l w_l) conj(w_{k−l}), w_j = e^{∓πi j²/n}: a convolution
 * of length 2n−1, done with power-of-two FFTs of length M ≥ 2n−1.
 */
class Bluestein {
  readonly n: number;
  readonly M: number;
  readonly #wRe: Float64Array;
  readonly #wIm: Float64Array;
  readonly #filterRe: Float64Array;
  readonly #filterIm: Float64Array;
  readonly #plan: FftPlan;

  constructor(n: number) {
    this.n = n;
    let M = 1;
    while (M < 2 * n - 1) M *= 2;
    this.M = M;
    this.#plan = planFor(M);
    this.#wRe = new Float64Array(n);
    this.#wIm = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      // j² mod 2n keeps the angle exact for large j.
      const a = (Math.PI * ((j * j) % (2 * n))) / n;
      this.#wRe[j] = Math.cos(a);
      this.#wIm[j] = -Math.sin(a);
    }
    // Filter b_j = conj(w_j) at j and M−j, transformed once (forward chirp).
    const bRe = new Float64Array(M), bIm = new Float64Array(M);
    for (let j = 0; j < n; j++) {
      bRe[j] = this.#wRe[j];
      bIm[j] = -this.#wIm[j];
      if (j > 0) (bRe[M - j] = bRe[j], bIm[M - j] = bIm[j]);
    }
    this.#plan.transform(bRe, bIm, 1, false);
    this.#filterRe = bRe;
    this.#filterIm = bIm;
  }

  transform(re: Float64Array, im: Float64Array, T: number, inverse: boolean): void {
    const { n, M } = this;
    // The inverse transform uses the conjugate chirp; conj(x) in, conj(X) out gives the same result.
    const s = inverse ? -1 : 1;
    const aRe = new Float64Array(M * T), aIm = new Float64Array(M * T);
    for (let j = 0; j < n; j++) {
      const c = this.#wRe[j], d = this.#wIm[j];
      for (let t = 0; t < T; t++) {
        const xr = re[j * T + t], xi = s * im[j * T + t];
        aRe[j * T + t] = xr * c - xi * d;
        aIm[j * T + t] = xr * d + xi * c;
      }
    }
    this.#plan.transform(aRe, aIm, T, false);
    for (let j = 0; j < M; j++) {
      const c = this.#filterRe[j], d = this.#filterIm[j];
      for (let t = 0; t < T; t++) {
        const xr = aRe[j * T + t], xi = aIm[j * T + t];
        aRe[j * T + t] = xr * c - xi * d;
        aIm[j * T + t] = xr * d + xi * c;
      }
    }
    this.#plan.transform(aRe, aIm, T, true);
    for (let k = 0; k < n; k++) {
      const c = this.#wRe[k] / M, d = this.#wIm[k] / M;
      for (let t = 0; t < T; t++) {
        const xr = aRe[k * T + t], xi = aIm[k * T + t];
        re[k * T + t] = xr * c - xi * d;
        im[k * T + t] = s * (xr * d + xi * c);
      }
    }
  }
}

/**
 * Special functions the CPU kernels need. `erf` is accurate to about 1e-15,
 * so float64 gradient checks of GELU see no approximation error.
 * @module
 */

const TWO_OVER_SQRT_PI = 1.1283791670955126;

/**
 * The error function. |x| < 2.5: its Maclaurin series (terms alternate; the
 * largest is below e^6.25, so about 3 digits of 16 are lost at worst).
 * |x| ≥ 2.5: erfc by its continued fraction (Abramowitz & Stegun 7.1.14),
 * evaluated bottom-up.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax < 2.5) {
    const x2 = x * x;
    let term = x, sum = x;
    for (let n = 1; n < 100; n++) {
      term *= -x2 / n;
      const t = term / (2 * n + 1);
      sum += t;
      if (Math.abs(t) < 1e-17 * Math.abs(sum)) break;
    }
    return TWO_OVER_SQRT_PI * sum;
  }
  if (ax > 6) return Math.sign(x);
  // erfc(x) = exp(-x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …)))))
  let f = ax;
  for (let k = 60; k >= 1; k--) f = ax + (k / 2) / f;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}

/**
 * Gradient checks of the third-order tensor algebra ops, keyed by op name
 * and spread into the shared table of `tests/autodiff/grad_cases.ts`
 * (which runs them through `checkGrad` in float64). Compositions built on
 * these ops (t-product, the t-SVD reconstruction U*S*Vᵀ) are listed under
 * the op they exercise.
 */
import { fdiag, fft3, ifft3, irfft3, rfft3, Rng, tprod, ttranspose } from "../../mod.ts";
import type { GradCase } from "../autodiff/grad_cases.ts";
import { uniform } from "../helpers.ts";

const rng = new Rng(33);
const u = (...shapes: number[][]) => () => shapes.map((s) => uniform(s, rng));

/** One or more cases per talgebra op. */
export const TALGEBRA_GRAD_CASES: Record<string, GradCase[]> = {
  fft3: [
    { name: "fft3 of a real 2×3×5 tensor", f: fft3, inputs: u([2, 3, 5]) },
    { name: "fft3 of a complex 2×2×4 tensor", f: fft3, inputs: u([2, 2, 4, 2]) },
    { name: "fft3 with n3 = 37 (Bluestein)", f: fft3, inputs: u([1, 1, 37]) },
  ],
  ifft3: [
    { name: "ifft3 of a complex 2×2×3 tensor", f: ifft3, inputs: u([2, 2, 3, 2]) },
    { name: "ifft3 of a real 3×1×4 tensor", f: ifft3, inputs: u([3, 1, 4]) },
  ],
  rfft3: [
    { name: "rfft3 with even n3 = 6", f: rfft3, inputs: u([2, 3, 6]) },
    { name: "rfft3 with odd n3 = 5", f: rfft3, inputs: u([2, 2, 5]) },
  ],
  irfft3: [
    { name: "irfft3 to even n3 = 6", f: (x) => irfft3(x, 6), inputs: u([2, 2, 4, 2]) },
    { name: "irfft3 to odd n3 = 5", f: (x) => irfft3(x, 5), inputs: u([2, 3, 3, 2]) },
    { name: "t-product A*B (rfft3 → cmatmul → irfft3), n3 = 3", f: tprod, inputs: u([2, 3, 3], [3, 2, 3]) },
    { name: "t-product A*B, n3 = 4", f: tprod, inputs: u([3, 2, 4], [2, 2, 4]) },
  ],
  ttranspose: [
    { name: "ttranspose 2×3×4", f: ttranspose, inputs: u([2, 3, 4]) },
    {
      name: "t-SVD reconstruction U * fdiag(s) * Vᵀ into U, s and V",
      f: (U, s, V) => tprod(tprod(U, fdiag(s)), ttranspose(V)),
      inputs: u([3, 2, 5], [2, 5], [4, 2, 5]),
    },
  ],
};

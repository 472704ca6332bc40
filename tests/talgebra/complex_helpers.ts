/** Dense complex-matrix helpers the slice-SVD tests share (tests/talgebra/slice_svd_test.ts, svd_gram_test.ts). */
import type { Rng } from "../../mod.ts";
import {
  cadjoint,
  cmatmulDense,
  type ComplexMatrix,
  type ComplexSvd,
  crandn,
  czeros,
} from "../../tensor/talgebra/complex_matrix.ts";

/** Gaussian entries scaled by 1/√cols, like a PyTorch-initialised layer: σ₁/σ₂ close to 1. */
export function flat(m: number, n: number, rng: Rng, real: boolean): ComplexMatrix {
  const a = crandn(m, n, rng), k = 1 / Math.sqrt(n);
  for (let i = 0; i < a.re.length; i++) (a.re[i] *= k, a.im[i] = real ? 0 : a.im[i] * k);
  return a;
}

/** U·diag(s)·Vᴴ over the first k triplets, by dense loops. */
export function rebuild(svd: ComplexSvd, k = svd.s.length): ComplexMatrix {
  const us = czeros(svd.u.rows, k), vk = czeros(svd.v.rows, k);
  for (let i = 0; i < svd.u.rows; i++) {
    for (let c = 0; c < k; c++) {
      us.re[i * k + c] = svd.u.re[i * svd.u.cols + c] * svd.s[c];
      us.im[i * k + c] = svd.u.im[i * svd.u.cols + c] * svd.s[c];
    }
  }
  for (let i = 0; i < svd.v.rows; i++) {
    for (let c = 0; c < k; c++) {
      (vk.re[i * k + c] = svd.v.re[i * svd.v.cols + c], vk.im[i * k + c] = svd.v.im[i * svd.v.cols + c]);
    }
  }
  return cmatmulDense(us, cadjoint(vk));
}

/** ‖x − y‖_F / ‖y‖_F. */
export function relFrob(x: ComplexMatrix, y: ComplexMatrix): number {
  let num = 0, den = 0;
  for (let i = 0; i < x.re.length; i++) {
    num += (x.re[i] - y.re[i]) ** 2 + (x.im[i] - y.im[i]) ** 2;
    den += y.re[i] ** 2 + y.im[i] ** 2;
  }
  return Math.sqrt(num / den);
}

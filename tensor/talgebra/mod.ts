/**
 * Third-order tensor algebra (Kilmer & Martin 2011): the DFT along mode 3,
 * the t-product, t-transpose, identity and f-diagonal tensors, the t-SVD and
 * its truncation to tubal rank r, tubal rank and the tensor nuclear norm.
 * Complex tensors are real tensors with a last axis (re, im) of size 2. The
 * story, from circulant matrices to optimal truncation, is in README.md next
 * to this file; conventions follow Kilmer & Martin (2011) and the paper's §3.2.
 * @module
 */
// The core types the signatures below mention, re-exported so that this module's documentation is complete on its
// own (`deno doc --lint tensor/talgebra/mod.ts`). They are the same declarations that `tensor/mod.ts` exports.
export type { GradNode, NestedArray, Storage, Tensor, TensorLike } from "../tensor.ts";
export type { CreateOptions } from "../ops/creation.ts";
export type { Backend, OutputMeta } from "../backend.ts";
export type { DType, TypedArray } from "../dtype.ts";
export type { Shape } from "../shape.ts";
export type { AnyOpDef, CpuArg, CpuKernel, OpContext, OpDef, TensorMeta, Vjp } from "../op.ts";
export { cmatmul, complex, conj, imag, real } from "./complex.ts";
export { fft3, ifft3, irfft3, rfft3 } from "./fft.ts";
export { bcirc, fdiag, fold, isOrthogonal, tidentity, tprod, tprodCirculant, ttranspose, unfold } from "./tproduct.ts";
export { fourierSingularValues, tnn, tsvd, tsvdTruncate, tubalRank } from "./tsvd.ts";
export type { SliceSvdMethod, TSvd, TSvdOptions, TSvdParts, TSvdTruncation } from "./tsvd.ts";
export { SvdConvergenceError } from "./svd_topr.ts";

/**
 * Native matmul and `linear`: float32 products go to `cblas_sgemm`; other
 * dtypes (float64 gradient checks, integers) take the CPU reference kernel.
 * @module
 */
import type { CpuArg, LinearParams, OutputMeta, TypedArray } from "../kernel_types.ts";
import { linearActivation } from "../activations.ts";
import { linearKernel, matmulBatches, matmulKernel } from "../cpu/matmul.ts";
import { sgemm } from "./blas.ts";

/** `[..., m, k] @ [..., k, n]` with broadcast batch axes: one sgemm per batch, or one for all when B is shared. */
export function nativeMatmul(inputs: CpuArg[], p: unknown, out: OutputMeta): TypedArray {
  const [a, b] = inputs;
  if (out.dtype !== "float32" || a.dtype !== "float32" || b.dtype !== "float32") return matmulKernel(inputs, p, out);
  const m = a.shape[a.shape.length - 2], k = a.shape[a.shape.length - 1];
  const n = b.shape[b.shape.length - 1];
  const [ia, ib] = matmulBatches(a.shape, b.shape, out.shape);
  const batches = ia.length;
  const A = a.data as Float32Array, B = b.data as Float32Array;
  const C = new Float32Array(batches * m * n);
  // B shared by every batch and A's batches contiguous: one product of (batches·m) × k by k × n.
  if (ib.every((j) => j === 0) && ia.every((j, bt) => j === bt)) {
    sgemm("N", "N", batches * m, n, k, 1, A, k, B, n, 0, C, n);
    return C;
  }
  for (let bt = 0; bt < batches; bt++) {
    const oa = ia[bt] * m * k, ob = ib[bt] * k * n;
    sgemm(
      "N",
      "N",
      m,
      n,
      k,
      1,
      A.subarray(oa, oa + m * k),
      k,
      B.subarray(ob, ob + k * n),
      n,
      0,
      C.subarray(bt * m * n, (bt + 1) * m * n),
      n,
    );
  }
  return C;
}

/** act(x·Wᵀ + b): one sgemm against the untransposed [out, in] weight, then bias and activation in one pass. */
export function nativeLinear(inputs: CpuArg[], p: LinearParams, out: OutputMeta): TypedArray {
  const [x, w, b] = inputs;
  if (out.dtype !== "float32" || inputs.some((t) => t.dtype !== "float32")) return linearKernel(inputs, p, out);
  const K = x.shape[x.shape.length - 1], N = w.shape[0], M = x.data.length / K;
  const C = new Float32Array(M * N);
  sgemm("N", "T", M, N, K, 1, x.data as Float32Array, K, w.data as Float32Array, K, 0, C, N);
  const bias = b?.data as Float32Array | undefined;
  const act = linearActivation(p.activation)?.cpu;
  if (bias) {
    for (let i = 0; i < M; i++) {
      for (let j = 0, row = i * N; j < N; j++) C[row + j] += bias[j];
    }
  }
  if (act) { for (let i = 0; i < C.length; i++) C[i] = act(C[i]); }
  return C;
}

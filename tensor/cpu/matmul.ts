/**
 * CPU batched matrix multiply: i-k-j loop order over row-major data, with a
 * float64 accumulator row so the reference is as exact as its inputs allow.
 * @module
 */
import type { CpuArg, LinearParams, OutputMeta } from "../kernel_types.ts";
import { allocArray, type TypedArray } from "../dtype.ts";
import { broadcastStrides, type Shape, sizeOf, stridesOf } from "../shape.ts";
import { linearActivation } from "../activations.ts";

/**
 * For each batch of a broadcast `[..., m, k] @ [..., k, n]` (row-major over
 * the output's batch axes), the index of the A matrix and of the B matrix
 * it reads.
 */
export function matmulBatches(aShape: Shape, bShape: Shape, outShape: Shape): [Int32Array, Int32Array] {
  const batchShape = outShape.slice(0, -2);
  const batches = sizeOf(batchShape);
  const sa = broadcastStrides(aShape.slice(0, -2), batchShape);
  const sb = broadcastStrides(bShape.slice(0, -2), batchShape);
  const bs = stridesOf(batchShape);
  const ia = new Int32Array(batches), ib = new Int32Array(batches);
  for (let bt = 0; bt < batches; bt++) {
    for (let ax = 0, rem = bt; ax < batchShape.length; ax++) {
      const i = Math.floor(rem / bs[ax]);
      rem -= i * bs[ax];
      ia[bt] += i * sa[ax];
      ib[bt] += i * sb[ax];
    }
  }
  return [ia, ib];
}

/** `[..., m, k] @ [..., k, n]` with broadcast batch axes. */
export function matmulKernel([a, b]: CpuArg[], _p: unknown, out: OutputMeta): TypedArray {
  const m = a.shape[a.shape.length - 2], k = a.shape[a.shape.length - 1];
  const n = b.shape[b.shape.length - 1];
  const [ma, mb] = matmulBatches(a.shape, b.shape, out.shape);
  const batches = ma.length;
  const r = allocArray(out.dtype, batches * m * n);
  const acc = new Float64Array(n);
  const A = a.data, B = b.data;
  for (let bt = 0; bt < batches; bt++) {
    const oa = ma[bt] * m * k, ob = mb[bt] * k * n;
    for (let i = 0; i < m; i++) {
      acc.fill(0);
      for (let p = 0; p < k; p++) {
        const av = A[oa + i * k + p];
        if (av === 0) continue;
        const row = ob + p * n;
        for (let j = 0; j < n; j++) acc[j] += av * B[row + j];
      }
      r.set(acc, (bt * m + i) * n);
    }
  }
  return r;
}

/** act(x·Wᵀ + b) for x [..., K], w [N, K], optional b [N]; act from the activation table (activations.ts). */
export function linearKernel([x, w, b]: CpuArg[], p: LinearParams, out: OutputMeta): TypedArray {
  const K = x.shape[x.shape.length - 1], N = w.shape[0], M = x.data.length / K;
  const act = linearActivation(p.activation)?.cpu;
  const r = allocArray(out.dtype, M * N);
  const X = x.data, W = w.data;
  for (let i = 0; i < M; i++) {
    for (let n = 0; n < N; n++) {
      let s = b ? b.data[n] : 0;
      for (let k = 0; k < K; k++) s += X[i * K + k] * W[n * K + k];
      r[i * N + n] = act ? act(s) : s;
    }
  }
  return r;
}

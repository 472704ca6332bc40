/**
 * The native backend: the CPU reference backend's storage (typed arrays on
 * the host) with hot kernels on the system BLAS through FFI (`blas.ts`).
 * An op runs its `kernels.native` entry when it has one and the CPU
 * reference kernel otherwise, so every op works here from the start and the
 * parity suite says which ones were made fast.
 * @module
 */
import { registerBackend } from "../backend.ts";
import type { Backend, CpuArg, CpuKernel, DType, KernelInput, KernelOp, TypedArray } from "../kernel_types.ts";
import { cpuBackend } from "../cpu/backend.ts";
import { type BlasStatus, blasStatus } from "./blas.ts";

/** The native backend object. Storage handles are typed arrays, as on the CPU backend. */
export const nativeBackend: Backend = {
  name: "native",
  dtypes: cpuBackend.dtypes,
  upload: cpuBackend.upload,
  download: cpuBackend.download,
  readSync: cpuBackend.readSync,
  free: cpuBackend.free,
  run(op: KernelOp, inputs: readonly KernelInput[], params: unknown, out): unknown {
    const args: CpuArg[] = inputs.map((t) => ({
      data: t.storage.handle as TypedArray,
      shape: t.shape,
      dtype: t.dtype as DType,
    }));
    const kernel = (op.kernels.native as CpuKernel<unknown> | undefined) ?? op.cpu;
    return kernel(args, params, out);
  },
  // The CPU backend's fused update: a native loop measured no faster (29 ns per parameter with AMSGrad either way).
  adamUpdate: cpuBackend.adamUpdate,
};

let registered = false;

/**
 * Loads the system BLAS and registers the `native` backend, once per
 * process. Returns the backend, or null when no BLAS can be loaded
 * (`blasStatus().reason` says why).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fromArray, initNative, matmul } from "@lorapt/core";
 * const native = initNative();
 * if (native) {
 *   const a = fromArray(new Float32Array([1, 2]), [1, 2], native);
 *   const b = fromArray(new Float32Array([3, 4]), [2, 1], native);
 *   assert.equal(await matmul(a, b).item(), 11);
 * }
 * ```
 */
export function initNative(): Backend | null {
  const s: BlasStatus = blasStatus();
  if (!s.library) return null;
  if (!registered) {
    registerBackend(nativeBackend);
    registered = true;
  }
  return nativeBackend;
}

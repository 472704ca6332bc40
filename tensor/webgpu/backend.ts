/**
 * The WebGPU backend: storage is a pooled GPU buffer, ops record dispatches
 * into the context's open encoder, and reads are the only sync points.
 * uint8 tensors are widened to one u32 per element on the device (WGSL has
 * no 8-bit storage type) and narrowed again on download.
 * @module
 */
import { registerBackend } from "../backend.ts";
import type {
  AdamHandles,
  AdamHyper,
  Backend,
  DType,
  KernelInput,
  KernelOp,
  OutputMeta,
  TypedArray,
} from "../kernel_types.ts";
import { type GpuBuffer, GpuContext } from "./context.ts";
import type { GpuArg, GpuKernel } from "./kernels.ts";
import { gpuAdam } from "./kernels_optim.ts";

/** The WebGPU backend object, once initialised. */
export interface WebGPUBackend extends Backend {
  /** The execution context (device, queue, pool, counters). */
  readonly ctx: GpuContext;
}

function makeBackend(ctx: GpuContext): WebGPUBackend {
  return {
    name: "webgpu",
    dtypes: ["float32", "int32", "uint8"],
    ctx,
    upload(data: TypedArray): unknown {
      if (data instanceof Float64Array) throw new Error("webgpu: float64 is CPU-only; cast to float32 first");
      return ctx.upload(data instanceof Uint8Array ? Uint32Array.from(data) : data);
    },
    async download(handle: unknown, dtype: DType, size: number): Promise<TypedArray> {
      const bytes = await ctx.read(handle as GpuBuffer, size * 4);
      if (dtype === "uint8") return Uint8Array.from(new Uint32Array(bytes));
      return dtype === "int32" ? new Int32Array(bytes) : new Float32Array(bytes);
    },
    free(handle: unknown): void {
      ctx.release(handle as GpuBuffer);
    },
    flush(): void {
      ctx.flush();
    },
    run(op: KernelOp, inputs: readonly KernelInput[], params: unknown, out: OutputMeta): unknown {
      const kernel = op.kernels.webgpu as GpuKernel<unknown> | undefined;
      if (!kernel) throw new Error(`${op.name}: no WebGPU kernel yet; run it on the "cpu" backend`);
      const args: GpuArg[] = inputs.map((t) => ({
        buffer: t.storage.handle as GpuBuffer,
        shape: t.shape,
        dtype: t.dtype,
      }));
      ctx.label = op.name;
      return kernel(ctx, args, params, out);
    },
    // Ten storage bindings with AMSGrad: offered only where the device allows them.
    adamUpdate: ctx.device.limits.maxStorageBuffersPerShaderStage >= 10
      ? (state: AdamHandles, size: number, h: AdamHyper): AdamHandles => {
        ctx.label = "adamUpdate";
        return gpuAdam(ctx, state as AdamHandles & Record<string, GpuBuffer>, size, h);
      }
      : undefined,
  };
}

/** The WebGPU limits requested at their adapter maximum. */
const LIMIT_NAMES = [
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxComputeWorkgroupsPerDimension",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupSizeZ",
  "maxComputeWorkgroupStorageSize",
  "maxStorageBuffersPerShaderStage",
  "maxBindingsPerBindGroup",
  "maxUniformBufferBindingSize",
  "maxUniformBuffersPerShaderStage",
] as const;

let instance: WebGPUBackend | null = null;
// The pending initialisation, shared by concurrent callers (modules that await
// initWebGPU at top level start together), so exactly one device is created.
let pending: Promise<WebGPUBackend | null> | null = null;

/**
 * Requests the adapter (with its maximum limits) and registers the `webgpu`
 * backend, once per process. Returns null, after printing one line, when no
 * adapter exists.
 */
export function initWebGPU(opts: { quiet?: boolean } = {}): Promise<WebGPUBackend | null> {
  pending ??= createBackend(opts);
  return pending;
}

async function createBackend(opts: { quiet?: boolean }): Promise<WebGPUBackend | null> {
  const gpu = (globalThis.navigator as Navigator & { gpu?: GPU }).gpu;
  const adapter = gpu ? await gpu.requestAdapter() : null;
  if (!adapter) {
    if (!opts.quiet) console.error("@lorapt/core: no WebGPU adapter found; using the CPU backend");
    return null;
  }
  // Ask for everything the adapter offers (128 MiB bindings and 2 GiB buffers on llvmpipe).
  const limits: Record<string, number> = {};
  const offered = adapter.limits as unknown as Record<string, unknown>;
  for (const key of LIMIT_NAMES) {
    if (typeof offered[key] === "number") limits[key] = offered[key] as number;
  }
  const device = await adapter.requestDevice({ requiredLimits: limits });
  const info = (adapter as GPUAdapter & { info?: { description?: string; isFallbackAdapter?: boolean } }).info;
  const ctx = new GpuContext(device, info?.description ?? "unknown adapter", info?.isFallbackAdapter ?? false);
  instance = makeBackend(ctx);
  registerBackend(instance);
  // Tear the device down in order when the process ends: submit what is queued and
  // release the device before the GL driver's own exit handlers run.
  globalThis.addEventListener("unload", () => ctx.shutdown());
  return instance;
}

/** Submits queued GPU work without waiting (no-op on the CPU backend). */
export function flush(): void {
  instance?.ctx.flush();
}

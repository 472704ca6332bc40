/**
 * Choosing the backend new tensors are created on. `auto` takes a hardware
 * WebGPU adapter first; on a software adapter (llvmpipe, lavapipe,
 * SwiftShader) or none, the `native` backend when a BLAS loads (it is
 * several times faster than shaders emulated on the same cores), then
 * WebGPU on the software adapter, then the CPU reference. It prints one
 * line naming the choice and the reason.
 * @module
 */
import { setBackend } from "./backend.ts";
import { blasStatus } from "./native/blas.ts";
import { initNative } from "./native/backend.ts";
import { initWebGPU } from "./webgpu/backend.ts";

/** The names `useBackend` (and every `--backend` flag) accepts. */
export const BACKEND_CHOICES = ["auto", "native", "webgpu", "cpu"] as const;

/** A backend choice: one of {@link BACKEND_CHOICES}. */
export type BackendChoice = typeof BACKEND_CHOICES[number];

/** Options of {@link useBackend}. */
export interface UseBackendOptions {
  /** Print nothing (default false: `auto` prints one line saying what it chose and why). */
  quiet?: boolean;
}

/**
 * Makes the named backend the default, initialising it first; `"auto"`
 * picks as the module doc says. Throws when the named backend cannot run
 * here, with the reason. Returns the chosen backend's name.
 *
 * @example
 * ```ts
 * import { useBackend } from "@lorapt/core";
 * const name = await useBackend("cpu");
 * console.log(name); // "cpu"
 * ```
 */
export async function useBackend(name: BackendChoice = "auto", opts: UseBackendOptions = {}): Promise<string> {
  if (!(BACKEND_CHOICES as readonly string[]).includes(name)) {
    throw new RangeError(`useBackend: unknown backend "${name}" (expected one of ${BACKEND_CHOICES.join(", ")})`);
  }
  const say = (line: string) => {
    if (!opts.quiet) console.error(`@lorapt/core: ${line}`);
  };
  if (name === "cpu") {
    setBackend("cpu");
    return "cpu";
  }
  if (name === "native") {
    if (!initNative()) throw new Error(`useBackend: the native backend is not available: ${blasStatus().reason}`);
    setBackend("native");
    return "native";
  }
  const gpu = await initWebGPU({ quiet: true });
  if (name === "webgpu") {
    if (!gpu) throw new Error("useBackend: no WebGPU adapter on this machine");
    setBackend("webgpu");
    return "webgpu";
  }
  if (gpu && gpu.ctx.kernelFamily === "workgroup-tiled") {
    setBackend("webgpu");
    say(`backend webgpu (hardware adapter: ${gpu.ctx.description})`);
    return "webgpu";
  }
  const why = gpu ? `WebGPU adapter "${gpu.ctx.description}" runs shaders in software` : "no WebGPU adapter";
  if (initNative()) {
    const s = blasStatus();
    setBackend("native");
    say(`backend native (${why}; BLAS ${s.library}${s.core ? `, ${s.core} kernels` : ""})`);
    return "native";
  }
  const noBlas = blasStatus().reason;
  if (gpu) {
    setBackend("webgpu");
    say(`backend webgpu on a software adapter (${gpu.ctx.description}; native unavailable: ${noBlas})`);
    return "webgpu";
  }
  setBackend("cpu");
  say(`backend cpu, the plain-TypeScript reference (no WebGPU adapter; native unavailable: ${noBlas})`);
  return "cpu";
}

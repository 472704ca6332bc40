/**
 * The registry of backends, which picks the default backend.
 *
 * A backend owns storage (allocate, upload, download, free) and runs ops. Each
 * op names its kernel per backend in its own definition (see `op.ts`), so
 * adding an op never touches a backend's dispatch code. The `Backend`
 * interface lives in `kernel_types.ts`, which imports nothing.
 * @module
 */
import type { Backend } from "./kernel_types.ts";
import { cpuBackend } from "./cpu/backend.ts";

export type { AdamHandles, AdamHyper, Backend, OutputMeta } from "./kernel_types.ts";

const backends = new Map<string, Backend>();
let current: Backend | null = null;
registerBackend(cpuBackend);

/** Registers a backend under its name. The first one registered becomes the default. */
export function registerBackend(b: Backend): void {
  backends.set(b.name, b);
  if (!current) current = b;
}

/** Makes the named backend the default for new tensors. */
export function setBackend(name: string): void {
  const b = backends.get(name);
  if (!b) {
    throw new Error(
      `setBackend: unknown backend "${name}" (registered: ${[...backends.keys()].join(", ")})`,
    );
  }
  current = b;
}

/** The backend new tensors are created on. */
export function getBackend(): Backend {
  if (!current) throw new Error("getBackend: no backend registered");
  return current;
}

/** The backend registered under `name`. */
export function backendByName(name: string): Backend {
  const b = backends.get(name);
  if (!b) throw new Error(`backendByName: unknown backend "${name}"`);
  return b;
}

/** Names of the registered backends. */
export function listBackends(): string[] {
  return [...backends.keys()];
}

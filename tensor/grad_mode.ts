/**
 * Whether ops record autodiff nodes. Lives in `tensor/` because every op
 * consults it; `autodiff/noGrad` is the public way to turn it off.
 * @module
 */

let enabled = true;

/** True while ops record the graph that reverse mode walks back. */
export function isGradEnabled(): boolean {
  return enabled;
}

/** Runs `fn` with graph recording switched on or off, restoring it afterwards. */
export function withGradMode<T>(on: boolean, fn: () => T): T {
  const prev = enabled;
  enabled = on;
  try {
    return fn();
  } finally {
    enabled = prev;
  }
}

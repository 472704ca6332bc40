/**
 * Versions recorded with every run, so a result can be traced to the code
 * and runtime that produced it.
 * @module
 */
import denoJson from "../deno.json" with { type: "json" };

/** Package and runtime versions. */
export interface Versions {
  /** `@lorapt/core` version (deno.json). */
  lorapt: string;
  /** Deno. */
  deno: string;
  /** V8. */
  v8: string;
  /** TypeScript. */
  typescript: string;
}

/**
 * The versions of this package and of the runtime.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runVersions } from "./versions.ts";
 * assert.equal(runVersions().deno, Deno.version.deno);
 * ```
 */
export function runVersions(): Versions {
  return {
    lorapt: denoJson.version,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
  };
}

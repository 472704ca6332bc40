/**
 * `deno task bench`: every benchmark, each printing ratios against a peer
 * measured in the same run. `deno task bench cpu`, `… native`, `… webgpu`, `… talgebra`, `… data`, `… unetr` or
 * `… notebooks` runs one.
 * @module
 */
import { benchCpuOps } from "./cpu_ops.ts";
import { benchData } from "./data.ts";
import { benchNative } from "./native.ts";
import { benchNotebooks } from "./notebooks.ts";
import { benchTalgebra } from "./talgebra.ts";
import { benchUnetrStep } from "./unetr_step.ts";
import { benchWebgpu } from "./webgpu.ts";

if (import.meta.main) {
  const only = Deno.args[0];
  if (!only || only === "cpu") await benchCpuOps();
  if (!only || only === "native") await benchNative();
  if (!only || only === "webgpu") await benchWebgpu();
  if (!only || only === "talgebra") await benchTalgebra();
  if (!only || only === "data") await benchData();
  if (!only || only === "unetr") await benchUnetrStep();
  if (!only || only === "notebooks") await benchNotebooks();
}

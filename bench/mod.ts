/**
 * `deno task bench`: every benchmark, each printing ratios against a peer
 * measured in the same run.
 * @module
 */
import { benchCpuOps } from "./cpu_ops.ts";

if (import.meta.main) {
  await benchCpuOps();
}

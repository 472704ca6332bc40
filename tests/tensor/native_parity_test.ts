/**
 * The parity suite on the native backend: every gradient case runs on the
 * CPU reference and on `native` (the system BLAS through FFI) with the same
 * inputs, forward and backward. Tolerances: native kernels that call sgemm
 * accumulate in float32 (the CPU reference in float64), so they get the
 * float32 tolerance of the WebGPU suite; ops that fall back to the CPU
 * kernel agree exactly. Skipped, with one line, where no BLAS loads.
 */
import assert from "node:assert/strict";
import { blasStatus, initNative, linear, listOps, matmul, Rng, type Tensor } from "../../mod.ts";
import { GRAD_CASES } from "../autodiff/grad_cases.ts";
import { uniform } from "../helpers.ts";
import { parity } from "./parity.ts";

const native = initNative();
const ignore = native === null;
if (ignore) console.warn(`native parity: ${blasStatus().reason}; native tests are skipped`);

/** float32 accumulation in sgemm against the float64 reference. */
const TOL = { atol: 2e-5, rtol: 2e-4 };

const seen = new Set<string>();
if (native) {
  const run = native.run.bind(native);
  native.run = (op, inputs, params, out) => {
    seen.add(op.name);
    return run(op, inputs, params, out);
  };
}

for (const [op, cases] of Object.entries(GRAD_CASES)) {
  for (const c of cases) {
    Deno.test({
      name: `native matches cpu, forward and gradient: ${op} (${c.name})`,
      ignore,
      fn: () => parity(native!, c.name, c.f, c.inputs(), true, TOL),
    });
  }
}

const rng = new Rng(41);
const PRODUCT_CASES: [string, (...xs: Tensor[]) => Tensor, () => Tensor[]][] = [
  ["matmul, shared B: one sgemm over batches", matmul, () => [uniform([3, 33, 8], rng), uniform([8, 12], rng)]],
  [
    "matmul, broadcast batch [2,1] × [3]",
    matmul,
    () => [uniform([2, 1, 20, 16], rng), uniform([3, 16, 8], rng)],
  ],
  ["matmul, A broadcast over B's batch", matmul, () => [uniform([5, 7], rng), uniform([4, 7, 3], rng)]],
  ["matmul 1×1×1", matmul, () => [uniform([1, 1], rng), uniform([1, 1], rng)]],
  [
    "linear bias + gelu",
    (x, w, b) => linear(x, w, b, "gelu"),
    () => [uniform([2, 19, 12], rng), uniform([10, 12], rng), uniform([10], rng)],
  ],
  [
    "linear relu, no bias",
    (x, w) => linear(x, w, null, "relu"),
    () => [uniform([260, 60], rng), uniform([40, 60], rng)],
  ],
];

for (const [name, f, inputs] of PRODUCT_CASES) {
  Deno.test({
    name: `native matches cpu: ${name}, forward and gradient`,
    ignore,
    fn: () => parity(native!, name, f, inputs(), true, TOL),
  });
}

Deno.test({
  name: "native: every registered op ran on the native backend in this suite",
  ignore,
  fn: () => {
    const nondiffOnly = new Set(listOps().filter((op) => op.nondiff !== undefined).map((op) => op.name));
    const missing = listOps().filter((op) =>
      !op.name.startsWith("test.") && !seen.has(op.name) && !nondiffOnly.has(op.name)
    )
      .map((op) => op.name);
    assert.deepEqual(missing, []);
  },
});

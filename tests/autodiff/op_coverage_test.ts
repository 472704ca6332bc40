import assert from "node:assert/strict";
import { listOps } from "../../mod.ts";
import { GRAD_CASES } from "./grad_cases.ts";

Deno.test("every registered op has a gradient check or is declared non-differentiable", () => {
  // Ops that tests define for themselves are named "test.*" and are not part of the library.
  const ops = listOps().filter((op) => !op.name.startsWith("test."));
  assert.ok(ops.length >= 40, `only ${ops.length} ops registered`);
  const missing = ops.filter((op) => op.nondiff === undefined && !(GRAD_CASES[op.name]?.length));
  assert.deepEqual(missing.map((op) => op.name), [], "ops with a VJP but no gradient check");
  const noRule = ops.filter((op) => op.nondiff === undefined && !op.vjp);
  assert.deepEqual(noRule.map((op) => op.name), [], "ops with neither a VJP nor a nondiff reason");
  const names = new Set(ops.map((op) => op.name));
  const stale = Object.keys(GRAD_CASES).filter((n) => !names.has(n));
  assert.deepEqual(stale, [], "gradient cases for ops that do not exist");
});

/**
 * Shared test helpers: closeness assertions and seeded random inputs.
 * @module
 */
import assert from "node:assert/strict";
import { type Rng, type Tensor, tensor } from "../mod.ts";

/** Asserts `|a − e| ≤ atol + rtol·|e|` elementwise, naming the first bad index. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { atol = 1e-5, rtol = 1e-5, what = "value" }: { atol?: number; rtol?: number; what?: string } = {},
): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} vs ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], e = expected[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      assert.fail(`${what}[${i}]: got ${a}, expected ${e} (atol ${atol}, rtol ${rtol})`);
    }
  }
}

/** Asserts a tensor's shape and values. */
export async function assertTensor(
  t: Tensor,
  shape: readonly number[],
  expected: ArrayLike<number>,
  tol: { atol?: number; rtol?: number } = {},
): Promise<void> {
  assert.deepEqual([...t.shape], [...shape], `shape ${JSON.stringify(t.shape)} vs ${JSON.stringify(shape)}`);
  assertClose(await t.data(), expected, tol);
}

/** A float32 tensor of uniform values in [lo, hi) from a seeded generator. */
export function uniform(shape: number[], rng: Rng, lo = -1, hi = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(Float32Array.from({ length: n }, () => rng.uniformIn(lo, hi)), shape);
}

/** Row-major strides. */
export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

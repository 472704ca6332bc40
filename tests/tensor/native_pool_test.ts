/**
 * The native backend's pool of freed float32 arrays: a freed array is
 * handed out again, its old contents never leak into a result, views and
 * small arrays are not pooled, and the pool keeps to its byte bound.
 */
import assert from "node:assert/strict";
import { blasStatus, fromArray, initNative, matmul, Rng } from "../../mod.ts";
import { clearNativePool, nativePoolBytes, POOL_BYTES, recycle, takeFloat32 } from "../../tensor/native/pool.ts";
import { uniform } from "../helpers.ts";

const native = initNative();
const ignore = native === null;
if (ignore) console.warn(`native pool: ${blasStatus().reason}; skipped`);

Deno.test("native pool: a freed array is handed out again for the same length, and only once", () => {
  clearNativePool();
  const a = new Float32Array(1 << 16);
  recycle(a);
  assert.equal(nativePoolBytes(), a.byteLength);
  assert.equal(takeFloat32(1 << 16), a);
  assert.notEqual(takeFloat32(1 << 16), a);
  assert.equal(nativePoolBytes(), 0);
});

Deno.test("native pool: views, small arrays and other types are not pooled; the byte bound holds", () => {
  clearNativePool();
  const big = new Float32Array(1 << 18);
  recycle(big.subarray(1 << 16)); // a view into a larger buffer
  recycle(new Float32Array(100)); // too small to be worth it
  recycle(new Int32Array(1 << 16));
  assert.equal(nativePoolBytes(), 0);
  const n = (POOL_BYTES / 4) / 2 + 1; // two of these exceed the bound
  recycle(new Float32Array(n));
  recycle(new Float32Array(n));
  assert.equal(nativePoolBytes(), n * 4);
  clearNativePool();
});

Deno.test({
  name: "native pool: a product into a recycled array (full of garbage) equals the CPU reference",
  ignore,
  fn: async () => {
    clearNativePool();
    const rng = new Rng(3);
    const a = uniform([128, 96], rng), b = uniform([96, 130], rng);
    const ref = await matmul(a, b).data();
    const garbage = new Float32Array(128 * 130).fill(Number.NaN);
    recycle(garbage);
    const y = matmul(fromArray(await a.data(), a.shape, native!), fromArray(await b.data(), b.shape, native!));
    const got = await y.data();
    assert.equal(nativePoolBytes(), 0, "the recycled array was used");
    for (let i = 0; i < ref.length; i++) {
      assert.ok(Math.abs(got[i] - ref[i]) <= 1e-4 * (1 + Math.abs(ref[i])), `[${i}]`);
    }
  },
});

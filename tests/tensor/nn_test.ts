import assert from "node:assert/strict";
import { dropout, instanceNorm3d, layerNorm, logSoftmax, oneHot, Rng, softmax, tensor } from "../../mod.ts";
import { assertClose, uniform } from "../helpers.ts";

Deno.test("softmax rows sum to 1 and equal exp(x)/Σexp(x)", async () => {
  const x = uniform([4, 3, 5], new Rng(1), -5, 5);
  const X = await x.data();
  for (const axis of [0, 1, 2]) {
    const Y = await softmax(x, axis).data();
    const shape = [4, 3, 5];
    const st = [15, 5, 1];
    const n = shape[axis];
    for (let i = 0; i < X.length; i++) {
      const idx = [Math.floor(i / 15), Math.floor(i / 5) % 3, i % 5];
      if (idx[axis] !== 0) continue;
      let s = 0, rowSum = 0;
      for (let k = 0; k < n; k++) s += Math.exp(X[i + k * st[axis]]);
      for (let k = 0; k < n; k++) {
        rowSum += Y[i + k * st[axis]];
        assertClose([Y[i + k * st[axis]]], [Math.exp(X[i + k * st[axis]]) / s], { atol: 1e-6 });
      }
      assertClose([rowSum], [1], { atol: 1e-6 });
    }
  }
});

Deno.test("softmax is stable for large logits and logSoftmax = log(softmax)", async () => {
  const x = tensor([[1000, 1001, 1002]], undefined, { dtype: "float64" });
  const p = await softmax(x).data();
  const e = [Math.exp(-2), Math.exp(-1), 1];
  const z = e[0] + e[1] + e[2];
  assertClose(p, e.map((v) => v / z), { atol: 1e-12 });
  assertClose(await logSoftmax(x).data(), e.map((v) => Math.log(v / z)), { atol: 1e-12 });
});

Deno.test("layerNorm normalises the trailing axes then applies weight and bias", async () => {
  const x = tensor([[1, 2, 3, 4], [2, 2, 2, 6]]);
  const w = tensor([1, 2, 1, 1]), b = tensor([0, 0, 1, 0]);
  const y = await layerNorm(x, [4], w, b, 0).data();
  const row = (r: number[]) => {
    const m = r.reduce((a, c) => a + c) / r.length;
    const v = r.reduce((a, c) => a + (c - m) ** 2, 0) / r.length;
    return r.map((c, i) => ((c - m) / Math.sqrt(v)) * [1, 2, 1, 1][i] + [0, 0, 1, 0][i]);
  };
  assertClose(y, [...row([1, 2, 3, 4]), ...row([2, 2, 2, 6])], { atol: 1e-5 });
  assert.throws(() => layerNorm(x, [3]), /layerNorm: normalized shape \[3\] does not end input \[2,4\]/);
});

Deno.test("instanceNorm3d gives each (sample, channel) volume mean 0 and variance 1", async () => {
  const x = uniform([2, 3, 3, 4, 5], new Rng(4), -3, 7);
  const Y = await instanceNorm3d(x, 0).data();
  const vol = 60;
  for (let nc = 0; nc < 6; nc++) {
    const v = Array.from(Y.slice(nc * vol, (nc + 1) * vol));
    const m = v.reduce((a, c) => a + c) / vol;
    const s2 = v.reduce((a, c) => a + (c - m) ** 2, 0) / vol;
    assertClose([m, s2], [0, 1], { atol: 1e-5 });
  }
  assert.throws(() => instanceNorm3d(tensor([1, 2])), /instanceNorm3d: expects NCDHW input, got \[2\]/);
});

Deno.test("dropout zeroes about p of the elements, scales the rest, and is the identity in eval", async () => {
  const x = tensor(new Float32Array(10000).fill(1));
  const y = await dropout(x, 0.25, { rng: new Rng(9) }).data();
  const zeros = y.filter((v) => v === 0).length;
  assert.ok(Math.abs(zeros / 10000 - 0.25) < 0.02, `dropped ${zeros}`);
  assert.ok(y.every((v) => v === 0 || Math.abs(v - 4 / 3) < 1e-6));
  const again = await dropout(x, 0.25, { rng: new Rng(9) }).data();
  assert.deepEqual(y, again, "same seed, same mask");
  assert.equal(dropout(x, 0.25, { training: false }), x);
});

Deno.test("oneHot encodes indices on the last axis or a chosen one", async () => {
  const idx = tensor([[0, 2], [1, 0]], undefined, { dtype: "int32" });
  assert.deepEqual(await oneHot(idx, 3).array(), [[[1, 0, 0], [0, 0, 1]], [[0, 1, 0], [1, 0, 0]]]);
  const c1 = oneHot(idx, 3, { axis: 1 });
  assert.deepEqual([...c1.shape], [2, 3, 2]);
  assert.throws(
    () => oneHot(tensor([3], undefined, { dtype: "int32" }), 3),
    /oneHot: index 3 at element 0 is outside \[0, 3\)/,
  );
});

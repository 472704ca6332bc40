import assert from "node:assert/strict";
import { arange, full, ones, rand, randn, Rng, seed, ShapeError, tensor, zeros } from "../../mod.ts";

Deno.test("tensor infers the shape of nested arrays and defaults to float32", async () => {
  const t = tensor([[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual([...t.shape], [2, 3]);
  assert.equal(t.dtype, "float32");
  assert.equal(t.backend, "cpu");
  assert.deepEqual([...(await t.data())], [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(await t.array(), [[1, 2, 3], [4, 5, 6]]);
});

Deno.test("tensor keeps a typed array's dtype and copies it", async () => {
  const src = new Int32Array([1, 2, 3, 4]);
  const t = tensor(src, [2, 2]);
  src[0] = 99;
  assert.equal(t.dtype, "int32");
  assert.equal((await t.data())[0], 1);
});

Deno.test("tensor rejects ragged arrays and wrong sizes by name", () => {
  assert.throws(() => tensor([[1, 2], [3]]), /tensor: ragged/);
  assert.throws(
    () => tensor([1, 2, 3], [2, 2]),
    (e: Error) => e instanceof ShapeError && /3 values.*\[2,2\]/.test(e.message),
  );
});

Deno.test("zeros, ones, full and arange fill as documented", async () => {
  assert.deepEqual([...(await zeros([2, 2]).data())], [0, 0, 0, 0]);
  assert.deepEqual([...(await ones([3], { dtype: "uint8" }).data())], [1, 1, 1]);
  assert.deepEqual([...(await full([2], 7.5).data())], [7.5, 7.5]);
  const r = arange(2, 11, 3);
  assert.equal(r.dtype, "int32");
  assert.deepEqual([...(await r.data())], [2, 5, 8]);
  assert.deepEqual([...(await arange(4).data())], [0, 1, 2, 3]);
  assert.deepEqual([...(await arange(0, 1, 0.25).data())], [0, 0.25, 0.5, 0.75]);
});

Deno.test("float64 tensors store doubles", async () => {
  const t = tensor([1 / 3], undefined, { dtype: "float64" });
  assert.equal((await t.data())[0], 1 / 3);
});

Deno.test("seeded random draws are reproducible and seed-dependent", async () => {
  seed(5);
  const a = await randn([100]).data();
  seed(5);
  const b = await randn([100]).data();
  assert.deepEqual(a, b);
  const c = await randn([100], { rng: new Rng(6) }).data();
  assert.notDeepEqual(a, c);
});

Deno.test("rand is uniform on [0,1) and randn has mean 0 and variance 1", async () => {
  const rng = new Rng(11);
  const u = await rand([20000], { rng }).data();
  let mu = 0;
  for (const v of u) {
    assert.ok(v >= 0 && v < 1);
    mu += v / u.length;
  }
  assert.ok(Math.abs(mu - 0.5) < 0.01, `mean ${mu}`);
  const z = await randn([20000], { rng }).data();
  let m = 0, s2 = 0;
  for (const v of z) m += v / z.length;
  for (const v of z) s2 += (v - m) ** 2 / z.length;
  assert.ok(Math.abs(m) < 0.03 && Math.abs(s2 - 1) < 0.05, `mean ${m} var ${s2}`);
});

Deno.test("Rng.int covers its inclusive range and shuffle is a permutation", () => {
  const rng = new Rng(3);
  const seen = new Set<number>();
  for (let i = 0; i < 500; i++) seen.add(rng.int(2, 5));
  assert.deepEqual([...seen].sort(), [2, 3, 4, 5]);
  const xs = rng.shuffle([...Array(20).keys()]);
  assert.deepEqual([...xs].sort((a, b) => a - b), [...Array(20).keys()]);
});

Deno.test("item reads a one-element tensor and refuses larger ones", async () => {
  assert.equal(await tensor([[4]]).item(), 4);
  await assert.rejects(() => tensor([1, 2]).item(), /item: tensor \[2\] has 2 elements/);
});

Deno.test("dispose frees storage once and later use names the tensor", () => {
  const t = tensor([1, 2]);
  t.dispose();
  t.dispose();
  assert.ok(t.disposed);
  assert.throws(() => t.add(1), /was disposed/);
});

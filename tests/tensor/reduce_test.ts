import assert from "node:assert/strict";
import { argmax, argmin, logsumexp, max, mean, min, Rng, ShapeError, sum, tensor, variance } from "../../mod.ts";
import { assertClose, strides, uniform } from "../helpers.ts";

/** Reference reduction by explicit enumeration of every index. */
function reduceRef(data: ArrayLike<number>, shape: number[], axes: number[], f: (xs: number[]) => number): number[] {
  const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const groups = new Map<number, number[]>();
  const st = strides(shape), ost = strides(outShape);
  for (let i = 0; i < data.length; i++) {
    let rem = i, o = 0;
    for (let ax = 0; ax < shape.length; ax++) {
      const idx = Math.floor(rem / st[ax]);
      rem -= idx * st[ax];
      if (!axes.includes(ax)) o += idx * ost[ax];
    }
    if (!groups.has(o)) groups.set(o, []);
    groups.get(o)!.push(data[i]);
  }
  return [...groups.keys()].sort((a, b) => a - b).map((k) => f(groups.get(k)!));
}

const SUM = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

Deno.test("sum, max, min and mean over every axis subset of a 3-D tensor match enumeration", async () => {
  const shape = [3, 4, 5];
  const x = uniform(shape, new Rng(2));
  const X = await x.data();
  for (const axes of [[0], [1], [2], [0, 1], [0, 2], [1, 2], [0, 1, 2]]) {
    assertClose(await sum(x, axes).data(), reduceRef(X, shape, axes, SUM), { what: `sum ${axes}` });
    assertClose(await max(x, axes).data(), reduceRef(X, shape, axes, (xs) => Math.max(...xs)), { what: `max ${axes}` });
    assertClose(await min(x, axes).data(), reduceRef(X, shape, axes, (xs) => Math.min(...xs)), { what: `min ${axes}` });
    assertClose(await mean(x, axes).data(), reduceRef(X, shape, axes, (xs) => SUM(xs) / xs.length), { what: `mean` });
  }
});

Deno.test("keepdims keeps reduced axes as 1 and negative axes count from the end", () => {
  const x = uniform([2, 3, 4], new Rng(3));
  assert.deepEqual([...sum(x, [-1], true).shape], [2, 3, 1]);
  assert.deepEqual([...sum(x, [0, 2]).shape], [3]);
  assert.deepEqual([...sum(x).shape], []);
  assert.throws(
    () => sum(x, 3),
    (e: Error) => e instanceof ShapeError && /sum: axis 3 out of range for rank 3/.test(e.message),
  );
});

Deno.test("variance uses Bessel's correction by default, like torch.var", async () => {
  const x = tensor([1, 2, 3, 4]);
  assertClose(await variance(x).data(), [5 / 3]);
  assertClose(await variance(x, 0, { correction: 0 }).data(), [1.25]);
});

Deno.test("argmax and argmin return the first extreme index as int32", async () => {
  const x = tensor([[1, 5, 5], [7, 0, 0]]);
  const am = argmax(x, 1);
  assert.equal(am.dtype, "int32");
  assert.deepEqual([...(await am.data())], [1, 0]);
  assert.deepEqual([...(await argmin(x, 1).data())], [0, 1]);
  assert.deepEqual([...(await argmax(x, 0, true).data())], [1, 0, 0]);
});

Deno.test("logsumexp is stable for large inputs", async () => {
  const x = tensor([[1000, 1000], [-1000, -1000]], undefined, { dtype: "float64" });
  assertClose(await logsumexp(x, 1).data(), [1000 + Math.LN2, -1000 + Math.LN2], { atol: 1e-9 });
});

Deno.test("uint8 sums widen to int32", async () => {
  const x = tensor(new Uint8Array(300).fill(1));
  const s = sum(x);
  assert.equal(s.dtype, "int32");
  assert.equal(await s.item(), 300);
});

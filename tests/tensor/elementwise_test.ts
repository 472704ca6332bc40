import assert from "node:assert/strict";
import {
  abs,
  add,
  cast,
  div,
  eq,
  erf,
  exp,
  ge,
  gelu,
  gt,
  le,
  leakyRelu,
  log,
  lt,
  maximum,
  minimum,
  mul,
  ne,
  neg,
  pow,
  relu,
  Rng,
  ShapeError,
  sigmoid,
  sqrt,
  sub,
  tanh,
  tensor,
  where,
} from "../../mod.ts";
import { assertClose, assertTensor, uniform } from "../helpers.ts";

Deno.test("binary ops follow NumPy broadcasting, checked against an explicit index loop", async () => {
  const rng = new Rng(1);
  const a = uniform([3, 1, 5], rng), b = uniform([4, 1], rng, 0.5, 2);
  const A = await a.data(), B = await b.data();
  const out = [3, 4, 5];
  const cases: [string, (x: typeof a, y: typeof b) => typeof a, (x: number, y: number) => number][] = [
    ["add", add, (x, y) => x + y],
    ["sub", sub, (x, y) => x - y],
    ["mul", mul, (x, y) => x * y],
    ["div", div, (x, y) => x / y],
    ["maximum", maximum, Math.max],
    ["minimum", minimum, Math.min],
  ];
  for (const [name, op, f] of cases) {
    const expected: number[] = [];
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 4; j++) for (let k = 0; k < 5; k++) expected.push(f(A[i * 5 + k], B[j]));
    }
    const y = op(a, b);
    assert.deepEqual([...y.shape], out, name);
    assertClose(await y.data(), expected, { what: name, atol: 1e-6 });
  }
});

Deno.test("broadcasting errors name the op and both shapes", () => {
  assert.throws(
    () => add(tensor([[1, 2, 3]]), tensor([[1, 2]])),
    (e: Error) => e instanceof ShapeError && e.message.startsWith("add: shapes [1,3] and [1,2] cannot broadcast"),
  );
});

Deno.test("scalars mix with tensors on either side", async () => {
  const x = tensor([1, 2, 4]);
  await assertTensor(sub(10, x), [3], [9, 8, 6]);
  await assertTensor(div(x, 2), [3], [0.5, 1, 2]);
  await assertTensor(pow(x, 2), [3], [1, 4, 16]);
  await assertTensor(pow(2, x), [3], [2, 4, 16]);
});

Deno.test("unary math functions match Math", async () => {
  const xs = [0.1, 0.5, 1, 2.5, 7];
  const x = tensor(xs, undefined, { dtype: "float64" });
  const cases: [typeof exp, (v: number) => number][] = [
    [exp, Math.exp],
    [log, Math.log],
    [sqrt, Math.sqrt],
    [tanh, Math.tanh],
    [neg, (v) => -v],
    [sigmoid, (v) => 1 / (1 + Math.exp(-v))],
  ];
  for (const [op, f] of cases) assertClose(await op(x).data(), xs.map(f), { atol: 1e-15, rtol: 1e-14 });
  await assertTensor(abs(tensor([-2, 0, 3])), [3], [2, 0, 3]);
});

Deno.test("sigmoid does not overflow for large |x|", async () => {
  const y = await sigmoid(tensor([-800, 800], undefined, { dtype: "float64" })).data();
  assert.equal(y[0], 0);
  assert.equal(y[1], 1);
});

Deno.test("relu and leakyRelu (slope 0.01 by default)", async () => {
  const x = tensor([-2, -0.5, 0, 3]);
  await assertTensor(relu(x), [4], [0, 0, 0, 3]);
  await assertTensor(leakyRelu(x), [4], [-0.02, -0.005, 0, 3], { atol: 1e-7 });
  await assertTensor(leakyRelu(x, 0.2), [4], [-0.4, -0.1, 0, 3], { atol: 1e-7 });
});

// Reference values of erf from Abramowitz & Stegun, Table 7.1 (and erf(x) → 1 beyond).
const ERF_TABLE: [number, number][] = [
  [0, 0],
  [0.1, 0.1124629160182849],
  [0.5, 0.5204998778130465],
  [1, 0.8427007929497149],
  [1.5, 0.9661051464753108],
  [2, 0.9953222650189527],
  [2.5, 0.9995930479825550],
  [3, 0.9999779095030014],
  [-1, -0.8427007929497149],
];

Deno.test("erf matches tabulated values to 1e-14", async () => {
  const y = await erf(tensor(ERF_TABLE.map((r) => r[0]), undefined, { dtype: "float64" })).data();
  assertClose(y, ERF_TABLE.map((r) => r[1]), { atol: 1e-14, rtol: 0 });
});

Deno.test("gelu is x·½(1+erf(x/√2)) to 1e-6, using tabulated erf values", async () => {
  // gelu(x√2) = x√2 · ½(1 + erf(x)), so the erf table gives exact gelu values.
  const xs = ERF_TABLE.map((r) => r[0] * Math.SQRT2);
  const expected = ERF_TABLE.map(([x, e]) => x * Math.SQRT2 * 0.5 * (1 + e));
  assertClose(await gelu(tensor(xs)).data(), expected, { atol: 1e-6, rtol: 0 });
});

Deno.test("comparisons give uint8 masks with broadcasting", async () => {
  const a = tensor([1, 2, 3]), b = tensor([[2], [3]]);
  const expect = (f: (x: number, y: number) => boolean) =>
    [2, 3].flatMap((y) => [1, 2, 3].map((x) => (f(x, y) ? 1 : 0)));
  const cases: [typeof eq, (x: number, y: number) => boolean][] = [
    [eq, (x, y) => x === y],
    [ne, (x, y) => x !== y],
    [lt, (x, y) => x < y],
    [le, (x, y) => x <= y],
    [gt, (x, y) => x > y],
    [ge, (x, y) => x >= y],
  ];
  for (const [op, f] of cases) {
    const m = op(a, b);
    assert.equal(m.dtype, "uint8");
    assert.deepEqual([...(await m.data())], expect(f));
  }
});

Deno.test("where selects with three-way broadcasting", async () => {
  const c = tensor([[1], [0]], undefined, { dtype: "uint8" });
  await assertTensor(where(c, tensor([1, 2, 3]), -1), [2, 3], [1, 2, 3, -1, -1, -1]);
  assert.throws(() => where(tensor([1]), tensor([1]), tensor([2])), /where: condition must be uint8/);
});

Deno.test("dtype promotion: int op float is float, int division is float", async () => {
  const i = tensor([1, 2, 3], undefined, { dtype: "int32" });
  assert.equal(add(i, tensor([0.5])).dtype, "float32");
  assert.equal(add(i, 1).dtype, "int32");
  assert.equal(mul(i, 0.5).dtype, "float32");
  const d = div(i, 2);
  assert.equal(d.dtype, "float32");
  assert.deepEqual([...(await d.data())], [0.5, 1, 1.5]);
  assert.equal(add(tensor([1]), tensor([1], undefined, { dtype: "float64" })).dtype, "float64");
});

Deno.test("cast truncates toward zero into ints", async () => {
  const c = cast(tensor([-1.7, 0.2, 2.9]), "int32");
  assert.equal(c.dtype, "int32");
  assert.deepEqual([...(await c.data())], [-1, 0, 2]);
});

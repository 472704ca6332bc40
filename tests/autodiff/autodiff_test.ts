import assert from "node:assert/strict";
import {
  add,
  apply,
  defineOp,
  exp,
  grad,
  gradients,
  keep,
  matmul,
  mul,
  noGrad,
  NoGradientError,
  pow,
  ShapeError,
  stopGradient,
  sum,
  type Tensor,
  tensor,
  tidy,
  valueAndGrad,
} from "../../mod.ts";
import { assertClose } from "../helpers.ts";

Deno.test("gradients accumulate across several uses of one tensor", async () => {
  // f(x) = Σ x·x + x·3 + x  ⇒  f'(x) = 2x + 4
  const [g] = grad((x) => sum(add(add(mul(x, x), mul(x, 3)), x)))(tensor([1, -2, 0.5]));
  assertClose(await g.data(), [6, 0, 5]);
});

Deno.test("broadcast inputs receive gradients summed back to their own shape", async () => {
  const a = tensor([[1, 2, 3], [4, 5, 6]]), b = tensor([10, 20, 30]);
  const [ga, gb] = grad((x, y) => sum(mul(x, y)))(a, b);
  assert.deepEqual([...gb.shape], [3]);
  assertClose(await gb.data(), [5, 7, 9]);
  assertClose(await ga.data(), [10, 20, 30, 10, 20, 30]);
});

Deno.test("valueAndGrad returns the value too, and demands a scalar", async () => {
  const { value, grads } = valueAndGrad((x) => sum(exp(x)))(tensor([0, 1]));
  assertClose([await value.item()], [1 + Math.E]);
  assertClose(await grads[0].data(), [1, Math.E]);
  assert.throws(() => grad((x) => mul(x, 2))(tensor([1, 2])), /grad: f must return a single-element tensor, got \[2\]/);
});

Deno.test("grad does not mark its arguments", () => {
  const x = tensor([1, 2]);
  grad((v) => sum(v))(x);
  assert.equal(x.requiresGrad, false);
  assert.equal(x.node, null);
});

Deno.test("parameters flagged requiresGrad work with gradients(), unrelated ones get zeros", async () => {
  const w = tensor([[1, 2], [3, 4]]);
  w.requiresGrad = true;
  const unused = tensor([5]);
  unused.requiresGrad = true;
  const x = tensor([[1], [1]]);
  const loss = sum(matmul(w, x));
  const [gw, gu] = gradients(loss, [w, unused]);
  assertClose(await gw.data(), [1, 1, 1, 1]);
  assertClose(await gu.data(), [0]);
});

Deno.test("gradients can target an intermediate tensor", async () => {
  const x = tensor([1, 2]);
  x.requiresGrad = true;
  const h = mul(x, 3);
  const y = sum(mul(h, h));
  const [gh] = gradients(y, [h]);
  assertClose(await gh.data(), [6, 12]);
});

Deno.test("createGraph gives second derivatives: d²/dx² x³ = 6x", async () => {
  const x = tensor([1, 2, -1], undefined, { dtype: "float64" });
  x.requiresGrad = true;
  const [g] = gradients(sum(pow(x, 3)), [x], { createGraph: true });
  assertClose(await g.data(), [3, 12, 3]);
  const [h] = gradients(sum(g), [x]);
  assertClose(await h.data(), [6, 12, -6]);
});

Deno.test("noGrad and stopGradient cut the graph", async () => {
  const x = tensor([3]);
  x.requiresGrad = true;
  const y = noGrad(() => mul(x, x));
  assert.equal(y.node, null);
  const [g] = gradients(add(mul(stopGradient(x), x), 0), [x]);
  assertClose(await g.data(), [3]);
});

Deno.test("differentiating through an op without a VJP throws NoGradientError naming it", () => {
  const noVjp = defineOp<undefined>({ name: "test.noVjp", infer: ([a]) => a, cpu: ([a]) => a.data.slice() });
  assert.throws(
    () => grad((x) => sum(apply(noVjp, [x], undefined)))(tensor([1])),
    (e: Error) => e instanceof NoGradientError && e.message === "NoGradientError: test.noVjp",
  );
});

Deno.test("a VJP that returns a wrong shape is caught and named", () => {
  const bad = defineOp<undefined>({
    name: "test.badVjp",
    infer: ([a]) => a,
    cpu: ([a]) => a.data.slice(),
    vjp: (g) => [sum(g)],
  });
  assert.throws(
    () => grad((x) => sum(apply(bad, [x], undefined)))(tensor([1, 2])),
    (e: Error) =>
      e instanceof ShapeError && /test.badVjp: VJP returned \[\] for input 0 of shape \[2\]/.test(e.message),
  );
});

Deno.test("tidy disposes intermediates, keeps results, kept tensors and parameters", async () => {
  const x = tensor([1, 2]);
  let inner: Tensor | undefined, kept: Tensor | undefined, param: Tensor | undefined;
  const out = tidy(() => {
    inner = mul(x, 2);
    kept = keep(mul(x, 5));
    param = tensor([0]);
    param.requiresGrad = true;
    return { y: add(inner, 1), list: [mul(x, 3)] };
  });
  assert.ok(inner!.disposed);
  assert.ok(!kept!.disposed && !param!.disposed && !x.disposed);
  assertClose(await out.y.data(), [3, 5]);
  assertClose(await out.list[0].data(), [3, 6]);
});

Deno.test("a training step inside tidy leaves no intermediate alive", () => {
  const w = tensor([[0.5, -0.2], [0.1, 0.3]]);
  w.requiresGrad = true;
  const created: Tensor[] = [];
  for (let step = 0; step < 3; step++) {
    tidy(() => {
      const x = tensor([[1, 2]]);
      const loss = sum(mul(matmul(x, w), matmul(x, w)));
      const [g] = gradients(loss, [w]);
      created.push(x, loss, g);
      w.assign(add(w, mul(g, -0.01)));
    });
  }
  assert.ok(created.every((t) => t.disposed), "every step tensor was disposed");
  assert.ok(!w.disposed);
});

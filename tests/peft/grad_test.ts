/**
 * Gradient checks of the adapter parameters, end to end through the small
 * UNETR in float64: reverse mode against central finite differences
 * (`checkGrad`) on elements of every shared tensor, of the adapter tensors
 * of blocks 0 and 11, and of one decoder tensor. The models are trained for
 * two steps first, so that no factor sits at its zero initialisation (a
 * zero LoRA B would make A's gradient trivially zero).
 */
import assert from "node:assert/strict";
import { checkGrad, grad, matmul, narrow, permute, reshape, Rng, slice, type Tensor, tensor } from "../../mod.ts";
import { applyPeft, principalRows, principalTensor } from "../../peft/mod.ts";
import { inputFor, METHODS, smallModel, train } from "./helpers.ts";

/** `base` with the elements at `idx` replaced by `v` (differentiable in `v`): base + (v − v0)·E. */
function substitute(base: Tensor, idx: number[], v: Tensor, v0: Tensor): Tensor {
  const e = new Float64Array(idx.length * base.size);
  idx.forEach((j, r) => (e[r * base.size + j] = 1));
  const delta = matmul(v.sub(v0).reshape([1, idx.length]), tensor(e, [idx.length, base.size]));
  return base.reshape([1, base.size]).add(delta).reshape([...base.shape]);
}

const checked = (name: string) =>
  /^vit\.blocks\.[a-z]/.test(name) || /^vit\.blocks\.(0|11)\./.test(name) ||
  name === "decoder2.conv_block.conv1.conv.weight";

for (const [label, config] of METHODS) {
  Deno.test({
    name: `${label}: gradients of the trainable tensors match finite differences (float64, end to end)`,
    sanitizeResources: false,
    fn: async () => {
      const peft = await applyPeft(smallModel(7, "float64"), config);
      const model = peft.model, x = inputFor(model);
      train(peft, x, 2, 0.05);
      const rng = new Rng(5);
      let names = [...peft.trainable.keys()].filter(checked);
      if (config.method === "full" || config.method === "linear-probe") names = names.filter((_, i) => i % 3 === 0);
      assert.ok(names.length > 0);
      const picks = await Promise.all(names.map(async (name) => {
        const t = model.getParameter(name), data = await t.data();
        const idx = [rng.int(0, t.size - 1)];
        return { name, base: t, idx, v0: tensor(Float64Array.from(idx, (k) => data[k])) };
      }));
      const f = (...vs: Tensor[]) => {
        const subs = new Map(picks.map((p, i) => [p.name, substitute(p.base, p.idx, vs[i], p.v0)]));
        // A 4×4×4 window of the output keeps the projected sum small enough for float64 differences.
        return slice(model.withParameters(subs, () => model.forward(x)), [0, 0, 14, 6, 6], [1, 2, 18, 10, 10]);
      };
      const v0 = picks.map((p) => p.v0);
      // Not vacuous: the output depends on most checked elements (channel 1 only: the softmax channels sum to 1).
      const fg = grad((...vs: Tensor[]) => narrow(f(...vs), 1, 1, 1).sum());
      const g = await Promise.all(fg(...v0).map((t) => t.item()));
      assert.ok(g.filter((d) => Math.abs(d) > 1e-12).length >= 0.8 * g.length, `gradients ${g}`);
      const report = await checkGrad(f, v0, { atol: 2e-7, rtol: 1e-5 });
      assert.ok(report.ok);
      assert.equal(report.checked, picks.length);
    },
  });
}

Deno.test("LoRA-PT's FFT-free per-layer principal rows equal the t-product slices and have exact gradients", async () => {
  const rng = new Rng(3);
  const rand = (shape: number[]) =>
    tensor(Float64Array.from({ length: shape.reduce((a, b) => a * b) }, () => rng.normal()), shape);
  const [n1, n2, r, n3] = [3, 4, 2, 5];
  const u = rand([n1, r, n3]), s = rand([r, n3]), v = rand([n2, r, n3]);
  const full = principalTensor(u, s, v); // [n1, n2, n3] by t-products through the FFT
  const rows = principalRows(u, s, v, [3, 0, 4]); // three slices stacked by rows
  const want = [3, 0, 4].map((l) => reshape(narrow(full, 2, l, 1), [n1, n2]));
  const got = await rows.data();
  const expect = (await Promise.all(want.map((w) => w.data()))).flatMap((d) => [...d]);
  expect.forEach((e, i) => assert.ok(Math.abs(got[i] - e) < 1e-12, `element ${i}: ${got[i]} vs ${e}`));
  await checkGrad((a, b, c) => principalRows(a, b, c, [1, 4]), [u, s, v]);
  // The coupling: slice 0 of U reaches every slice of the principal tensor.
  await checkGrad((a) => permute(principalTensor(a, s, v), [2, 0, 1]), [u]);
});

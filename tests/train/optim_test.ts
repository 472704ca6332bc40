/**
 * Adam/AdamW against a hand-computed two-step update and against the update
 * rule of torch.optim.Adam written out in float64 (paper §4.3).
 */
import assert from "node:assert/strict";
import { Rng, tensor, tidy } from "../../mod.ts";
import { Adam, AdamW } from "../../train/mod.ts";
import { assertClose } from "../helpers.ts";

Deno.test("Adam, AMSGrad and coupled L2: two steps match the hand computation", async () => {
  const p = tensor([1]);
  const opt = new Adam([p], { lr: 0.1, weightDecay: 0.1, amsgrad: true });
  // Step 1: g = 0.5 + 0.1·1 = 0.6; m = 0.06, v = 3.6e-4; m̂/√v̂ = (0.06/0.1)/(√3.6e-4/√1e-3) = 1 → p = 0.9.
  tidy(() => opt.step([tensor([0.5])]));
  assertClose(await p.data(), [0.9], { atol: 1e-6, what: "after step 1" });
  // Step 2: g = −0.25 + 0.1·0.9 = −0.16; m = 0.038, v = vmax = 3.8524e-4;
  // p = 0.9 − (0.1/0.19)·0.038/(√3.8524e-4/√1.999e-3) = 0.8544414.
  tidy(() => opt.step([tensor([-0.25])]));
  assertClose(await p.data(), [0.8544414], { atol: 1e-6, what: "after step 2" });
  const s = opt.stateDict();
  assert.equal(s.step, 2);
  assertClose(await s.tensors.get("m.0")!.data(), [0.038], { rtol: 1e-5 });
  assertClose(await s.tensors.get("vmax.0")!.data(), [3.8524e-4], { rtol: 1e-4 });
});

/** torch.optim.adam._single_tensor_adam / adamw in float64, one parameter vector. */
function reference(
  p0: number[],
  grads: number[][],
  o: { lr: number; wd: number; amsgrad: boolean; decoupled: boolean },
): number[] {
  const [b1, b2, eps] = [0.9, 0.999, 1e-8];
  const p = [...p0], m = p.map(() => 0), v = p.map(() => 0), vmax = p.map(() => 0);
  grads.forEach((g0, s) => {
    const t = s + 1;
    for (let i = 0; i < p.length; i++) {
      let g = g0[i];
      if (o.decoupled) p[i] *= 1 - o.lr * o.wd;
      else g += o.wd * p[i];
      m[i] += (g - m[i]) * (1 - b1);
      v[i] = v[i] * b2 + g * g * (1 - b2);
      vmax[i] = Math.max(vmax[i], v[i]);
      const denom = Math.sqrt(o.amsgrad ? vmax[i] : v[i]) / Math.sqrt(1 - b2 ** t) + eps;
      p[i] -= (o.lr / (1 - b1 ** t)) * m[i] / denom;
    }
  });
  return p;
}

for (
  const o of [
    { name: "Adam", amsgrad: false, decoupled: false, wd: 0 },
    { name: "Adam+AMSGrad+L2", amsgrad: true, decoupled: false, wd: 1e-2 },
    { name: "AdamW", amsgrad: false, decoupled: true, wd: 1e-1 },
    { name: "AdamW+AMSGrad", amsgrad: true, decoupled: true, wd: 1e-1 },
  ]
) {
  Deno.test(`${o.name}: 8 steps follow the update rule written out in float64`, async () => {
    const rng = new Rng(11);
    const p0 = Array.from({ length: 6 }, () => rng.uniformIn(-1, 1));
    // Shrinking gradients make v decrease, so AMSGrad's running max matters.
    const grads = Array.from({ length: 8 }, (_, s) => p0.map(() => rng.uniformIn(-1, 1) / (1 + 3 * s)));
    const p = tensor(p0);
    const Opt = o.decoupled ? AdamW : Adam;
    const opt = new Opt([p], { lr: 0.05, weightDecay: o.wd, amsgrad: o.amsgrad });
    for (const g of grads) tidy(() => opt.step([tensor(g)]));
    assertClose(await p.data(), reference(p0, grads, { lr: 0.05, ...o }), { atol: 2e-6, rtol: 1e-5 });
    opt.dispose();
  });
}

Deno.test("Adam: stateDict/loadStateDict continue a run exactly", async () => {
  const rng = new Rng(2);
  const grads = Array.from({ length: 6 }, () => [rng.normal(), rng.normal()]);
  const a = tensor([0.3, -0.7]);
  const optA = new Adam([a], { amsgrad: true, weightDecay: 1e-5 });
  for (const g of grads) tidy(() => optA.step([tensor(g)]));

  const b = tensor([0.3, -0.7]);
  const optB = new Adam([b], { amsgrad: true, weightDecay: 1e-5 });
  for (const g of grads.slice(0, 3)) tidy(() => optB.step([tensor(g)]));
  const saved = optB.stateDict();
  const copies = new Map([...saved.tensors].map(([k, t]) => [k, tensor(t.dataSync() as Float32Array, [...t.shape])]));
  const c = tensor(b.dataSync() as Float32Array, [2]);
  const optC = new Adam([c], { amsgrad: true, weightDecay: 1e-5 });
  optC.loadStateDict({ step: saved.step, tensors: copies });
  for (const g of grads.slice(3)) tidy(() => optC.step([tensor(g)]));
  assert.deepEqual([...await c.data()], [...await a.data()]);
});

Deno.test("Adam: a wrong number of gradients is an error naming both counts", () => {
  const opt = new Adam([tensor([1]), tensor([2])]);
  assert.throws(() => opt.step([tensor([1])]), /1 gradients for 2 parameters/);
});

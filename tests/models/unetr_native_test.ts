/**
 * UNETR on the native backend against the CPU reference: the same seeded
 * unetr-tiny built on both, the same input; the softmax output and the
 * gradient of every parameter must agree within float32 tolerance (sgemm
 * and the native convolutions accumulate in float32, the reference in
 * float64). Training on native is deterministic: two runs of the same
 * seeded steps give bitwise-equal weights.
 */
import assert from "node:assert/strict";
import {
  Adam,
  blasStatus,
  createUnetr,
  fromArray,
  getBackend,
  gradients,
  initNative,
  Rng,
  setBackend,
  softmaxDice2,
  type Tensor,
  tidy,
} from "../../mod.ts";
import { assertClose } from "../helpers.ts";

const native = initNative();
const ignore = native === null;
if (ignore) console.warn(`unetr native: ${blasStatus().reason}; skipped`);

const S = 32;
function batch(): { x: Float32Array; y: Float32Array } {
  const rng = new Rng(5);
  return {
    x: Float32Array.from({ length: S ** 3 }, () => rng.normal()),
    y: Float32Array.from({ length: S ** 3 }, () => rng.int(0, 1)),
  };
}

async function onBackend<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const previous = getBackend().name;
  setBackend(name);
  try {
    return await fn();
  } finally {
    setBackend(previous);
  }
}

/** Output and parameter gradients of one eval-mode forward/backward of seeded unetr-tiny. */
function forwardBackward(name: string): Promise<{ out: Float32Array; grads: Map<string, Float32Array> }> {
  return onBackend(name, async () => {
    const model = createUnetr("unetr-tiny", { seed: 3 }).eval();
    const { x, y } = batch();
    const input = fromArray(x, [1, 1, S, S, S]), target = fromArray(y, [1, S, S, S]);
    const named = [...model.namedParameters()];
    const probs = model.forward(input);
    const g = gradients(softmaxDice2(probs, target), named.map(([, p]) => p));
    const grads = new Map<string, Float32Array>();
    for (let i = 0; i < named.length; i++) grads.set(named[i][0], await g[i].data() as Float32Array);
    return { out: await probs.data() as Float32Array, grads };
  });
}

Deno.test({
  name: "unetr-tiny on native: softmax output and every parameter's gradient match the CPU reference",
  ignore,
  sanitizeResources: false,
  fn: async () => {
    const ref = await forwardBackward("cpu");
    const got = await forwardBackward("native");
    assertClose(got.out, ref.out, { atol: 1e-5, rtol: 1e-4, what: "softmax output" });
    assert.equal(got.grads.size, 170);
    for (const [name, g] of ref.grads) {
      // Scale the absolute tolerance by the tensor's largest gradient: float32 sums of many terms.
      const scale = g.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      assertClose(got.grads.get(name)!, g, { atol: 1e-4 * scale + 1e-9, rtol: 1e-3, what: `grad ${name}` });
    }
  },
});

/** Two seeded Adam steps in training mode (dropout on) on native; returns every parameter's values. */
function train(): Promise<Float32Array[]> {
  return onBackend("native", async () => {
    const model = createUnetr("unetr-tiny", { seed: 11 });
    const { x, y } = batch();
    const input = fromArray(x, [1, 1, S, S, S]), target = fromArray(y, [1, S, S, S]);
    const params = model.parameters();
    const opt = new Adam(params, { lr: 1e-3 });
    for (let i = 0; i < 2; i++) {
      const loss: Tensor = tidy(() => {
        const l = softmaxDice2(model.forward(input), target);
        opt.step(gradients(l, params));
        return l;
      });
      await loss.item();
      loss.dispose();
    }
    return Promise.all(params.map(async (p) => await p.data() as Float32Array));
  });
}

Deno.test({
  name: "unetr-tiny on native: training is deterministic for a given seed and thread count (bitwise)",
  ignore,
  sanitizeResources: false,
  fn: async () => {
    const a = await train(), b = await train();
    assert.equal(a.length, b.length);
    for (let i = 0; i < a.length; i++) assert.deepEqual(a[i], b[i], `parameter ${i}`);
  },
});

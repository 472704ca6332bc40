/**
 * Shared setup of the PEFT tests: a small UNETR that keeps unetr-tiny's 12
 * layers (so LoRA-PT keeps n3 = 48 and 12), a seeded input, plain
 * gradient steps, and output comparisons.
 * @module
 */
import assert from "node:assert/strict";
import { gradients, Rng, type Tensor, tensor, tidy } from "../../mod.ts";
import { createUnetr, type FloatDType, type UNETR, type UnetrSpec } from "../../models/mod.ts";
import type { PeftConfig, PeftModel } from "../../peft/mod.ts";

/** unetr-tiny's layout (12 layers, softmax output) shrunk: 32×16×16 input (2 tokens), d 8, MLP 16, f 2. */
export const SMALL: UnetrSpec = {
  base: "unetr-tiny",
  imgSize: [32, 16, 16],
  hiddenSize: 8,
  mlpDim: 16,
  numHeads: 2,
  featureSize: 2,
};

/** Every method with a configuration that fits {@link SMALL} (ranks below d = 8). */
export const METHODS: readonly [string, PeftConfig][] = [
  ["full", { method: "full" }],
  ["linear-probe", { method: "linear-probe" }],
  ["lora", { method: "lora", rank: 2 }],
  ["adapter", { method: "adapter", rank: 2 }],
  ["ssf", { method: "ssf" }],
  ["lotr", { method: "lotr", rank: 2 }],
  ["pissa", { method: "pissa", rank: 2 }],
  ["lora-pt", { method: "lora-pt", rank: 1 }],
  ["lora-pt public-code", { method: "lora-pt", mode: "public-code" }],
];

/** A pre-trained stand-in: a seeded small UNETR in eval mode (no dropout). */
export function smallModel(seed = 7, dtype: FloatDType = "float32", spec: UnetrSpec = SMALL): UNETR {
  return createUnetr(spec, { seed, dtype }).eval();
}

/** A seeded standard-normal input for `model`. */
export function inputFor(model: UNETR, seed = 1): Tensor {
  const s = model.config.imgSize, dims = typeof s === "number" ? [s, s, s] : [...s];
  const rng = new Rng(seed), n = dims.reduce((a, b) => a * b, model.config.inChannels);
  const dtype = model.parameters()[0].dtype;
  return tensor(Float64Array.from({ length: n }, () => rng.normal()), [1, model.config.inChannels, ...dims], { dtype });
}

/**
 * `steps` gradient steps on a fixed squared-error loss against a random
 * target. Each tensor moves by `lr` times its gradient divided by the
 * gradient's RMS, so every tensor with a non-zero gradient changes visibly
 * whatever its gradient's scale.
 */
export function train(peft: PeftModel, x: Tensor, steps = 3, lr = 1e-2): void {
  const params = [...peft.trainable.values()];
  const out = peft.model.forward(x);
  const rng = new Rng(42);
  const target = tensor(Float64Array.from({ length: out.size }, () => rng.uniform()), [...out.shape], {
    dtype: out.dtype,
  });
  for (let s = 0; s < steps; s++) {
    tidy(() => {
      const loss = peft.model.forward(x).sub(target).pow(2).mean();
      const grads = gradients(loss, params);
      params.forEach((p, i) => {
        const g = grads[i], rms = g.pow(2).mean().sqrt().add(1e-30);
        p.assign(p.sub(g.div(rms).mul(lr)));
      });
    });
  }
}

/** max |a − b| / max |b|. */
export async function relDiff(a: Tensor, b: Tensor): Promise<number> {
  const x = await a.data(), y = await b.data();
  assert.equal(x.length, y.length);
  let d = 0, m = 0;
  for (let i = 0; i < x.length; i++) {
    d = Math.max(d, Math.abs(x[i] - y[i]));
    m = Math.max(m, Math.abs(y[i]));
  }
  return d / m;
}

/** Every parameter's values, copied, by name. */
export async function snapshot(model: UNETR): Promise<Map<string, Float64Array>> {
  const out = new Map<string, Float64Array>();
  for (const [n, t] of model.namedParameters()) out.set(n, Float64Array.from(await t.data()));
  return out;
}

/** True when two arrays are bitwise equal (as float64 copies of float32 or float64 data). */
export function sameBits(a: Float64Array, b: Float64Array): boolean {
  return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
}

/**
 * Shared fixtures of the training tests: a UNETR small enough for many
 * CPU steps per second, and phantom samples on its 16³ input.
 * @module
 */
import { createUnetr, makePhantom, Rng, type Sample, type UNETR, type UnetrConfig, zScore } from "../../mod.ts";

/** unetr-tiny's layout (12 layers, softmax output, dropout 0.1) at 16³, d 16, MLP 32, feature size 2. */
export const TINY: Partial<UnetrConfig> & { base: "unetr-tiny" } = {
  base: "unetr-tiny",
  imgSize: 16,
  hiddenSize: 16,
  mlpDim: 32,
  numHeads: 2,
  featureSize: 2,
};

/** A seeded tiny UNETR. */
export function tinyUnetr(seed = 0): UNETR {
  return createUnetr(TINY, { seed });
}

/** `n` z-scored hippocampus phantoms of `size`³. */
export function phantomSamples(n: number, size = 20, seed = 1): Sample[] {
  return Array.from({ length: n }, (_, i) => {
    const p = makePhantom({ task: "hippocampus", size, seed: seed + i });
    return zScore()({ image: p.image, label: p.label }, new Rng(0));
  });
}

/** Every parameter's values, by name. */
export async function snapshot(model: UNETR): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [n, p] of model.namedParameters()) out.set(n, (await p.data()) as Float32Array);
  return out;
}

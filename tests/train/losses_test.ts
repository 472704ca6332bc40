/** Losses: hand values of the authors' softmax_dice2 (paper §4.3) and gradient checks. */
import assert from "node:assert/strict";
import { checkGrad, Rng, tensor } from "../../mod.ts";
import { crossEntropy2, DICE_EPS, diceCrossEntropy, softmaxDice2 } from "../../train/mod.ts";
import { assertClose, uniform } from "../helpers.ts";

Deno.test("softmaxDice2: batch-global Dice per class over channels 0 and 1, ε only in the denominator", async () => {
  // B = 2 images of 2 voxels; channel 0 = background probability.
  const p1 = [[0.8, 0.4], [0.1, 0.6]];
  const probs = tensor(p1.map((img) => [img.map((q) => 1 - q), img]));
  const g = [[1, 0], [0, 1]];
  // Σ over batch and voxels: foreground Σp·g = 0.8 + 0.6, Σp = 1.9, Σg = 2.
  const d1 = (2 * 1.4) / (1.9 + 2 + DICE_EPS);
  // background: p0 = [0.2, 0.6, 0.9, 0.4], g0 = [0, 1, 1, 0]: Σp·g = 1.5, Σp = 2.1, Σg = 2.
  const d0 = (2 * 1.5) / (2.1 + 2 + DICE_EPS);
  const loss = await softmaxDice2(probs, tensor(g)).item();
  assertClose([loss], [(1 - d0) + (1 - d1)], { atol: 1e-6 });
});

Deno.test("softmaxDice2: with no foreground in truth or prediction, Dice₁ = 0/ε = 0, so the loss is 1 (as the authors' code)", async () => {
  const probs = tensor([[[1, 1], [0, 0]]]);
  const loss = await softmaxDice2(probs, tensor([[0, 0]])).item();
  // Dice₀ = 2·2/(2+2+ε) ≈ 1; Dice₁ = 0/ε = 0 → loss ≈ 1, as in the authors' code.
  assertClose([loss], [1], { atol: 1e-5 });
});

Deno.test("softmaxDice2: shape errors name both shapes", () => {
  assert.throws(() => softmaxDice2(tensor([[[1, 0]]]), tensor([[1, 0]])), /\[1,1,2\] and \[1,2\]/);
});

Deno.test("crossEntropy2: mean negative log-likelihood of the true class", async () => {
  const logits = tensor([[[2, 0], [0, 1]]]); // voxel 0 favours class 0, voxel 1 class 1
  const ce = await crossEntropy2(logits, tensor([[0, 1]])).item();
  const nll0 = -Math.log(Math.exp(2) / (Math.exp(2) + 1)), nll1 = -Math.log(Math.exp(1) / (1 + Math.exp(1)));
  assertClose([ce], [(nll0 + nll1) / 2], { atol: 1e-6 });
});

Deno.test("softmaxDice2, crossEntropy2 and dice+CE: gradients match finite differences", async () => {
  const rng = new Rng(4);
  const logits = uniform([2, 2, 3, 2, 2], rng, -2, 2);
  const target = tensor(Float32Array.from({ length: 24 }, () => (rng.uniform() < 0.4 ? 1 : 0)), [2, 3, 2, 2]);
  await checkGrad((z) => softmaxDice2(z.softmax(1), target), [logits], { rtol: 1e-4 });
  await checkGrad((z) => crossEntropy2(z, target), [logits], { rtol: 1e-4 });
  await checkGrad((z) => diceCrossEntropy(z, target), [logits], { rtol: 1e-4 });
});

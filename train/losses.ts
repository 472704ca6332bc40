/**
 * Segmentation losses for two classes (background 0, structure 1), and their
 * multi-class generalisation for outputs with more than two channels (BraTS
 * with NCR, ED and ET kept: 4 classes).
 *
 * `softmaxDice2` is the authors' `softmax_dice2` (paper
 * §4.3, code `model/criterionsWT.py`): one soft Dice per
 * class over the whole batch and every voxel, ε = 1e−5 in the denominator
 * only, loss = (1 − Dice₀) + (1 − Dice₁) ∈ [0, 2].
 *
 * Sums over many voxels are taken one axis at a time: besides being kinder
 * to float32 accumulation, it keeps every single reduction short (the
 * WebGPU reduction kernel loses elements past 65,535 per output).
 * @module
 */
import { logSoftmax, narrow, type Tensor } from "../tensor/mod.ts";

/** ε of the authors' `Dice` (denominator only). */
export const DICE_EPS = 1e-5;

/** Sum over every axis, one axis at a time (last first), to a scalar. */
export function sumAll(x: Tensor): Tensor {
  let s = x;
  for (let a = x.rank - 1; a >= 0; a--) s = s.sum(a);
  return s;
}

function checkPair(where: string, probs: Tensor, target: Tensor): void {
  const [b, c, ...spatial] = probs.shape;
  const ok = probs.rank >= 3 && c >= 2 && target.rank === probs.rank - 1 && target.shape[0] === b &&
    spatial.every((n, i) => target.shape[1 + i] === n);
  if (!ok) {
    throw new RangeError(
      `${where}: expects output [B, ≥2, …spatial] and target [B, …spatial], got [${probs.shape}] and [${target.shape}]`,
    );
  }
}

/**
 * The soft Dice of one map against one binary mask, summed over everything:
 * `2·Σ(p·g) / (Σp + Σg + ε)`.
 */
export function softDice(p: Tensor, g: Tensor, eps: number = DICE_EPS): Tensor {
  return sumAll(p.mul(g)).mul(2).div(sumAll(p).add(sumAll(g)).add(eps));
}

/**
 * The authors' `softmax_dice2`: `probs` are softmax probabilities
 * `[B, C ≥ 2, …spatial]` (only channels 0 and 1 are used), `target` is a
 * float 0/1 map `[B, …spatial]` (1 = structure).
 * Loss = (1 − Dice(probs₀, 1 − target)) + (1 − Dice(probs₁, target)).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { softmaxDice2 } from "./losses.ts";
 * import { tensor } from "../mod.ts";
 * // One image of two voxels: a perfect prediction has loss ≈ 0.
 * const probs = tensor([[[1, 0], [0, 1]]]); // [B=1, C=2, 2]
 * const loss = await softmaxDice2(probs, tensor([[0, 1]])).item();
 * assert.ok(Math.abs(loss) < 1e-4); // ε keeps each Dice a hair below 1
 * ```
 */
export function softmaxDice2(probs: Tensor, target: Tensor): Tensor {
  checkPair("softmaxDice2", probs, target);
  const channel = (c: number) => narrow(probs, 1, c, 1).squeeze(1);
  const dice0 = softDice(channel(0), target.neg().add(1));
  const dice1 = softDice(channel(1), target);
  return dice0.neg().add(1).add(dice1.neg().add(1));
}

/** The 0/1 indicator of class `c` in an integer-valued float target: relu(1 − |t − c|). */
function indicator(target: Tensor, c: number): Tensor {
  return target.sub(c).abs().neg().add(1).relu();
}

/**
 * Multi-class soft Dice, the authors' `softmax_dice2` extended to K ≥ 2
 * classes: `probs` are softmax probabilities `[B, K, …spatial]`, `target`
 * holds class indices 0..K−1 as floats `[B, …spatial]`. One batch-global soft
 * Dice per class, every channel included (background too), ε = 1e−5 in the
 * denominator only: loss = Σ_c (1 − Dice(probs_c, [target = c])) ∈ [0, K].
 * With K = 2 it equals {@link softmaxDice2}. A class absent from both the
 * target and the prediction contributes 1 (Dice 0/ε = 0), with no gradient,
 * as in the two-class loss.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { softmaxDice } from "./losses.ts";
 * import { tensor } from "../mod.ts";
 * // Three voxels, three classes, a perfect prediction: loss ≈ 0.
 * const probs = tensor([[[1, 0, 0], [0, 1, 0], [0, 0, 1]]]); // [B=1, K=3, 3]
 * const loss = await softmaxDice(probs, tensor([[0, 1, 2]])).item();
 * assert.ok(Math.abs(loss) < 1e-4);
 * ```
 */
export function softmaxDice(probs: Tensor, target: Tensor): Tensor {
  checkPair("softmaxDice", probs, target);
  const k = probs.shape[1];
  let loss: Tensor | null = null;
  for (let c = 0; c < k; c++) {
    const g = k === 2 && c === 1 ? target : indicator(target, c);
    const term = softDice(narrow(probs, 1, c, 1).squeeze(1), g).neg().add(1);
    loss = loss ? loss.add(term) : term;
  }
  return loss!;
}

/**
 * Multi-class cross-entropy from logits `[B, K ≥ 2, …spatial]` against class
 * indices `[B, …spatial]` (floats), averaged over batch and voxels (PyTorch's
 * `CrossEntropyLoss`); with K = 2 it equals {@link crossEntropy2}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { crossEntropy } from "./losses.ts";
 * import { tensor } from "../mod.ts";
 * const ce = await crossEntropy(tensor([[[0], [0], [0]]]), tensor([[2]])).item();
 * assert.ok(Math.abs(ce - Math.log(3)) < 1e-6);
 * ```
 */
export function crossEntropy(logits: Tensor, target: Tensor): Tensor {
  checkPair("crossEntropy", logits, target);
  const logp = logSoftmax(logits, 1);
  let picked: Tensor | null = null;
  for (let c = 0; c < logits.shape[1]; c++) {
    const t = narrow(logp, 1, c, 1).squeeze(1).mul(indicator(target, c));
    picked = picked ? picked.add(t) : t;
  }
  return sumAll(picked!.neg()).div(target.size);
}

/**
 * Two-class cross-entropy from logits `[B, C ≥ 2, …spatial]` against a 0/1
 * float target `[B, …spatial]`, averaged over batch and voxels (PyTorch's
 * `CrossEntropyLoss` with mean reduction, channels 0 and 1).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { crossEntropy2 } from "./losses.ts";
 * import { tensor } from "../mod.ts";
 * const ce = await crossEntropy2(tensor([[[0], [0]]]), tensor([[1]])).item();
 * assert.ok(Math.abs(ce - Math.log(2)) < 1e-6);
 * ```
 */
export function crossEntropy2(logits: Tensor, target: Tensor): Tensor {
  checkPair("crossEntropy2", logits, target);
  const logp = logSoftmax(logits, 1);
  const lp = (c: number) => narrow(logp, 1, c, 1).squeeze(1);
  const nll = lp(1).mul(target).add(lp(0).mul(target.neg().add(1))).neg();
  return sumAll(nll).div(target.size);
}

/** Options of {@link diceCrossEntropy}. */
export interface DiceCrossEntropyOptions {
  /** Weight of the cross-entropy term. Default 1. */
  ceWeight?: number;
  /** Weight of the Dice term. Default 1. */
  diceWeight?: number;
}

/**
 * Cross-entropy + `softmaxDice2` from logits (MONAI's `DiceCELoss` idea,
 * with the authors' batch-global Dice).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { diceCrossEntropy } from "./losses.ts";
 * import { tensor } from "../mod.ts";
 * const loss = await diceCrossEntropy(tensor([[[-9, 9], [9, -9]]]), tensor([[0, 1]])).item();
 * assert.ok(loss > 1.9); // confidently wrong on both voxels
 * ```
 */
export function diceCrossEntropy(logits: Tensor, target: Tensor, opts: DiceCrossEntropyOptions = {}): Tensor {
  const ce = crossEntropy2(logits, target).mul(opts.ceWeight ?? 1);
  return ce.add(softmaxDice2(logits.softmax(1), target).mul(opts.diceWeight ?? 1));
}

/** Names of the losses the training loop offers. */
export type LossName = "dice" | "dice-ce";

/** Options of {@link segmentationLoss}. */
export interface SegmentationLossOptions {
  /** `output` holds softmax probabilities (UNETR's `forward`), not logits. Default false. */
  probabilities?: boolean;
}

/**
 * Loss `name` of a model output against a target. With two output channels
 * the target is 0/1 and the losses are the authors' two-class ones
 * ({@link softmaxDice2}, {@link crossEntropy2}); with more, the target holds
 * class indices and the multi-class {@link softmaxDice} (a soft Dice over
 * every channel) and {@link crossEntropy} are used. From probabilities, the
 * cross-entropy uses `log p` as logits (the log-softmax of `log p` is `log p`
 * itself).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { segmentationLoss } from "./losses.ts";
 * import { tensor } from "../mod.ts";
 * const logits = tensor([[[2, -1], [0, 1]]]), target = tensor([[0, 1]]);
 * const a = await segmentationLoss("dice-ce", logits, target).item();
 * const b = await segmentationLoss("dice-ce", logits.softmax(1), target, { probabilities: true }).item();
 * assert.ok(Math.abs(a - b) < 1e-5);
 * ```
 */
export function segmentationLoss(
  name: LossName,
  output: Tensor,
  target: Tensor,
  opts: SegmentationLossOptions = {},
): Tensor {
  const probs = opts.probabilities ? output : output.softmax(1);
  const multi = output.rank >= 2 && output.shape[1] > 2;
  const dice = multi ? softmaxDice : softmaxDice2, ce = multi ? crossEntropy : crossEntropy2;
  if (name === "dice") return dice(probs, target);
  if (name === "dice-ce") {
    const logits = opts.probabilities ? output.log() : output;
    return ce(logits, target).add(dice(probs, target));
  }
  throw new RangeError(`segmentationLoss: unknown loss "${name}" (dice, dice-ce)`);
}

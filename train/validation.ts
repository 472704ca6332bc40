/**
 * Scoring a model during training: the mean foreground Dice of sliding-window
 * predictions on validation subjects (what `lorapt pretrain --val-every`
 * logs and `model_best.safetensors` keeps the best of).
 * @module
 */
import { dice, modelPredictor, slidingWindowInference, type Volume } from "../data/mod.ts";
import type { UNETR, UnetrConfig } from "../models/mod.ts";

/** A validation subject as the evaluation needs it: input channels and the class-index label. */
export interface ValidationSubject {
  /** Subject id. */
  id: string;
  /** The preprocessed input channels. */
  channels: readonly Volume<Float32Array>[];
  /** Class indices 0..K−1 on the channels' grid. */
  label: Volume<Uint8Array>;
}

/** The model's input size as a triple (its sliding window and training crop). */
export function imgTriple(c: Pick<UnetrConfig, "imgSize">): [number, number, number] {
  const i = c.imgSize;
  return typeof i === "number" ? [i, i, i] : [i[0], i[1], i[2]];
}

/**
 * Mean foreground Dice of `model` on the validation subjects: sliding windows
 * of the model's size over all input channels (no overlap, as the authors'
 * validation), argmax, Dice per foreground class (1..K−1) per subject.
 * Returns `dice` (mean over subjects of the mean over classes) and, with more
 * than one foreground class, `dice_<name>` per class (`classNames[c]`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createUnetr } from "../models/mod.ts";
 * import { makeVolume } from "../data/mod.ts";
 * import { validationDice } from "./validation.ts";
 * const model = createUnetr({ base: "unetr-tiny", imgSize: 16, hiddenSize: 8, mlpDim: 16, numHeads: 2 }, { seed: 0 });
 * const label = makeVolume(new Uint8Array(16 ** 3), [16, 16, 16]); // no foreground anywhere
 * const image = makeVolume(new Float32Array(16 ** 3), [16, 16, 16]);
 * const r = await validationDice(model, async function* () {
 *   yield { id: "a", channels: [image], label };
 * }, ["background", "foreground"]);
 * assert.ok(r.dice >= 0 && r.dice <= 1);
 * ```
 */
export async function validationDice(
  model: UNETR,
  subjects: () => AsyncIterable<ValidationSubject>,
  classNames: readonly string[],
): Promise<Record<string, number>> {
  model.eval();
  const window = imgTriple(model.config);
  const k = model.config.outChannels;
  const sums = new Float64Array(k);
  let n = 0;
  const predictor = modelPredictor(model);
  for await (const s of subjects()) {
    const r = await slidingWindowInference(s.channels, predictor, { window });
    for (let c = 1; c < k; c++) {
      sums[c] += dice(r.labels.data.map((v) => v === c ? 1 : 0), s.label.data.map((v) => v === c ? 1 : 0));
    }
    n++;
  }
  const out: Record<string, number> = {};
  let mean = 0;
  for (let c = 1; c < k; c++) mean += sums[c] / n;
  out.dice = mean / (k - 1);
  if (k > 2) { for (let c = 1; c < k; c++) out[`dice_${classNames[c] ?? c}`] = sums[c] / n; }
  return out;
}

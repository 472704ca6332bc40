/**
 * {@link evaluate}: the paper's scores of one predicted label map against
 * its ground truth (§4.3): Dice, HD95 (95th percentile), HDmax (what the
 * authors' script printed as "HD95") and ASSD, distances in mm on the
 * truth's voxel spacing. `aggregateMetrics` (data/) averages them.
 * @module
 */
import { checkLabel, sameGrid, segmentationMetrics, type SubjectMetrics, type Volume } from "../data/mod.ts";
import { InputError } from "./input_error.ts";

/** Options of {@link evaluate}. */
export interface EvaluateOptions {
  /** The row's id. */
  id?: string;
  /** Merge truth label values first, e.g. `{ 37: 1, 38: 1 }`. */
  labelMap?: Record<number, number>;
  /** Names of the two volumes for messages (default `prediction`, `truth`). */
  names?: [string, string];
}

/**
 * Scores `pred` against `truth`: label 1 of the prediction is the
 * foreground (as in the authors' evaluation), the truth must be binary
 * after `labelMap`. Both must lie on the same grid; a mismatch, or a truth
 * with other values, is an {@link InputError} naming the volumes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeVolume } from "../data/mod.ts";
 * import { evaluate } from "./evaluate.ts";
 * const truth = makeVolume(new Uint8Array([0, 1, 1, 0, 0, 0, 0, 0]), [2, 2, 2]);
 * const pred = makeVolume(new Uint8Array([0, 1, 0, 0, 0, 0, 0, 0]), [2, 2, 2]);
 * assert.equal(evaluate(pred, truth).dice, 2 / 3); // 2·1 / (1 + 2)
 * assert.equal(evaluate(truth, truth).hd95, 0);
 * ```
 */
export function evaluate(pred: Volume, truth: Volume, options: EvaluateOptions = {}): SubjectMetrics {
  const [pn, tn] = options.names ?? ["prediction", "truth"];
  if (!sameGrid(pred, truth)) {
    throw new InputError(
      null,
      `${pn} (shape [${pred.shape}]) and ${tn} (shape [${truth.shape}]) are not on the same grid`,
    );
  }
  let t: Volume<Uint8Array>;
  try {
    t = checkLabel(truth, tn, { labelMap: options.labelMap });
  } catch (e) {
    throw new InputError("truth", `: ${(e as Error).message}`);
  }
  const p = Uint8Array.from(pred.data, (x) => (x === 1 ? 1 : 0)); // label 1, as the authors
  return segmentationMetrics(p, t.data, t.shape, t.spacing, options.id);
}

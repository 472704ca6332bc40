/**
 * How a run picks its crops: the default foreground fraction and the
 * resolution of `--roi` (issue 17; data/crop_sampling.ts does the sampling).
 *
 * The default comes from a measurement on the real-brain set
 * (`lorapt data real-brain`, 13 subjects, seed 0, 182×218×182): a uniform
 * crop holds any hippocampus voxel with probability 0.12 at 32³, 0.51 at
 * 64³, 0.93 at 96³ and 1.00 at 128³ (exact, over every crop position). With
 * p = 0.5 (MONAI's pos = neg = 1) a crop holds foreground with probability
 * p + (1 − p)·q: 0.56 at 32³ and 0.75 at 64³, while half of the crops stay
 * uniform, so the background far from the target is still seen. At 128³ (the
 * paper's UNETR) every uniform crop already holds the target, so paper mode
 * keeps the authors' uniform crops.
 * @module
 */
import { parseRoi, type RoiBox, roiFromLabels, type Shape3, type Volume } from "../data/mod.ts";
import { InputError } from "./input_error.ts";
import type { LazySamples, TrainConfig, TrainSample } from "./loop.ts";

/** The `--pos-fraction` default for crops smaller than 128³ (see the module doc). */
export const DEFAULT_POS_FRACTION = 0.5;

/** The paper's crop: at this size and above on every axis, `auto` means uniform crops. */
export const PAPER_CROP = 128;

/** The default margin of `roi: "auto"` around the training labels, in mm. */
export const DEFAULT_ROI_MARGIN_MM = 10;

/**
 * The foreground fraction of `--pos-fraction auto`: 0 (uniform, the paper's)
 * when the crop is at least 128 on every axis, else {@link DEFAULT_POS_FRACTION}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { autoPosFraction } from "./sampling.ts";
 * assert.equal(autoPosFraction([128, 128, 128]), 0);
 * assert.equal(autoPosFraction([64, 64, 64]), 0.5);
 * ```
 */
export function autoPosFraction(crop: Shape3): number {
  return crop.every((n) => n >= PAPER_CROP) ? 0 : DEFAULT_POS_FRACTION;
}

/**
 * Reads a `--pos-fraction` value: `auto` ({@link autoPosFraction} of `crop`)
 * or a number in [0, 1]. Throws a RangeError naming the value otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePosFraction } from "./sampling.ts";
 * assert.equal(parsePosFraction("auto", [32, 32, 32]), 0.5);
 * assert.equal(parsePosFraction("0.25", [32, 32, 32]), 0.25);
 * assert.throws(() => parsePosFraction("2", [32, 32, 32]), /"2"/);
 * ```
 */
export function parsePosFraction(text: string, crop: Shape3): number {
  if (text === "auto") return autoPosFraction(crop);
  const p = Number(text);
  if (text.trim() === "" || !Number.isFinite(p) || p < 0 || p > 1) {
    throw new RangeError(`--pos-fraction "${text}" must be auto or a number in 0..1`);
  }
  return p;
}

/**
 * The ROI of a run: `null` for none, `"auto"` for the union bounding box of
 * the training labels grown by `marginMm`, or `x0,y0,z0,x1,y1,z1` (voxels,
 * end exclusive), checked against every label's grid.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeVolume } from "../data/mod.ts";
 * import { resolveRoi } from "./sampling.ts";
 * const d = new Uint8Array(1000);
 * d[5 + 10 * (5 + 10 * 5)] = 1;
 * const label = makeVolume(d, [10, 10, 10]);
 * assert.deepEqual(resolveRoi("auto", [label], 1), { start: [4, 4, 4], end: [7, 7, 7] });
 * assert.equal(resolveRoi(undefined, [label], 1), null);
 * ```
 */
export function resolveRoi(text: string | undefined, labels: readonly Volume[], marginMm: number): RoiBox | null {
  if (text === undefined) return null;
  if (text === "auto") return roiFromLabels(labels, marginMm);
  const roi = parseRoi(text);
  labels.forEach((l, i) => {
    if (roi.end.some((e, a) => e > l.shape[a])) {
      throw new RangeError(`--roi ${text} reaches past training label ${i} of shape [${l.shape}]`);
    }
  });
  return roi;
}

/**
 * How a run asks for its crops (the options of `finetune`, the experiment's
 * cells and `lorapt pretrain`); {@link resolveCropSampling} turns it into
 * the training config's `posFraction` and `roi` for the run's crop size and
 * training labels, and those resolved values are what `config.json` records
 * and a resume compares.
 */
export interface CropSamplingRequest {
  /** Share of foreground-centred crops in [0, 1], or `"auto"` ({@link autoPosFraction}; the default). */
  posFraction?: number | "auto";
  /**
   * Draw crops inside this voxel box, or `"auto"`: the training labels' union
   * bounding box grown by `roiMargin`; null or absent: the whole scan. The run
   * records the box, and `predict` runs only the windows that meet it.
   */
  roi?: RoiBox | "auto" | null;
  /** Margin of `roi: "auto"` around the labels, in mm (default {@link DEFAULT_ROI_MARGIN_MM}). */
  roiMargin?: number;
}

/**
 * The label volumes of training samples (lazy ones are read once each).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeVolume } from "../data/mod.ts";
 * import { sampleLabels } from "./sampling.ts";
 * const image = makeVolume(new Float32Array(8), [2, 2, 2]), label = makeVolume(new Uint8Array(8), [2, 2, 2]);
 * const lazy = { length: 2, load: () => Promise.resolve({ image, label }) };
 * assert.equal((await sampleLabels(lazy)).length, 2);
 * assert.equal((await sampleLabels([{ image, label }]))[0], label);
 * ```
 */
export async function sampleLabels(samples: readonly TrainSample[] | LazySamples): Promise<Volume[]> {
  if (Array.isArray(samples)) return (samples as readonly TrainSample[]).map((x) => x.label!);
  const lazy = samples as LazySamples, out: Volume[] = [];
  for (let i = 0; i < lazy.length; i++) out.push((await lazy.load(i)).label!);
  return out;
}

/**
 * Checks a {@link CropSamplingRequest}'s form, before any file is read;
 * errors are {@link InputError}s of `posFraction`, `roi` or `roiMargin`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkCropSampling } from "./sampling.ts";
 * checkCropSampling({ posFraction: "auto", roi: { start: [0, 0, 0], end: [8, 8, 8] } });
 * assert.throws(() => checkCropSampling({ posFraction: 2 }), /posFraction "2" must be auto or a number in 0\.\.1/);
 * ```
 */
export function checkCropSampling(request: CropSamplingRequest): void {
  const { posFraction: p = "auto", roi = null, roiMargin = DEFAULT_ROI_MARGIN_MM } = request;
  if (p !== "auto" && !(typeof p === "number" && p >= 0 && p <= 1)) {
    throw new InputError("posFraction", ` "${p}" must be auto or a number in 0..1`);
  }
  if (!(typeof roiMargin === "number" && roiMargin >= 0 && Number.isFinite(roiMargin))) {
    throw new InputError("roiMargin", ` ${roiMargin} must be a number of mm ≥ 0`);
  }
  if (roi !== null && roi !== "auto") {
    const ok = typeof roi === "object" && [roi.start, roi.end].every((v) =>
      Array.isArray(v) && v.length === 3 && v.every((x) =>
        Number.isInteger(x) && x >= 0
      )
    ) && [0, 1, 2].every((a) => roi.start[a] < roi.end[a]);
    if (!ok) {
      throw new InputError(
        "roi",
        ` ${JSON.stringify(roi)} must be "auto", null or { start: [x0, y0, z0], end: [x1, y1, z1] } ` +
          "(voxels, end exclusive, start < end)",
      );
    }
  }
}

/**
 * The training config's `posFraction` and `roi` for a run with crops of
 * `crop` and training `labels`. `roi: "auto"` boxes the labels (a function
 * giving them, e.g. reading lazy samples, is called for that only); a given
 * box is checked against the labels when they are an array. A box reaching
 * past a label's grid, or `"auto"` on labels of different grids or without
 * foreground, is an {@link InputError} of `roi`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeVolume } from "../data/mod.ts";
 * import { resolveCropSampling } from "./sampling.ts";
 * const d = new Uint8Array(1000);
 * d[5 + 10 * (5 + 10 * 5)] = 1;
 * const label = makeVolume(d, [10, 10, 10]);
 * const r = await resolveCropSampling({ roi: "auto", roiMargin: 1 }, [4, 4, 4], [label]);
 * assert.deepEqual(r, { posFraction: 0.5, roi: { start: [4, 4, 4], end: [7, 7, 7] } });
 * ```
 */
export async function resolveCropSampling(
  request: CropSamplingRequest,
  crop: Shape3,
  labels: readonly Volume[] | (() => Promise<readonly Volume[]>),
): Promise<Pick<TrainConfig, "posFraction" | "roi">> {
  checkCropSampling(request);
  const p = request.posFraction ?? "auto", roi = request.roi ?? null;
  const posFraction = p === "auto" ? autoPosFraction(crop) : p;
  if (roi === null) return { posFraction, roi: null };
  const margin = request.roiMargin ?? DEFAULT_ROI_MARGIN_MM;
  if (roi === "auto") {
    const all = typeof labels === "function" ? await labels() : labels;
    try {
      return { posFraction, roi: roiFromLabels(all, margin) };
    } catch (e) {
      throw new InputError("roi", ` auto: ${(e as Error).message}`);
    }
  }
  const text = `${roi.start},${roi.end}`;
  (typeof labels === "function" ? [] : labels).forEach((l, i) => {
    if (roi.end.some((e, a) => e > l.shape[a])) {
      throw new InputError("roi", ` ${text} reaches past training label ${i} of shape [${l.shape}]`);
    }
  });
  return { posFraction, roi: { start: [...roi.start], end: [...roi.end] } };
}

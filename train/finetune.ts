/**
 * {@link finetune}: the LoRA-PT protocol's fine-tuning as one library call
 * (what `lorapt finetune` and `lorapt experiment` run): draw a few-shot
 * split, read and z-score the training subjects, load the pre-trained
 * UNETR, adapt it with the method at its rank (the method's own unless
 * given), and train into a run folder (`config.json`, `split.json`,
 * `log.jsonl`, checkpoints). The run folder's rules (`run_folder.ts`) hold:
 * a fresh run needs an empty folder (or `overwrite`), and a resume refuses
 * any change of the data, pre-trained weights, model, method, rank, label
 * map or split (the run's fingerprint) or of the training config, which
 * holds the crops' resolved `posFraction` and `roi` (`sampling.ts`).
 * @module
 */
import {
  dataFingerprint,
  fewShotSplit,
  fileFingerprint,
  loadDataset,
  type LoadedSubject,
  loadSubject,
  Rng,
  type Sample,
  type Split,
  type Subject,
  writeSplit,
  zScore,
} from "../data/mod.ts";
import { getBackend } from "../tensor/mod.ts";
import { createUnetr, type UnetrConfig } from "../models/mod.ts";
import { checkRank, isMethod, METHOD_NAMES, methodInfo, RankError } from "../peft/mod.ts";
import { DEFAULT_TRAIN_CONFIG, train, type TrainConfig, type TrainResult } from "./loop.ts";
import { type PreparedMethod, prepareMethod } from "./methods.ts";
import type { ProgressOptions } from "./progress.ts";
import { buildUnetr, MODEL_KEY, presetConfig, pretrainedConfig, readPretrained } from "./pretrained.ts";
import { imgTriple } from "./validation.ts";
import { checkCropSampling, type CropSamplingRequest, DEFAULT_ROI_MARGIN_MM, resolveCropSampling } from "./sampling.ts";
import { InputError, inputErrors } from "./input_error.ts";

/**
 * What {@link finetune} does; only `data`, `pretrained` and `out` are
 * required. The crops (`posFraction`, `roi`, `roiMargin` of
 * {@link CropSamplingRequest}) are resolved for the model's input size and
 * the training labels, and recorded in the run's config.
 */
export interface FinetuneOptions extends CropSamplingRequest {
  /** Dataset folder: the authors' `subN/` layout or MSD `dataset.json`. */
  data: string;
  /** Pre-trained weights: a lorapt `.safetensors` (it records its UNETR config) or the authors' `.pth`. */
  pretrained: string;
  /** Run folder for config, split, log and checkpoints. */
  out: string;
  /** The method (peft/'s method table); default `"full"`. */
  method?: string;
  /** Rank of a low-rank method; default the method's own (the paper's: LoRA 32, Adapter 32, LoTR 2, PiSSA 2, LoRA-PT 1). */
  rank?: number;
  /** Training subjects drawn by the seed; all other labelled subjects are test. Default 5. */
  trainSize?: number;
  /** Take the dataset's train.txt/test.txt instead of drawing. */
  useLists?: boolean;
  /** Architecture when `pretrained` records none: a UNETR preset name (default `"unetr"`, the reference) or a config. */
  model?: string | UnetrConfig;
  /** Label values to merge, e.g. `{ 37: 1, 38: 1 }`. */
  labelMap?: Record<number, number>;
  /**
   * Training settings (epochs, lr, seed, …) over the library's defaults; the crop is the model's input size,
   * and its sampling the options `posFraction`, `roi` and `roiMargin`.
   */
  config?: Partial<Omit<TrainConfig, "crop" | "posFraction" | "roi">>;
  /** Continue the run in `out` from its resume.safetensors (refused when a setting that decides the numbers changed). */
  resume?: boolean;
  /** Clear an earlier run in `out` first (a fresh run into a folder holding one is refused). */
  overwrite?: boolean;
  /** Train even when the step's estimated memory exceeds the machine's (else refused with the estimate). */
  force?: boolean;
  /** Refuse images with more voxels than this, checked from the header before inflating (default 2^28). */
  maxVoxels?: number;
  /** When aborted: finish the epoch, write resume.safetensors and return with `result.interrupted` (Ctrl-C). */
  interrupt?: AbortSignal;
  /** Progress display options, or false (the default) for none. */
  progress?: ProgressOptions | false;
  /** Receives one line saying what trains, before training starts. */
  log?: (line: string) => void;
}

/** What {@link finetune} did. */
export interface FinetuneResult {
  /** The run folder. */
  runDir: string;
  /** The training loop's result. */
  result: TrainResult;
  /** Method, rank, trainable and total parameters. */
  report: PreparedMethod["report"];
  /** The split (also in `split.json`). */
  split: Split;
}

const WEIGHTS_FILE = /\.(safetensors|pth|pt)$/;

/**
 * Reads a subject (at most `maxVoxels` voxels per image, checked from the
 * header) and z-scores its image (the paper's preprocessing, §4.1); errors
 * name the files.
 */
export async function loadPreprocessed(
  subject: Subject,
  labelMap?: Record<number, number>,
  maxVoxels?: number,
): Promise<LoadedSubject> {
  const read = { read: { maxVoxels } };
  const s = await inputErrors(null, `subject ${subject.id}`, () => loadSubject(subject, { labelMap, ...read }));
  const pre = zScore()({ image: s.image }, new Rng(0));
  return { ...s, image: pre.image };
}

/** A loaded subject as a training sample (the label must exist). */
export function toSample(s: LoadedSubject): Sample {
  if (!s.label) throw new InputError(null, `subject ${s.id} has no label and cannot be used for training`);
  return { image: s.image, label: s.label };
}

/**
 * Fine-tunes pre-trained weights on a few labelled subjects (the paper's
 * §4.2 protocol) and writes the run folder; `predict(out, …)` then reads
 * it. Bad options, files and data are {@link InputError}s naming the option
 * (`trainSize 5 leaves no test subject …`); the rank is checked against the
 * model's shapes before anything is allocated.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makePhantomDataset } from "../data/mod.ts";
 * import { createUnetr } from "../models/mod.ts";
 * import { finetune, MODEL_KEY, saveCheckpoint } from "./mod.ts";
 * const dir = await Deno.makeTempDir();
 * await makePhantomDataset({ task: "hippocampus", n: 3, dir: `${dir}/data`, size: 16 });
 * const pre = createUnetr({ base: "unetr-tiny", imgSize: 16 }, { seed: 0 });
 * await saveCheckpoint(`${dir}/pre.safetensors`, pre, { metadata: { [MODEL_KEY]: JSON.stringify(pre.config) } });
 * const run = await finetune({
 *   data: `${dir}/data`, pretrained: `${dir}/pre.safetensors`, out: `${dir}/run`,
 *   method: "lora-pt", trainSize: 2, config: { epochs: 1, batchSize: 1 },
 * });
 * assert.equal(run.report.rank, 1); // LoRA-PT's own rank
 * assert.deepEqual(run.split.test.length, 1);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function finetune(options: FinetuneOptions): Promise<FinetuneResult> {
  const o = options;
  if (!o || typeof o.data !== "string" || typeof o.pretrained !== "string" || typeof o.out !== "string") {
    throw new InputError(null, "finetune: options need data, pretrained and out (paths)");
  }
  const method = o.method ?? "full";
  if (!isMethod(method)) throw new InputError("method", ` "${method}" is not one of ${METHOD_NAMES.join(", ")}`);
  const info = methodInfo(method);
  if (!WEIGHTS_FILE.test(o.pretrained)) {
    throw new InputError("pretrained", ` ${o.pretrained}: expected a .safetensors or .pth file`);
  }
  const nTrain = o.trainSize ?? 5;
  if (!(Number.isInteger(nTrain) && nTrain >= 1)) {
    throw new InputError("trainSize", ` ${nTrain} must be an integer ≥ 1`);
  }
  if (o.maxVoxels !== undefined && !(Number.isInteger(o.maxVoxels) && o.maxVoxels >= 1)) {
    throw new InputError("maxVoxels", ` ${o.maxVoxels} must be an integer ≥ 1`);
  }
  checkCropSampling(o);
  const root = o.data.replace(/\/+$/, "");
  const dir = o.out.replace(/\/+$/, "");
  const ds = await inputErrors("data", root, () => loadDataset(root));
  const labelled = ds.subjects.filter((x) => x.labelPath);
  if (labelled.length === 0) throw new InputError("data", ` ${root}: no subject has a label`);
  if (!o.useLists && nTrain >= labelled.length) {
    throw new InputError(
      "trainSize",
      ` ${nTrain} leaves no test subject among ${labelled.length} labelled subjects`,
    );
  }
  const recorded = await pretrainedConfig(o.pretrained);
  const asked = o.model === undefined ? null : typeof o.model === "object" ? o.model : presetConfig(o.model);
  if (recorded && asked) {
    // The weights decide the model: a different architecture asked for is a mistake, not a choice.
    const keys = ["hiddenSize", "mlpDim", "numHeads", "numLayers", "featureSize"] as const;
    const differ = keys.filter((k) => asked[k] !== undefined && asked[k] !== recorded[k]);
    if (differ.length > 0) {
      const name = typeof o.model === "string" ? o.model : "config";
      throw new InputError(
        "model",
        ` ${name} conflicts with the model that ${o.pretrained} records ` +
          `(${differ.map((k) => `${k} ${recorded[k]}, not ${asked[k]}`).join("; ")}): ` +
          "the weights decide the model, so leave it out",
      );
    }
  }
  const config = recorded ?? asked ?? presetConfig("unetr");
  // The rank against the model's shapes, on a shape-only model: before any weight, image or factor is read or made.
  try {
    checkRank(createUnetr({ ...config }, { materialize: false }), { method: info.name, rank: o.rank });
  } catch (e) {
    if (e instanceof RankError) throw new InputError("rank", ` ${e.rank}: ${e.message}`);
    throw e;
  }
  const pre = await readPretrained(o.pretrained);
  const tc: Partial<TrainConfig> = { ...o.config, crop: imgTriple(config) };
  const seed = tc.seed ?? DEFAULT_TRAIN_CONFIG.seed;
  let split: Split;
  if (o.useLists) {
    const l = ds.lists;
    if (!l?.train) throw new InputError("useLists", `: ${root} has no train.txt`);
    split = { seed: null, train: l.train, valid: l.valid ?? [], test: l.test ?? [] };
  } else {
    split = fewShotSplit(labelled, { nTrain, seed });
  }
  const samples: Sample[] = [];
  for (const subj of labelled.filter((x) => split.train.includes(x.id))) {
    samples.push(toSample(await loadPreprocessed(subj, o.labelMap, o.maxVoxels)));
  }
  // The crops' sampling for this crop size and these labels (`roi: "auto"` boxes them); the config records it.
  Object.assign(tc, await resolveCropSampling(o, tc.crop!, samples.map((x) => x.label!)));
  const base = buildUnetr(config, seed, pre.weights, o.pretrained);
  const rankOption = o.rank !== undefined ? { rank: o.rank } : {};
  const prepared = await prepareMethod(base, { method, ...rankOption });
  const { rank, trainable, total } = prepared.report;
  o.log?.(
    `finetune: ${method}${rank === null ? "" : ` (rank ${rank})`} trains ${trainable} of ${total} parameters on ` +
      `${split.train.length} subjects [${split.train.join(", ")}], ${split.test.length} test; ` +
      `backend ${getBackend().name}`,
  );
  const result = await train({
    model: prepared.model,
    trainable: prepared.trainable,
    samples,
    config: tc,
    outDir: dir,
    resume: o.resume ?? false,
    overwrite: o.overwrite ?? false,
    force: o.force ?? false,
    interrupt: o.interrupt,
    // What decides the numbers besides the training config: a resume refuses any change, naming it.
    fingerprint: {
      data: await dataFingerprint(labelled.map((x) => ({ id: x.id, paths: [x.imagePath, x.labelPath] }))),
      pretrained: await fileFingerprint([o.pretrained]),
      model: config,
      method,
      rank,
      labelMap: o.labelMap ?? null,
      split: split.train,
    },
    // split.json only once the run folder is checked (a refused run leaves the folder as it was).
    beforeStart: async () => void await writeSplit(dir, split, { dataset: root }),
    runInfo: {
      command: "finetune",
      data: root,
      pretrained: o.pretrained,
      method,
      rank,
      model: config,
      parameters: prepared.report,
      // As asked; config.posFraction and config.roi hold the values resolved from it.
      cropSampling: {
        posFraction: o.posFraction ?? "auto",
        roi: o.roi ?? null,
        roiMargin: o.roiMargin ?? DEFAULT_ROI_MARGIN_MM,
      },
    },
    metadata: {
      [MODEL_KEY]: JSON.stringify(config),
      "lorapt.method": method,
      ...(rank === null ? {} : { "lorapt.rank": String(rank) }),
    },
    progress: o.progress ?? false,
  });
  return { runDir: dir, result, report: prepared.report, split };
}

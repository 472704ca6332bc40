/**
 * {@link predict}: label maps for new scans from a run folder (the paper's
 * inference, §4.2): z-score, sliding windows of the model's input size, the
 * authors' second softmax, the mean over the last k checkpoints, argmax, and
 * removal of small components; {@link openRun} reads what a run folder
 * records, and {@link findScans} turns a file or folder into scans to predict.
 * Every scan is read and checked (NaN/Inf voxels, geometry, size) and every
 * checkpoint loaded into the run's model before the first result is handed
 * out, so a bad input leaves no partial output.
 *
 * A run trained with an ROI (`config.roi`, from `finetune({ roi })` or
 * `--roi`) predicts only the windows that meet its box
 * (`roiSlidingWindowInference`); every other voxel is background. The box is
 * in voxels of the training grid, so every scan must be co-registered to it:
 * a scan whose grid does not hold the box is refused before any output.
 *
 * A run pre-trained on BraTS (`config.json` records `brats.modalities`)
 * reads BraTS-layout input: `ID/ID_<modality>.nii.gz` for each of the run's
 * modalities, in the run's channel order, each z-scored over its voxels > 0
 * by the code that prepared the training data (`loadBratsChannels`). Its
 * three-class runs (out_channels 4) trained on NCR 1 → 1, ED 2 → 2,
 * ET 4 → 3, so their classes are written back as the BraTS values 1, 2 and
 * 4; merged runs write tumour = 1.
 * @module
 */
import type { Tensor } from "../tensor/mod.ts";
import {
  BRATS_CLASS_LABELS,
  type BratsModality,
  type BratsScan,
  findBratsScans,
  loadBratsChannels,
  loadDataset,
  modelPredictor,
  NAN_POLICIES,
  type NanPolicy,
  parseBratsModalities,
  type Predictor,
  readNifti,
  type ReadNiftiOptions,
  removeSmallComponents,
  Rng,
  type RoiBox,
  roiSlidingWindowInference,
  slidingWindowInference,
  type Volume,
  zScore,
} from "../data/mod.ts";
import type { Module, UNETR } from "../models/mod.ts";
import { ensembleCheckpoints } from "./checkpoint.ts";
import { prepareMethod } from "./methods.ts";
import { loadCheckpoint, unetrFromRecord } from "./pretrained.ts";
import { imgTriple } from "./validation.ts";
import { InputError, inputErrors } from "./input_error.ts";

/** One scan to predict: its id, where it comes from (for messages) and how to read it. */
export interface PredictScan {
  /** The output's id (`<id>.nii.gz`). */
  id: string;
  /** The file or folder it comes from. */
  path: string;
  /** The preprocessed input channels and the grid to write on; `read` (NaN policy, voxel bound) for NIfTI files. */
  load(read?: ReadNiftiOptions): Promise<{ channels: Volume[]; reference: Volume }>;
}

/** The parts of a run's config.json that predict reads (written by the training loop's runInfo). */
export interface RunRecord {
  /** The UNETR config. */
  model?: { inChannels?: number; outChannels?: number };
  /** The method. */
  method?: unknown;
  /** The method's rank (null or absent: none). */
  rank?: number | null;
  /** Training settings; `roi`: the crops' box, which prediction keeps to. */
  config?: { epochs?: number; ensemble?: number; roi?: RoiBox | null };
  /** The checkpoint files the run writes (the training loop's record); predict ensembles no other. */
  checkpoints?: { epochs?: string[]; ensemble?: string[] };
  /** BraTS runs only. */
  brats?: { modalities?: unknown; mergeLabels?: boolean };
}

/** A run folder opened for prediction: its model with the method's structure (shape-only) and what it takes. */
export interface Run {
  /** The run folder. */
  dir: string;
  /** Its config.json. */
  configPath: string;
  /** What config.json says. */
  record: RunRecord;
  /** BraTS modalities in channel order, or null for a run on single images. */
  modalities: BratsModality[] | null;
  /** Maps each output class to the label value written (identity but for three-class BraTS), or null. */
  labelValues: number[] | null;
  /** The model, built shape-only with the run's method: {@link predict} loads each checkpoint into it. */
  model: UNETR;
  /** The sliding window: the model's input size. */
  window: [number, number, number];
  /** Epochs trained (which epoch checkpoints exist). */
  epochs: number;
  /** Checkpoints averaged by default. */
  ensemble: number;
  /** The run's ROI (voxels of the training grid, end exclusive): only windows meeting it run; null: all. */
  roi: RoiBox | null;
}

/** Options of {@link predict}. */
export interface PredictOptions {
  /** Average the last K epoch checkpoints (default: the run's ensemble). */
  ensemble?: number;
  /** Use this one `.safetensors` checkpoint (of the run's model) instead of the ensemble. */
  checkpoint?: string;
  /** Input voxels that are NaN or Inf: `"refuse"` (default: the scan is an error) or `"zero"` (set to 0). */
  nan?: NanPolicy;
  /** Refuse input images with more voxels than this, checked from the header (default 2^28). */
  maxVoxels?: number;
  /** Window overlap fraction in [0, 1) (default 0). */
  overlap?: number;
  /** Remove 6-connected foreground components smaller than this many mm³ (default 1000; 0 = off). */
  minMm3?: number;
  /** The authors' second softmax before ensembling (default true). */
  secondSoftmax?: boolean;
  /** Called with each label map as soon as it is done (e.g. to write it); awaited. */
  onScan?: (result: PredictedScan, index: number) => void | Promise<void>;
  /** Called once with the checkpoint files used, before the first scan. */
  onCheckpoints?: (files: string[]) => void;
}

/** One predicted scan. */
export interface PredictedScan {
  /** The scan's id. */
  id: string;
  /** Where it came from. */
  path: string;
  /** Label values (BraTS values for a three-class BraTS run) on the reference grid. */
  labels: Volume<Uint8Array>;
  /** The source volume whose grid and affine the labels have. */
  reference: Volume;
  /** Number of non-zero voxels. */
  foreground: number;
}

const NIFTI = /\.nii(\.gz)?$/;

/**
 * A single-channel NIfTI scan: read and z-scored (the paper's
 * preprocessing, §4.1). `id` defaults to the file name without `.nii(.gz)`.
 */
export function niftiScan(path: string, id: string = path.replace(/^.*\//, "").replace(NIFTI, "")): PredictScan {
  return {
    id,
    path,
    load: async (read?: ReadNiftiOptions) => {
      const image = await readNifti(path, read);
      const f32: Volume<Float32Array> = { ...image, data: Float32Array.from(image.data), datatype: "float32" };
      return { channels: [zScore()({ image: f32 }, new Rng(0)).image], reference: image };
    },
  };
}

/** A BraTS subject: the run's modalities in the run's order, preprocessed as in training. */
export function bratsScan(scan: BratsScan, modalities: BratsModality[]): PredictScan {
  return {
    id: scan.id,
    path: scan.dir,
    load: async () => {
      const { channels } = await loadBratsChannels(scan, modalities);
      return { channels, reference: channels[0] };
    },
  };
}

/** The test ids of the run's split.json. */
export async function runTestIds(runDir: string): Promise<Set<string>> {
  const split = await inputErrors(
    null,
    `${runDir}/split.json`,
    async () => JSON.parse(await Deno.readTextFile(`${runDir}/split.json`)),
  );
  return new Set<string>(split.test ?? []);
}

/**
 * The scans for `scans` (found in the BraTS folder `dir`) for a run trained on `modalities`; all files checked before
 * any is read.
 */
async function bratsScans(
  dir: string,
  scans: BratsScan[],
  modalities: BratsModality[],
  subjects: "all" | "test",
  runDir: string,
): Promise<PredictScan[]> {
  if (subjects === "test") {
    const test = await runTestIds(runDir);
    scans = scans.filter((x) => test.has(x.id));
    if (scans.length === 0) {
      throw new InputError("subjects", ` test: none of ${runDir}/split.json's test ids is a BraTS subject in ${dir}`);
    }
  }
  for (const scan of scans) {
    const missing = modalities.find((m) => !scan.images[m]);
    if (missing) {
      throw new InputError(
        "input",
        ` ${dir}: subject ${scan.id} has no ${missing} file: ${scan.dir}/${scan.id}_${missing}.nii.gz ` +
          `(or .nii) does not exist; run ${runDir} needs ${modalities.join(", ")}`,
      );
    }
  }
  return scans.map((scan) => bratsScan(scan, modalities));
}

/**
 * The scans of `input` for `run`: a NIfTI file, a folder of NIfTI files, a
 * dataset folder (its images; `subjects: "test"` keeps the run's test ids),
 * or for a BraTS run a BraTS folder or one subject folder. Every file is
 * checked before any is read; mistakes are {@link InputError}s of `input` or
 * `subjects`.
 */
export async function findScans(
  input: string,
  run: Pick<Run, "dir" | "modalities">,
  options: { subjects?: "all" | "test" } = {},
): Promise<PredictScan[]> {
  const subjects = options.subjects ?? "all", runDir = run.dir;
  const st = await Deno.stat(input).catch(() => null);
  if (!st) throw new InputError("input", `: ${input} does not exist`);
  const modalities = run.modalities;
  const multi = modalities !== null && modalities.length > 1;
  const needs = modalities &&
    `${modalities.length} channel${modalities.length > 1 ? "s" : ""} (${modalities.join(", ")})`;
  const layout = modalities && `ID/ID_${modalities[0]}.nii.gz, …`;
  if (st.isFile) {
    if (multi) {
      throw new InputError(
        "input",
        ` ${input} is one image, but run ${runDir} was trained on ${needs}: give a BraTS folder ` +
          `(${layout}) or one subject folder holding ${modalities.map((m) => `ID_${m}.nii.gz`).join(", ")}`,
      );
    }
    if (!NIFTI.test(input)) throw new InputError("input", ` ${input}: expected a .nii or .nii.gz file`);
    return [niftiScan(input)];
  }
  const dir = input.replace(/\/+$/, "");
  if (modalities) {
    const found = await inputErrors("input", dir, () => findBratsScans(dir));
    if (found.length > 0) return await bratsScans(dir, found, modalities, subjects, runDir);
    if (multi) {
      throw new InputError(
        "input",
        ` ${dir} holds no BraTS subject, but run ${runDir} was trained on ${needs}: give a BraTS folder ` +
          `(${layout}) or one subject folder`,
      );
    }
  }
  const isDataset = await Deno.stat(`${dir}/dataset.json`).then(() => true, () => false) ||
    await (async () => {
      for await (const e of Deno.readDir(dir)) {
        if (e.isDirectory && await Deno.stat(`${dir}/${e.name}/${e.name}_img.nii.gz`).then(() => true, () => false)) {
          return true;
        }
      }
      return false;
    })();
  if (isDataset) {
    const ds = await inputErrors("input", dir, () => loadDataset(dir));
    let list = ds.subjects;
    if (subjects === "test") {
      const test = await runTestIds(runDir);
      list = list.filter((x) => test.has(x.id));
      if (list.length === 0) {
        throw new InputError("subjects", ` test: none of ${runDir}/split.json's test ids is in ${dir}`);
      }
    }
    return list.map((x) => niftiScan(x.imagePath, x.id));
  }
  const out: PredictScan[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && NIFTI.test(e.name)) out.push(niftiScan(`${dir}/${e.name}`));
  }
  if (out.length === 0) throw new InputError("input", ` ${dir}: no .nii or .nii.gz files`);
  return out.sort((a, b) => a.id.localeCompare(b.id, "en", { numeric: true }));
}

/**
 * The run's inputs and label values: BraTS runs record `brats.modalities`
 * (in_channels = their number) and `brats.mergeLabels` (false: out_channels
 * 4, classes NCR, ED, ET written as 1, 2, 4).
 */
function runInput(record: RunRecord, path: string): Pick<Run, "modalities" | "labelValues"> {
  const inChannels = record.model?.inChannels ?? 1, outChannels = record.model?.outChannels ?? 2;
  const brats = record.brats;
  if (!brats?.modalities) {
    if (inChannels !== 1) {
      throw new InputError(
        null,
        `${path}: the model takes ${inChannels} input channels but the run records no brats.modalities, ` +
          "so predict cannot tell which files are its channels",
      );
    }
    return { modalities: null, labelValues: null };
  }
  let modalities: BratsModality[];
  try {
    modalities = parseBratsModalities(Array.isArray(brats.modalities) ? brats.modalities.join(",") : "");
  } catch (e) {
    throw new InputError(null, `${path}: brats.modalities: ${(e as Error).message}`);
  }
  if (modalities.length !== inChannels) {
    throw new InputError(
      null,
      `${path}: brats.modalities [${modalities}] name ${modalities.length} channels, the model takes ${inChannels}`,
    );
  }
  const threeClass = brats.mergeLabels === false;
  if (outChannels !== (threeClass ? 4 : 2)) {
    throw new InputError(
      null,
      `${path}: brats.mergeLabels ${brats.mergeLabels !== false} needs out_channels ${threeClass ? 4 : 2}, ` +
        `the model has ${outChannels}`,
    );
  }
  return { modalities, labelValues: threeClass ? [...BRATS_CLASS_LABELS] : null };
}

/** The run's `config.roi`, checked to be a voxel box; null when it records none. */
function runRoi(roi: unknown, path: string): RoiBox | null {
  if (roi === undefined || roi === null) return null;
  const r = roi as RoiBox;
  const ok = [r.start, r.end].every((v) => Array.isArray(v) && v.length === 3 && v.every(Number.isInteger)) &&
    [0, 1, 2].every((a) => r.start[a] >= 0 && r.start[a] < r.end[a]);
  if (!ok) throw new InputError(null, `${path}: config.roi ${JSON.stringify(roi)} is not a voxel box`);
  return { start: [...r.start], end: [...r.end] };
}

/**
 * Opens a run folder written by `finetune` (or `lorapt pretrain`): reads its
 * config.json and builds its model with the run's method and rank
 * shape-only (`materialize: false`), so no random weights are drawn and no
 * initial t-SVD (LoRA-PT) or SVD (PiSSA) is computed only to be replaced by
 * the checkpoints' weights.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openRun } from "./predict.ts";
 * const dir = await Deno.makeTempDir();
 * const model = { base: "unetr-tiny", imgSize: 16, hiddenSize: 8, mlpDim: 16, numHeads: 2 };
 * await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify({ model, method: "pissa", rank: 2 }));
 * const run = await openRun(dir);
 * assert.deepEqual(run.window, [16, 16, 16]);
 * assert.ok(run.model.namedParameters().some(([n]) => n.endsWith("pissa_U")));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function openRun(runDir: string): Promise<Run> {
  const dir = runDir.replace(/\/+$/, "");
  const configPath = `${dir}/config.json`;
  const record: RunRecord = await inputErrors(
    "run",
    dir,
    async () => JSON.parse(await Deno.readTextFile(configPath)),
  );
  const input = runInput(record, configPath);
  const base = unetrFromRecord(record.model, configPath);
  const method = typeof record.method === "string" ? record.method : "full";
  const rank = typeof record.rank === "number" ? { rank: record.rank } : {};
  const { model } = await inputErrors(null, configPath, () => prepareMethod(base, { method, ...rank }));
  return {
    dir,
    configPath,
    record,
    ...input,
    model,
    window: imgTriple(base.config),
    epochs: record.config?.epochs ?? 0,
    ensemble: record.config?.ensemble ?? 4,
    roi: runRoi(record.config?.roi, configPath),
  };
}

/**
 * The ensemble members: the last `k` of the epoch checkpoints that the run's
 * config.json lists (a folder may still hold an earlier run's files), each
 * checked to exist; an `explicit` ensemble beyond the list is refused. Runs
 * written before that list existed use the plan of their epochs and ensemble.
 */
async function runEnsemble(r: Run, k: number, explicit: boolean): Promise<string[]> {
  const listed = r.record.checkpoints?.ensemble;
  if (!listed) return await inputErrors("run", r.dir, () => ensembleCheckpoints(r.dir, r.epochs, k));
  if (!explicit) k = Math.min(k, listed.length); // a run shorter than its ensemble keeps every epoch
  if (k > listed.length) {
    throw new InputError(
      "ensemble",
      ` ${k}: run ${r.dir} keeps ${listed.length} epoch checkpoint${listed.length > 1 ? "s" : ""} ` +
        `(${listed.join(", ")})`,
    );
  }
  const files = listed.slice(listed.length - k).map((f) => `${r.dir}/${f}`);
  for (const f of files) {
    if (!(await Deno.stat(f).then((st) => st.isFile, () => false))) {
      throw new InputError("run", ` ${r.dir}: ${f} does not exist (the run is unfinished)`);
    }
  }
  return files;
}

/**
 * Label maps of `scans` (file paths of single-channel NIfTI scans, or
 * {@link PredictScan}s from {@link findScans}) with the run in folder `run`
 * (or opened by {@link openRun}): the mean of the softmaxes of its last
 * `ensemble` epoch checkpoints over sliding windows, argmax, and small
 * components removed. Each result is on its source scan's grid.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makePhantomDataset } from "../data/mod.ts";
 * import { createUnetr } from "../models/mod.ts";
 * import { finetune, MODEL_KEY, predict, saveCheckpoint } from "./mod.ts";
 * const dir = await Deno.makeTempDir();
 * await makePhantomDataset({ task: "hippocampus", n: 3, dir: `${dir}/data`, size: 16 });
 * const pre = createUnetr({ base: "unetr-tiny", imgSize: 16 }, { seed: 0 });
 * await saveCheckpoint(`${dir}/pre.safetensors`, pre, { metadata: { [MODEL_KEY]: JSON.stringify(pre.config) } });
 * const { split } = await finetune({
 *   data: `${dir}/data`, pretrained: `${dir}/pre.safetensors`, out: `${dir}/run`,
 *   method: "decoder", trainSize: 2, config: { epochs: 1, batchSize: 1, ensemble: 1 },
 * });
 * const [p] = await predict(`${dir}/run`, [`${dir}/data/${split.test[0]}/${split.test[0]}_img.nii.gz`], { minMm3: 0 });
 * assert.deepEqual(p.labels.shape, p.reference.shape);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function predict(
  run: string | Run,
  scans: readonly (string | PredictScan)[],
  options: PredictOptions = {},
): Promise<PredictedScan[]> {
  const r = typeof run === "string" ? await openRun(run) : run;
  const overlap = options.overlap ?? 0, minMm3 = options.minMm3 ?? 1000;
  if (!(overlap >= 0 && overlap < 1)) throw new InputError("overlap", ` ${overlap} must be in [0, 1)`);
  if (!(minMm3 >= 0)) throw new InputError("minMm3", ` ${minMm3} must be ≥ 0`);
  const k = options.ensemble ?? r.ensemble;
  if (!(Number.isInteger(k) && k >= 1)) throw new InputError("ensemble", ` ${k} must be an integer ≥ 1`);
  const nan = options.nan ?? "refuse", maxVoxels = options.maxVoxels;
  if (!NAN_POLICIES.includes(nan)) throw new InputError("nan", ` "${nan}" is not one of ${NAN_POLICIES.join(", ")}`);
  if (maxVoxels !== undefined && !(Number.isInteger(maxVoxels) && maxVoxels >= 1)) {
    throw new InputError("maxVoxels", ` ${maxVoxels} must be an integer ≥ 1`);
  }
  const read: ReadNiftiOptions = { nan, ...(maxVoxels === undefined ? {} : { maxVoxels }) };
  if (options.checkpoint !== undefined && !options.checkpoint.endsWith(".safetensors")) {
    throw new InputError(
      "checkpoint",
      ` ${options.checkpoint}: predict takes a .safetensors checkpoint written by lorapt; ` +
        "a PyTorch .pth holds pre-trained weights: fine-tune from it (lorapt finetune --pretrained)",
    );
  }
  const list = scans.map((s) => (typeof s === "string" ? niftiScan(s) : s));
  const model = r.model as Module & { forward(x: Tensor): Tensor };
  model.eval();
  const files = options.checkpoint ? [options.checkpoint] : await runEnsemble(r, k, options.ensemble !== undefined);
  const members: Map<string, Tensor>[] = [];
  for (const f of files) {
    const weights = await loadCheckpoint(f);
    try {
      model.loadStateDict(weights); // checked now, so a member of another model fails before any output
    } catch (e) {
      throw new InputError(
        null,
        `checkpoint ${f} does not fit run ${r.dir}'s model (${r.configPath}): ${(e as Error).message}`,
      );
    }
    members.push(weights);
  }
  options.onCheckpoints?.(files);
  // Every scan is read and checked before the first result is handed out; the reads are repeated below,
  // one scan in memory at a time.
  for (const scan of list) {
    const { channels } = await inputErrors("input", scan.path, () => scan.load(read));
    const shape = channels[0].shape, roi = r.roi;
    if (roi && roi.end.some((e, a) => e > shape[a])) {
      throw new InputError(
        "input",
        ` ${scan.path}: shape [${shape}] does not hold the run's ROI [${roi.start}]..[${roi.end}] ` +
          `(${r.configPath}); a run trained with an ROI predicts scans co-registered to its training grid`,
      );
    }
  }
  // One model, its weights swapped to the member that a call is for.
  let loaded = -1;
  const forward = modelPredictor(model);
  const predictors = members.map((weights, m): Predictor => (batch, shape) => {
    if (loaded !== m) {
      model.loadStateDict(weights);
      loaded = m;
    }
    return forward(batch, shape);
  });
  const out: PredictedScan[] = [];
  for (const [i, scan] of list.entries()) {
    const { channels, reference } = await inputErrors("input", scan.path, () => scan.load(read));
    const windows = { window: r.window, overlap, secondSoftmax: options.secondSoftmax ?? true };
    const res = r.roi
      ? await roiSlidingWindowInference(channels, predictors, r.roi, windows)
      : await slidingWindowInference(channels, predictors, windows);
    // Small components of the whole foreground (every class together) go; the kept voxels keep their class.
    const keep = minMm3 > 0
      ? removeSmallComponents(res.labels.data, res.labels.shape, { minMm3, spacing: reference.spacing })
      : null;
    const values = r.labelValues;
    const data = res.labels.data.map((c, j) => keep && !keep[j] ? 0 : values ? values[c] : c);
    const result: PredictedScan = {
      id: scan.id,
      path: scan.path,
      labels: { ...res.labels, data },
      reference,
      foreground: data.reduce((s, x) => s + (x ? 1 : 0), 0),
    };
    await options.onScan?.(result, i);
    out.push(result);
  }
  return out;
}

/**
 * `lorapt predict`: label maps for new scans from a run folder (spec
 * training-protocol.md §7–8): z-score, sliding windows of the model's input
 * size, the second softmax, the mean over the last k checkpoints, argmax,
 * removal of small components, and `.nii.gz` output on the source grid.
 *
 * A run pre-trained on BraTS (`config.json` records `brats.modalities`) reads
 * BraTS-layout input: `ID/ID_<modality>.nii.gz` for each of the run's
 * modalities, in the run's channel order, each z-scored over its voxels > 0
 * by the code that prepared the training data (`loadBratsChannels`). Its
 * three-class runs (`--three-class`, out_channels 4) trained on NCR 1 → 1,
 * ED 2 → 2, ET 4 → 3, so their classes are written back as the BraTS values
 * 1, 2 and 4; merged runs write tumour = 1.
 * @module
 */
import { type Tensor, useBackend } from "../tensor/mod.ts";
import {
  BRATS_CLASS_LABELS,
  type BratsModality,
  type BratsScan,
  findBratsScans,
  loadBratsChannels,
  loadDataset,
  modelPredictor,
  parseBratsModalities,
  type Predictor,
  readNifti,
  removeSmallComponents,
  Rng,
  type RoiBox,
  roiSlidingWindowInference,
  slidingWindowInference,
  type Volume,
  writeNifti,
  zScore,
} from "../data/mod.ts";
import { ensembleCheckpoints, loadCheckpoint, prepareMethod } from "../train/mod.ts";
import type { Module } from "../models/mod.ts";
import {
  asUserError,
  choice,
  type CommandSpec,
  existingDir,
  existingFile,
  flag,
  type FlagValues,
  need,
  num,
  str,
  UsageError,
} from "./args.ts";
import { unetrFromRecord } from "./model_io.ts";

/** `lorapt predict`. */
export const PREDICT: CommandSpec = {
  name: "predict",
  summary: "write .nii.gz label maps for scans with a trained run",
  description: "--input is a NIfTI file, a folder of NIfTI files, or a dataset folder (its images are used).\n" +
    "For a run pre-trained on BraTS it is a BraTS folder (ID/ID_<modality>.nii.gz) or one subject\n" +
    "folder; the run's modalities are its channels (a single NIfTI file only for a one-modality run),\n" +
    "and a three-class run writes the BraTS labels 1 NCR, 2 ED, 4 ET.\n" +
    "Each output <id>.nii.gz has the source image's grid and affine (BraTS: the first modality's).",
  flags: {
    run: { type: "string", value: "RUN_DIR", help: "run folder written by finetune or pretrain" },
    input: {
      type: "string",
      value: "PATH",
      help: "NIfTI file, folder of NIfTI files, dataset folder, or BraTS (subject) folder",
    },
    out: { type: "string", value: "DIR", help: "output folder for <id>.nii.gz" },
    subjects: {
      type: "string",
      value: "SET",
      help: "for a dataset or BraTS folder: all | test (the run's split.json test ids)",
      default: "all",
    },
    ensemble: {
      type: "string",
      value: "K",
      help: "average the last K epoch checkpoints (spec §7; default: the run's)",
    },
    checkpoint: { type: "string", value: "FILE", help: "use this one checkpoint instead of the ensemble" },
    overlap: { type: "string", value: "F", help: "window overlap fraction in [0, 1)", default: "0" },
    "min-mm3": {
      type: "string",
      value: "V",
      help: "remove 6-connected components smaller than V mm³ (spec §8; 0 = off)",
      default: "1000",
    },
    "no-second-softmax": { type: "boolean", help: "skip the authors' second softmax before ensembling" },
    backend: { type: "string", value: "NAME", help: "auto | cpu | webgpu", default: "auto" },
    quiet: { type: "boolean", help: "print nothing but errors" },
  },
};

/** One scan to predict: its id, where it comes from (for messages) and how to read it. */
interface Job {
  id: string;
  path: string;
  /** The preprocessed input channels and the grid to write on. */
  load(): Promise<{ channels: Volume[]; reference: Volume }>;
}

/** What the run's model takes and gives, from its config.json. */
interface RunInput {
  /** BraTS modalities in channel order, or null for a run on single images. */
  modalities: BratsModality[] | null;
  /** Maps each output class to the label value written (identity but for three-class BraTS). */
  labelValues: number[] | null;
}

const NIFTI = /\.nii(\.gz)?$/;

/** A single-channel NIfTI scan: read, z-scored (spec §3). */
function niftiJob(id: string, path: string): Job {
  return {
    id,
    path,
    load: async () => {
      const image = await readNifti(path);
      const f32: Volume<Float32Array> = { ...image, data: Float32Array.from(image.data), datatype: "float32" };
      return { channels: [zScore()({ image: f32 }, new Rng(0)).image], reference: image };
    },
  };
}

/** A BraTS subject: the run's modalities in the run's order, preprocessed as in training. */
function bratsJob(scan: BratsScan, modalities: BratsModality[]): Job {
  return {
    id: scan.id,
    path: scan.dir,
    load: async () => {
      const { channels } = await loadBratsChannels(scan, modalities);
      return { channels, reference: channels[0] };
    },
  };
}

async function testIds(runDir: string): Promise<Set<string>> {
  const split = await asUserError(
    `${runDir}/split.json`,
    async () => JSON.parse(await Deno.readTextFile(`${runDir}/split.json`)),
  );
  return new Set<string>(split.test ?? []);
}

/**
 * The jobs for `scans` (found in the BraTS folder `dir`) for a run trained on `modalities`; all files checked before
 * any is read.
 */
async function bratsJobs(
  dir: string,
  scans: BratsScan[],
  modalities: BratsModality[],
  subjects: string,
  runDir: string,
): Promise<Job[]> {
  if (subjects === "test") {
    const test = await testIds(runDir);
    scans = scans.filter((x) => test.has(x.id));
    if (scans.length === 0) {
      throw new UsageError(`--subjects test: none of ${runDir}/split.json's test ids is a BraTS subject in ${dir}`);
    }
  }
  for (const scan of scans) {
    const missing = modalities.find((m) => !scan.images[m]);
    if (missing) {
      throw new UsageError(
        `--input ${dir}: subject ${scan.id} has no ${missing} file: ${scan.dir}/${scan.id}_${missing}.nii.gz ` +
          `(or .nii) does not exist; run ${runDir} needs ${modalities.join(", ")}`,
      );
    }
  }
  return scans.map((scan) => bratsJob(scan, modalities));
}

async function jobs(input: string, subjects: string, runDir: string, run: RunInput): Promise<Job[]> {
  const st = await Deno.stat(input).catch(() => null);
  if (!st) throw new UsageError(`--input: ${input} does not exist`);
  const modalities = run.modalities;
  const multi = modalities !== null && modalities.length > 1;
  const needs = modalities &&
    `${modalities.length} channel${modalities.length > 1 ? "s" : ""} (${modalities.join(", ")})`;
  const layout = modalities && `ID/ID_${modalities[0]}.nii.gz, …`;
  if (st.isFile) {
    if (multi) {
      throw new UsageError(
        `--input ${input} is one image, but run ${runDir} was trained on ${needs}: give a BraTS folder ` +
          `(${layout}) or one subject folder holding ${modalities.map((m) => `ID_${m}.nii.gz`).join(", ")}`,
      );
    }
    if (!NIFTI.test(input)) throw new UsageError(`--input ${input}: expected a .nii or .nii.gz file`);
    return [niftiJob(input.replace(/^.*\//, "").replace(NIFTI, ""), input)];
  }
  const dir = input.replace(/\/+$/, "");
  if (modalities) {
    const found = await asUserError(`--input ${dir}`, () => findBratsScans(dir));
    if (found.length > 0) return await bratsJobs(dir, found, modalities, subjects, runDir);
    if (multi) {
      throw new UsageError(
        `--input ${dir} holds no BraTS subject, but run ${runDir} was trained on ${needs}: give a BraTS folder ` +
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
    const ds = await asUserError(`--input ${dir}`, () => loadDataset(dir));
    let list = ds.subjects;
    if (subjects === "test") {
      const test = await testIds(runDir);
      list = list.filter((x) => test.has(x.id));
      if (list.length === 0) {
        throw new UsageError(`--subjects test: none of ${runDir}/split.json's test ids is in ${dir}`);
      }
    }
    return list.map((x) => niftiJob(x.id, x.imagePath));
  }
  const out: Job[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && NIFTI.test(e.name)) out.push(niftiJob(e.name.replace(NIFTI, ""), `${dir}/${e.name}`));
  }
  if (out.length === 0) throw new UsageError(`--input ${dir}: no .nii or .nii.gz files`);
  return out.sort((a, b) => a.id.localeCompare(b.id, "en", { numeric: true }));
}

/** The parts of a run's config.json that predict reads (written by `train`'s runInfo). */
interface RunRecord {
  model?: { inChannels?: number; outChannels?: number };
  method?: unknown;
  rank?: number;
  config?: { epochs?: number; ensemble?: number; roi?: RoiBox | null };
  /** BraTS runs only (cli/train_cmd.ts `bratsData`). */
  brats?: { modalities?: unknown; mergeLabels?: boolean };
}

/** Reads the run's config.json. */
async function runRecord(runDir: string): Promise<{ path: string; record: RunRecord }> {
  const path = `${runDir}/config.json`;
  const record = await asUserError(`--run ${runDir}`, async () => JSON.parse(await Deno.readTextFile(path)));
  return { path, record };
}

/**
 * The run's inputs and label values: BraTS runs record `brats.modalities`
 * (in_channels = their number) and `brats.mergeLabels` (false: out_channels
 * 4, classes NCR, ED, ET written as 1, 2, 4).
 */
function runInput(record: RunRecord, path: string): RunInput {
  const inChannels = record.model?.inChannels ?? 1, outChannels = record.model?.outChannels ?? 2;
  const brats = record.brats;
  if (!brats?.modalities) {
    if (inChannels !== 1) {
      throw new UsageError(
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
    throw new UsageError(`${path}: brats.modalities: ${(e as Error).message}`);
  }
  if (modalities.length !== inChannels) {
    throw new UsageError(
      `${path}: brats.modalities [${modalities}] name ${modalities.length} channels, the model takes ${inChannels}`,
    );
  }
  const threeClass = brats.mergeLabels === false;
  if (outChannels !== (threeClass ? 4 : 2)) {
    throw new UsageError(
      `${path}: brats.mergeLabels ${brats.mergeLabels !== false} needs out_channels ${threeClass ? 4 : 2}, ` +
        `the model has ${outChannels}`,
    );
  }
  return { modalities, labelValues: threeClass ? [...BRATS_CLASS_LABELS] : null };
}

/** The model of a run, with its method's structure, in eval mode; and its input size. */
async function runModel(
  record: RunRecord,
  path: string,
): Promise<{ model: Module & { forward(x: Tensor): Tensor }; window: number[]; epochs: number; ensemble: number }> {
  const base = unetrFromRecord(record.model, path);
  const method = typeof record.method === "string" ? record.method : "full";
  const { model } = await asUserError(`${path}`, () => prepareMethod(base, { method, rank: record.rank }));
  const img = base.config.imgSize;
  const window = typeof img === "number" ? [img, img, img] : [...img];
  return {
    model: model as typeof base,
    window,
    epochs: record.config?.epochs ?? 0,
    ensemble: record.config?.ensemble ?? 4,
  };
}

/** One line per written file; returns the written paths. */
export async function runPredict(v: FlagValues): Promise<string[]> {
  const runDir = await existingDir(need(v, "run"), "run");
  const outDir = need(v, "out").replace(/\/+$/, "");
  const subjects = choice(v, "subjects", ["all", "test"] as const);
  const overlap = num(v, "overlap", { min: 0, max: 0.99 });
  const minMm3 = num(v, "min-mm3", { min: 0 });
  const quiet = flag(v, "quiet");
  const { path: configPath, record } = await runRecord(runDir);
  const input = runInput(record, configPath);
  const list = await jobs(need(v, "input"), subjects, runDir, input);
  await useBackend(choice(v, "backend", ["auto", "cpu", "webgpu"] as const));
  const { model, window, epochs, ensemble } = await runModel(record, configPath);
  model.eval();
  const k = str(v, "ensemble") ? num(v, "ensemble", { min: 1, integer: true }) : ensemble;
  const single = str(v, "checkpoint");
  const files = single
    ? [await existingFile(single, "checkpoint")]
    : await asUserError(`--run ${runDir}`, () => ensembleCheckpoints(runDir, epochs, k));
  const members = [];
  for (const f of files) members.push((await asUserError(`checkpoint ${f}`, () => loadCheckpoint(f))).model);
  // One model, its weights swapped to the member that a call is for.
  let loaded = -1;
  const run = modelPredictor(model);
  const predictors = members.map((weights, m): Predictor => (batch, shape) => {
    if (loaded !== m) {
      model.loadStateDict(weights);
      loaded = m;
    }
    return run(batch, shape);
  });
  await Deno.mkdir(outDir, { recursive: true });
  if (!quiet) {
    const inputs = input.modalities ? `, channels ${input.modalities.join(", ")}` : "";
    console.error(
      `predict: ${list.length} scans${inputs}, ensemble of ${files.map((f) => f.replace(/^.*\//, "")).join(", ")}` +
        (record.config?.roi ? `, ROI [${record.config.roi.start}]..[${record.config.roi.end}]` : ""),
    );
  }
  const written: string[] = [];
  for (const job of list) {
    const { channels, reference } = await asUserError(`--input ${job.path}`, () => job.load());
    const windowOptions = {
      window: window as [number, number, number],
      overlap,
      secondSoftmax: !flag(v, "no-second-softmax"),
    };
    // A run trained with --roi predicts only the windows that meet its box; the rest is background.
    const roi = record.config?.roi;
    if (roi && roi.end.some((e, a) => e > channels[0].shape[a])) {
      throw new UsageError(
        `--input ${job.path}: shape [${channels[0].shape}] does not hold the run's ROI [${roi.start}]..[${roi.end}] ` +
          `(${configPath}); --roi assumes scans co-registered to the training grid`,
      );
    }
    const r = roi
      ? await roiSlidingWindowInference(channels, predictors, roi, windowOptions)
      : await slidingWindowInference(channels, predictors, windowOptions);
    // Small components of the whole foreground (every class together) go; the kept voxels keep their class.
    const keep = minMm3 > 0
      ? removeSmallComponents(r.labels.data, r.labels.shape, { minMm3, spacing: reference.spacing })
      : null;
    const values = input.labelValues;
    const data = r.labels.data.map((c, i) => keep && !keep[i] ? 0 : values ? values[c] : c);
    const labels = { ...r.labels, data };
    const path = `${outDir}/${job.id}.nii.gz`;
    await writeNifti(path, labels, { reference, description: `lorapt predict ${runDir}` });
    written.push(path);
    if (!quiet) {
      const fg = data.reduce((s, x) => s + (x ? 1 : 0), 0);
      console.error(`  ${job.id}: ${fg} foreground voxels → ${path}`);
    }
  }
  return written;
}

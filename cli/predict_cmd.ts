/**
 * `lorapt predict`: label maps for new scans from a run folder (spec
 * training-protocol.md §7–8): z-score, sliding windows of the model's input
 * size, the second softmax, the mean over the last k checkpoints, argmax,
 * removal of small components, and `.nii.gz` output on the source grid.
 * @module
 */
import { fromArray, type Tensor, tidy, useBackend } from "../tensor/mod.ts";
import {
  type BatchShape,
  loadDataset,
  readNifti,
  removeSmallComponents,
  Rng,
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
    "Each output <id>.nii.gz has the source image's grid and affine.",
  flags: {
    run: { type: "string", value: "RUN_DIR", help: "run folder written by finetune or pretrain" },
    input: { type: "string", value: "PATH", help: "NIfTI file, folder of NIfTI files, or dataset folder" },
    out: { type: "string", value: "DIR", help: "output folder for <id>.nii.gz" },
    subjects: {
      type: "string",
      value: "SET",
      help: "for a dataset folder: all | test (the run's split.json test ids)",
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

/** One scan to predict. */
interface Job {
  id: string;
  path: string;
}

const NIFTI = /\.nii(\.gz)?$/;

async function jobs(input: string, subjects: string, runDir: string): Promise<Job[]> {
  const st = await Deno.stat(input).catch(() => null);
  if (!st) throw new UsageError(`--input: ${input} does not exist`);
  if (st.isFile) {
    if (!NIFTI.test(input)) throw new UsageError(`--input ${input}: expected a .nii or .nii.gz file`);
    return [{ id: input.replace(/^.*\//, "").replace(NIFTI, ""), path: input }];
  }
  const dir = input.replace(/\/+$/, "");
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
      const split = await asUserError(
        `${runDir}/split.json`,
        async () => JSON.parse(await Deno.readTextFile(`${runDir}/split.json`)),
      );
      const test = new Set<string>(split.test ?? []);
      list = list.filter((x) => test.has(x.id));
      if (list.length === 0) {
        throw new UsageError(`--subjects test: none of ${runDir}/split.json's test ids is in ${dir}`);
      }
    }
    return list.map((x) => ({ id: x.id, path: x.imagePath }));
  }
  const out: Job[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && NIFTI.test(e.name)) out.push({ id: e.name.replace(NIFTI, ""), path: `${dir}/${e.name}` });
  }
  if (out.length === 0) throw new UsageError(`--input ${dir}: no .nii or .nii.gz files`);
  return out.sort((a, b) => a.id.localeCompare(b.id, "en", { numeric: true }));
}

/** The model of a run, with its method's structure, in eval mode; and its input size. */
async function runModel(
  runDir: string,
): Promise<{ model: Module & { forward(x: Tensor): Tensor }; window: number[]; epochs: number; ensemble: number }> {
  const path = `${runDir}/config.json`;
  const record = await asUserError(`--run ${runDir}`, async () => JSON.parse(await Deno.readTextFile(path)));
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
  const list = await jobs(need(v, "input"), subjects, runDir);
  await useBackend(choice(v, "backend", ["auto", "cpu", "webgpu"] as const));
  const { model, window, epochs, ensemble } = await runModel(runDir);
  model.eval();
  const k = str(v, "ensemble") ? num(v, "ensemble", { min: 1, integer: true }) : ensemble;
  const single = str(v, "checkpoint");
  const files = single
    ? [await existingFile(single, "checkpoint")]
    : await asUserError(`--run ${runDir}`, () => ensembleCheckpoints(runDir, epochs, k));
  const members = [];
  for (const f of files) members.push((await asUserError(`checkpoint ${f}`, () => loadCheckpoint(f))).model);
  let loaded = -1;
  const predictors = members.map((weights, m) => async (batch: Float32Array, shape: BatchShape) => {
    if (loaded !== m) {
      model.loadStateDict(weights);
      loaded = m;
    }
    const y = tidy(() => model.forward(fromArray(batch.slice(), shape)));
    const out = await y.data();
    y.dispose();
    return out as Float32Array;
  });
  await Deno.mkdir(outDir, { recursive: true });
  if (!quiet) {
    console.error(`predict: ${list.length} scans, ensemble of ${files.map((f) => f.replace(/^.*\//, "")).join(", ")}`);
  }
  const written: string[] = [];
  for (const job of list) {
    const image = await asUserError(`--input ${job.path}`, () => readNifti(job.path));
    const f32: Volume<Float32Array> = { ...image, data: Float32Array.from(image.data), datatype: "float32" };
    const pre = zScore()({ image: f32 }, new Rng(0)).image;
    const r = await slidingWindowInference(pre, predictors, {
      window: window as [number, number, number],
      overlap,
      secondSoftmax: !flag(v, "no-second-softmax"),
    });
    const labels = minMm3 > 0
      ? { ...r.labels, data: removeSmallComponents(r.labels.data, r.labels.shape, { minMm3, spacing: image.spacing }) }
      : r.labels;
    const path = `${outDir}/${job.id}.nii.gz`;
    await writeNifti(path, labels, { reference: image, description: `lorapt predict ${runDir}` });
    written.push(path);
    if (!quiet) console.error(`  ${job.id}: ${labels.data.reduce((s, x) => s + x, 0)} foreground voxels → ${path}`);
  }
  return written;
}

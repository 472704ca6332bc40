/**
 * `lorapt predict`: label maps for new scans from a run folder, written as
 * `.nii.gz` on the source grid. Flags → options → `findScans` and `predict`
 * (train/predict.ts, which documents the pipeline and the BraTS input) →
 * files. Every input is read and checked before the first output is
 * written, and the output folder is made only then.
 * @module
 */
import { BACKEND_CHOICES, useBackend } from "../tensor/mod.ts";
import { NAN_POLICIES, writeNifti } from "../data/mod.ts";
import { findScans, openRun, predict } from "../train/mod.ts";
import {
  asUserError,
  BACKEND_HELP,
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
import { libraryCall } from "./model_io.ts";

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
      help: "average the last K epoch checkpoints (the authors' test.py; default: the run's)",
    },
    checkpoint: {
      type: "string",
      value: "FILE",
      help: "use this one .safetensors checkpoint (of this run's model) instead of the ensemble",
    },
    overlap: { type: "string", value: "F", help: "window overlap fraction in [0, 1)", default: "0" },
    "min-mm3": {
      type: "string",
      value: "V",
      help: "remove 6-connected components smaller than V mm³ (the authors' evaluation/dice.py; 0 = off)",
      default: "1000",
    },
    "no-second-softmax": { type: "boolean", help: "skip the authors' second softmax before ensembling" },
    nan: {
      type: "string",
      value: "POLICY",
      help: "input voxels that are NaN or Inf: refuse (the scan is an error) | zero (set to 0)",
      default: "refuse",
    },
    "max-voxels": {
      type: "string",
      value: "N",
      help: "refuse input images with more voxels than N (checked from the header, before inflating)",
      default: "268435456",
    },
    backend: { type: "string", value: "NAME", help: BACKEND_HELP, default: "auto" },
    quiet: { type: "boolean", help: "print nothing but errors" },
  },
};

/** One line per written file; returns the written paths. */
export async function runPredict(v: FlagValues): Promise<string[]> {
  const runDir = await existingDir(need(v, "run"), "run");
  const outDir = need(v, "out").replace(/\/+$/, "");
  const subjects = choice(v, "subjects", ["all", "test"] as const);
  const overlap = num(v, "overlap", { min: 0, max: 0.99 });
  const minMm3 = num(v, "min-mm3", { min: 0 });
  const quiet = flag(v, "quiet");
  const ensemble = str(v, "ensemble") ? num(v, "ensemble", { min: 1, integer: true }) : undefined;
  const nan = choice(v, "nan", NAN_POLICIES);
  const maxVoxels = num(v, "max-voxels", { min: 1, integer: true });
  const outSt = await Deno.stat(outDir).catch(() => null);
  if (outSt && !outSt.isDirectory) throw new UsageError(`--out ${outDir} is a file, not a folder`);
  const single = str(v, "checkpoint");
  // Another extension is predict's to refuse (with why); a .safetensors must exist.
  const checkpoint = single?.endsWith(".safetensors") ? await existingFile(single, "checkpoint") : single;
  const backend = choice(v, "backend", BACKEND_CHOICES);
  const input = need(v, "input");
  await useBackend(backend); // before the model is built: its tensors live on the backend
  const run = await libraryCall(() => openRun(runDir));
  const scans = await libraryCall(() => findScans(input, run, { subjects }));
  const written: string[] = [];
  await libraryCall(() =>
    predict(run, scans, {
      ensemble,
      checkpoint,
      overlap,
      minMm3,
      secondSoftmax: !flag(v, "no-second-softmax"),
      nan,
      maxVoxels,
      onCheckpoints: (files) => {
        if (quiet) return;
        const inputs = run.modalities ? `, channels ${run.modalities.join(", ")}` : "";
        console.error(
          `predict: ${scans.length} scans${inputs}, ensemble of ${
            files.map((f) => f.replace(/^.*\//, "")).join(", ")
          }` +
            (run.roi ? `, windows meeting the run's ROI [${run.roi.start}]..[${run.roi.end}]` : ""),
        );
      },
      onScan: async (r) => {
        // Made only now: predict calls onScan once every input is checked.
        if (written.length === 0) await asUserError(`--out ${outDir}`, () => Deno.mkdir(outDir, { recursive: true }));
        const path = `${outDir}/${r.id}.nii.gz`;
        await writeNifti(path, r.labels, { reference: r.reference, description: `lorapt predict ${runDir}` });
        written.push(path);
        if (!quiet) console.error(`  ${r.id}: ${r.foreground} foreground voxels → ${path}`);
      },
    })
  );
  return written;
}

/**
 * `lorapt pretrain` and `lorapt finetune`: read a dataset, build or load a
 * UNETR, pick the trainable set, and run the training loop into a run folder
 * (`config.json`, `split.json`, `log.jsonl`, checkpoints).
 *
 * `lorapt pretrain` reads three layouts: the authors' (`subN/subN_img`), the
 * MSD one, and BraTS 2021 (`BraTS2021_XXXXX/BraTS2021_XXXXX_{t1,t1ce,t2,flair,seg}`,
 * the paper's §4.1; detected, or forced with `--layout brats`).
 * On BraTS the input is T1ce alone unless `--modalities` says otherwise
 * (in_channels follows), the tumour labels merge into one class unless
 * `--three-class` (out_channels 4, multi-class soft Dice), the subjects are
 * split 1000/125/126 by `--seed` (scaled for other sizes; the folder's
 * train/valid/test.txt override) into `split.json`, and the validation
 * subjects are scored every `--val-every` epochs, `model_best.safetensors`
 * keeping the best weights.
 * @module
 */
import {
  bratsChannel,
  type BratsModality,
  bratsSplit,
  dataFingerprint,
  loadBrats,
  loadBratsSubject,
  loadDataset,
  looksLikeBrats,
  parseBratsModalities,
  type Split,
  type Volume,
  writeBratsSplit,
} from "../data/mod.ts";
import type { BratsSubject } from "../data/mod.ts";
import { parseLabelMap, parseRoi } from "../data/mod.ts";
import { BACKEND_CHOICES, useBackend } from "../tensor/mod.ts";
import {
  type CropSamplingRequest,
  finetune,
  imgTriple,
  METHODS,
  PAPER_RANKS,
  prepareMethod,
  resolveCropSampling,
  sampleLabels,
  train,
  type TrainConfig,
  type TrainResult,
  validationDice,
  type ValidationSubject,
} from "../train/mod.ts";
import type { LazySamples, TrainSample } from "../train/loop.ts";
import type { UnetrConfig } from "../models/mod.ts";
import {
  asUserError,
  BACKEND_HELP,
  choice,
  type CommandSpec,
  existingDir,
  existingFile,
  flag,
  type FlagSpec,
  type FlagValues,
  Interrupted,
  need,
  num,
  str,
  UsageError,
  userValue,
} from "./args.ts";
import {
  buildUnetr,
  libraryCall,
  loadPreprocessed,
  MODEL_KEY,
  MODEL_NAMES,
  presetConfig,
  toSample,
} from "./model_io.ts";

const s = (help: string, value?: string, def?: string): FlagSpec => ({ type: "string", help, value, default: def });
const b = (help: string): FlagSpec => ({ type: "boolean", help });

/** Flags shared by pretrain and finetune (the paper's §4.3 and the authors' scripts: defaults). */
const TRAIN_FLAGS: Record<string, FlagSpec> = {
  data: s("dataset folder (authors' subN/ layout or MSD dataset.json)", "DIR"),
  out: s("run folder for config, log and checkpoints", "RUN_DIR"),
  epochs: s("training epochs", "E", "1000"),
  "batch-size": s("crops per step (drop_last)", "N", "4"),
  lr: s("initial learning rate", "LR", "1e-3"),
  "weight-decay": s("weight decay (coupled L2 for adam, decoupled for adamw)", "WD", "1e-5"),
  optimizer: s("adam | adamw", "NAME", "adam"),
  "no-amsgrad": b("turn AMSGrad off (the authors train with it on)"),
  schedule: s("poly-epoch (authors' code) | poly-iteration (paper) | constant", "NAME", "poly-epoch"),
  loss: s("dice (authors' softmax_dice2) | dice-ce", "NAME", "dice"),
  seed: s("seed of split, initialisation, data order, augmentation and dropout", "S", "1000"),
  "checkpoint-every": s("write resume.safetensors every N epochs (and at the end)", "N", "10"),
  ensemble: s("keep the weights of the last K epochs for ensembling", "K", "4"),
  "no-flip": b("turn random flips off"),
  "no-intensity": b("turn the per-slice intensity augmentation off"),
  "label-map": s('merge label values, e.g. "37,38:1"', "MAP"),
  resume: b(
    "continue the run in --out from its resume.safetensors (refused when a setting that decides the numbers changed)",
  ),
  overwrite: b("clear the earlier run in --out first (a fresh run into a folder holding one is refused)"),
  "max-voxels": s(
    "refuse images (authors' and MSD layouts) with more voxels than N, checked from the header before inflating",
    "N",
    "268435456",
  ),
  force: b("train even when the step's estimated memory exceeds the machine's (else refused with the estimate)"),
  backend: s(BACKEND_HELP, "NAME", "auto"),
  quiet: b("no progress display"),
  "pos-fraction": s(
    "share of crops centred on a random foreground voxel, 0..1; auto: 0 (uniform) at 128³ crops, else 0.5",
    "P",
    "auto",
  ),
  roi: s(
    "draw crops inside a box of co-registered scans: auto (training labels' bounding box + --roi-margin) " +
      "or x0,y0,z0,x1,y1,z1 (voxels, end exclusive); predict runs only the windows that meet it",
    "BOX",
  ),
  "roi-margin": s("margin of --roi auto around the labels, mm", "MM", "10"),
};

/** `lorapt pretrain`. */
export const PRETRAIN: CommandSpec = {
  name: "pretrain",
  summary: "train a UNETR from scratch on a labelled dataset (e.g. tumour phantoms or BraTS)",
  description: "Every labelled subject trains (or those in train.txt). The run's model_last.safetensors\n" +
    "is what `lorapt finetune --pretrained` takes.",
  flags: {
    model: s(`architecture: ${MODEL_NAMES.join(" | ")}`, "NAME", "unetr"),
    ...TRAIN_FLAGS,
    data: s("dataset folder (authors' subN/ layout, MSD dataset.json, or BraTS 2021 BraTS2021_XXXXX/)", "DIR"),
    layout: s("auto (BraTS when sub-folders hold ID_t1ce or ID_seg files) | brats | authors | msd", "NAME", "auto"),
    modalities: s("BraTS input channels in order, from t1,t1ce,t2,flair (default t1ce; in_channels follows)", "LIST"),
    "three-class": b("BraTS: keep NCR, ED and ET as classes 1-3 (out_channels 4) instead of one tumour class"),
    "img-size": s("model input and crop size (multiple of 16; default: the model's, 128 for unetr)", "N"),
    "val-every": s("Dice on the validation subjects after every N-th epoch (epochs 1, N+1, …; 0: never)", "N", "10"),
    "data-cache": s("auto (memory up to 16 GiB of training data) | memory | disk (read every step)", "MODE", "auto"),
  },
};

/** `lorapt finetune`. */
export const FINETUNE: CommandSpec = {
  name: "finetune",
  summary: "fine-tune pre-trained weights on a few labelled subjects (the LoRA-PT protocol)",
  description:
    "Draws --train-size training subjects by --seed (all others are test, as in the paper's §4.1), trains\n" +
    "the method's parameters, and writes split.json and checkpoints into --out.",
  flags: {
    pretrained: s("pre-trained weights (.safetensors from lorapt, or the authors' .pth)", "FILE"),
    method: s(METHODS.join(" | "), "M", "full"),
    rank: s(
      `rank of the low-rank methods (default: the method's own, the paper's: ${rankList()})`,
      "R",
    ),
    "train-size": s("number of training subjects drawn by --seed", "N", "5"),
    "use-lists": b("take train.txt/test.txt of the dataset instead of drawing"),
    model: s(
      `architecture when --pretrained does not record one (then default unetr): ${MODEL_NAMES.join(" | ")}; ` +
        "refused when it differs from the one the weights record",
      "NAME",
    ),
    "frozen-dropout": s(
      "train (dropout on everywhere, as the authors) | off (off where nothing trains)",
      "MODE",
      "train",
    ),
    ...TRAIN_FLAGS,
  },
};

/** The training settings of the flags shared by pretrain, finetune and experiment, but the seed and the crop. */
export function sharedTrainConfig(v: FlagValues): Partial<TrainConfig> {
  return {
    epochs: num(v, "epochs", { min: 1, integer: true }),
    batchSize: num(v, "batch-size", { min: 1, integer: true }),
    lr: num(v, "lr", { min: 0 }),
    weightDecay: num(v, "weight-decay", { min: 0 }),
    optimizer: choice(v, "optimizer", ["adam", "adamw"] as const),
    amsgrad: !flag(v, "no-amsgrad"),
    schedule: choice(v, "schedule", ["poly-epoch", "poly-iteration", "constant"] as const),
    loss: choice(v, "loss", ["dice", "dice-ce"] as const),
    checkpointEvery: num(v, "checkpoint-every", { min: 0, integer: true }),
    ensemble: num(v, "ensemble", { min: 1, integer: true }),
    flip: !flag(v, "no-flip"),
    intensity: !flag(v, "no-intensity"),
    evalEvery: 0,
  };
}

function trainConfig(v: FlagValues, crop: [number, number, number]): Partial<TrainConfig> {
  const shared = sharedTrainConfig(v);
  return { ...shared, crop, seed: num(v, "seed", { integer: true }) };
}

/**
 * `--pos-fraction`, `--roi` and `--roi-margin` as asked (`auto` stays
 * `auto`: the run resolves it for its crop and labels); a malformed value is
 * a UsageError naming the flag.
 */
export function cropSamplingFlags(v: FlagValues): CropSamplingRequest {
  const p = need(v, "pos-fraction");
  const x = Number(p);
  if (p !== "auto" && (p.trim() === "" || !(x >= 0 && x <= 1))) {
    throw new UsageError(`--pos-fraction "${p}" must be auto or a number in 0..1`);
  }
  const roi = str(v, "roi");
  return {
    posFraction: p === "auto" ? "auto" : x,
    roi: roi === undefined ? null : roi === "auto" ? "auto" : userValue(`--roi ${roi}`, () => parseRoi(roi)),
    roiMargin: num(v, "roi-margin", { min: 0 }),
  };
}

function outDir(v: FlagValues): string {
  return need(v, "out").replace(/\/+$/, "");
}

/** What a training command did, for callers such as the demo. */
export interface TrainCommandResult {
  /** The run folder. */
  runDir: string;
  /** The loop's result. */
  result: TrainResult;
  /** Trainable / total parameters. */
  report: { method: string; trainable: number; total: number };
  /** The split (finetune only). */
  split?: Split;
}

/** What the pretrain data paths hand to the loop. */
interface PretrainData {
  root: string;
  layout: string;
  train: string[];
  valid: string[];
  samples: readonly TrainSample[] | LazySamples;
  validation: () => AsyncIterable<ValidationSubject>;
  /** Extra entries for config.json. */
  info: Record<string, unknown>;
  /** Every subject's files, for the run's data fingerprint. */
  files: { id: string; paths: (string | undefined)[] }[];
  /** Writes split.json once the run folder is checked. */
  writeFiles: () => Promise<unknown>;
  inChannels: number;
  outChannels: number;
  classNames: string[];
}

/** Memory limit of `--data-cache auto`. */
const CACHE_BYTES = 16 * 2 ** 30;

async function bratsData(v: FlagValues, root: string, seed: number, dir: string): Promise<PretrainData> {
  const text = str(v, "modalities");
  let modalities: BratsModality[] = ["t1ce"];
  if (text !== undefined) {
    try {
      modalities = parseBratsModalities(text);
    } catch {
      throw new UsageError(
        `--modalities "${text}": give distinct names from t1, t1ce, t2, flair, e.g. t1,t1ce,t2,flair`,
      );
    }
  }
  const mergeLabels = !flag(v, "three-class");
  const cache = choice(v, "data-cache", ["auto", "memory", "disk"] as const);
  const ds = await asUserError(`--data ${root}`, () => loadBrats(root, { modalities, mergeLabels }));
  let split: Split;
  try {
    split = bratsSplit(ds.subjects.map((x) => x.id), { seed, lists: ds.lists });
  } catch (e) {
    throw new UsageError(`--data ${root}: ${(e as Error).message}`);
  }
  const byId = new Map(ds.subjects.map((x) => [x.id, x]));
  const read = async (subject: BratsSubject): Promise<TrainSample & { id: string; label: Volume<Uint8Array> }> => {
    const s = await asUserError(`subject ${subject.id}`, () => loadBratsSubject(subject, { modalities, mergeLabels }));
    const channels = Array.from({ length: s.channels }, (_, c) => bratsChannel(s, c));
    const sample = s.channels === 1
      ? { image: channels[0], label: s.label }
      : { image: channels[0], label: s.label, channels };
    return { id: s.id, ...sample };
  };
  const trainSubjects = split.train.map((id) => byId.get(id)!);
  let samples: readonly TrainSample[] | LazySamples;
  let mode: "memory" | "disk" = cache === "disk" ? "disk" : "memory";
  const first = await read(trainSubjects[0]);
  const bytes = first.label.data.length * (4 * modalities.length + 1) * trainSubjects.length;
  if (cache === "auto" && bytes > CACHE_BYTES) mode = "disk";
  if (mode === "memory") {
    const all: TrainSample[] = [first];
    for (const subj of trainSubjects.slice(1)) all.push(await read(subj));
    samples = all;
  } else {
    samples = { length: trainSubjects.length, load: (i) => read(trainSubjects[i]) };
  }
  const validation = async function* () {
    for (const id of split.valid) {
      const s = await read(byId.get(id)!);
      yield { id, channels: s.channels ?? [s.image], label: s.label };
    }
  };
  const classNames = mergeLabels ? ["background", "tumour"] : ["background", "ncr", "ed", "et"];
  return {
    root,
    layout: "brats",
    train: split.train,
    valid: split.valid,
    samples,
    validation,
    inChannels: modalities.length,
    outChannels: ds.classes,
    classNames,
    files: ds.subjects.map((x) => ({ id: x.id, paths: [...Object.values(x.images), x.segPath] })),
    writeFiles: () => writeBratsSplit(dir, split, ds),
    info: {
      brats: {
        modalities,
        mergeLabels,
        classes: classNames,
        labelMapping: mergeLabels ? "NCR 1, ED 2, ET 4 -> tumour 1" : "NCR 1 -> 1, ED 2 -> 2, ET 4 -> 3",
        intensity: "z-score per channel over voxels > 0 (the authors' data/preprocess.py)",
        split: { seed: split.seed, train: split.train.length, valid: split.valid.length, test: split.test.length },
        splitSource: split.seed === null ? "train/valid/test.txt in the dataset folder" : "seeded draw (--seed)",
        dataCache: mode,
        trainingBytes: bytes,
      },
    },
  };
}

async function plainData(v: FlagValues, root: string, layout: "auto" | "authors" | "msd"): Promise<PretrainData> {
  const labelMap = labelMapFlag(v);
  const ds = await asUserError(`--data ${root}`, () => loadDataset(root, { layout }));
  const labelled = ds.subjects.filter((x) => x.labelPath);
  if (labelled.length === 0) throw new UsageError(`--data ${root}: no subject has a label`);
  const ids = new Set(ds.lists?.train ?? labelled.map((x) => x.id));
  const subjects = labelled.filter((x) => ids.has(x.id));
  const samples: TrainSample[] = [];
  const maxVoxels = num(v, "max-voxels", { min: 1, integer: true });
  for (const subj of subjects) samples.push(toSample(await loadPreprocessed(subj, labelMap, maxVoxels)));
  const validIds = new Set(ds.lists?.valid ?? []);
  const valid = labelled.filter((x) => validIds.has(x.id));
  const validation = async function* () {
    for (const subj of valid) {
      const s = toSample(await loadPreprocessed(subj, labelMap, maxVoxels));
      yield { id: subj.id, channels: [s.image], label: s.label! };
    }
  };
  return {
    root,
    layout: ds.layout,
    train: subjects.map((x) => x.id),
    valid: valid.map((x) => x.id),
    samples,
    validation,
    info: {},
    files: labelled.map((x) => ({ id: x.id, paths: [x.imagePath, x.labelPath] })),
    writeFiles: () => Promise.resolve(),
    inChannels: 1,
    outChannels: 2,
    classNames: ["background", "foreground"],
  };
}

/** Runs `lorapt pretrain` with parsed flags. */
export async function runPretrain(v: FlagValues): Promise<TrainCommandResult> {
  const preset = presetConfig(need(v, "model"));
  const layout = choice(v, "layout", ["auto", "brats", "authors", "msd"] as const);
  const imgSize = str(v, "img-size") ? num(v, "img-size", { min: 16, integer: true }) : undefined;
  if (imgSize !== undefined && imgSize % 16 !== 0) {
    throw new UsageError(`--img-size ${imgSize} must be a multiple of the patch size 16`);
  }
  const valEvery = num(v, "val-every", { min: 0, integer: true });
  const tc0 = trainConfig(v, [16, 16, 16]); // checks every number before any file is read
  const crops = cropSamplingFlags(v);
  const root = await existingDir(need(v, "data"), "data");
  const brats = layout === "brats" || (layout === "auto" && await looksLikeBrats(root));
  if (!brats && (str(v, "modalities") !== undefined || flag(v, "three-class"))) {
    throw new UsageError(
      `--modalities and --three-class apply to BraTS data; ${root} is not in the BraTS layout ` +
        `(ID/ID_t1ce.nii.gz; --layout brats forces it)`,
    );
  }
  const dir = outDir(v);
  const backend = await useBackend(choice(v, "backend", BACKEND_CHOICES));
  const data = brats
    ? await bratsData(v, root, tc0.seed!, dir)
    : await plainData(v, root, layout as "auto" | "authors" | "msd");
  const config: UnetrConfig = {
    ...preset,
    inChannels: data.inChannels,
    outChannels: data.outChannels,
    ...(imgSize !== undefined ? { imgSize } : {}),
  };
  const tc: Partial<TrainConfig> = {
    ...tc0,
    crop: imgTriple(config),
    evalEvery: data.valid.length > 0 ? valEvery : 0,
  };
  // --roi auto boxes the training labels (lazy BraTS samples are read once for it, and only for it).
  const samples = data.samples;
  const labels = Array.isArray(samples) ? await sampleLabels(samples) : () => sampleLabels(samples);
  Object.assign(tc, await libraryCall(() => resolveCropSampling(crops, tc.crop!, labels)));
  const model = buildUnetr(config, tc.seed!);
  const { trainable, report } = await prepareMethod(model, { method: "full" });
  const quiet = flag(v, "quiet");
  if (!quiet) {
    console.error(
      `pretrain: ${data.layout} layout, ${data.train.length} training and ${data.valid.length} validation subjects ` +
        `from ${root}, in ${config.inChannels} / out ${config.outChannels} channels, ${report.total} parameters, ` +
        `backend ${backend}`,
    );
  }
  const fingerprint = {
    data: await dataFingerprint(data.files),
    layout: data.layout,
    model: config,
    classes: data.classNames,
    inputs: (data.info.brats as { modalities?: unknown } | undefined)?.modalities ?? null,
  };
  const result = await trainInterruptible(v, dir, (interrupt) =>
    train({
      model,
      trainable,
      samples: data.samples,
      config: tc,
      outDir: dir,
      resume: flag(v, "resume"),
      overwrite: flag(v, "overwrite"),
      force: flag(v, "force"),
      interrupt,
      fingerprint,
      beforeStart: async () => void await data.writeFiles(),
      runInfo: {
        command: "pretrain",
        data: root,
        layout: data.layout,
        method: "full",
        model: config,
        recipe: "the paper's §4.1: settings beyond the data are 'as in the original UNETR paper' and " +
          "not specified there; this run uses the values in config (the library's training defaults unless overridden)",
        train: data.train,
        // As asked; config.posFraction and config.roi hold the values resolved from it.
        cropSampling: crops,
        validation: {
          subjects: data.valid,
          every: tc.evalEvery,
          metric: "dice: mean foreground Dice (argmax of sliding windows of the model's size, no overlap)",
          best: "model_best.safetensors",
        },
        ...data.info,
      },
      metadata: { [MODEL_KEY]: JSON.stringify(config) },
      evaluate: data.valid.length > 0 ? () => validationDice(model, data.validation, data.classNames) : undefined,
      best: { metric: "dice" },
      progress: quiet ? false : {},
    }), (x) => x);
  return { runDir: dir, result, report };
}

/** Runs `lorapt finetune` with parsed flags: flags → {@link finetune} options → call. */
export async function runFinetune(v: FlagValues): Promise<TrainCommandResult> {
  // Cheap checks first, so a typo fails before any file is read.
  const data = await existingDir(need(v, "data"), "data");
  const pretrained = await existingFile(need(v, "pretrained"), "pretrained");
  const method = need(v, "method");
  if (!METHODS.includes(method)) throw new UsageError(`--method "${method}" is not one of ${METHODS.join(", ")}`);
  const rank = str(v, "rank") !== undefined ? num(v, "rank") : undefined; // checked against the model by finetune
  const frozenDropout = choice(v, "frozen-dropout", ["train", "off"] as const);
  const checked = trainConfig(v, [16, 16, 16]);
  const trainSize = num(v, "train-size", { min: 1, integer: true });
  const labelMap = labelMapFlag(v);
  const maxVoxels = num(v, "max-voxels", { min: 1, integer: true });
  const crops = cropSamplingFlags(v);
  const backendName = choice(v, "backend", BACKEND_CHOICES);
  const model = str(v, "model"); // absent: the weights' own, else unetr
  if (model !== undefined && !(MODEL_NAMES as readonly string[]).includes(model)) presetConfig(model); // names --model
  await useBackend(backendName);
  const { crop: _crop, ...config } = checked;
  const quiet = flag(v, "quiet");
  const r = await trainInterruptible(v, outDir(v), (interrupt) =>
    libraryCall(() =>
      finetune({
        data,
        pretrained,
        out: outDir(v),
        method,
        rank,
        trainSize,
        useLists: flag(v, "use-lists"),
        model,
        labelMap,
        ...crops,
        config: { ...config, frozenDropout },
        resume: flag(v, "resume"),
        overwrite: flag(v, "overwrite"),
        force: flag(v, "force"),
        maxVoxels,
        interrupt,
        progress: quiet ? false : {},
        log: quiet ? undefined : (line) => console.error(line),
      })
    ), (x) => x.result);
  return { runDir: r.runDir, result: r.result, report: r.report, split: r.split };
}

/** `--label-map`, parsed; a malformed map is a UsageError naming the flag. */
function labelMapFlag(v: FlagValues): Record<number, number> | undefined {
  const text = str(v, "label-map");
  return text ? userValue("--label-map", () => parseLabelMap(text)) : undefined;
}

/**
 * Runs a training call with Ctrl-C wired to its `interrupt`: the epoch in
 * progress finishes, `resume.safetensors` is written, and the command ends
 * with one line saying how to continue (exit code 130). A second Ctrl-C
 * stops at once (the checkpoints are written atomically, so none is left
 * half-written).
 */
async function trainInterruptible<T>(
  v: FlagValues,
  dir: string,
  call: (interrupt: AbortSignal) => Promise<T>,
  resultOf: (x: T) => TrainResult,
): Promise<T> {
  const interrupt = new AbortController();
  const onSigint = () => {
    if (interrupt.signal.aborted) Deno.exit(130);
    interrupt.abort();
    if (!flag(v, "quiet")) {
      console.error("\nCtrl-C: finishing this epoch, then saving resume.safetensors (again: stop now)");
    }
  };
  Deno.addSignalListener("SIGINT", onSigint);
  let out: T;
  try {
    out = await call(interrupt.signal);
  } finally {
    Deno.removeSignalListener("SIGINT", onSigint);
  }
  const result = resultOf(out);
  if (result.interrupted) {
    throw new Interrupted(
      `interrupted after epoch ${result.epochsDone}; ${dir}/resume.safetensors is saved: ` +
        "continue with the same command and --resume",
    );
  }
  return out;
}

/** The methods with a rank and their default ranks, for the help. */
function rankList(): string {
  return METHODS.flatMap((m) => (PAPER_RANKS[m] ? [`${m} ${PAPER_RANKS[m]}`] : [])).join(", ");
}

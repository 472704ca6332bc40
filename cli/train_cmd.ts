/**
 * `lorapt pretrain` and `lorapt finetune`: read a dataset, build or load a
 * UNETR, pick the trainable set, and run the training loop into a run folder
 * (`config.json`, `split.json`, `log.jsonl`, checkpoints).
 *
 * `lorapt pretrain` reads three layouts: the authors' (`subN/subN_img`), the
 * MSD one, and BraTS 2021 (`BraTS2021_XXXXX/BraTS2021_XXXXX_{t1,t1ce,t2,flair,seg}`,
 * spec training-protocol.md §1; detected, or forced with `--layout brats`).
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
  dice,
  fewShotSplit,
  loadBrats,
  loadBratsSubject,
  loadDataset,
  modelPredictor,
  parseBratsModalities,
  slidingWindowInference,
  type Split,
  type Subject,
  type Volume,
  writeBratsSplit,
  writeSplit,
} from "../data/mod.ts";
import type { BratsSubject } from "../data/mod.ts";
import { parseLabelMap, parseRoi } from "../data/mod.ts";
import { useBackend } from "../tensor/mod.ts";
import {
  METHODS,
  parsePosFraction,
  prepareMethod,
  resolveRoi,
  train,
  type TrainConfig,
  type TrainResult,
} from "../train/mod.ts";
import type { LazySamples, TrainSample } from "../train/loop.ts";
import type { UNETR, UnetrConfig } from "../models/mod.ts";
import {
  asUserError,
  choice,
  type CommandSpec,
  existingDir,
  existingFile,
  flag,
  type FlagSpec,
  type FlagValues,
  need,
  num,
  str,
  UsageError,
} from "./args.ts";
import {
  buildUnetr,
  loadPreprocessed,
  MODEL_KEY,
  MODEL_NAMES,
  presetConfig,
  readPretrained,
  toSample,
} from "./model_io.ts";

const s = (help: string, value?: string, def?: string): FlagSpec => ({ type: "string", help, value, default: def });
const b = (help: string): FlagSpec => ({ type: "boolean", help });

/** Flags shared by pretrain and finetune (spec training-protocol.md §4–6 defaults). */
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
  resume: b("continue the run in --out from its resume.safetensors"),
  backend: s("auto (WebGPU when an adapter exists) | cpu | webgpu", "NAME", "auto"),
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
  description: "Draws --train-size training subjects by --seed (all others are test, spec §2), trains\n" +
    "the method's parameters, and writes split.json and checkpoints into --out.",
  flags: {
    pretrained: s("pre-trained weights (.safetensors from lorapt, or the authors' .pth)", "FILE"),
    method: s(METHODS.join(" | "), "M", "full"),
    rank: s("rank of the low-rank methods", "R", "1"),
    "train-size": s("number of training subjects drawn by --seed", "N", "5"),
    "use-lists": b("take train.txt/test.txt of the dataset instead of drawing"),
    model: s(`architecture when --pretrained does not record one: ${MODEL_NAMES.join(" | ")}`, "NAME", "unetr"),
    "frozen-dropout": s(
      "train (dropout on everywhere, as the authors) | off (off where nothing trains)",
      "MODE",
      "train",
    ),
    ...TRAIN_FLAGS,
  },
};

function trainConfig(v: FlagValues, crop: [number, number, number]): Partial<TrainConfig> {
  return {
    epochs: num(v, "epochs", { min: 1, integer: true }),
    batchSize: num(v, "batch-size", { min: 1, integer: true }),
    crop,
    lr: num(v, "lr", { min: 0 }),
    weightDecay: num(v, "weight-decay", { min: 0 }),
    optimizer: choice(v, "optimizer", ["adam", "adamw"] as const),
    amsgrad: !flag(v, "no-amsgrad"),
    schedule: choice(v, "schedule", ["poly-epoch", "poly-iteration", "constant"] as const),
    loss: choice(v, "loss", ["dice", "dice-ce"] as const),
    seed: num(v, "seed", { integer: true }),
    checkpointEvery: num(v, "checkpoint-every", { min: 0, integer: true }),
    ensemble: num(v, "ensemble", { min: 1, integer: true }),
    flip: !flag(v, "no-flip"),
    intensity: !flag(v, "no-intensity"),
    evalEvery: 0,
  };
}

/**
 * `--pos-fraction` and `--roi` for crops of size `crop` (`auto` depends on
 * it) and the training labels (`--roi auto` boxes them). Errors name the flag.
 */
function cropSampling(
  v: FlagValues,
  crop: [number, number, number],
  labels: readonly Volume[] | null,
): Pick<TrainConfig, "posFraction" | "roi"> {
  const margin = num(v, "roi-margin", { min: 0 });
  let posFraction: number;
  try {
    posFraction = parsePosFraction(need(v, "pos-fraction"), crop);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const roi = str(v, "roi");
  try {
    // labels null: only check the flag's form (before any file is read).
    if (labels === null) return { posFraction, roi: roi && roi !== "auto" ? parseRoi(roi) : null };
    return { posFraction, roi: resolveRoi(roi, labels, margin) };
  } catch (e) {
    throw new UsageError(`--roi ${str(v, "roi")}: ${(e as Error).message}`);
  }
}

/** The labels that `--roi` is checked against or boxes (lazy samples are read once, for `--roi auto` only). */
async function sampleLabels(v: FlagValues, samples: readonly TrainSample[] | LazySamples): Promise<Volume[]> {
  if (str(v, "roi") === undefined) return [];
  if (Array.isArray(samples)) return (samples as readonly TrainSample[]).map((x) => x.label!);
  if (str(v, "roi") !== "auto") return [];
  const lazy = samples as LazySamples, out: Volume[] = [];
  for (let i = 0; i < lazy.length; i++) out.push((await lazy.load(i)).label!);
  return out;
}

async function readDataset(v: FlagValues): Promise<{ root: string; labelled: Subject[]; lists?: Split }> {
  const root = await existingDir(need(v, "data"), "data");
  const ds = await asUserError(`--data ${root}`, () => loadDataset(root));
  const labelled = ds.subjects.filter((x) => x.labelPath);
  if (labelled.length === 0) throw new UsageError(`--data ${root}: no subject has a label`);
  const l = ds.lists;
  const lists = l?.train ? { seed: null, train: l.train, valid: l.valid ?? [], test: l.test ?? [] } : undefined;
  return { root, labelled, lists };
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

/** True when some sub-folder `ID` of `root` holds `ID_t1ce` or `ID_seg` (`.nii.gz` or `.nii`). */
export async function looksLikeBrats(root: string): Promise<boolean> {
  for await (const e of Deno.readDir(root)) {
    if (!e.isDirectory) continue;
    for (const m of ["t1ce", "seg"]) {
      for (const ext of [".nii.gz", ".nii"]) {
        const st = await Deno.stat(`${root}/${e.name}/${e.name}_${m}${ext}`).catch(() => null);
        if (st?.isFile) return true;
      }
    }
  }
  return false;
}

/** A validation subject as the evaluation needs it: input channels and the class-index label. */
interface ValSubject {
  id: string;
  channels: readonly Volume<Float32Array>[];
  label: Volume<Uint8Array>;
}

/**
 * Mean foreground Dice of `model` on the validation subjects: sliding windows
 * of the model's size over all input channels (no overlap, spec §7), argmax,
 * Dice per foreground class (1..K−1) per subject. Returns `dice` (mean over
 * subjects of the mean over classes) and, with more than one foreground
 * class, `dice_<name>` per class.
 */
async function validationDice(
  model: UNETR,
  subjects: () => AsyncIterable<ValSubject>,
  classNames: string[],
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

/** What the pretrain data paths hand to the loop. */
interface PretrainData {
  root: string;
  layout: string;
  train: string[];
  valid: string[];
  samples: readonly TrainSample[] | LazySamples;
  validation: () => AsyncIterable<ValSubject>;
  /** Extra entries for config.json. */
  info: Record<string, unknown>;
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
  await writeBratsSplit(dir, split, ds);
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
    info: {
      brats: {
        modalities,
        mergeLabels,
        classes: classNames,
        labelMapping: mergeLabels ? "NCR 1, ED 2, ET 4 -> tumour 1" : "NCR 1 -> 1, ED 2 -> 2, ET 4 -> 3",
        intensity: "z-score per channel over voxels > 0 (spec §3)",
        split: { seed: split.seed, train: split.train.length, valid: split.valid.length, test: split.test.length },
        splitSource: split.seed === null ? "train/valid/test.txt in the dataset folder" : "seeded draw (--seed)",
        dataCache: mode,
        trainingBytes: bytes,
      },
    },
  };
}

async function plainData(v: FlagValues, root: string, layout: "auto" | "authors" | "msd"): Promise<PretrainData> {
  const labelMap = str(v, "label-map") ? parseLabelMap(str(v, "label-map")!) : undefined;
  const ds = await asUserError(`--data ${root}`, () => loadDataset(root, { layout }));
  const labelled = ds.subjects.filter((x) => x.labelPath);
  if (labelled.length === 0) throw new UsageError(`--data ${root}: no subject has a label`);
  const ids = new Set(ds.lists?.train ?? labelled.map((x) => x.id));
  const subjects = labelled.filter((x) => ids.has(x.id));
  const samples: TrainSample[] = [];
  for (const subj of subjects) samples.push(toSample(await loadPreprocessed(subj, labelMap)));
  const validIds = new Set(ds.lists?.valid ?? []);
  const valid = labelled.filter((x) => validIds.has(x.id));
  const validation = async function* () {
    for (const subj of valid) {
      const s = toSample(await loadPreprocessed(subj, labelMap));
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
  cropSampling(v, [16, 16, 16], null);
  const root = await existingDir(need(v, "data"), "data");
  const brats = layout === "brats" || (layout === "auto" && await looksLikeBrats(root));
  if (!brats && (str(v, "modalities") !== undefined || flag(v, "three-class"))) {
    throw new UsageError(
      `--modalities and --three-class apply to BraTS data; ${root} is not in the BraTS layout ` +
        `(ID/ID_t1ce.nii.gz; --layout brats forces it)`,
    );
  }
  const dir = outDir(v);
  const backend = await useBackend(choice(v, "backend", ["auto", "cpu", "webgpu"] as const));
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
    ...cropSampling(v, imgTriple(config), await sampleLabels(v, data.samples)),
  };
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
  const result = await train({
    model,
    trainable,
    samples: data.samples,
    config: tc,
    outDir: dir,
    resume: flag(v, "resume"),
    runInfo: {
      command: "pretrain",
      data: root,
      layout: data.layout,
      method: "full",
      model: config,
      recipe: "spec training-protocol.md §1: settings beyond the data are 'as in the original UNETR paper' and " +
        "not specified there; this run uses the values in config (the library's training defaults unless overridden)",
      train: data.train,
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
  });
  return { runDir: dir, result, report };
}

/** Runs `lorapt finetune` with parsed flags. */
export async function runFinetune(v: FlagValues): Promise<TrainCommandResult> {
  // Cheap checks first, so a typo fails before any file is read.
  await existingDir(need(v, "data"), "data");
  const pretrainedPath = await existingFile(need(v, "pretrained"), "pretrained");
  if (!/\.(safetensors|pth|pt)$/.test(pretrainedPath)) {
    throw new UsageError(`--pretrained ${pretrainedPath}: expected a .safetensors or .pth file`);
  }
  const method = need(v, "method");
  if (!METHODS.includes(method)) throw new UsageError(`--method "${method}" is not one of ${METHODS.join(", ")}`);
  const rank = num(v, "rank", { min: 1, integer: true });
  const frozenDropout = choice(v, "frozen-dropout", ["train", "off"] as const);
  const checked = trainConfig(v, [16, 16, 16]);
  cropSampling(v, [16, 16, 16], null);
  const nTrain = num(v, "train-size", { min: 1, integer: true });
  const labelMap = str(v, "label-map") ? parseLabelMap(str(v, "label-map")!) : undefined;
  const backendName = choice(v, "backend", ["auto", "cpu", "webgpu"] as const);
  const { root, labelled, lists } = await readDataset(v);
  const dir = outDir(v);
  if (!flag(v, "use-lists") && nTrain >= labelled.length) {
    throw new UsageError(`--train-size ${nTrain} leaves no test subject among ${labelled.length} labelled subjects`);
  }
  const backend = await useBackend(backendName);
  const pre = await readPretrained(pretrainedPath);
  const config = pre.config ?? presetConfig(need(v, "model"));
  let tc: Partial<TrainConfig> = { ...checked, crop: imgTriple(config), frozenDropout };
  let split: Split;
  if (flag(v, "use-lists")) {
    if (!lists) throw new UsageError(`--use-lists: ${root} has no train.txt`);
    split = lists;
  } else {
    split = fewShotSplit(labelled, { nTrain, seed: tc.seed });
  }
  const train_ = labelled.filter((x) => split.train.includes(x.id));
  const samples = [];
  for (const subj of train_) samples.push(toSample(await loadPreprocessed(subj, labelMap)));
  tc = { ...tc, ...cropSampling(v, imgTriple(config), samples.map((x) => x.label!)) };
  const base = buildUnetr(config, tc.seed!, pre.weights, `--pretrained ${pretrainedPath}`);
  const prepared = await asUserError(`--method ${method}`, () => prepareMethod(base, { method, rank }));
  await writeSplit(dir, split, { dataset: root });
  if (!flag(v, "quiet")) {
    const { trainable, total } = prepared.report;
    console.error(
      `finetune: ${method} (rank ${rank}) trains ${trainable} of ${total} parameters on ${split.train.length} ` +
        `subjects [${split.train.join(", ")}], ${split.test.length} test; backend ${backend}`,
    );
  }
  const result = await train({
    model: prepared.model as typeof base,
    trainable: prepared.trainable,
    samples,
    config: tc,
    outDir: dir,
    resume: flag(v, "resume"),
    runInfo: {
      command: "finetune",
      data: root,
      pretrained: pretrainedPath,
      method,
      rank,
      model: config,
      parameters: prepared.report,
    },
    metadata: { [MODEL_KEY]: JSON.stringify(config), "lorapt.method": method, "lorapt.rank": String(rank) },
    progress: flag(v, "quiet") ? false : {},
  });
  return { runDir: dir, result, report: prepared.report, split };
}

function imgTriple(c: { imgSize: number | number[] }): [number, number, number] {
  const i = c.imgSize;
  return typeof i === "number" ? [i, i, i] : [i[0], i[1], i[2]];
}

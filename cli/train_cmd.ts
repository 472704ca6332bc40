/**
 * `lorapt pretrain` and `lorapt finetune`: read a dataset, build or load a
 * UNETR, pick the trainable set, and run the training loop into a run folder
 * (`config.json`, `split.json`, `log.jsonl`, checkpoints).
 * @module
 */
import { fewShotSplit, loadDataset, type Split, type Subject, writeSplit } from "../data/mod.ts";
import { parseLabelMap } from "../data/mod.ts";
import { useBackend } from "../tensor/mod.ts";
import { METHODS, prepareMethod, train, type TrainConfig, type TrainResult } from "../train/mod.ts";
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

/** Runs `lorapt pretrain` with parsed flags. */
export async function runPretrain(v: FlagValues): Promise<TrainCommandResult> {
  const config = presetConfig(need(v, "model"));
  const labelMap = str(v, "label-map") ? parseLabelMap(str(v, "label-map")!) : undefined;
  const { root, labelled, lists } = await readDataset(v);
  const dir = outDir(v);
  const backend = await useBackend(choice(v, "backend", ["auto", "cpu", "webgpu"] as const));
  const ids = new Set(lists?.train ?? labelled.map((x) => x.id));
  const subjects = labelled.filter((x) => ids.has(x.id));
  const samples = [];
  for (const subj of subjects) samples.push(toSample(await loadPreprocessed(subj, labelMap)));
  const tc = trainConfig(v, imgTriple(config));
  const model = buildUnetr(config, tc.seed!);
  const { trainable, report } = await prepareMethod(model, { method: "full" });
  if (!flag(v, "quiet")) {
    console.error(`pretrain: ${subjects.length} subjects from ${root}, ${report.total} parameters, backend ${backend}`);
  }
  const result = await train({
    model,
    trainable,
    samples,
    config: tc,
    outDir: dir,
    resume: flag(v, "resume"),
    runInfo: { command: "pretrain", data: root, method: "full", model: config, train: subjects.map((x) => x.id) },
    metadata: { [MODEL_KEY]: JSON.stringify(config) },
    progress: flag(v, "quiet") ? false : {},
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
  const tc = { ...checked, crop: imgTriple(config), frozenDropout };
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

/**
 * The training loop of the paper's §4.3: seeded random crops,
 * flips and per-slice intensity, batches with drop_last, Adam(AMSGrad) with a
 * poly schedule, the authors' batch-global Dice loss, and checkpoints.
 *
 * Reproducibility and resume: each epoch draws its data order, augmentation
 * and dropout masks from its own generator derived from (seed, epoch) (see
 * {@link epochRng}); nothing carries over between epochs but the weights and
 * the optimizer state, which `resume.safetensors` stores. So a run resumed
 * from that file after a kill replays the remaining epochs exactly as an
 * uninterrupted run with the same seed would.
 *
 * Inputs with several channels (BraTS modalities) are samples with
 * `channels` ({@link TrainSample}); every channel is cropped, flipped and
 * intensity-augmented with the same draws. Outputs with more than two classes
 * take class-index labels and the multi-class losses of `losses.ts`. Samples
 * may also be read lazily ({@link LazySamples}) when they do not fit in memory.
 *
 * One device sync per step: the loss read. The JSONL log (`log.jsonl`) gets
 * every step and every evaluation; `config.json` records the configuration,
 * the seed, the versions, the run's fingerprint and the checkpoints it
 * writes. The run folder's rules (`run_folder.ts`): a fresh run needs an
 * empty folder (or `overwrite`), a resumed one the same config and
 * fingerprint, and a resume cuts `log.jsonl` back to its position.
 *
 * Interrupts (`interrupt`, Ctrl-C at the command line): the loop finishes
 * the epoch it is in, writes `resume.safetensors` and returns with
 * `interrupted`, so at most one epoch's steps are lost, never a checkpoint.
 * @module
 */
import { fromArray, getBackend, Rng, type Tensor, tidy } from "../tensor/mod.ts";
import { gradients } from "../autodiff/mod.ts";
import { Dropout, type Module } from "../models/mod.ts";
import {
  type RoiBox,
  type Sample,
  type Shape3,
  toTensorOrder,
  trainingAugmentation,
  type Volume,
} from "../data/mod.ts";
import { type LossName, segmentationLoss } from "./losses.ts";
import { Adam, AdamW } from "./optim.ts";
import { constantSchedule, polySchedule, type Schedule } from "./schedule.ts";
import { checkpointPlan, epochCheckpointName, readCheckpoint, removeStaleTemps, saveCheckpoint } from "./checkpoint.ts";
import { openRunFolder, TrainInputError, truncateLog } from "./run_folder.ts";
import { estimateStepMemory, formatBytes } from "./memory.ts";
import { ProgressBar, type ProgressOptions } from "./progress.ts";
import { runVersions, type Versions } from "./versions.ts";

/** A model the loop can train: `forward` gives probabilities; `forwardLogits`, when present, logits. */
export interface TrainingModel extends Module {
  /** `[B, C, …]` → class probabilities `[B, classes, …]`. */
  forward(x: Tensor): Tensor;
  /** `[B, C, …]` → logits (UNETR has it; used by the cross-entropy loss). */
  forwardLogits?(x: Tensor): Tensor;
}

/** Everything that determines a run's numbers (written to `config.json`). */
export interface TrainConfig {
  /** Epochs (spec: 1000). */
  epochs: number;
  /** Crops per step (spec: 4). */
  batchSize: number;
  /** Drop the last incomplete batch (spec: true). */
  dropLast: boolean;
  /** Crop size `[x, y, z]`; the model's input size (spec: 128³). */
  crop: Shape3;
  /** Loss: the authors' `"dice"` or `"dice-ce"`. */
  loss: LossName;
  /** `"adam"` (coupled L2 decay) or `"adamw"`. */
  optimizer: "adam" | "adamw";
  /** Initial learning rate (spec: 1e-3). */
  lr: number;
  /** Weight decay (spec: 1e-5). */
  weightDecay: number;
  /** AMSGrad (spec: on). */
  amsgrad: boolean;
  /** `"poly-epoch"` (the code), `"poly-iteration"` (the paper) or `"constant"`. */
  schedule: "poly-epoch" | "poly-iteration" | "constant";
  /** Poly exponent (0.9). */
  power: number;
  /** Seed of data order, augmentation and dropout. */
  seed: number;
  /** Random flips (paper §4.3). */
  flip: boolean;
  /** Per-slice intensity scale/shift (paper §4.3; the authors' `data/BraTS.py`). */
  intensity: boolean;
  /** `"train"`: dropout on everywhere, as the code; `"off"`: off in layers with no trainable parameter. */
  frozenDropout: "train" | "off";
  /** Write `resume.safetensors` every this many epochs (and always at the end). */
  checkpointEvery: number;
  /** Keep the weights of the last this many epochs (the ensemble). */
  ensemble: number;
  /** Call `evaluate` after epochs with `e % evalEvery == 0` (0: never). Spec: 100. */
  evalEvery: number;
  /**
   * Probability of a crop centred on a random foreground voxel (MONAI
   * RandCropByPosNegLabeld, nnU-Net oversampling; data/crop_sampling.ts).
   * 0: the paper's uniform crops.
   */
  posFraction: number;
  /** Crops are drawn inside this voxel box (co-registered scans), or null for the whole scan. */
  roi: RoiBox | null;
}

/** The authors' settings (paper §4.3). */
export const DEFAULT_TRAIN_CONFIG: Readonly<TrainConfig> = Object.freeze<TrainConfig>({
  epochs: 1000,
  batchSize: 4,
  dropLast: true,
  crop: [128, 128, 128],
  loss: "dice",
  optimizer: "adam",
  lr: 1e-3,
  weightDecay: 1e-5,
  amsgrad: true,
  schedule: "poly-epoch",
  power: 0.9,
  seed: 1000,
  flip: true,
  intensity: true,
  frozenDropout: "train",
  checkpointEvery: 10,
  ensemble: 4,
  evalEvery: 100,
  posFraction: 0,
  roi: null,
});

/**
 * A training sample: `image` (channel 0) and `label`, plus, for inputs with
 * several channels, `channels`: every input channel in order (channel 0
 * included), each a volume on the label's grid. Without `channels` the input
 * has one channel, `image`. The label holds class indices (0/1 for two
 * classes).
 */
export interface TrainSample extends Sample {
  /** All input channels, in the model's channel order; absent: `[image]`. */
  channels?: readonly Volume<Float32Array>[];
}

/**
 * Training samples read on demand (one subject at a time, in the epoch's
 * order), for datasets larger than memory such as BraTS: `load(i)` must give
 * the same sample for the same `i` every time.
 */
export interface LazySamples {
  /** Number of samples. */
  length: number;
  /** Reads sample `i` (0 ≤ i < length). */
  load(i: number): Promise<TrainSample>;
}

/** Options of {@link train}. */
export interface TrainOptions {
  /** The model; its parameters are updated in place. */
  model: TrainingModel;
  /** Dotted names of the parameters to train; every other parameter is frozen. */
  trainable: readonly string[];
  /** Preprocessed (z-scored) training subjects, each with a label; in memory or read lazily. */
  samples: readonly TrainSample[] | LazySamples;
  /** Overrides of {@link DEFAULT_TRAIN_CONFIG}. */
  config?: Partial<TrainConfig>;
  /** Run folder for `config.json`, `log.jsonl` and checkpoints; none: nothing is written. */
  outDir?: string;
  /** Continue from `outDir/resume.safetensors` when it exists. */
  resume?: boolean;
  /** A fresh run into a folder holding an earlier run removes that run's files first (else it refuses). */
  overwrite?: boolean;
  /**
   * Settings beyond `config` that decide the numbers (data files, model,
   * method, rank, pre-trained weights), recorded in `config.json`; a resume
   * refuses when any entry differs, naming it and both values.
   */
  fingerprint?: Record<string, unknown>;
  /** Called once the run folder is checked and `config.json` written, before the first step (e.g. to write `split.json`). */
  beforeStart?: () => Promise<void>;
  /** When aborted: finish the current epoch, write `resume.safetensors`, return with `interrupted` (Ctrl-C). */
  interrupt?: AbortSignal;
  /**
   * Train even when the step's estimated memory (`memory.ts`) exceeds the
   * machine's. Without it such a run is refused before anything is allocated.
   */
  force?: boolean;
  /** The memory the estimate is checked against (default: the machine's total, on host-memory backends only). */
  memoryBytes?: number;
  /** Extra entries for `config.json` (data, method, pretrained weights, …). */
  runInfo?: Record<string, unknown>;
  /** Extra string metadata for every checkpoint. */
  metadata?: Record<string, string>;
  /** Evaluation after some epochs (see `evalEvery`); its numbers go to the log. */
  evaluate?: (epoch: number) => Promise<Record<string, number>>;
  /**
   * Keep the weights with the highest `evaluate` score `metric` as
   * `model_best.safetensors` (needs `outDir`; a resumed run recovers the best
   * score so far from `log.jsonl`).
   */
  best?: { metric: string };
  /** Progress display options, or false for none. */
  progress?: ProgressOptions | false;
  /** Stops after the current step, writing nothing more (tests use it to simulate a kill). */
  signal?: AbortSignal;
  /** Called after every step with its position, loss and learning rate. */
  onStep?: (s: { epoch: number; step: number; loss: number; lr: number }) => void;
}

/** What {@link train} did. */
export interface TrainResult {
  /** Loss of every step run in this call. */
  losses: number[];
  /** Epochs completed in total (including those before a resume). */
  epochsDone: number;
  /** Optimizer steps in total. */
  steps: number;
  /** Wall time of this call, seconds. */
  seconds: number;
  /** Epochs already done when this call resumed, or null for a fresh start. */
  resumedFrom: number | null;
  /** True when `signal` stopped the run early. */
  stopped: boolean;
  /** True when `interrupt` ended the run after an epoch, with `resume.safetensors` written. */
  interrupted: boolean;
}

/**
 * The generator of epoch `epoch` of a run seeded `seed`: independent of
 * every other epoch, so a resumed run needs no generator state.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { epochRng } from "./loop.ts";
 * assert.equal(epochRng(1, 5).next(), epochRng(1, 5).next());
 * assert.notEqual(epochRng(1, 5).next(), epochRng(1, 6).next());
 * ```
 */
export function epochRng(seed: number, epoch: number): Rng {
  const base = new Rng(seed);
  const a = base.next(), b = base.next();
  return new Rng((a ^ Math.imul(epoch + 1, 0x9e3779b1) ^ Math.imul(b, epoch + 7)) | 0);
}

/** Training mode as the config says: all on, or dropout off where no parameter trains. */
export function setTrainMode(model: Module, trainable: ReadonlySet<Tensor>, frozenDropout: "train" | "off"): void {
  model.train();
  if (frozenDropout !== "off") return;
  for (const [path, m] of model.namedModules()) {
    if (!(m instanceof Dropout)) continue;
    // The nearest ancestor that owns parameters decides whether this layer is frozen.
    let parts = path.split(".");
    while (parts.length > 0) {
      parts = parts.slice(0, -1);
      const params = model.getSubmodule(parts.join(".")).parameters();
      if (params.length === 0) continue;
      m.training = params.some((p) => trainable.has(p));
      break;
    }
  }
}

function checkSample(s: TrainSample, i: number): void {
  if (!s.label) throw new RangeError(`train: training sample ${i} has no label`);
  const ch = s.channels;
  if (ch && (ch.length === 0 || ch.some((c) => c.shape.some((n, a) => n !== s.label!.shape[a])))) {
    throw new RangeError(
      `train: training sample ${i} has channels of shapes [${ch.map((c) => `[${c.shape}]`)}], ` +
        `label [${s.label.shape}]`,
    );
  }
}

/** The input channels of a sample. */
const channelsOf = (s: TrainSample): readonly Volume<Float32Array>[] => s.channels ?? [s.image];

/**
 * Augments a sample. One channel: `augment` draws from `rng` as always. Several
 * channels: one seed is drawn from `rng`, and every channel (with the label)
 * is augmented by a generator of that seed, so all get the same crop, flips
 * and per-slice intensity factors.
 */
function augmentSample(augment: (s: Sample, rng: Rng) => Sample, s: TrainSample, rng: Rng): TrainSample {
  if (!s.channels) return augment(s, rng);
  const seed = rng.next();
  const first = augment({ image: s.channels[0], label: s.label }, new Rng(seed));
  // The label goes along so that a foreground-aware crop lands at the same place in every channel.
  const rest = s.channels.slice(1).map((image) => augment({ image, label: s.label }, new Rng(seed)).image);
  return { ...first, channels: [first.image, ...rest] };
}

/** Builds one batch (tensor order `[B, C, …crop]`) from augmented samples. */
function makeBatch(samples: TrainSample[], crop: Shape3): { x: Float32Array; y: Float32Array; channels: number } {
  const v = crop[0] * crop[1] * crop[2];
  const channels = channelsOf(samples[0]).length;
  const x = new Float32Array(samples.length * channels * v), y = new Float32Array(samples.length * v);
  samples.forEach((s, b) => {
    const ch = channelsOf(s);
    if (ch.length !== channels) {
      throw new RangeError(`train: samples in one batch have ${channels} and ${ch.length} input channels`);
    }
    ch.forEach((c, i) => x.set(toTensorOrder(c.data, crop), (b * channels + i) * v));
    y.set(toTensorOrder(s.label!.data, crop), b * v);
  });
  return { x, y, channels };
}

/** The best `metric` among the eval entries of `log.jsonl` before epoch `before`, or -Infinity. */
async function bestSoFar(logPath: string, metric: string, before: number): Promise<number> {
  let text = "";
  try {
    text = await Deno.readTextFile(logPath);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return -Infinity;
    throw e;
  }
  let best = -Infinity;
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const entry = JSON.parse(line);
    if (entry.type === "eval" && entry.epoch < before && typeof entry[metric] === "number") {
      best = Math.max(best, entry[metric]);
    }
  }
  return best;
}

function makeSchedule(c: TrainConfig): Schedule {
  if (c.schedule === "constant") return constantSchedule(c.lr);
  return polySchedule({ baseLr: c.lr, power: c.power, per: c.schedule === "poly-epoch" ? "epoch" : "iteration" });
}

/** The machine's total memory, or Infinity when `--allow-sys` is not granted (then no check: say so once). */
function machineMemory(): number {
  const granted = Deno.permissions.querySync({ name: "sys", kind: "systemMemoryInfo" }).state === "granted";
  if (granted) return Deno.systemMemoryInfo().total;
  if (!memoryWarned) console.warn("train: no --allow-sys permission, so the step's memory estimate is not checked");
  memoryWarned = true;
  return Infinity;
}
let memoryWarned = false;

/**
 * Refuses a step whose estimated memory exceeds `opts.memoryBytes` (default:
 * the machine's total memory when the backend keeps tensors in host memory;
 * a GPU's memory is not known to WebGPU, so there no check), unless `force`.
 */
function checkMemory(opts: TrainOptions, c: TrainConfig, trainable: number): void {
  if (opts.force) return;
  const hostMemory = ["cpu", "native"].includes(getBackend().name);
  const limit = opts.memoryBytes ?? (hostMemory ? machineMemory() : Infinity);
  if (!(limit < Infinity)) return;
  const unetr = (opts.model as { config?: Record<string, unknown> }).config;
  const e = estimateStepMemory({
    parameters: opts.model.namedParameters().reduce((a, [, p]) => a + p.size, 0),
    trainable,
    batchSize: c.batchSize,
    crop: c.crop,
    amsgrad: c.amsgrad,
    unetr: unetr && typeof unetr.featureSize === "number"
      ? unetr as unknown as NonNullable<Parameters<typeof estimateStepMemory>[0]["unetr"]>
      : undefined,
  });
  if (e.total > limit) {
    throw new TrainInputError(
      `a training step needs about ${formatBytes(e.total)} (weights and optimizer ${formatBytes(e.parameters)}, ` +
        `activations ${formatBytes(e.activations)} at crop [${c.crop}] × batch ${c.batchSize}), more than the ` +
        `${
          formatBytes(limit)
        } of memory here: lower --batch-size or the crop (--img-size), or give --force to try anyway`,
    );
  }
}

/**
 * Trains `model` on `samples`; see the module doc for what is seeded,
 * logged and saved. Returns the per-step losses and the position reached.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { train } from "./loop.ts";
 * import { createUnetr, makePhantom, Rng, zScore } from "../mod.ts";
 * const model = createUnetr({ base: "unetr-tiny", imgSize: 16, numLayers: 4 }, { seed: 0 });
 * const p = makePhantom({ task: "hippocampus", size: 16, seed: 1 });
 * const sample = zScore()({ image: p.image, label: p.label }, new Rng(0));
 * const r = await train({
 *   model, trainable: model.namedParameters().map(([n]) => n), samples: [sample],
 *   config: { epochs: 2, batchSize: 1, crop: [16, 16, 16] }, progress: false,
 * });
 * assert.equal(r.steps, 2);
 * assert.ok(r.losses.every((l) => l >= 0 && l <= 2));
 * ```
 */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  const t0 = performance.now();
  const c: TrainConfig = { ...DEFAULT_TRAIN_CONFIG, ...opts.config };
  const { model, samples, outDir } = opts;
  const lazy = !Array.isArray(samples);
  if (lazy) {
    if (!Number.isInteger(samples.length) || samples.length < 0) {
      throw new RangeError(`train: lazy samples have length ${samples.length}`);
    }
  } else (samples as readonly TrainSample[]).forEach(checkSample);
  const getSample = async (i: number): Promise<TrainSample> => {
    if (!lazy) return (samples as readonly TrainSample[])[i];
    const s = await (samples as LazySamples).load(i);
    checkSample(s, i);
    return s;
  };
  const byName = new Map(model.namedParameters());
  const params = opts.trainable.map((n) => {
    const p = byName.get(n);
    if (!p) throw new RangeError(`train: trainable parameter "${n}" is not in the model`);
    return p;
  });
  if (params.length === 0) throw new RangeError("train: no trainable parameters");
  const trainableSet = new Set(params);
  for (const p of byName.values()) p.requiresGrad = trainableSet.has(p);
  const stepsPerEpoch = c.dropLast ? Math.floor(samples.length / c.batchSize) : Math.ceil(samples.length / c.batchSize);
  if (stepsPerEpoch < 1) {
    throw new TrainInputError(
      `--batch-size ${c.batchSize} is larger than the training set (${samples.length} subjects): ` +
        "with drop_last no batch is complete",
    );
  }
  checkMemory(opts, c, params.reduce((a, p) => a + p.size, 0));
  const totalSteps = c.epochs * stepsPerEpoch;
  const optimizer = new (c.optimizer === "adamw" ? AdamW : Adam)(params, {
    lr: c.lr,
    weightDecay: c.weightDecay,
    amsgrad: c.amsgrad,
  });
  const schedule = makeSchedule(c);
  const augment = trainingAugmentation({
    crop: { size: c.crop, posFraction: c.posFraction, roi: c.roi },
    flip: c.flip ? {} : false,
    intensity: c.intensity ? {} : false,
  });
  const plan = checkpointPlan(c.epochs, c.ensemble);
  const versions: Versions = runVersions();
  const metadata = { ...opts.metadata, "lorapt.config": JSON.stringify(c) };

  let start = 0, steps = 0, resumedFrom: number | null = null;
  const logPath = outDir ? `${outDir}/log.jsonl` : null;
  if (outDir) {
    const record = {
      config: c,
      seed: c.seed,
      versions,
      backend: getBackend().name,
      ...opts.runInfo,
      ...(opts.fingerprint ? { fingerprint: opts.fingerprint } : {}),
      // predict ensembles these files and no other (an earlier run's may lie in the folder).
      checkpoints: {
        epochs: plan.keptEpochs.map(epochCheckpointName),
        ensemble: plan.ensembleEpochs.map(epochCheckpointName),
      },
    };
    const resuming = await openRunFolder(outDir, {
      record,
      // A key that an older run did not record compares as its default (e.g. posFraction, roi).
      configDefaults: DEFAULT_TRAIN_CONFIG,
      resume: opts.resume ?? false,
      overwrite: opts.overwrite ?? false,
    });
    await removeStaleTemps(outDir);
    if (resuming) {
      const path = `${outDir}/resume.safetensors`;
      const exists = await Deno.stat(path).then(() => true, () => false);
      if (exists) {
        let ck;
        try {
          ck = await readCheckpoint(path);
        } catch (e) {
          throw new TrainInputError(`cannot resume: ${path} is damaged (${(e as Error).message})`);
        }
        try {
          model.loadStateDict(ck.model);
          if (ck.optimizer) optimizer.loadStateDict(ck.optimizer);
        } catch (e) {
          throw new TrainInputError(`cannot resume: ${path} does not fit this run's model (${(e as Error).message})`);
        }
        start = resumedFrom = ck.info.epochsDone;
        steps = ck.info.steps;
      }
      await truncateLog(logPath!, { epochsDone: start, steps });
    }
    await opts.beforeStart?.();
  }
  const bestMetric = opts.best?.metric;
  let best = bestMetric && logPath && start > 0 ? await bestSoFar(logPath, bestMetric, start) : -Infinity;
  const log = async (entry: Record<string, unknown>) => {
    if (logPath) await Deno.writeTextFile(logPath, JSON.stringify(entry) + "\n", { append: true });
  };
  await log({ type: "start", time: new Date().toISOString(), fromEpoch: start, steps, versions });
  const bar = opts.progress === false ? null : new ProgressBar({ startStep: steps, ...opts.progress });
  if (resumedFrom !== null) bar?.log(`resumed from ${outDir}/resume.safetensors after epoch ${resumedFrom}`);

  const losses: number[] = [];
  let stopped = false, interrupted = false;
  for (let epoch = start; epoch < c.epochs && !stopped; epoch++) {
    const rng = epochRng(c.seed, epoch);
    const order = rng.shuffle(Array.from({ length: samples.length }, (_, i) => i));
    const dropRng = rng.fork(), augRng = rng.fork();
    for (const [, m] of model.namedModules()) if (m instanceof Dropout) m.rng = dropRng;
    setTrainMode(model, trainableSet, c.frozenDropout);
    for (let it = 0; it < stepsPerEpoch; it++) {
      const batch: TrainSample[] = [];
      for (const i of order.slice(it * c.batchSize, (it + 1) * c.batchSize)) {
        batch.push(augmentSample(augment, await getSample(i), augRng));
      }
      const { x, y, channels } = makeBatch(batch, c.crop);
      const lr = schedule({ epoch, iteration: it, epochs: c.epochs, stepsPerEpoch });
      optimizer.lr = lr;
      const lossT = tidy(() => {
        const input = fromArray(x, [batch.length, channels, ...c.crop]);
        const target = fromArray(y, [batch.length, ...c.crop]);
        // Dice on the softmax output as the authors; logits for the cross-entropy when the model has them.
        const logits = c.loss !== "dice" && model.forwardLogits;
        const loss = logits
          ? segmentationLoss(c.loss, model.forwardLogits!(input), target)
          : segmentationLoss(c.loss, model.forward(input), target, { probabilities: true });
        optimizer.step(gradients(loss, params));
        return loss;
      });
      const loss = await lossT.item(); // the step's one sync
      lossT.dispose();
      if (!Number.isFinite(loss)) throw new Error(`train: loss is ${loss} at epoch ${epoch}, step ${steps + 1}`);
      steps++;
      losses.push(loss);
      await log({ type: "step", epoch, step: steps, loss, lr });
      bar?.update({ epoch, epochs: c.epochs, step: steps, totalSteps, loss, lr, epochEnd: it === stepsPerEpoch - 1 });
      opts.onStep?.({ epoch, step: steps, loss, lr });
      if (opts.signal?.aborted) {
        stopped = true;
        break;
      }
    }
    if (stopped) break;
    if (outDir && plan.keptEpochs.includes(epoch)) {
      await saveCheckpoint(`${outDir}/${epochCheckpointName(epoch)}`, model, {
        info: { epochsDone: epoch + 1, steps },
        metadata,
      });
    }
    if (opts.evaluate && c.evalEvery > 0 && epoch % c.evalEvery === 0) {
      const scores = await opts.evaluate(epoch);
      await log({ type: "eval", epoch, step: steps, ...scores });
      const score = bestMetric === undefined ? undefined : scores[bestMetric];
      if (outDir && score !== undefined && Number.isFinite(score) && score > best) {
        best = score;
        await saveCheckpoint(`${outDir}/model_best.safetensors`, model, {
          info: { epochsDone: epoch + 1, steps },
          metadata: { ...metadata, "lorapt.best": JSON.stringify({ metric: bestMetric, value: score, epoch }) },
        });
        await log({ type: "best", epoch, step: steps, metric: bestMetric, value: score });
      }
      bar?.log(`eval after epoch ${epoch + 1}: ${Object.entries(scores).map(([k, v]) => `${k} ${v.toFixed(4)}`)}`);
    }
    const last = epoch === c.epochs - 1;
    interrupted = !last && (opts.interrupt?.aborted ?? false);
    if (outDir && (last || interrupted || (c.checkpointEvery > 0 && (epoch + 1) % c.checkpointEvery === 0))) {
      const info = { epochsDone: epoch + 1, steps };
      await saveCheckpoint(`${outDir}/resume.safetensors`, model, { optimizer, info, metadata });
      if (last) await saveCheckpoint(`${outDir}/model_last.safetensors`, model, { info, metadata });
    }
    if (interrupted) break;
  }
  bar?.done();
  optimizer.dispose();
  const seconds = (performance.now() - t0) / 1000;
  await log({ type: "end", time: new Date().toISOString(), steps, stopped, interrupted, seconds });
  const epochsDone = stopped || interrupted ? Math.floor(steps / stepsPerEpoch) : c.epochs;
  return { losses, epochsDone, steps, seconds, resumedFrom, stopped, interrupted };
}

/**
 * The training loop of spec training-protocol.md §4–6: seeded random crops,
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
 * One device sync per step: the loss read. The JSONL log (`log.jsonl`) gets
 * every step and every evaluation; `config.json` records the configuration,
 * the seed and the versions.
 * @module
 */
import { fromArray, getBackend, Rng, type Tensor, tidy } from "../tensor/mod.ts";
import { gradients } from "../autodiff/mod.ts";
import { Dropout, type Module } from "../models/mod.ts";
import { type Sample, type Shape3, toTensorOrder, trainingAugmentation } from "../data/mod.ts";
import { type LossName, segmentationLoss } from "./losses.ts";
import { Adam, AdamW } from "./optim.ts";
import { constantSchedule, polySchedule, type Schedule } from "./schedule.ts";
import { checkpointPlan, epochCheckpointName, loadCheckpoint, removeStaleTemps, saveCheckpoint } from "./checkpoint.ts";
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
  /** Random flips (spec §4.2). */
  flip: boolean;
  /** Per-slice intensity scale/shift (spec §4.3). */
  intensity: boolean;
  /** `"train"`: dropout on everywhere, as the code; `"off"`: off in layers with no trainable parameter. */
  frozenDropout: "train" | "off";
  /** Write `resume.safetensors` every this many epochs (and always at the end). */
  checkpointEvery: number;
  /** Keep the weights of the last this many epochs (the ensemble). */
  ensemble: number;
  /** Call `evaluate` after epochs with `e % evalEvery == 0` (0: never). Spec: 100. */
  evalEvery: number;
}

/** The authors' settings (spec §4–6). */
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
});

/** Options of {@link train}. */
export interface TrainOptions {
  /** The model; its parameters are updated in place. */
  model: TrainingModel;
  /** Dotted names of the parameters to train; every other parameter is frozen. */
  trainable: readonly string[];
  /** Preprocessed (z-scored) training subjects, each with a label. */
  samples: readonly Sample[];
  /** Overrides of {@link DEFAULT_TRAIN_CONFIG}. */
  config?: Partial<TrainConfig>;
  /** Run folder for `config.json`, `log.jsonl` and checkpoints; none: nothing is written. */
  outDir?: string;
  /** Continue from `outDir/resume.safetensors` when it exists. */
  resume?: boolean;
  /** Extra entries for `config.json` (data, method, pretrained weights, …). */
  runInfo?: Record<string, unknown>;
  /** Extra string metadata for every checkpoint. */
  metadata?: Record<string, string>;
  /** Evaluation after some epochs (see `evalEvery`); its numbers go to the log. */
  evaluate?: (epoch: number) => Promise<Record<string, number>>;
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

function checkSamples(samples: readonly Sample[]): void {
  samples.forEach((s, i) => {
    if (!s.label) throw new RangeError(`train: training sample ${i} has no label`);
  });
}

/** Builds one batch (tensor order) from augmented samples. */
function makeBatch(samples: Sample[], crop: Shape3): { x: Float32Array; y: Float32Array } {
  const v = crop[0] * crop[1] * crop[2];
  const x = new Float32Array(samples.length * v), y = new Float32Array(samples.length * v);
  samples.forEach((s, b) => {
    x.set(toTensorOrder(s.image.data, crop), b * v);
    y.set(toTensorOrder(s.label!.data, crop), b * v);
  });
  return { x, y };
}

function makeSchedule(c: TrainConfig): Schedule {
  if (c.schedule === "constant") return constantSchedule(c.lr);
  return polySchedule({ baseLr: c.lr, power: c.power, per: c.schedule === "poly-epoch" ? "epoch" : "iteration" });
}

async function prepareRunDir(dir: string, record: Record<string, unknown>, resume: boolean): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await removeStaleTemps(dir);
  const path = `${dir}/config.json`;
  if (resume) {
    try {
      const old = JSON.parse(await Deno.readTextFile(path));
      const differ = Object.keys(record.config as object).filter((k) =>
        JSON.stringify(old.config?.[k]) !== JSON.stringify((record.config as Record<string, unknown>)[k])
      );
      if (differ.length) {
        throw new Error(`train: cannot resume ${dir}: its config.json differs in ${differ.join(", ")}`);
      }
      return;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  await Deno.writeTextFile(path, JSON.stringify(record, null, 2) + "\n");
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
  checkSamples(samples);
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
    throw new RangeError(
      `train: batch size ${c.batchSize} exceeds the ${samples.length} training subjects (drop_last)`,
    );
  }
  const totalSteps = c.epochs * stepsPerEpoch;
  const optimizer = new (c.optimizer === "adamw" ? AdamW : Adam)(params, {
    lr: c.lr,
    weightDecay: c.weightDecay,
    amsgrad: c.amsgrad,
  });
  const schedule = makeSchedule(c);
  const augment = trainingAugmentation({
    crop: { size: c.crop },
    flip: c.flip ? {} : false,
    intensity: c.intensity ? {} : false,
  });
  const plan = checkpointPlan(c.epochs, c.ensemble);
  const versions: Versions = runVersions();
  const metadata = { ...opts.metadata, "lorapt.config": JSON.stringify(c) };

  let start = 0, steps = 0, resumedFrom: number | null = null;
  if (outDir) {
    const record = { config: c, seed: c.seed, versions, backend: getBackend().name, ...opts.runInfo };
    await prepareRunDir(outDir, record, opts.resume ?? false);
    if (opts.resume) {
      const path = `${outDir}/resume.safetensors`;
      const exists = await Deno.stat(path).then(() => true, () => false);
      if (exists) {
        const ck = await loadCheckpoint(path);
        model.loadStateDict(ck.model);
        if (ck.optimizer) optimizer.loadStateDict(ck.optimizer);
        start = resumedFrom = ck.info.epochsDone;
        steps = ck.info.steps;
      }
    }
  }
  const logPath = outDir ? `${outDir}/log.jsonl` : null;
  const log = async (entry: Record<string, unknown>) => {
    if (logPath) await Deno.writeTextFile(logPath, JSON.stringify(entry) + "\n", { append: true });
  };
  await log({ type: "start", time: new Date().toISOString(), fromEpoch: start, steps, versions });
  const bar = opts.progress === false ? null : new ProgressBar({ startStep: steps, ...opts.progress });
  if (resumedFrom !== null) bar?.log(`resumed from ${outDir}/resume.safetensors after epoch ${resumedFrom}`);

  const losses: number[] = [];
  let stopped = false;
  for (let epoch = start; epoch < c.epochs && !stopped; epoch++) {
    const rng = epochRng(c.seed, epoch);
    const order = rng.shuffle(samples.map((_, i) => i));
    const dropRng = rng.fork(), augRng = rng.fork();
    for (const [, m] of model.namedModules()) if (m instanceof Dropout) m.rng = dropRng;
    setTrainMode(model, trainableSet, c.frozenDropout);
    for (let it = 0; it < stepsPerEpoch; it++) {
      const batch = order.slice(it * c.batchSize, (it + 1) * c.batchSize).map((i) => augment(samples[i], augRng));
      const { x, y } = makeBatch(batch, c.crop);
      const lr = schedule({ epoch, iteration: it, epochs: c.epochs, stepsPerEpoch });
      optimizer.lr = lr;
      const lossT = tidy(() => {
        const input = fromArray(x, [batch.length, 1, ...c.crop]);
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
      bar?.log(`eval after epoch ${epoch + 1}: ${Object.entries(scores).map(([k, v]) => `${k} ${v.toFixed(4)}`)}`);
    }
    const last = epoch === c.epochs - 1;
    if (outDir && (last || (c.checkpointEvery > 0 && (epoch + 1) % c.checkpointEvery === 0))) {
      const info = { epochsDone: epoch + 1, steps };
      await saveCheckpoint(`${outDir}/resume.safetensors`, model, { optimizer, info, metadata });
      if (last) await saveCheckpoint(`${outDir}/model_last.safetensors`, model, { info, metadata });
    }
  }
  bar?.done();
  optimizer.dispose();
  const seconds = (performance.now() - t0) / 1000;
  await log({ type: "end", time: new Date().toISOString(), steps, stopped, seconds });
  const epochsDone = stopped ? Math.floor(steps / stepsPerEpoch) : c.epochs;
  return { losses, epochsDone, steps, seconds, resumedFrom, stopped };
}

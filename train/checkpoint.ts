/**
 * Checkpoints as safetensors files with metadata, written atomically (temp
 * file + rename, `models/io/atomic_write.ts`), so a run killed while saving
 * leaves the previous file intact.
 *
 * A run folder holds (the authors' `LoRA-PT.py`: they save epochs
 * 499, 996–999 and a final copy):
 * - `model_epoch_<e>.safetensors`: weights after 0-based epoch `e`, for the
 *   middle epoch and the last `ensemble` epochs (the members `predict`
 *   averages);
 * - `model_last.safetensors`: the final weights;
 * - `resume.safetensors`: weights, optimizer state and the position
 *   (epochs done, steps done), rewritten every N epochs and at the end.
 *
 * Model tensors are stored under their PyTorch names, so any of these files
 * also loads as a plain state dict; optimizer tensors under `optimizer.…`.
 * @module
 */
import { fromArray, type Tensor } from "../tensor/mod.ts";
import type { Module } from "../models/mod.ts";
import {
  makeRawTensor,
  type RawTensor,
  readSafetensors,
  type SafetensorsMetadata,
  toFloat32,
  writeSafetensors,
} from "../models/io/mod.ts";
import type { Adam, OptimizerState } from "./optim.ts";

/** Prefix of optimizer tensors in a checkpoint. */
export const OPTIMIZER_PREFIX = "optimizer.";

/** What a checkpoint file holds, see {@link readCheckpoint}. */
export interface Checkpoint {
  /** Model tensors by PyTorch name (on the current backend). */
  model: Map<string, Tensor>;
  /** Optimizer state, when the file has one. */
  optimizer: OptimizerState | null;
  /** The file's metadata; lorapt's own keys are parsed into {@link CheckpointInfo}. */
  metadata: SafetensorsMetadata;
  /** Position and provenance. */
  info: CheckpointInfo;
}

/** Where training was when a checkpoint was written. */
export interface CheckpointInfo {
  /** Epochs completed. */
  epochsDone: number;
  /** Optimizer steps completed. */
  steps: number;
}

/** Options of {@link saveCheckpoint}. */
export interface SaveCheckpointOptions {
  /** Include this optimizer's state (needed to resume). */
  optimizer?: Adam;
  /** Position to record. */
  info?: CheckpointInfo;
  /** Extra string metadata (model config, method, …). */
  metadata?: SafetensorsMetadata;
}

async function toRaw(t: Tensor): Promise<RawTensor> {
  const data = await t.data();
  if (!(data instanceof Float32Array)) throw new TypeError(`saveCheckpoint: tensor ${t} is not float32`);
  return makeRawTensor("F32", [...t.shape], data);
}

/**
 * Writes `model`'s parameters (and optionally optimizer state) to `path`
 * atomically. Reads every tensor back from the device: call it between
 * steps, not inside one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readCheckpoint, saveCheckpoint } from "./checkpoint.ts";
 * import { Linear } from "../models/mod.ts";
 * const dir = await Deno.makeTempDir();
 * const net = new Linear(2, 1);
 * await saveCheckpoint(`${dir}/a.safetensors`, net, { info: { epochsDone: 3, steps: 6 } });
 * const ck = await readCheckpoint(`${dir}/a.safetensors`);
 * assert.deepEqual(ck.info, { epochsDone: 3, steps: 6 });
 * assert.deepEqual([...ck.model.keys()].sort(), ["bias", "weight"]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function saveCheckpoint(path: string, model: Module, opts: SaveCheckpointOptions = {}): Promise<void> {
  const tensors = new Map<string, RawTensor>();
  for (const [name, p] of model.namedParameters()) tensors.set(name, await toRaw(p));
  const metadata: SafetensorsMetadata = { ...opts.metadata, format: "lorapt-checkpoint" };
  if (opts.info) {
    metadata["lorapt.epochs_done"] = String(opts.info.epochsDone);
    metadata["lorapt.steps"] = String(opts.info.steps);
  }
  if (opts.optimizer) {
    const state = opts.optimizer.stateDict();
    for (const [k, t] of state.tensors) tensors.set(OPTIMIZER_PREFIX + k, await toRaw(t));
    metadata["lorapt.optimizer_step"] = String(state.step);
  }
  await writeSafetensors(path, tensors, metadata);
}

/**
 * Reads a checkpoint written by {@link saveCheckpoint} (or any safetensors
 * state dict: then `optimizer` is null and the position is 0). Tensors are
 * converted to float32 on the current backend.
 */
export async function readCheckpoint(path: string): Promise<Checkpoint> {
  const { tensors, metadata } = await readSafetensors(path);
  const model = new Map<string, Tensor>(), opt = new Map<string, Tensor>();
  for (const [name, raw] of tensors) {
    const t = fromArray(toFloat32(raw, `${path}: ${name}`), raw.shape);
    if (name.startsWith(OPTIMIZER_PREFIX)) opt.set(name.slice(OPTIMIZER_PREFIX.length), t);
    else model.set(name, t);
  }
  const num = (k: string) => (metadata[k] === undefined ? 0 : Number(metadata[k]));
  const optimizer = metadata["lorapt.optimizer_step"] !== undefined
    ? { step: num("lorapt.optimizer_step"), tensors: opt }
    : null;
  return { model, optimizer, metadata, info: { epochsDone: num("lorapt.epochs_done"), steps: num("lorapt.steps") } };
}

/** Which epochs a run of `epochs` epochs saves, see {@link checkpointPlan}. */
export interface CheckpointPlan {
  /** 0-based epochs whose weights are kept as `model_epoch_<e>`. */
  keptEpochs: number[];
  /** The last `ensemble` epochs, oldest first: the members `predict` averages. */
  ensembleEpochs: number[];
}

/**
 * The epochs saved by the authors' protocol, generalised: the middle epoch
 * (⌊E/2⌋ − 1) and the last `ensemble` epochs. For E = 1000, ensemble 4:
 * 499, 996, 997, 998, 999 (the authors' `LoRA-PT.py`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkpointPlan } from "./checkpoint.ts";
 * assert.deepEqual(checkpointPlan(1000).keptEpochs, [499, 996, 997, 998, 999]);
 * assert.deepEqual(checkpointPlan(3).ensembleEpochs, [0, 1, 2]);
 * ```
 */
export function checkpointPlan(epochs: number, ensemble = 4): CheckpointPlan {
  const ensembleEpochs: number[] = [];
  for (let e = Math.max(0, epochs - ensemble); e < epochs; e++) ensembleEpochs.push(e);
  const mid = Math.floor(epochs / 2) - 1;
  const keptEpochs = mid >= 0 && !ensembleEpochs.includes(mid) ? [mid, ...ensembleEpochs] : [...ensembleEpochs];
  return { keptEpochs, ensembleEpochs };
}

/** File name of the weights after 0-based epoch `e`. */
export function epochCheckpointName(e: number): string {
  return `model_epoch_${e}.safetensors`;
}

/** Removes temp files that a killed atomic write left in `dir`. Returns how many. */
export async function removeStaleTemps(dir: string): Promise<number> {
  let n = 0;
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && /\.safetensors\.[0-9a-f]+\.tmp$/.test(entry.name)) {
        await Deno.remove(`${dir}/${entry.name}`);
        n++;
      }
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return n;
}

/**
 * The ensemble members of a finished run of `epochs` epochs: the
 * `model_epoch_<e>` files of its last `k` epochs (paper §4.3; the authors' `test.py`: 996–999 of 1000),
 * oldest first. Throws, naming the folder, when one is missing.
 */
export async function ensembleCheckpoints(runDir: string, epochs: number, k = 4): Promise<string[]> {
  const files = checkpointPlan(epochs, k).ensembleEpochs.map((e) => `${runDir}/${epochCheckpointName(e)}`);
  for (const f of files) {
    const ok = await Deno.stat(f).then((s) => s.isFile, () => false);
    if (!ok) {
      throw new Error(`ensembleCheckpoints: ${f} does not exist (run unfinished, or trained with a smaller ensemble)`);
    }
  }
  return files;
}

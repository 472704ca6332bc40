/**
 * The commands' side of the library calls: weights, models and subjects come
 * from train/ (`readPretrained`, `buildUnetr`, `loadPreprocessed`, …,
 * re-exported here for the commands), and {@link libraryCall} turns the
 * library's {@link InputError} into a {@link UsageError} naming the flag.
 * @module
 */
import {
  buildUnetr as buildUnetrLib,
  InputError,
  loadPreprocessed as loadPreprocessedLib,
  presetConfig as presetConfigLib,
  type Pretrained,
  readPretrained as readPretrainedLib,
  toSample as toSampleLib,
  unetrFromRecord as unetrFromRecordLib,
} from "../train/mod.ts";
import type { Tensor } from "../tensor/mod.ts";
import type { LoadedSubject, Sample, Subject } from "../data/mod.ts";
import type { UNETR, UnetrConfig } from "../models/mod.ts";
import { UsageError } from "./args.ts";

export { MODEL_KEY, MODEL_NAMES } from "../train/mod.ts";
export type { Pretrained } from "../train/mod.ts";

/** `trainSize` → `train-size`: the flag of a library option. */
export function flagOf(option: string): string {
  return option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** The {@link UsageError} of an {@link InputError}: `--<flag><detail>`, or the message when it names no option. */
export function usageErrorOf(e: InputError): UsageError {
  return new UsageError(e.option === null ? e.message : `--${flagOf(e.option)}${e.detail}`);
}

/**
 * Runs a library call; an {@link InputError} (the caller's mistake) becomes a
 * {@link UsageError} naming the flag (exit code 2), anything else passes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { InputError } from "../train/mod.ts";
 * import { libraryCall } from "./model_io.ts";
 * await assert.rejects(
 *   libraryCall(() => Promise.reject(new InputError("trainSize", " 9 leaves no test subject"))),
 *   /^UsageError: --train-size 9 leaves no test subject$/,
 * );
 * ```
 */
export async function libraryCall<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof InputError) throw usageErrorOf(e);
    throw e;
  }
}

/** The preset config of a model name (`unetr` → `unetr-base`); a bad name is a UsageError naming `--model`. */
export function presetConfig(name: string): UnetrConfig {
  try {
    return presetConfigLib(name);
  } catch (e) {
    throw e instanceof InputError ? usageErrorOf(e) : e;
  }
}

/** Reads `.safetensors` or `.pth` weights; errors name the flag (`--flagName`). */
export function readPretrained(path: string, flagName = "pretrained"): Promise<Pretrained> {
  return libraryCall(() => readPretrainedLib(path, flagName));
}

/** A UNETR with `config`, seeded, holding `weights` when given; a mismatch is a UsageError naming `source`. */
export function buildUnetr(config: UnetrConfig, seed: number, weights?: Map<string, Tensor>, source = ""): UNETR {
  try {
    return buildUnetrLib(config, seed, weights, source, null);
  } catch (e) {
    throw e instanceof InputError ? usageErrorOf(e) : e;
  }
}

/** Reads a subject and z-scores its image; errors name the files. */
export function loadPreprocessed(subject: Subject, labelMap?: Record<number, number>): Promise<LoadedSubject> {
  return libraryCall(() => loadPreprocessedLib(subject, labelMap));
}

/** A loaded subject as a training sample (the label must exist). */
export function toSample(s: LoadedSubject): Sample {
  try {
    return toSampleLib(s);
  } catch (e) {
    throw e instanceof InputError ? usageErrorOf(e) : e;
  }
}

/** Recreates a UNETR (shape-only) from the `model` entry of a run's config.json. */
export function unetrFromRecord(record: unknown, where: string): UNETR {
  try {
    return unetrFromRecordLib(record, where);
  } catch (e) {
    throw e instanceof InputError ? usageErrorOf(e) : e;
  }
}

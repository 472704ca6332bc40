/**
 * Weights in and out of tensors for the pipeline: {@link loadCheckpoint}
 * reads a safetensors file (lorapt's checkpoints, optimizer state dropped) or
 * a PyTorch `.pth` zip (the authors' BraTS-pretrained UNETR) into a state
 * dict for `model.loadStateDict`; {@link readPretrained} adds the UNETR
 * config that lorapt records in its files' metadata (`lorapt.model`).
 * @module
 */
import { fromArray, type Tensor } from "../tensor/mod.ts";
import { createUnetr, UNETR, UNETR_CONFIGS, type UnetrConfig, type UnetrName } from "../models/mod.ts";
import { loadPthStateDict, readSafetensors, readSafetensorsMetadata, toFloat32 } from "../models/io/mod.ts";
import { OPTIMIZER_PREFIX } from "./checkpoint.ts";
import { InputError } from "./input_error.ts";

/** Model names the pipeline accepts: `unetr` is `unetr-base`. */
export const MODEL_NAMES = ["unetr", "unetr-base", "unetr-small", "unetr-tiny"] as const;

/** Metadata key holding the UNETR config in checkpoints written by lorapt. */
export const MODEL_KEY = "lorapt.model";

/**
 * The preset config of a model name (`unetr` → `unetr-base`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { presetConfig } from "./pretrained.ts";
 * assert.equal(presetConfig("unetr").hiddenSize, 768);
 * assert.throws(() => presetConfig("resnet"), /model "resnet" is not one of unetr, unetr-base/);
 * ```
 */
export function presetConfig(name: string): UnetrConfig {
  const key = (name === "unetr" ? "unetr-base" : name) as UnetrName;
  const c = UNETR_CONFIGS[key];
  if (!c) throw new InputError("model", ` "${name}" is not one of ${MODEL_NAMES.join(", ")}`);
  return { ...c };
}

/** Pre-trained weights as tensors, plus the UNETR config recorded with them (lorapt safetensors only). */
export interface Pretrained {
  /** Tensors by PyTorch name (optimizer state dropped). */
  weights: Map<string, Tensor>;
  /** The config stored in the file's metadata, if any. */
  config: UnetrConfig | null;
}

const WEIGHTS_FILE = /\.(safetensors|pth|pt)$/;

/**
 * Reads `.safetensors` or `.pth` weights and the UNETR config a lorapt file
 * records. A wrong extension or an unreadable file is an
 * {@link InputError} of `option` naming the path.
 */
export async function readPretrained(path: string, option = "pretrained"): Promise<Pretrained> {
  if (!WEIGHTS_FILE.test(path)) throw new InputError(option, ` ${path}: expected a .safetensors or .pth file`);
  try {
    const weights = new Map<string, Tensor>();
    let config: UnetrConfig | null = null;
    if (path.endsWith(".safetensors")) {
      const { tensors, metadata } = await readSafetensors(path);
      for (const [k, raw] of tensors) {
        if (!k.startsWith(OPTIMIZER_PREFIX)) weights.set(k, fromArray(toFloat32(raw, k), raw.shape));
      }
      if (metadata[MODEL_KEY]) config = JSON.parse(metadata[MODEL_KEY]);
    } else {
      for (const [k, raw] of await loadPthStateDict(path)) weights.set(k, fromArray(toFloat32(raw, k), raw.shape));
    }
    return { weights, config };
  } catch (e) {
    throw new InputError(option, `: ${(e as Error).message}`);
  }
}

/**
 * The UNETR config a lorapt `.safetensors` file records (`lorapt.model`),
 * read from its header alone, or null (a `.pth`, or a file without one).
 * Lets a caller check sizes, such as a rank, before any weight is read.
 */
export async function pretrainedConfig(path: string, option = "pretrained"): Promise<UnetrConfig | null> {
  if (!WEIGHTS_FILE.test(path)) throw new InputError(option, ` ${path}: expected a .safetensors or .pth file`);
  if (!path.endsWith(".safetensors")) return null;
  try {
    const text = (await readSafetensorsMetadata(path))[MODEL_KEY];
    return text ? JSON.parse(text) : null;
  } catch (e) {
    throw new InputError(option, `: ${(e as Error).message}`);
  }
}

/**
 * A model's weights from a checkpoint file, as tensors by PyTorch name, for
 * `model.loadStateDict`: a lorapt `.safetensors` (any run checkpoint; its
 * optimizer state is left out) or a PyTorch `.pth` / `.pt` zip (the
 * state dict inside, e.g. the authors' `model_epoch_last.pth`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createUnetr } from "../models/mod.ts";
 * import { loadCheckpoint, saveCheckpoint } from "./mod.ts";
 * const dir = await Deno.makeTempDir();
 * const model = createUnetr("unetr-tiny", { seed: 1 });
 * await saveCheckpoint(`${dir}/w.safetensors`, model);
 * const weights = await loadCheckpoint(`${dir}/w.safetensors`);
 * assert.equal(weights.size, model.namedParameters().length);
 * createUnetr("unetr-tiny", { materialize: false }).loadStateDict(weights);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadCheckpoint(path: string): Promise<Map<string, Tensor>> {
  return (await readPretrained(path, "checkpoint")).weights;
}

/**
 * A UNETR with `config`, seeded, holding `weights` when given (strict: every
 * parameter, no extra key, same shapes). With weights it is built shape-only
 * first (`materialize: false`), so no random initialisation is drawn only to
 * be overwritten. A mismatch is an {@link InputError} of `option`.
 */
export function buildUnetr(
  config: UnetrConfig,
  seed: number,
  weights?: Map<string, Tensor>,
  source = "",
  option: string | null = "pretrained",
): UNETR {
  const model = createUnetr({ ...config }, weights ? { seed, materialize: false } : { seed });
  if (weights) {
    try {
      model.loadStateDict(weights);
    } catch (e) {
      const sep = option === null ? "" : " ";
      throw new InputError(option, `${sep}${source}: does not fit the model: ${(e as Error).message}`);
    }
  }
  return model;
}

/** Recreates a UNETR, shape-only, from the `model` entry of a run's config.json (`where` names the file). */
export function unetrFromRecord(record: unknown, where: string): UNETR {
  if (!record || typeof record !== "object") throw new InputError(null, `${where}: no "model" config`);
  try {
    return new UNETR(record as Partial<UnetrConfig>, { materialize: false });
  } catch (e) {
    throw new InputError(null, `${where}: bad model config: ${(e as Error).message}`);
  }
}

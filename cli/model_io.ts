/**
 * Loading models and data for the commands: pre-trained weights from
 * safetensors or PyTorch `.pth`, the UNETR configuration a checkpoint was
 * made with, and preprocessed subjects.
 * @module
 */
import { fromArray, type Tensor, zScore } from "../mod.ts";
import { createUnetr, UNETR, UNETR_CONFIGS, type UnetrConfig, type UnetrName } from "../models/mod.ts";
import { loadPthStateDict, readSafetensors, toFloat32 } from "../models/io/mod.ts";
import { type LoadedSubject, loadSubject, Rng, type Sample, type Subject } from "../data/mod.ts";
import { checkFiniteWeights, OPTIMIZER_PREFIX } from "../train/mod.ts";
import { asUserError, UsageError } from "./args.ts";

/** Model names the commands accept: `unetr` is `unetr-base`. */
export const MODEL_NAMES = ["unetr", "unetr-base", "unetr-small", "unetr-tiny"] as const;

/** Metadata key holding the UNETR config in checkpoints written by lorapt. */
export const MODEL_KEY = "lorapt.model";

/** The preset config of a model name (`unetr` → `unetr-base`). */
export function presetConfig(name: string): UnetrConfig {
  const key = (name === "unetr" ? "unetr-base" : name) as UnetrName;
  const c = UNETR_CONFIGS[key];
  if (!c) throw new UsageError(`--model "${name}" is not one of ${MODEL_NAMES.join(", ")}`);
  return { ...c };
}

/** Pre-trained weights as tensors, plus the UNETR config recorded with them (lorapt safetensors only). */
export interface Pretrained {
  /** Tensors by PyTorch name (optimizer state dropped). */
  weights: Map<string, Tensor>;
  /** The config stored in the file's metadata, if any. */
  config: UnetrConfig | null;
}

/** Reads `.safetensors` or `.pth` weights; errors name the file (`--flag`), and the tensor holding NaN/Inf. */
export async function readPretrained(path: string, flagName = "pretrained"): Promise<Pretrained> {
  return await asUserError(`--${flagName}`, async () => {
    const weights = new Map<string, Tensor>();
    const float = (raw: Parameters<typeof toFloat32>[0], k: string) => {
      const data = toFloat32(raw, k);
      checkFiniteWeights(data, k, path);
      return fromArray(data, raw.shape);
    };
    let config: UnetrConfig | null = null;
    if (path.endsWith(".safetensors")) {
      const { tensors, metadata } = await readSafetensors(path);
      for (const [k, raw] of tensors) {
        if (!k.startsWith(OPTIMIZER_PREFIX)) weights.set(k, float(raw, k));
      }
      if (metadata[MODEL_KEY]) config = JSON.parse(metadata[MODEL_KEY]);
    } else if (path.endsWith(".pth") || path.endsWith(".pt")) {
      for (const [k, raw] of await loadPthStateDict(path)) weights.set(k, float(raw, k));
    } else {
      throw new Error(`${path}: expected a .safetensors or .pth file`);
    }
    return { weights, config };
  });
}

/**
 * A UNETR with `config`, seeded, holding `weights` when given (strict: every
 * parameter, no extra key, same shapes; the error names the keys).
 */
export function buildUnetr(config: UnetrConfig, seed: number, weights?: Map<string, Tensor>, source = ""): UNETR {
  const model = createUnetr({ ...config }, { seed });
  if (weights) {
    try {
      model.loadStateDict(weights);
    } catch (e) {
      throw new UsageError(`${source}: does not fit the model: ${(e as Error).message}`);
    }
  }
  return model;
}

/** Reads a subject (`maxVoxels`: the `--max-voxels` bound) and z-scores its image (spec §3); errors name the files. */
export async function loadPreprocessed(
  subject: Subject,
  labelMap?: Record<number, number>,
  maxVoxels?: number,
): Promise<LoadedSubject> {
  const s = await asUserError(`subject ${subject.id}`, () => loadSubject(subject, { labelMap, read: { maxVoxels } }));
  const pre = zScore()({ image: s.image }, new Rng(0));
  return { ...s, image: pre.image };
}

/** A loaded subject as a training sample (the label must exist). */
export function toSample(s: LoadedSubject): Sample {
  if (!s.label) throw new UsageError(`subject ${s.id} has no label and cannot be used for training`);
  return { image: s.image, label: s.label };
}

/** Recreates a UNETR from the `model` entry of a run's config.json. */
export function unetrFromRecord(record: unknown, where: string): UNETR {
  if (!record || typeof record !== "object") throw new UsageError(`${where}: no "model" config`);
  try {
    return new UNETR(record as Partial<UnetrConfig>);
  } catch (e) {
    throw new UsageError(`${where}: bad model config: ${(e as Error).message}`);
  }
}

/**
 * Adapter files, like HF PEFT's adapter-only `save_pretrained`: safetensors
 * holding only the trainable tensors (by their model names) and, as
 * metadata, the resolved PEFT config. Loading re-applies the config to a
 * base model and then the tensors. PiSSA's and LoRA-PT's frozen residuals
 * are not stored: they are recomputed from the base weights by the same
 * deterministic (seeded) t-SVD, so the base model must be the one the
 * adapter was trained on.
 * @module
 */
import { cast, fromArray, type Tensor } from "../tensor/mod.ts";
import { noGrad } from "../autodiff/mod.ts";
import type { UNETR } from "../models/mod.ts";
import { type RawTensor, readSafetensors, toFloat32, writeSafetensors } from "../models/io/mod.ts";
import { applyPeft, type PeftModel } from "./apply.ts";
import type { PeftConfig } from "./config.ts";

/** Metadata key of the resolved config (JSON). */
export const CONFIG_KEY = "lorapt.peft_config";

async function toRaw(t: Tensor): Promise<RawTensor> {
  const data = await t.data();
  return t.dtype === "float64"
    ? { dtype: "F64", shape: [...t.shape], data: Float64Array.from(data) }
    : { dtype: "F32", shape: [...t.shape], data: Float32Array.from(data) };
}

/**
 * Writes the trainable tensors of `peft` and its config to `path`
 * (safetensors; metadata `format: "pt"`, `lorapt.peft_config`,
 * `lorapt.base_model`, `lorapt.trainable_total`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createUnetr } from "../models/mod.ts";
 * import { applyPeft, loadAdapter, saveAdapter } from "./mod.ts";
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * const peft = await applyPeft(createUnetr("unetr-tiny", { seed: 1 }), { method: "ssf", modulesToSave: [] });
 * await saveAdapter(path, peft);
 * const again = await loadAdapter(path, createUnetr("unetr-tiny", { seed: 1 }));
 * assert.equal(again.report.total, peft.report.total);
 * await Deno.remove(path);
 * ```
 */
export async function saveAdapter(path: string, peft: PeftModel): Promise<void> {
  const tensors = new Map<string, RawTensor>();
  for (const name of peft.trainable.keys()) tensors.set(name, await toRaw(peft.model.getParameter(name)));
  await writeSafetensors(path, tensors, {
    format: "pt",
    [CONFIG_KEY]: JSON.stringify(peft.config),
    "lorapt.base_model": JSON.stringify(peft.model.config),
    "lorapt.trainable_total": String(peft.report.total),
  });
}

/**
 * Reads an adapter file written by {@link saveAdapter}, applies its config
 * to `model` (the pre-trained base, changed in place) and loads the
 * trained tensors. Every trainable tensor must be in the file with its
 * shape, and nothing else.
 */
export async function loadAdapter(path: string, model: UNETR): Promise<PeftModel> {
  const { tensors, metadata } = await readSafetensors(path);
  const text = metadata[CONFIG_KEY];
  if (!text) throw new Error(`loadAdapter: ${path} has no "${CONFIG_KEY}" metadata (not an adapter file)`);
  const peft = await applyPeft(model, JSON.parse(text) as PeftConfig);
  const missing = [...peft.trainable.keys()].filter((n) => !tensors.has(n));
  const unexpected = [...tensors.keys()].filter((n) => !peft.trainable.has(n));
  if (missing.length || unexpected.length) {
    throw new Error(
      `loadAdapter: ${path}: ${missing.length} missing (${missing.slice(0, 4).join(", ")}), ${unexpected.length} ` +
        `unexpected (${unexpected.slice(0, 4).join(", ")}) tensor(s)`,
    );
  }
  noGrad(() => {
    for (const [name, raw] of tensors) {
      const p = peft.model.getParameter(name);
      if (raw.shape.join() !== p.shape.join()) {
        throw new Error(`loadAdapter: ${name} has shape [${raw.shape}] in ${path}, [${p.shape}] in the model`);
      }
      const data = raw.dtype === "F64" ? raw.data as Float64Array : toFloat32(raw, name);
      p.assign(cast(fromArray(data, raw.shape, p.storage.backend), p.dtype));
    }
  });
  return peft;
}

/**
 * Fine-tuning methods as trainable sets (peft/README.md): which
 * parameters of a UNETR train, and, for the adapter methods, the adapted
 * model that `peft/` builds.
 *
 * Built in (no adapter needed):
 * - `full`: every parameter (93,011,170 for `unetr-base`);
 * - `linear-probe`: decoder2–5 plus `linear1`/`linear2` (weights and
 *   biases) of every transformer block, as the paper counts it (59.3477 M);
 * - `decoder`: decoder2–5 only (2,678,528), which is what the authors'
 *   public LoRA-PT script effectively trains ("public-code mode",
 *   README.md, "Paper vs public code").
 *
 * `lora`, `adapter`, `ssf`, `lotr`, `pissa` and `lora-pt` come from
 * `peft/`'s `applyPeft`.
 * @module
 */
import { type Module, UNETR } from "../models/mod.ts";
import { applyPeft, type PeftMethod } from "../peft/mod.ts";

/** Methods trained by choosing parameters only. */
export const BUILTIN_METHODS = ["full", "linear-probe", "decoder"] as const;
/** Methods that need `peft/`'s adapters. */
export const ADAPTER_METHODS = ["lora", "adapter", "ssf", "lotr", "pissa", "lora-pt"] as const;
/** Every method name, in the paper's table order (plus `decoder`). */
export const METHODS: readonly string[] = [...BUILTIN_METHODS, ...ADAPTER_METHODS];

/** Options of {@link prepareMethod}. */
export interface MethodOptions {
  /** Method name, one of {@link METHODS}. */
  method: string;
  /** Rank for the low-rank methods (paper: LoRA 32, Adapter 32, LoTR 2, PiSSA 2, LoRA-PT 1). */
  rank?: number;
  /** Further adapter options passed through to `applyPeft`. */
  [option: string]: unknown;
}

/** A model ready to fine-tune: which parameters train, and how many. */
export interface PreparedMethod<M extends Module = Module> {
  /** The model to train (the adapted one for adapter methods). */
  model: M;
  /** Dotted names of the trainable parameters. */
  trainable: string[];
  /** Trainable and total parameter counts. */
  report: { method: string; trainable: number; total: number };
}

const DECODER = /^decoder[2-5]\./;
const LINEAR = /^vit\.blocks\.\d+\.mlp\.linear[12]\.(weight|bias)$/;

/** The trainable names of a built-in method (see the module doc). */
export function builtinTrainable(model: Module, method: string): string[] {
  const names = model.namedParameters().map(([n]) => n);
  if (method === "full") return names;
  if (method === "decoder") return names.filter((n) => DECODER.test(n));
  if (method === "linear-probe") return names.filter((n) => DECODER.test(n) || LINEAR.test(n));
  throw new RangeError(`builtinTrainable: "${method}" is not one of ${BUILTIN_METHODS.join(", ")}`);
}

/**
 * Prepares `model` for fine-tuning with `opts.method`: the trainable names,
 * the (possibly adapted) model and the parameter counts. Does not touch
 * `requiresGrad`; the training loop sets it from `trainable`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { prepareMethod } from "./methods.ts";
 * import { createUnetr } from "../models/mod.ts";
 * const model = createUnetr("unetr-base", { materialize: false });
 * assert.equal((await prepareMethod(model, { method: "decoder" })).report.trainable, 2_678_528);
 * assert.equal((await prepareMethod(model, { method: "linear-probe" })).report.trainable, 59_347_712);
 * ```
 */
export async function prepareMethod<M extends Module>(model: M, opts: MethodOptions): Promise<PreparedMethod> {
  const { method } = opts;
  const count = (m: Module, names: string[]) => {
    const set = new Set(names);
    const all = m.namedParameters();
    return {
      method,
      trainable: all.filter(([n]) => set.has(n)).reduce((s, [, t]) => s + t.size, 0),
      total: all.reduce((s, [, t]) => s + t.size, 0),
    };
  };
  if ((BUILTIN_METHODS as readonly string[]).includes(method)) {
    const trainable = builtinTrainable(model, method);
    return { model, trainable, report: count(model, trainable) };
  }
  if (!(ADAPTER_METHODS as readonly string[]).includes(method)) {
    throw new RangeError(`unknown method "${method}" (known: ${METHODS.join(", ")})`);
  }
  if (!(model instanceof UNETR)) {
    throw new RangeError(`method "${method}" adapts a UNETR; got ${model.constructor.name}`);
  }
  const { rank, ...rest } = opts;
  const out = await applyPeft(model, { ...rest, method: method as PeftMethod, ...(rank ? { rank } : {}) });
  const trainable = [...out.trainable.keys()];
  return { model: out.model, trainable, report: count(out.model, trainable) };
}

/**
 * Fine-tuning methods as trainable sets: which parameters of a UNETR train,
 * and, for the adapter methods, the adapted model. Every method, `full`,
 * `linear-probe` and `decoder` included, is one row of `peft/`'s method table
 * and goes through `applyPeft`:
 * - `full`: every parameter (93,011,170 for `unetr-base`);
 * - `linear-probe`: decoder2–5 plus `linear1`/`linear2` (weights and
 *   biases) of every transformer block, as the paper counts it (59.3477 M);
 * - `decoder`: decoder2–5 only (2,678,528), which is what the authors'
 *   public LoRA-PT script effectively trains ("public-code mode");
 * - `lora`, `adapter`, `ssf`, `lotr`, `pissa` and `lora-pt`: adapters.
 * @module
 */
import type { Module, UNETR } from "../models/mod.ts";
import { applyPeft, METHOD_NAMES, methodInfo, type PeftMethod } from "../peft/mod.ts";

/** Methods trained by choosing parameters only (no adapter tensors). */
export const BUILTIN_METHODS: readonly PeftMethod[] = Object.freeze(
  METHOD_NAMES.filter((m) => methodInfo(m).injection === "none"),
);
/** Methods that add adapter tensors. */
export const ADAPTER_METHODS: readonly PeftMethod[] = Object.freeze(
  METHOD_NAMES.filter((m) => methodInfo(m).injection !== "none"),
);
/** Every method name, in the paper's table order (plus `decoder`). */
export const METHODS: readonly string[] = METHOD_NAMES;

/** Options of {@link prepareMethod}. */
export interface MethodOptions {
  /** Method name, one of {@link METHODS}. */
  method: string;
  /** Rank for the low-rank methods; absent: the method's own (paper: LoRA 32, Adapter 32, LoTR 2, PiSSA 2, LoRA-PT 1). */
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
  /** Trainable and total parameter counts, and the rank used (null for a method without one). */
  report: { method: string; rank: number | null; trainable: number; total: number };
}

/**
 * Prepares `model` for fine-tuning with `opts.method` (`applyPeft`): the
 * trainable names, the (possibly adapted) model and the parameter counts.
 * The training loop sets `requiresGrad` from `trainable` again. The rank is
 * checked against the model's shapes before anything is allocated
 * (`RankError`, peft/config.ts).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { prepareMethod } from "./methods.ts";
 * import { createUnetr } from "../models/mod.ts";
 * const model = () => createUnetr("unetr-base", { materialize: false });
 * assert.equal((await prepareMethod(model(), { method: "decoder" })).report.trainable, 2_678_528);
 * assert.equal((await prepareMethod(model(), { method: "linear-probe" })).report.trainable, 59_347_712);
 * assert.equal((await prepareMethod(model(), { method: "lora" })).report.rank, 32);
 * ```
 */
export async function prepareMethod(model: UNETR, opts: MethodOptions): Promise<PreparedMethod<UNETR>> {
  const { method, rank, ...rest } = opts;
  const info = methodInfo(method);
  const out = await applyPeft(model, { ...rest, method: info.name, ...(rank !== undefined ? { rank } : {}) });
  const trainable = [...out.trainable.keys()];
  const all = out.model.namedParameters();
  return {
    model: out.model,
    trainable,
    report: {
      method,
      rank: info.rank === null ? null : out.config.rank,
      trainable: out.report.total,
      total: all.reduce((s, [, t]) => s + t.size, 0),
    },
  };
}

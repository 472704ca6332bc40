/**
 * `applyPeft`: turns a UNETR into an adapted one in place, flags exactly the
 * trainable tensors `requiresGrad`, and reports them; `merge` folds the
 * adapters back into plain layers (HF PEFT's `merge_and_unload`).
 * @module
 */
import { Rng, type Tensor } from "../tensor/mod.ts";
import { LayerNorm, Linear, type Module, type ModuleList, type UNETR } from "../models/mod.ts";
import {
  checkRank,
  findTargets,
  type LoraPtGroupName,
  type PeftConfig,
  resolveConfig,
  type ResolvedPeftConfig,
  underAny,
} from "./config.ts";
import { METHOD_TABLE, methodInfo } from "./methods.ts";
import { AdapterLinear } from "./layers/adapter.ts";
import { isMergeable } from "./layers/base.ts";
import { LoraLinear, PissaLinear } from "./layers/lora.ts";
import { adaptGroup } from "./layers/lora_pt.ts";
import { addLotrFactors, LotrLinear } from "./layers/lotr.ts";
import { SharedFactorList } from "./layers/shared.ts";
import { SsfLayerNorm, SsfLinear } from "./layers/ssf.ts";
import { buildReport, type PeftReport } from "./report.ts";
import { planGroups } from "./tensorize.ts";

/** An adapted model: what {@link applyPeft} and {@link loadAdapter} return. */
export interface PeftModel {
  /** The adapted UNETR (the same object that was passed in, changed in place). */
  model: UNETR;
  /** The configuration with every default filled in. */
  config: ResolvedPeftConfig;
  /** The trainable tensors by dotted name, in model order (each flagged `requiresGrad`). */
  trainable: Map<string, Tensor>;
  /** The trainable tensors, their counts, total and share of the base model. */
  report: PeftReport;
}

/**
 * Adapter tensors are named like HF PEFT / loralib / the methods' code: `lora_*`, `pissa_*`, `adapter_*`, `ssf_*`,
 * `lotr_*`, `lora_pt_*` (the prefixes of the method table).
 */
const ADAPTER_NAME = new RegExp(
  `(^|\\.)(${METHOD_TABLE.flatMap((m) => (m.tensorPrefix ? [m.tensorPrefix] : [])).join("|")})_[A-Za-z0-9_]*$`,
);

/** True when `model` already carries adapters (applyPeft does not stack them). */
export function isAdapted(model: Module): boolean {
  return model.namedModules().some(([, m]) => isMergeable(m) || m instanceof SharedFactorList);
}

function sharedList(model: Module): SharedFactorList {
  const holder = new SharedFactorList(model.getSubmodule("vit.blocks") as ModuleList);
  model.setSubmodule("vit.blocks", holder);
  return holder;
}

async function inject(model: UNETR, c: ResolvedPeftConfig): Promise<void> {
  const rng = new Rng(c.seed);
  const wrap = (make: (lin: Linear) => Module) => {
    for (const [path, m] of findTargets(model, c.targets)) model.setSubmodule(path, make(m as Linear));
  };
  switch (methodInfo(c.method).injection) {
    case "none":
      return;
    case "wrap-linear":
      return c.method === "lora"
        ? wrap((lin) => new LoraLinear(lin, c.rank, c.alpha, { rng, dropout: c.dropout }))
        : wrap((lin) => new AdapterLinear(lin, c.rank, c.alpha, { rng, dropout: c.dropout }));
    case "wrap-linear-norm":
      for (const [path, m] of findTargets(model, c.targets, [Linear, LayerNorm])) {
        const opts = { rng, init: c.ssfInit };
        model.setSubmodule(path, m instanceof Linear ? new SsfLinear(m, opts) : new SsfLayerNorm(m as LayerNorm, opts));
      }
      return;
    case "svd-linear":
      for (const [path, m] of findTargets(model, c.targets)) {
        model.setSubmodule(path, await PissaLinear.create(m as Linear, c.rank));
      }
      return;
    case "shared-tucker": {
      const holder = sharedList(model);
      for (const target of c.targets) {
        const members = findTargets(model, [target]).map(([p, m]) => [p, m as Linear] as const);
        const [, first] = members[0];
        const odd = members.find(([, m]) => m.inFeatures !== first.inFeatures || m.outFeatures !== first.outFeatures);
        if (odd) throw new Error(`applyPeft(lotr): group "${target}" mixes shapes (${odd[0]})`);
        addLotrFactors(holder, target, first, c.rank, rng);
        for (const [path, m] of members) model.setSubmodule(path, new LotrLinear(m, holder, target, c.rank, c.alpha));
      }
      return;
    }
    case "t-svd": {
      // public-code mode: the released script's factors never reach the weights (README.md, "Paper vs public code"): nothing to inject.
      if (c.mode === "public-code") return;
      const holder = sharedList(model);
      for (const plan of planGroups(model, c.targets as LoraPtGroupName[], c.sliceOrder)) {
        for (const [path, layer] of await adaptGroup(model, holder, plan, c.rank)) model.setSubmodule(path, layer);
      }
      return;
    }
  }
}

function labelOf(c: ResolvedPeftConfig): string {
  if (c.method === "lora-pt") return c.mode === "public-code" ? "lora-pt (public-code)" : `lora-pt r=${c.rank} (paper)`;
  return methodInfo(c.method).rank !== null ? `${c.method} r=${c.rank}` : c.method;
}

/**
 * Adapts `model` in place for parameter-efficient fine-tuning and returns it
 * with its trainable tensors and a count report. Frozen tensors get
 * `requiresGrad = false`, trainable ones `true`; train exactly
 * `trainable.values()`.
 *
 * Methods (the table in `methods.ts`; defaults reproduce the paper's
 * counts, Table 2): `full`; `linear-probe` (linear1/linear2 weights and
 * biases); `decoder` (decoder2–5 only); `lora` (A, B on qkv, out_proj, linear1, linear2); `adapter`
 * (bias-free c→r→c adapter on each of those layers' outputs); `ssf`;
 * `lotr` (one group per target across the 12 blocks); `pissa` (U, S, V);
 * `lora-pt` (`mode: "paper"` trains the t-SVD factors, `"public-code"` only
 * the decoder). Every PEFT method also trains `modulesToSave` (decoder2–5
 * by default). At initialisation the adapted network computes the same
 * function as the base one (float rounding aside); SSF does so with its
 * default `ssfInit: "identity"`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createUnetr } from "../models/mod.ts";
 * import { applyPeft } from "./mod.ts";
 * // Counting needs no weights: build the reference UNETR shape-only.
 * const { report } = await applyPeft(createUnetr("unetr-base", { materialize: false }), { method: "lora", rank: 32 });
 * assert.equal(report.total, 7_397_120); // the paper's 7.3971 M
 * const peft = await applyPeft(createUnetr("unetr-base", { materialize: false }), { method: "lora-pt" });
 * assert.equal(peft.report.total, 2_844_488); // 2.8445 M: U, S, V of W_sa, W_up, W_down plus decoder2–5
 * assert.ok(peft.trainable.has("vit.blocks.lora_pt_sa_U"));
 * ```
 */
export async function applyPeft(model: UNETR, config: PeftConfig): Promise<PeftModel> {
  const c = resolveConfig(config);
  if (isAdapted(model)) throw new Error("applyPeft: the model already carries adapters; merge() it first");
  checkRank(model, c); // before any factor is allocated
  const baseTotal = model.numParameters();
  const fixedTargets = methodInfo(c.method).trainsTargets ? findTargets(model, c.targets).map(([p]) => p) : [];
  await inject(model, c);
  model.train(model.training); // the new layers follow the model's mode
  const trainable = new Map<string, Tensor>();
  for (const [name, t] of model.namedParameters()) {
    const train = c.method === "full" || underAny(name, c.modulesToSave) || underAny(name, fixedTargets) ||
      ADAPTER_NAME.test(name);
    t.requiresGrad = train;
    if (train) trainable.set(name, t);
  }
  return { model, config: c, trainable, report: buildReport(c.method, labelOf(c), trainable, baseTotal) };
}

/**
 * Folds every adapter of `model` into plain `Linear`/`LayerNorm` weights and
 * removes the shared-factor list, in place, like HF PEFT's
 * `merge_and_unload`: the result is a plain UNETR computing the same
 * function. State-dict names are the base model's; the one addition is a
 * `qkv.bias` after SSF (its shift after the bias-free qkv), i.e. the layout
 * of a UNETR with `qkvBias: true`. Merged weights are new tensors that are
 * not flagged `requiresGrad`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createUnetr, Linear } from "../models/mod.ts";
 * import { applyPeft, merge } from "./mod.ts";
 * const { model } = await applyPeft(createUnetr("unetr-tiny", { seed: 0 }), { method: "lora", rank: 2 });
 * merge(model);
 * assert.ok(model.getSubmodule("vit.blocks.0.attn.qkv") instanceof Linear);
 * assert.equal(model.namedParameters().length, 170);
 * ```
 */
export function merge(model: UNETR): UNETR {
  for (const [path, m] of model.namedModules()) {
    if (!path || !isMergeable(m)) continue;
    const plain = m.merged();
    plain.train(m.training);
    model.setSubmodule(path, plain);
  }
  for (const [path, m] of model.namedModules()) {
    if (path && m instanceof SharedFactorList) model.setSubmodule(path, m.plain().train(m.training));
  }
  return model;
}

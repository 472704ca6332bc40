/**
 * Parameter-efficient fine-tuning of UNETR as model transforms: Full,
 * Linear-probing, LoRA, Adapter, SSF, LoTR, PiSSA and LoRA-PT (the paper's
 * §3 and §5), plus decoder-only. One table, {@link METHOD_TABLE}, lists
 * them with their labels, default ranks, targets and injection.
 *
 * - {@link applyPeft} adapts a UNETR in place, freezes everything else and
 *   reports exactly what trains; {@link merge} folds the adapters back into
 *   a plain UNETR; {@link saveAdapter} / {@link loadAdapter} store only the
 *   trainable tensors and the config.
 * - LoRA-PT in `"paper"` mode trains real t-SVD factors U, S, V shared
 *   across layers; every forward rebuilds W_l = W^Res_l + (U*S*Vᵀ)_l
 *   (paper §3.3). `"public-code"` mode reproduces what the released
 *   script effectively trains: decoder2–5 only (README.md, "Paper vs public code").
 * - {@link suggestRank} picks the tubal rank from the t-SVD spectrum.
 *
 * Adapted layers keep the base layer's tensors under their PyTorch names
 * (`weight`, `bias`) and add their own beside them (`lora_A`, `lora_B`,
 * `adapter_down`, `ssf_scale`, `pissa_U`, `lotr_G`); tensors shared across
 * layers (LoTR's A, B; LoRA-PT's U, S, V) live on `vit.blocks` itself
 * (`vit.blocks.lora_pt_sa_U`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createUnetr } from "../models/mod.ts";
 * import { applyPeft, merge } from "./mod.ts";
 * const { model, trainable, report } = await applyPeft(createUnetr("unetr-tiny", { seed: 0 }), {
 *   method: "lora-pt",
 *   rank: 1,
 * });
 * assert.ok([...trainable.keys()].includes("vit.blocks.lora_pt_up_V"));
 * assert.ok(model.getParameter("vit.blocks.0.mlp.linear1.weight").requiresGrad === false);
 * assert.ok(report.percent < 100);
 * merge(model); // a plain UNETR again
 * assert.equal(model.namedParameters().length, 170);
 * ```
 * @module
 */
export { applyPeft, isAdapted, merge } from "./apply.ts";
export type { PeftModel } from "./apply.ts";
export { checkRank, DEFAULT_MODULES_TO_SAVE, rankBound, RankError } from "./config.ts";
export type { LoraPtGroupName, PeftConfig, ResolvedPeftConfig } from "./config.ts";
export {
  isMethod,
  METHOD_LABELS,
  METHOD_NAMES,
  METHOD_TABLE,
  methodInfo,
  PAPER_RANKS,
  PEFT_METHODS,
  RANKED_METHODS,
} from "./methods.ts";
export type { Injection, MethodInfo, PeftMethod } from "./methods.ts";
export { CONFIG_KEY, loadAdapter, saveAdapter } from "./io.ts";
export { suggestRank } from "./rank.ts";
export type { GroupRank, RankSuggestion, SuggestRankOptions } from "./rank.ts";
export { formatReport } from "./report.ts";
export type { PeftReport, PeftReportEntry } from "./report.ts";
export { AdaptedLinear, isMergeable } from "./layers/base.ts";
export type { Mergeable } from "./layers/base.ts";
export { LoraLinear, PissaLinear } from "./layers/lora.ts";
export { AdapterLinear } from "./layers/adapter.ts";
export { SsfLayerNorm, SsfLinear } from "./layers/ssf.ts";
export type { SsfInit } from "./layers/ssf.ts";
export { LotrLinear } from "./layers/lotr.ts";
export { LoraPtLinear } from "./layers/lora_pt.ts";
export { SharedFactorList } from "./layers/shared.ts";
export { planGroups, principalRows, principalTensor, stackGroup } from "./tensorize.ts";
export type { GroupPlan, SliceSource } from "./tensorize.ts";
// The model and tensor types appear throughout this API; re-exported (types only) so the docs are complete.
export type * from "../models/mod.ts";

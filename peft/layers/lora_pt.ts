/**
 * LoRA-PT in "paper" mode with real, trainable factors (paper §3.3; peft/README.md, "LoRA-PT"):
 * per group, U_r `[n1, r, n3]`, the r diagonal tubes of S_r `[r, n3]` and
 * V_r `[n2, r, n3]` live on the {@link SharedFactorList}; every adapted
 * layer stores its frozen residual slice(s) as `weight` and computes
 * W_l = W^Res_l + (U_r * S_r * V_rᵀ)_l in each forward, so gradients reach
 * U, S and V. Because the t-product mixes slices circularly, every layer's
 * weight depends on all of U, S and V (the paper's cross-layer coupling).
 * @module
 */
import { fromArray, type Tensor, tsvdTruncate } from "../../tensor/mod.ts";
import { noGrad } from "../../autodiff/mod.ts";
import type { Linear, Module } from "../../models/mod.ts";
import type { LoraPtGroupName } from "../config.ts";
import { toHost64, toParamLike } from "../host.ts";
import { type GroupPlan, principalRows, principalTensor, slicesByLayer, stackGroup } from "../tensorize.ts";
import { AdaptedLinear, initLike, plainLinear } from "./base.ts";
import type { SharedFactorList } from "./shared.ts";

/** Names of a group's factors on the shared list: `lora_pt_sa_U`, `lora_pt_sa_S`, `lora_pt_sa_V`. */
export function loraPtNames(group: LoraPtGroupName): { u: string; s: string; v: string } {
  return { u: `lora_pt_${group}_U`, s: `lora_pt_${group}_S`, v: `lora_pt_${group}_V` };
}

/** A linear layer whose weight is its residual slice(s) plus the principal slice(s) rebuilt from shared factors. */
export class LoraPtLinear extends AdaptedLinear {
  /** The group it belongs to. */
  readonly group: LoraPtGroupName;
  /** Frontal-slice indices of its row blocks (qkv: q, k, v). */
  readonly slices: readonly number[];
  readonly #holder: SharedFactorList;

  /** Wraps `base`; `residual` (same shape as its weight) replaces the weight unless null (meta models). */
  constructor(
    base: Linear,
    holder: SharedFactorList,
    group: LoraPtGroupName,
    slices: readonly number[],
    residual: Tensor | null,
  ) {
    super(base);
    this.group = group;
    this.slices = [...slices];
    this.#holder = holder;
    if (residual) this.setParameter("weight", residual);
  }

  /** The principal rows (U_r * S_r * V_rᵀ)_l for this layer's slices, `[out, in]`. */
  principal(): Tensor {
    const n = loraPtNames(this.group), h = this.#holder;
    return principalRows(h.shared(n.u), h.shared(n.s), h.shared(n.v), this.slices);
  }

  /** W^Res + W^PT: the weight this layer applies. */
  effectiveWeight(): Tensor {
    return this.weight.add(this.principal());
  }

  /** `x (W^Res + W^PT)ᵀ + b`. */
  forward(x: Tensor): Tensor {
    return this.baseForward(x, this.effectiveWeight());
  }

  /** `Linear` with the effective weight. */
  merged(): Linear {
    return noGrad(() => plainLinear(this.effectiveWeight(), this.bias));
  }

  /** `in, out, group, slices`. */
  override extraRepr(): string {
    return `${super.extraRepr()}, group=${this.group}, slices=[${this.slices}]`;
  }
}

/** Rows `[k·n1, n2]` of the slices `ls` of a `[n1, n2, n3]` tensor's data, in `like`'s dtype and backend. */
function sliceRows(data: ArrayLike<number>, plan: GroupPlan, ls: readonly number[], like: Tensor): Tensor {
  const { n1, n2, n3 } = plan, m = n1 * n2;
  const out = like.dtype === "float64" ? new Float64Array(ls.length * m) : new Float32Array(ls.length * m);
  ls.forEach((l, b) => {
    for (let e = 0; e < m; e++) out[b * m + e] = data[e * n3 + l];
  });
  return fromArray(out, [ls.length * n1, n2], like.storage.backend);
}

/**
 * Initialises one group: the truncated t-SVD (`tsvdTruncate`, float64 on
 * the CPU) of the stacked weights gives U_r, S_r, V_r, rounded to the
 * weights' dtype and registered on `holder`; the residual
 * W − U_r * S_r * V_rᵀ is computed in float64 from the rounded factors, so
 * the initial network equals the pre-trained one up to one rounding of the
 * residual. Returns the adapted layer for each Linear of the group.
 * Shape-only models get shape-only factors.
 */
export async function adaptGroup(
  model: Module,
  holder: SharedFactorList,
  plan: GroupPlan,
  rank: number,
): Promise<Map<string, LoraPtLinear>> {
  const { n1, n2, n3 } = plan, names = loraPtNames(plan.name);
  const like = (model.getSubmodule(plan.slices[0].path) as Linear).weight, init = initLike(like);
  if (!(Number.isInteger(rank) && rank >= 1 && rank <= Math.min(n1, n2))) {
    throw new RangeError(`LoRA-PT: tubal rank ${rank} must be in [1, ${Math.min(n1, n2)}] for group ${plan.name}`);
  }
  let residual: ArrayLike<number> | null = null;
  if (!init.options.materialize) {
    holder.addShared(names.u, init.constant([n1, rank, n3], 0));
    holder.addShared(names.s, init.constant([rank, n3], 0));
    holder.addShared(names.v, init.constant([n2, rank, n3], 0));
  } else {
    const w = await stackGroup(model, plan);
    const t = await tsvdTruncate(w, rank);
    const [u, s, v] = await Promise.all([t.U, t.S, t.V].map((f) => toParamLike(f, like)));
    const rounded = await Promise.all([u, s, v].map(toHost64));
    residual = await noGrad(() => w.sub(principalTensor(rounded[0], rounded[1], rounded[2]))).data();
    holder.addShared(names.u, u);
    holder.addShared(names.s, s);
    holder.addShared(names.v, v);
  }
  const out = new Map<string, LoraPtLinear>();
  for (const [path, slices] of slicesByLayer(plan)) {
    const res = residual && sliceRows(residual, plan, slices, like);
    out.set(path, new LoraPtLinear(model.getSubmodule(path) as Linear, holder, plan.name, slices, res));
  }
  return out;
}

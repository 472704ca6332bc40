/**
 * LoTR (Bershatsky et al. 2024): a Tucker-2 update shared by a group of
 * same-shaped layers, ΔW_s = λ·A G_s Bᵀ with A `[out, r]` and B `[in, r]`
 * shared across the group and a core G_s `[r, r]` per layer
 * (Bershatsky et al. 2024, arXiv 2402.01376; code daskol/lotr). Reference-code init: A, B ~ N(0, 1),
 * G_s = 0, so ΔW = 0 at the start.
 * @module
 */
import { matmul, type Rng, type Tensor, transpose } from "../../tensor/mod.ts";
import { noGrad } from "../../autodiff/mod.ts";
import type { Linear } from "../../models/mod.ts";
import { AdaptedLinear, initLike, plainLinear } from "./base.ts";
import type { SharedFactorList } from "./shared.ts";

/** Names of a LoTR group's shared factors in the {@link SharedFactorList}. */
export function lotrNames(group: string): { a: string; b: string } {
  const g = group.replace(/[^A-Za-z0-9_]/g, "_");
  return { a: `lotr_${g}_A`, b: `lotr_${g}_B` };
}

/** Creates a group's shared A `[out, r]` and B `[in, r]` (N(0, 1)) on `holder`. */
export function addLotrFactors(
  holder: SharedFactorList,
  group: string,
  like: Linear,
  rank: number,
  rng?: Rng,
): void {
  const init = initLike(like.weight, { rng }), n = lotrNames(group);
  holder.addShared(n.a, init.truncNormal([like.outFeatures, rank], 1, -Infinity, Infinity));
  holder.addShared(n.b, init.truncNormal([like.inFeatures, rank], 1, -Infinity, Infinity));
}

/** One layer of a LoTR group: its own core `lotr_G`, the group's A and B from the shared list. */
export class LotrLinear extends AdaptedLinear {
  /** Tucker rank r. */
  readonly rank: number;
  /** Scale λ. */
  readonly scale: number;
  readonly #holder: SharedFactorList;
  readonly #names: { a: string; b: string };

  /** Wraps `base` as a member of `group`, whose factors live on `holder`. */
  constructor(base: Linear, holder: SharedFactorList, group: string, rank: number, scale: number) {
    super(base);
    this.rank = rank;
    this.scale = scale;
    this.#holder = holder;
    this.#names = lotrNames(group);
    this.addAdapter("lotr_G", initLike(base.weight).constant([rank, rank], 0));
  }

  /** ΔW = λ·A G Bᵀ, `[out, in]`. */
  delta(): Tensor {
    const a = this.#holder.shared(this.#names.a), b = this.#holder.shared(this.#names.b);
    return matmul(matmul(a, this.param("lotr_G")), transpose(b)).mul(this.scale);
  }

  /** x Wᵀ + b + λ·((x B) Gᵀ) Aᵀ. */
  forward(x: Tensor): Tensor {
    const a = this.#holder.shared(this.#names.a), b = this.#holder.shared(this.#names.b);
    const low = matmul(matmul(matmul(x, b), transpose(this.param("lotr_G"))), transpose(a));
    return this.baseForward(x).add(low.mul(this.scale));
  }

  /** `Linear` with W + λ·A G Bᵀ. */
  merged(): Linear {
    return noGrad(() => plainLinear(this.weight.add(this.delta()), this.bias));
  }

  /** `in, out, r, λ`. */
  override extraRepr(): string {
    return `${super.extraRepr()}, r=${this.rank}, scale=${this.scale}`;
  }
}

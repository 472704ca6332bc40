/**
 * Choosing LoRA-PT's tubal rank from the t-SVD spectrum, the question the
 * paper leaves to future work. For a group tensor W `[n1, n2, n3]`,
 * Parseval and the truncation theorem (tensor/talgebra/README.md §6) give
 * ‖W_r‖²_F / ‖W‖²_F = Σ_k Σ_{i<r} σ_i(Ŵ_k)² / Σ_k Σ_i σ_i(Ŵ_k)²: the share of
 * spectral energy that tubal rank r keeps.
 * @module
 */
import { fourierSingularValues } from "../tensor/mod.ts";
import type { Module } from "../models/mod.ts";
import type { LoraPtGroupName } from "./config.ts";
import { isAdapted } from "./apply.ts";
import { planGroups, stackGroup } from "./tensorize.ts";

/** Options of {@link suggestRank}. */
export interface SuggestRankOptions {
  /** Fraction of spectral energy to keep, in (0, 1] (default 0.9). */
  energy?: number;
  /** Groups to examine (default sa, up, down). */
  groups?: LoraPtGroupName[];
  /** W_sa slice order (default `"code"`; the spectrum depends on it). */
  sliceOrder?: "code" | "paper";
}

/** One group's spectrum and the rank it suggests. */
export interface GroupRank {
  /** The group. */
  group: LoraPtGroupName;
  /** `[n1, n2, n3]`. */
  shape: [number, number, number];
  /** Smallest tubal rank keeping at least the requested energy. */
  rank: number;
  /** Energy kept at that rank. */
  kept: number;
  /** `cumulative[r − 1]`: energy kept by tubal rank r, for r = 1…min(n1, n2). */
  cumulative: number[];
}

/** What {@link suggestRank} returns. */
export interface RankSuggestion {
  /** The requested energy fraction. */
  energy: number;
  /** One rank for all groups (LoRA-PT uses a single r): the largest group rank. */
  rank: number;
  /** Per group. */
  groups: GroupRank[];
}

/**
 * For each LoRA-PT group of a pre-trained (not yet adapted) UNETR, the
 * smallest tubal rank whose truncated t-SVD keeps `energy` of the squared
 * Frobenius norm, with the whole cumulative curve (for a spectrum plot).
 * Each of the ⌊n3/2⌋+1 distinct Fourier slices gets a full SVD, which takes
 * a while at the reference size (768×3072 slices).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createUnetr } from "../models/mod.ts";
 * import { suggestRank } from "./mod.ts";
 * const s = await suggestRank(createUnetr("unetr-tiny", { seed: 0 }), { energy: 0.9 });
 * assert.deepEqual(s.groups.map((g) => g.group), ["sa", "up", "down"]);
 * for (const g of s.groups) {
 *   assert.ok(g.kept >= 0.9 && (g.rank === 1 || g.cumulative[g.rank - 2] < 0.9));
 * }
 * ```
 */
export async function suggestRank(model: Module, opts: SuggestRankOptions = {}): Promise<RankSuggestion> {
  const energy = opts.energy ?? 0.9;
  if (!(energy > 0 && energy <= 1)) throw new RangeError(`suggestRank: energy must be in (0, 1], got ${energy}`);
  if (isAdapted(model)) throw new Error("suggestRank: pass the pre-trained model, not an adapted one");
  const groups: GroupRank[] = [];
  for (const plan of planGroups(model, opts.groups ?? ["sa", "up", "down"], opts.sliceOrder ?? "code")) {
    const sv = await fourierSingularValues(await stackGroup(model, plan));
    const m = Math.min(plan.n1, plan.n2), perRank = new Float64Array(m);
    for (const s of sv) s.forEach((x, i) => (perRank[i] += x * x));
    const total = perRank.reduce((a, b) => a + b, 0);
    const cumulative: number[] = [];
    perRank.reduce((acc, x) => (cumulative.push(total > 0 ? (acc + x) / total : 1), acc + x), 0);
    // A hair of slack so that energy = 1 is reachable despite rounding.
    const idx = cumulative.findIndex((c) => c >= energy - 1e-12);
    const rank = idx < 0 ? m : idx + 1;
    groups.push({ group: plan.name, shape: [plan.n1, plan.n2, plan.n3], rank, kept: cumulative[rank - 1], cumulative });
  }
  return { energy, rank: Math.max(...groups.map((g) => g.rank)), groups };
}

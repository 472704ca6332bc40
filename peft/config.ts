/**
 * PEFT configuration: the defaults of each method (from the one table,
 * `methods.ts`), how targets select modules, and the rank check. Names follow
 * HF PEFT where the concept exists there (`targets` ≈ `target_modules`,
 * `modulesToSave` ≈ `modules_to_save`).
 * @module
 */
import { type LayerNorm, Linear, type Module } from "../models/mod.ts";
import { METHOD_NAMES, methodInfo, type PeftMethod } from "./methods.ts";
import { planGroups } from "./tensorize.ts";

export type { PeftMethod } from "./methods.ts";

/** LoRA-PT tensor groups (paper §3.1): W_sa (q,k,v,o slices), W_up (`linear1`), W_down (`linear2`). */
export type LoraPtGroupName = "sa" | "up" | "down";

/**
 * What {@link applyPeft} does to a UNETR. Only `method` is required; every
 * other field has the default that reproduces the paper's parameter count.
 */
export interface PeftConfig {
  /** The method. */
  method: PeftMethod;
  /**
   * Rank: LoRA r (default 32), Adapter hidden width (32), LoTR Tucker rank (2),
   * PiSSA principal rank (2), LoRA-PT tubal rank (1). Ignored by full,
   * linear-probe and SSF.
   */
  rank?: number;
  /**
   * Strength of the update: LoRA scaling α/r (α default 8, HF PEFT's), Adapter
   * scale s (default 1), LoTR λ (default 1). Ignored by the others.
   */
  alpha?: number;
  /**
   * Modules to adapt, matched against the end of their dotted path
   * (`"qkv"` matches `vit.blocks.3.attn.qkv`). Defaults: linear-probe
   * `linear1, linear2`; LoRA, Adapter, LoTR, PiSSA `qkv, out_proj, linear1,
   * linear2`; SSF those plus `norm1, norm2, vit.norm`; LoRA-PT the groups
   * `sa, up, down`. Ignored by full.
   */
  targets?: string[];
  /**
   * Modules trained in full besides the adapter (dotted-path prefixes).
   * Default: the CNN decoder `decoder5, decoder4, decoder3, decoder2`, as in
   * every PEFT row of the paper. Ignored by full.
   */
  modulesToSave?: string[];
  /** LoRA-PT: `"paper"` trains U, S, V and the decoder; `"public-code"` only the decoder (README.md). Default paper. */
  mode?: "paper" | "public-code";
  /** LoRA-PT: order of the 4 attention slices per layer in W_sa: `"code"` O,Q,K,V (default) or `"paper"` Q,K,V,O. */
  sliceOrder?: "code" | "paper";
  /** LoRA and Adapter: dropout on the adapter's input (LoRA) or hidden layer (Adapter); default 0. */
  dropout?: number;
  /**
   * SSF: `"identity"` (default) starts at scale 1, shift 0, so the adapted
   * network equals the pre-trained one; `"official"` draws scale ~ N(1, 0.02²)
   * and shift ~ N(0, 0.02²) as dongzelian/SSF does.
   */
  ssfInit?: "identity" | "official";
  /** Seed of the random adapter initialisations (default 0). */
  seed?: number;
}

/** A {@link PeftConfig} with every default filled in (what adapter files store). */
export type ResolvedPeftConfig = Required<PeftConfig>;

/** decoder2–5: trained in every PEFT row of the paper (§5.1). */
export const DEFAULT_MODULES_TO_SAVE: readonly string[] = Object.freeze([
  "decoder5",
  "decoder4",
  "decoder3",
  "decoder2",
]);

/** Fills in the defaults and validates `config`. */
export function resolveConfig(config: PeftConfig): ResolvedPeftConfig {
  const method = config.method;
  if (!METHOD_NAMES.includes(method)) {
    throw new RangeError(`applyPeft: unknown method "${method}" (known: ${METHOD_NAMES.join(", ")})`);
  }
  const info = methodInfo(method);
  const c: ResolvedPeftConfig = {
    method,
    rank: config.rank ?? info.rank ?? 0,
    alpha: config.alpha ?? info.alpha,
    targets: [...(config.targets ?? info.targets)],
    modulesToSave: method === "full" ? [] : [...(config.modulesToSave ?? DEFAULT_MODULES_TO_SAVE)],
    mode: config.mode ?? "paper",
    sliceOrder: config.sliceOrder ?? "code",
    dropout: config.dropout ?? 0,
    ssfInit: config.ssfInit ?? "identity",
    seed: config.seed ?? 0,
  };
  if (info.rank !== null && !(Number.isInteger(c.rank) && c.rank >= 1)) {
    throw new RankError(method, c.rank, null, `rank ${c.rank} of ${method} must be a positive integer`);
  }
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new RangeError(`applyPeft(${method}): dropout must be in [0, 1)`);
  if (c.mode !== "paper" && c.mode !== "public-code") throw new RangeError(`applyPeft: unknown mode "${c.mode}"`);
  if (c.sliceOrder !== "code" && c.sliceOrder !== "paper") {
    throw new RangeError(`applyPeft: unknown sliceOrder "${c.sliceOrder}"`);
  }
  if (method === "lora-pt") {
    const bad = c.targets.filter((t) => t !== "sa" && t !== "up" && t !== "down");
    if (bad.length) {
      throw new RangeError(`applyPeft(lora-pt): targets are the groups sa, up, down; got ${bad.join(", ")}`);
    }
  }
  return c;
}

/** True when dotted `path` ends with the dotted `target` on a name boundary. */
export function matchesTarget(path: string, target: string): boolean {
  return path === target || path.endsWith(`.${target}`);
}

/** True when dotted parameter `name` lies under one of the module `prefixes`. */
export function underAny(name: string, prefixes: readonly string[]): boolean {
  return prefixes.some((p) => name === p || name.startsWith(`${p}.`));
}

/**
 * The modules of `kinds` whose paths match `targets`, in model order. A
 * target that matches no module is an error, as in HF PEFT.
 */
export function findTargets(
  model: Module,
  targets: readonly string[],
  kinds: readonly (typeof Linear | typeof LayerNorm)[] = [Linear],
): [string, Module][] {
  const all = model.namedModules().filter(([, m]) => kinds.some((k) => m instanceof k));
  const found = all.filter(([p]) => targets.some((t) => matchesTarget(p, t)));
  const missing = targets.filter((t) => !all.some(([p]) => matchesTarget(p, t)));
  if (missing.length) {
    const kind = kinds.map((k) => k.name).join("/");
    throw new Error(`applyPeft: target(s) ${missing.join(", ")} match no ${kind} module of the model`);
  }
  return found;
}

/**
 * A rank that the method cannot take: not a positive integer, or above the
 * bound the model's shapes set. The one error type of every rank check
 * (`lorapt` turns it into exit code 2 naming `--rank`).
 */
export class RankError extends RangeError {
  /** The method. */
  readonly method: PeftMethod;
  /** The rank given. */
  readonly rank: number;
  /** The largest rank the model allows, or null when the rank is not a positive integer. */
  readonly bound: number | null;
  /** An error whose message is shown as is. */
  constructor(method: PeftMethod, rank: number, bound: number | null, message: string) {
    super(message);
    this.name = "RankError";
    this.method = method;
    this.rank = rank;
    this.bound = bound;
  }
}

/**
 * The largest rank `config.method` can take on `model`, and why; null for a
 * method without an upper bound (Adapter's hidden width) or without a rank.
 * LoRA, PiSSA and LoTR: min(out, in) over the target layers; LoRA-PT:
 * min(n1, n2) over its groups (a tubal rank, paper §2). Reads shapes only,
 * so a shape-only model (`materialize: false`) serves.
 */
export function rankBound(model: Module, config: ResolvedPeftConfig): { bound: number; why: string } | null {
  const injection = methodInfo(config.method).injection;
  if (injection === "t-svd") {
    if (config.mode === "public-code") return null;
    let best: { bound: number; why: string } | null = null;
    for (const p of planGroups(model, config.targets as LoraPtGroupName[], config.sliceOrder)) {
      const b = Math.min(p.n1, p.n2);
      if (!best || b < best.bound) {
        best = { bound: b, why: `min(n1, n2) of group ${p.name} [${p.n1}, ${p.n2}, ${p.n3}]` };
      }
    }
    return best;
  }
  if (injection !== "wrap-linear" && injection !== "svd-linear" && injection !== "shared-tucker") return null;
  if (config.method === "adapter") return null;
  let best: { bound: number; why: string } | null = null;
  for (const [path, m] of findTargets(model, config.targets)) {
    const { outFeatures: out, inFeatures: inp } = m as Linear;
    const b = Math.min(out, inp);
    if (!best || b < best.bound) best = { bound: b, why: `min(out, in) of ${path} [${out}, ${inp}]` };
  }
  return best;
}

/**
 * Checks `config.rank` against `model` before anything is allocated: a
 * positive integer no larger than {@link rankBound}. Throws a
 * {@link RankError}; methods without a rank pass.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createUnetr } from "../models/mod.ts";
 * import { checkRank, RankError } from "./mod.ts";
 * const model = createUnetr("unetr-tiny", { materialize: false });
 * checkRank(model, { method: "lora-pt", rank: 2 });
 * assert.throws(() => checkRank(model, { method: "lora-pt", rank: 10_000 }), RankError);
 * assert.throws(() => checkRank(model, { method: "lora", rank: 0 }), /rank 0 of lora must be a positive integer/);
 * ```
 */
export function checkRank(model: Module, config: PeftConfig): void {
  const c = resolveConfig(config);
  if (methodInfo(c.method).rank === null) return;
  const b = rankBound(model, c);
  if (b && c.rank > b.bound) {
    throw new RankError(
      c.method,
      c.rank,
      b.bound,
      `rank ${c.rank} of ${c.method} must be at most ${b.bound}, the ${b.why}`,
    );
  }
}

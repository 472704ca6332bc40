/**
 * PEFT configuration: the methods, their defaults (peft/README.md; they
 * reproduce the paper's parameter counts, Tables 2–3) and how targets select modules. Names follow HF PEFT
 * where the concept exists there (`targets` ≈ `target_modules`,
 * `modulesToSave` ≈ `modules_to_save`).
 * @module
 */
import { type LayerNorm, Linear, type Module } from "../models/mod.ts";

/** The fine-tuning methods of the LoRA-PT paper's Tables 2–3. */
export type PeftMethod = "full" | "linear-probe" | "lora" | "adapter" | "ssf" | "lotr" | "pissa" | "lora-pt";

/** Every method name, in the paper's table order. */
export const PEFT_METHODS: readonly PeftMethod[] = Object.freeze([
  "full",
  "linear-probe",
  "lora",
  "adapter",
  "ssf",
  "lotr",
  "pissa",
  "lora-pt",
]);

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

const DEFAULT_RANK: Record<PeftMethod, number> = {
  "full": 0,
  "linear-probe": 0,
  "lora": 32,
  "adapter": 32,
  "ssf": 0,
  "lotr": 2,
  "pissa": 2,
  "lora-pt": 1,
};

const DEFAULT_ALPHA: Record<PeftMethod, number> = {
  "full": 0,
  "linear-probe": 0,
  "lora": 8,
  "adapter": 1,
  "ssf": 0,
  "lotr": 1,
  "pissa": 0,
  "lora-pt": 0,
};

const LINEARS = ["qkv", "out_proj", "linear1", "linear2"];

function defaultTargets(method: PeftMethod): string[] {
  switch (method) {
    case "full":
      return [];
    case "linear-probe":
      return ["linear1", "linear2"];
    case "ssf":
      // SSF's placement (peft/README.md): after norm1, qkv, out_proj, norm2, linear1, linear2, plus the final vit.norm.
      return ["norm1", "qkv", "out_proj", "norm2", "linear1", "linear2", "vit.norm"];
    case "lora-pt":
      return ["sa", "up", "down"];
    default:
      return [...LINEARS];
  }
}

/** decoder2–5: trained in every PEFT row of the paper (the paper's counts, Tables 2–3, include them; peft/README.md). */
export const DEFAULT_MODULES_TO_SAVE: readonly string[] = Object.freeze([
  "decoder5",
  "decoder4",
  "decoder3",
  "decoder2",
]);

/** Fills in the defaults and validates `config`. */
export function resolveConfig(config: PeftConfig): ResolvedPeftConfig {
  const method = config.method;
  if (!PEFT_METHODS.includes(method)) {
    throw new RangeError(`applyPeft: unknown method "${method}" (known: ${PEFT_METHODS.join(", ")})`);
  }
  const c: ResolvedPeftConfig = {
    method,
    rank: config.rank ?? DEFAULT_RANK[method],
    alpha: config.alpha ?? DEFAULT_ALPHA[method],
    targets: [...(config.targets ?? defaultTargets(method))],
    modulesToSave: method === "full" ? [] : [...(config.modulesToSave ?? DEFAULT_MODULES_TO_SAVE)],
    mode: config.mode ?? "paper",
    sliceOrder: config.sliceOrder ?? "code",
    dropout: config.dropout ?? 0,
    ssfInit: config.ssfInit ?? "identity",
    seed: config.seed ?? 0,
  };
  if (DEFAULT_RANK[method] > 0 && !(Number.isInteger(c.rank) && c.rank >= 1)) {
    throw new RangeError(`applyPeft(${method}): rank must be a positive integer, got ${c.rank}`);
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

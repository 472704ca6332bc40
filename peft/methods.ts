/**
 * The one table of fine-tuning methods: name, the label the paper's tables
 * print, the default rank (the best of the paper's Table 1, §5.1), what each
 * adapts and how it is injected. Every other list of methods in the library
 * (`PEFT_METHODS`, `METHODS`, `RANKED_METHODS`, `PAPER_RANKS`,
 * `METHOD_LABELS`, the demo's methods) is derived from {@link METHOD_TABLE}.
 * @module
 */

/**
 * The fine-tuning methods: the eight of the LoRA-PT paper's Tables 2–3 and
 * `decoder` (decoder2–5 only: what the authors' public LoRA-PT script
 * effectively trains, see `lora-pt` mode `"public-code"` in peft/README.md).
 */
export type PeftMethod =
  | "full"
  | "linear-probe"
  | "decoder"
  | "lora"
  | "adapter"
  | "ssf"
  | "lotr"
  | "pissa"
  | "lora-pt";

/**
 * How a method changes the model (peft/apply.ts dispatches on it):
 * - `"none"`: no new tensors, only a choice of trainable parameters;
 * - `"wrap-linear"`: each target Linear is wrapped by an adapter layer;
 * - `"wrap-linear-norm"`: each target Linear or LayerNorm is wrapped (SSF);
 * - `"svd-linear"`: each target Linear is split by an SVD into trainable
 *   principal factors and a frozen residual (PiSSA);
 * - `"shared-tucker"`: factors shared across the blocks per target (LoTR);
 * - `"t-svd"`: the transformer weights are stacked into third-order tensors
 *   whose truncated t-SVD factors train (LoRA-PT, paper §3).
 */
export type Injection = "none" | "wrap-linear" | "wrap-linear-norm" | "svd-linear" | "shared-tucker" | "t-svd";

/** One row of {@link METHOD_TABLE}. */
export interface MethodInfo {
  /** The method's name (what `--method` and `applyPeft({ method })` take). */
  name: PeftMethod;
  /** The name the paper's tables print ("LoRA-PT"). */
  label: string;
  /** True for the eight methods of the paper's Tables 2–3. */
  paper: boolean;
  /**
   * The default rank, i.e. the paper's (Table 1's best, used in Tables 2–3
   * and Fig. 3), or null for a method without a rank.
   */
  rank: number | null;
  /** What the rank sets, or null. */
  rankMeaning: string | null;
  /** The default strength (LoRA α, Adapter scale, LoTR λ); 0 where unused. */
  alpha: number;
  /** Modules adapted by default (matched against the end of their dotted paths); LoRA-PT: its groups. */
  targets: readonly string[];
  /** True when the target modules' own weights train (linear-probe), rather than new tensors beside them. */
  trainsTargets: boolean;
  /** Prefix of the tensors the method adds (`lora_A`), or null for none. */
  tensorPrefix: string | null;
  /** How it is injected. */
  injection: Injection;
  /** What trains, in one line. */
  adapts: string;
}

/** The transformer's linear layers, the default targets of the low-rank methods. */
const LINEARS = ["qkv", "out_proj", "linear1", "linear2"] as const;

/**
 * Every method, in the paper's row order (`decoder` after linear-probe).
 * Counts in `adapts` are the reference `unetr-base`'s (the paper's Table 2).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { METHOD_TABLE } from "./methods.ts";
 * assert.equal(METHOD_TABLE.find((m) => m.name === "lora")?.rank, 32);
 * assert.deepEqual(METHOD_TABLE.filter((m) => m.paper).map((m) => m.label), [
 *   "Full tuning", "Linear-probing", "LoRA", "Adapter", "SSF", "LoTR", "PiSSA", "LoRA-PT",
 * ]);
 * ```
 */
export const METHOD_TABLE: readonly Readonly<MethodInfo>[] = Object.freeze(
  [
    {
      name: "full",
      label: "Full tuning",
      paper: true,
      rank: null,
      rankMeaning: null,
      alpha: 0,
      targets: [],
      trainsTargets: false,
      tensorPrefix: null,
      injection: "none",
      adapts: "every parameter (93,011,170)",
    },
    {
      name: "linear-probe",
      label: "Linear-probing",
      paper: true,
      rank: null,
      rankMeaning: null,
      alpha: 0,
      targets: ["linear1", "linear2"],
      trainsTargets: true,
      tensorPrefix: null,
      injection: "none",
      adapts: "decoder2–5 plus every block's linear1/linear2 weights and biases (59,347,712)",
    },
    {
      name: "decoder",
      label: "Decoder only",
      paper: false,
      rank: null,
      rankMeaning: null,
      alpha: 0,
      targets: [],
      trainsTargets: false,
      tensorPrefix: null,
      injection: "none",
      adapts: "decoder2–5 only (2,678,528), what the authors' public LoRA-PT script trains",
    },
    {
      name: "lora",
      label: "LoRA",
      paper: true,
      rank: 32,
      rankMeaning: "LoRA rank r",
      alpha: 8,
      targets: LINEARS,
      trainsTargets: false,
      tensorPrefix: "lora",
      injection: "wrap-linear",
      adapts: "A [r, in], B [out, r] on qkv, out_proj, linear1, linear2, plus decoder2–5",
    },
    {
      name: "adapter",
      label: "Adapter",
      paper: true,
      rank: 32,
      rankMeaning: "adapter hidden width",
      alpha: 1,
      targets: LINEARS,
      trainsTargets: false,
      tensorPrefix: "adapter",
      injection: "wrap-linear",
      adapts: "a bias-free c→r→c adapter on the outputs of qkv, out_proj, linear1, linear2, plus decoder2–5",
    },
    {
      name: "ssf",
      label: "SSF",
      paper: true,
      rank: null,
      rankMeaning: null,
      alpha: 0,
      // After norm1, qkv, out_proj, norm2, linear1, linear2, plus the final vit.norm (Lian et al. 2022).
      targets: ["norm1", "qkv", "out_proj", "norm2", "linear1", "linear2", "vit.norm"],
      trainsTargets: false,
      tensorPrefix: "ssf",
      injection: "wrap-linear-norm",
      adapts: "a scale and a shift after each target, plus decoder2–5",
    },
    {
      name: "lotr",
      label: "LoTR",
      paper: true,
      rank: 2,
      rankMeaning: "Tucker rank",
      alpha: 1,
      targets: LINEARS,
      trainsTargets: false,
      tensorPrefix: "lotr",
      injection: "shared-tucker",
      adapts: "A, B shared across the blocks and one G [r, r] per layer, per target, plus decoder2–5",
    },
    {
      name: "pissa",
      label: "PiSSA",
      paper: true,
      rank: 2,
      rankMeaning: "principal rank",
      alpha: 0,
      targets: LINEARS,
      trainsTargets: false,
      tensorPrefix: "pissa",
      injection: "svd-linear",
      adapts: "U, S, V of the top-r SVD of qkv, out_proj, linear1, linear2, plus decoder2–5",
    },
    {
      name: "lora-pt",
      label: "LoRA-PT",
      paper: true,
      rank: 1,
      rankMeaning: "tubal rank",
      alpha: 0,
      targets: ["sa", "up", "down"],
      trainsTargets: false,
      tensorPrefix: "lora_pt",
      injection: "t-svd",
      adapts: "U, S, V of the rank-r t-SVD of W_sa, W_up, W_down (paper §3), plus decoder2–5",
    },
  ] satisfies MethodInfo[],
);

/** Every method name, in table order (the paper's eight plus `decoder`). */
export const METHOD_NAMES: readonly PeftMethod[] = Object.freeze(METHOD_TABLE.map((m) => m.name));

/** The methods of the paper's Tables 2–3, in its row order. */
export const PEFT_METHODS: readonly PeftMethod[] = Object.freeze(
  METHOD_TABLE.filter((m) => m.paper).map((m) => m.name),
);

/** The methods whose size is set by a rank (LoRA r, Adapter width, LoTR/PiSSA/LoRA-PT rank). */
export const RANKED_METHODS: readonly PeftMethod[] = Object.freeze(
  METHOD_TABLE.filter((m) => m.rank !== null).map((m) => m.name),
);

/** The rank of each ranked method in Tables 2–3 and Fig. 3: Table 1's best (paper §5.1). */
export const PAPER_RANKS: Readonly<Record<string, number>> = Object.freeze(
  Object.fromEntries(METHOD_TABLE.filter((m) => m.rank !== null).map((m) => [m.name, m.rank!])),
);

/** The names the paper's tables print for each method. */
export const METHOD_LABELS: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(METHOD_TABLE.map((m) => [m.name, m.label])),
);

/** True when `name` is one of {@link METHOD_NAMES}. */
export function isMethod(name: string): name is PeftMethod {
  return (METHOD_NAMES as readonly string[]).includes(name);
}

/**
 * The row of `method`; an unknown name is a `RangeError` that lists the
 * known ones.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { methodInfo } from "./methods.ts";
 * assert.equal(methodInfo("lora-pt").label, "LoRA-PT");
 * assert.throws(() => methodInfo("magic"), /unknown method "magic" \(known: full, linear-probe, decoder, lora/);
 * ```
 */
export function methodInfo(method: string): Readonly<MethodInfo> {
  const row = METHOD_TABLE.find((m) => m.name === method);
  if (!row) throw new RangeError(`unknown method "${method}" (known: ${METHOD_NAMES.join(", ")})`);
  return row;
}

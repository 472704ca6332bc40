/**
 * UNETR (Hatamizadeh et al., 2022) in the MONAI 1.3.0 layout that LoRA-PT
 * uses (paper §3.1, §4.3): a ViT encoder whose blocks 3, 6 and 9 and final
 * output feed a convolutional decoder through skip connections. The
 * reference configuration has 170 tensors and 93,011,170 parameters.
 * @module
 */
import { fmtShape, Rng, ShapeError, softmax, type Tensor, type Triple } from "../tensor/mod.ts";
import type { ModuleOptions } from "./init.ts";
import { Module, type UnaryModule } from "./module.ts";
import { type Size3, ViT } from "./transformer.ts";
import { UnetOutBlock, UnetrBasicBlock, UnetrPrUpBlock, UnetrUpBlock } from "./unetr_blocks.ts";

/** Everything that shapes a UNETR. */
export interface UnetrConfig {
  /** Input channels (1: one MRI modality). */
  inChannels: number;
  /** Output channels (classes, background included). */
  outChannels: number;
  /** Input volume extent; each axis a multiple of the patch size. */
  imgSize: Size3;
  /** Patch extent; the decoder upsamples 4 times by 2, so it must be 16 on every axis. */
  patchSize: Size3;
  /** Channels at full resolution; the skips use 2×, 4× and 8× this. */
  featureSize: number;
  /** Token width d of the ViT. */
  hiddenSize: number;
  /** MLP width of the ViT. */
  mlpDim: number;
  /** Attention heads; must divide `hiddenSize`. */
  numHeads: number;
  /** Transformer blocks; the skips tap blocks ⌊L/4⌋, ⌊L/2⌋, ⌊3L/4⌋ (3, 6, 9 for 12). */
  numLayers: number;
  /** Dropout in the ViT (attention weights, attention output, MLP, embeddings). */
  dropoutRate: number;
  /** Bias on the fused qkv projection. */
  qkvBias: boolean;
  /** End with a softmax over channels (the LoRA-PT authors' variant) instead of returning logits (MONAI's). */
  outputSoftmax: boolean;
}

/** Names of the predefined configurations. */
export type UnetrName = "unetr-base" | "unetr-small" | "unetr-tiny";

/**
 * Predefined configurations. `unetr-base` is the paper's (LoRA-PT
 * / MONAI defaults, 93,011,170 parameters). `unetr-small` (64³, d 96, MLP 384,
 * 4 heads, feature size 8) and `unetr-tiny` (32³, d 48, MLP 192, 4 heads,
 * feature size 4) run on a CPU and keep 12 layers, so LoRA-PT's tensors keep
 * n3 = 48 and 12.
 */
export const UNETR_CONFIGS: Readonly<Record<UnetrName, Readonly<UnetrConfig>>> = Object.freeze({
  "unetr-base": {
    inChannels: 1,
    outChannels: 2,
    imgSize: 128,
    patchSize: 16,
    featureSize: 16,
    hiddenSize: 768,
    mlpDim: 3072,
    numHeads: 12,
    numLayers: 12,
    dropoutRate: 0.1,
    qkvBias: false,
    outputSoftmax: true,
  },
  "unetr-small": {
    inChannels: 1,
    outChannels: 2,
    imgSize: 64,
    patchSize: 16,
    featureSize: 8,
    hiddenSize: 96,
    mlpDim: 384,
    numHeads: 4,
    numLayers: 12,
    dropoutRate: 0.1,
    qkvBias: false,
    outputSoftmax: true,
  },
  "unetr-tiny": {
    inChannels: 1,
    outChannels: 2,
    imgSize: 32,
    patchSize: 16,
    featureSize: 4,
    hiddenSize: 48,
    mlpDim: 192,
    numHeads: 4,
    numLayers: 12,
    dropoutRate: 0.1,
    qkvBias: false,
    outputSoftmax: true,
  },
});

/** Every intermediate of {@link UNETR.forwardFeatures}, named as in MONAI 1.3.0's `UNETR.forward`. */
export interface UnetrFeatures {
  /** Patch-embedding output `[B, N, d]`. */
  tokens: Tensor;
  /** Output of each transformer block (before the final norm). */
  hiddenStates: Tensor[];
  /** `vit.norm(hiddenStates[last])`. */
  x: Tensor;
  /** `encoder1(input)`, `[B, f, D, H, W]`. */
  enc1: Tensor;
  /** `encoder2(proj(hs[⌊L/4⌋]))`, `[B, 2f, D/2, …]`. */
  enc2: Tensor;
  /** `encoder3(proj(hs[⌊L/2⌋]))`, `[B, 4f, D/4, …]`. */
  enc3: Tensor;
  /** `encoder4(proj(hs[⌊3L/4⌋]))`, `[B, 8f, D/8, …]`. */
  enc4: Tensor;
  /** `decoder5(proj(x), enc4)`, `[B, 8f, D/8, …]`. */
  dec3: Tensor;
  /** `decoder4(dec3, enc3)`, `[B, 4f, D/4, …]`. */
  dec2: Tensor;
  /** `decoder3(dec2, enc2)`, `[B, 2f, D/2, …]`. */
  dec1: Tensor;
  /** `decoder2(dec1, enc1)`, `[B, f, D, H, W]`. */
  dec0: Tensor;
  /** `out(dec0)`, `[B, classes, D, H, W]`. */
  logits: Tensor;
  /** `softmax(logits, 1)` when `outputSoftmax`, else `logits`. */
  output: Tensor;
}

const triple = (s: Size3): Triple => (typeof s === "number" ? [s, s, s] : [...s] as Triple);

/** The blocks whose outputs feed encoders 2, 3 and 4: ⌊L/4⌋, ⌊L/2⌋, ⌊3L/4⌋. */
export function skipLayers(numLayers: number): [number, number, number] {
  return [1, 2, 3].map((k) => Math.floor((k * numLayers) / 4)) as [number, number, number];
}

function validate(c: UnetrConfig): void {
  const img = triple(c.imgSize), patch = triple(c.patchSize);
  if (patch.some((p) => p !== 16)) {
    throw new RangeError(`UNETR: patch size ${fmtShape(patch)} must be 16 per axis (the decoder upsamples 2⁴ times)`);
  }
  if (img.some((d) => d % 16 !== 0 || d < 16)) {
    throw new RangeError(`UNETR: image size ${fmtShape(img)} must be a positive multiple of 16 per axis`);
  }
  const ints = ["inChannels", "outChannels", "featureSize", "hiddenSize", "mlpDim", "numHeads", "numLayers"] as const;
  for (const k of ints) {
    if (!Number.isInteger(c[k]) || c[k] < 1) {
      throw new RangeError(`UNETR: ${k} must be a positive integer, got ${c[k]}`);
    }
  }
  if (c.hiddenSize % c.numHeads) {
    throw new RangeError(`UNETR: hidden size ${c.hiddenSize} not divisible by ${c.numHeads} heads`);
  }
  if (!(c.dropoutRate >= 0 && c.dropoutRate < 1)) throw new RangeError(`UNETR: dropoutRate must be in [0, 1)`);
}

/**
 * UNETR with MONAI's names: `vit`, `encoder1`–`encoder4`, `decoder5`–`decoder2`, `out`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UNETR } from "./mod.ts";
 * // Shape-only construction: nothing is allocated, counting is instant.
 * const model = new UNETR({}, { materialize: false });
 * assert.equal(model.namedParameters().length, 170);
 * assert.equal(model.numParameters(), 93_011_170);
 * ```
 */
export class UNETR extends Module {
  /** The full configuration. */
  readonly config: Readonly<UnetrConfig>;
  /** Token grid per axis (image size / 16). */
  readonly featSize: Triple;

  /** A UNETR; missing config fields take `unetr-base`'s values. */
  constructor(config: Partial<UnetrConfig> = {}, opts: ModuleOptions = {}) {
    super();
    const c: UnetrConfig = { ...UNETR_CONFIGS["unetr-base"], ...config };
    validate(c);
    this.config = Object.freeze(c);
    const img = triple(c.imgSize);
    this.featSize = img.map((d) => d / 16) as Triple;
    const f = c.featureSize, d = c.hiddenSize;
    this.registerModule(
      "vit",
      new ViT({
        inChannels: c.inChannels,
        imgSize: img,
        patchSize: c.patchSize,
        hiddenSize: d,
        mlpDim: c.mlpDim,
        numLayers: c.numLayers,
        numHeads: c.numHeads,
        dropoutRate: c.dropoutRate,
        qkvBias: c.qkvBias,
      }, opts),
    );
    this.registerModule("encoder1", new UnetrBasicBlock(c.inChannels, f, 3, 1, opts));
    this.registerModule("encoder2", new UnetrPrUpBlock(d, 2 * f, 2, 3, 1, 2, opts));
    this.registerModule("encoder3", new UnetrPrUpBlock(d, 4 * f, 1, 3, 1, 2, opts));
    this.registerModule("encoder4", new UnetrPrUpBlock(d, 8 * f, 0, 3, 1, 2, opts));
    this.registerModule("decoder5", new UnetrUpBlock(d, 8 * f, 3, 2, opts));
    this.registerModule("decoder4", new UnetrUpBlock(8 * f, 4 * f, 3, 2, opts));
    this.registerModule("decoder3", new UnetrUpBlock(4 * f, 2 * f, 3, 2, opts));
    this.registerModule("decoder2", new UnetrUpBlock(2 * f, f, 3, 2, opts));
    this.registerModule("out", new UnetOutBlock(f, c.outChannels, opts));
  }

  /** The ViT encoder. */
  get vit(): ViT {
    return this.child<ViT>("vit");
  }

  /** Tokens `[B, N, d]` → feature map `[B, d, g1, g2, g3]` (token t = g2·g3·i + g3·j + k). */
  projFeat(z: Tensor): Tensor {
    const [g1, g2, g3] = this.featSize;
    return z.reshape([z.shape[0], g1, g2, g3, this.config.hiddenSize]).permute([0, 4, 1, 2, 3]);
  }

  /** Runs the network and returns every intermediate of MONAI 1.3.0's `UNETR.forward`. */
  forwardFeatures(input: Tensor): UnetrFeatures {
    const img = triple(this.config.imgSize);
    if (input.rank !== 5 || input.shape[1] !== this.config.inChannels || img.some((d, i) => input.shape[2 + i] !== d)) {
      throw new ShapeError(
        `UNETR: expects input [B,${this.config.inChannels},${img.join(",")}], got ${fmtShape(input.shape)}`,
      );
    }
    const { tokens, hiddenStates, x } = this.vit.forwardFeatures(input);
    const [s2, s3, s4] = skipLayers(this.config.numLayers);
    const m = (n: string) => this.child<UnaryModule>(n);
    const up = (n: string, a: Tensor, b: Tensor) => this.child<UnetrUpBlock>(n).forward(a, b);
    const enc1 = m("encoder1").forward(input);
    const enc2 = m("encoder2").forward(this.projFeat(hiddenStates[s2]));
    const enc3 = m("encoder3").forward(this.projFeat(hiddenStates[s3]));
    const enc4 = m("encoder4").forward(this.projFeat(hiddenStates[s4]));
    const dec3 = up("decoder5", this.projFeat(x), enc4);
    const dec2 = up("decoder4", dec3, enc3);
    const dec1 = up("decoder3", dec2, enc2);
    const dec0 = up("decoder2", dec1, enc1);
    const logits = m("out").forward(dec0);
    const output = this.config.outputSoftmax ? softmax(logits, 1) : logits;
    return { tokens, hiddenStates, x, enc1, enc2, enc3, enc4, dec3, dec2, dec1, dec0, logits, output };
  }

  /** `[B, inChannels, …imgSize]` → `[B, outChannels, …imgSize]` (probabilities or logits per config). */
  forward(input: Tensor): Tensor {
    return this.forwardFeatures(input).output;
  }

  /** Logits regardless of `outputSoftmax` (for losses that take logits). */
  forwardLogits(input: Tensor): Tensor {
    return this.forwardFeatures(input).logits;
  }

  /** `img=…, hidden=…, layers=…, heads=…, feature=…`. */
  override extraRepr(): string {
    const c = this.config;
    return `img=${
      fmtShape(triple(c.imgSize))
    }, hidden=${c.hiddenSize}, mlp=${c.mlpDim}, layers=${c.numLayers}, heads=${c.numHeads}, feature=${c.featureSize}, softmax=${c.outputSoftmax}`;
  }
}

/** Options of {@link createUnetr}. */
export interface CreateUnetrOptions extends ModuleOptions {
  /** Seeds both the init and the dropout generators (ignored for one given explicitly). */
  seed?: number;
}

/** A predefined name, or config overrides on top of `base` (default `unetr-base`). */
export type UnetrSpec = UnetrName | (Partial<UnetrConfig> & { base?: UnetrName });

/**
 * Builds a UNETR from a predefined name or a partial config.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createUnetr } from "./mod.ts";
 * const logits = createUnetr({ base: "unetr-tiny", outputSoftmax: false }, { materialize: false });
 * assert.equal(logits.config.hiddenSize, 48);
 * assert.equal(logits.config.outputSoftmax, false);
 * ```
 */
export function createUnetr(spec: UnetrSpec = "unetr-base", opts: CreateUnetrOptions = {}): UNETR {
  const { base = "unetr-base", ...overrides } = typeof spec === "string" ? { base: spec } : spec;
  const preset = UNETR_CONFIGS[base];
  if (!preset) {
    throw new RangeError(
      `createUnetr: unknown configuration "${base}" (known: ${Object.keys(UNETR_CONFIGS).join(", ")})`,
    );
  }
  const { seed, ...moduleOpts } = opts;
  if (seed !== undefined) {
    const rng = new Rng(seed);
    moduleOpts.dropoutRng ??= rng.fork();
    moduleOpts.rng ??= rng;
  }
  return new UNETR({ ...preset, ...overrides }, moduleOpts);
}

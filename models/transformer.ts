/**
 * The ViT encoder of UNETR in the MONAI 1.3.0 layout (MONAI 1.3.0 `monai/networks/blocks/`; the transformer of the paper's §3.1):
 * `SABlock` (fused qkv self-attention), `MLPBlock`, pre-norm
 * `TransformerBlock`, `PatchEmbeddingBlock` (conv + learnable positions) and
 * `ViT`. Registration order follows MONAI, so parameter names and their
 * order match the authors' checkpoints.
 * @module
 */
import {
  fmtShape,
  linear,
  matmul,
  narrow,
  reshape,
  ShapeError,
  softmax,
  type Tensor,
  transpose,
  type Triple,
} from "../tensor/mod.ts";
import { ModuleList } from "./containers.ts";
import { Init, type ModuleOptions } from "./init.ts";
import { Conv3d, Dropout, GELU, LayerNorm, Linear } from "./layers.ts";
import { Module, type UnaryModule } from "./module.ts";

/** Options of the transformer layers. */
export interface TransformerOptions extends ModuleOptions {
  /** Dropout on attention weights, attention output and MLP (default 0). */
  dropoutRate?: number;
  /** Bias on the fused qkv projection (default false, as in UNETR). */
  qkvBias?: boolean;
}

/**
 * Multi-head self-attention as MONAI's `SABlock`: one bias-free `qkv`
 * Linear d→3d whose output feature `t·d + h·dh + j` is (q,k,v)[t], head h,
 * channel j; scores `q·kᵀ · dh^−½` (MONAI 1.3.0: /√dh; the paper's §3.1 writes /√d); softmax over
 * keys; dropout on the weights; heads concatenated head-major; `out_proj`
 * d→d with bias; dropout.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { randn } from "../tensor/mod.ts";
 * import { SABlock } from "./mod.ts";
 * const attn = new SABlock(768, 12, { materialize: false });
 * assert.deepEqual(attn.namedParameters().map(([n, t]) => `${n} ${t.shape}`), [
 *   "out_proj.weight 768,768",
 *   "out_proj.bias 768",
 *   "qkv.weight 2304,768",
 * ]);
 * const small = new SABlock(8, 2).eval();
 * assert.deepEqual([...small.forward(randn([2, 5, 8])).shape], [2, 5, 8]);
 * ```
 */
export class SABlock extends Module implements UnaryModule {
  /** Model width d. */
  readonly hiddenSize: number;
  /** Number of heads. */
  readonly numHeads: number;
  /** Width of one head, d / heads. */
  readonly headDim: number;
  /** Score scale, headDim^−½. */
  readonly scale: number;

  /** Attention over `hiddenSize` features split into `numHeads` heads. */
  constructor(hiddenSize: number, numHeads: number, opts: TransformerOptions = {}) {
    super();
    if (!(hiddenSize % numHeads === 0)) {
      throw new RangeError(`SABlock: hidden size ${hiddenSize} is not divisible by ${numHeads} heads`);
    }
    this.hiddenSize = hiddenSize;
    this.numHeads = numHeads;
    this.headDim = hiddenSize / numHeads;
    this.scale = this.headDim ** -0.5;
    const p = opts.dropoutRate ?? 0;
    // MONAI 1.3.0 creates out_proj before qkv: that is the state-dict order.
    this.registerModule("out_proj", new Linear(hiddenSize, hiddenSize, opts));
    this.registerModule("qkv", new Linear(hiddenSize, 3 * hiddenSize, { ...opts, bias: opts.qkvBias ?? false }));
    this.registerModule("drop_output", new Dropout(p, opts));
    this.registerModule("drop_weights", new Dropout(p, opts));
  }

  /** Attends over the tokens of `x` `[B, N, d]`. */
  forward(x: Tensor): Tensor {
    if (x.rank !== 3 || x.shape[2] !== this.hiddenSize) {
      throw new ShapeError(`SABlock(${this.hiddenSize}): expects [B,N,${this.hiddenSize}], got ${fmtShape(x.shape)}`);
    }
    const [b, n] = x.shape, h = this.numHeads, dh = this.headDim;
    // "b n (qkv l d) -> qkv b l n d"
    const qkv = this.child<UnaryModule>("qkv").forward(x).reshape([b, n, 3, h, dh]).permute([2, 0, 3, 1, 4]);
    const [q, k, v] = [0, 1, 2].map((t) => reshape(narrow(qkv, 0, t, 1), [b, h, n, dh]));
    const weights = softmax(matmul(q, transpose(k)).mul(this.scale), -1);
    const att = matmul(this.child<UnaryModule>("drop_weights").forward(weights), v); // [b, h, n, dh]
    const merged = att.permute([0, 2, 1, 3]).reshape([b, n, h * dh]); // "b l n d -> b n (l d)"
    return this.child<UnaryModule>("drop_output").forward(this.child<UnaryModule>("out_proj").forward(merged));
  }

  /** `hidden=…, heads=…`. */
  override extraRepr(): string {
    return `hidden=${this.hiddenSize}, heads=${this.numHeads}`;
  }
}

/** MONAI's `MLPBlock` ("vit" dropout mode): linear1 → GELU → drop1 → linear2 → drop2. */
export class MLPBlock extends Module implements UnaryModule {
  /** A two-layer MLP `hiddenSize → mlpDim → hiddenSize`. */
  constructor(hiddenSize: number, mlpDim: number, opts: TransformerOptions = {}) {
    super();
    const p = opts.dropoutRate ?? 0;
    this.registerModule("linear1", new Linear(hiddenSize, mlpDim, opts));
    this.registerModule("linear2", new Linear(mlpDim, hiddenSize, opts));
    this.registerModule("fn", new GELU());
    this.registerModule("drop1", new Dropout(p, opts));
    this.registerModule("drop2", new Dropout(p, opts));
  }

  /** Applies the MLP to the last axis. */
  forward(x: Tensor): Tensor {
    const c = <M extends UnaryModule>(n: string) => this.child<M>(n);
    const l1 = c("linear1"), fn = c("fn");
    // A plain Linear followed by GELU runs as one fused op; adapted layers (PEFT) keep their own forward.
    const h = l1.constructor === Linear && fn instanceof GELU
      ? linear(x, (l1 as Linear).weight, (l1 as Linear).bias, "gelu")
      : fn.forward(l1.forward(x));
    return c("drop2").forward(c("linear2").forward(c("drop1").forward(h)));
  }
}

/** Pre-norm transformer block (MONAI 1.3.0): `x += attn(norm1(x)); x += mlp(norm2(x))`. */
export class TransformerBlock extends Module implements UnaryModule {
  /** A block of width `hiddenSize`, MLP width `mlpDim`, `numHeads` heads. */
  constructor(hiddenSize: number, mlpDim: number, numHeads: number, opts: TransformerOptions = {}) {
    super();
    // Registration order mlp, norm1, attn, norm2 is MONAI's and fixes the state-dict order.
    this.registerModule("mlp", new MLPBlock(hiddenSize, mlpDim, opts));
    this.registerModule("norm1", new LayerNorm(hiddenSize, opts));
    this.registerModule("attn", new SABlock(hiddenSize, numHeads, opts));
    this.registerModule("norm2", new LayerNorm(hiddenSize, opts));
  }

  /** Applies the block to `[B, N, d]`. */
  forward(x: Tensor): Tensor {
    const c = <M extends UnaryModule>(n: string) => this.child<M>(n);
    const h = x.add(c("attn").forward(c("norm1").forward(x)));
    return h.add(c("mlp").forward(c("norm2").forward(h)));
  }
}

/** A number or one extent per spatial axis. */
export type Size3 = number | Triple;
const triple = (s: Size3): Triple => (typeof s === "number" ? [s, s, s] : [...s] as Triple);

/**
 * MONAI's `PatchEmbeddingBlock` with `proj_type="conv"` and learnable
 * positions: `patch_embeddings` Conv3d(k = stride = patch, bias), flatten
 * the grid in raster order (last axis fastest) to tokens, add
 * `position_embeddings` `[1, N, d]` (trunc-normal, std 0.02), dropout.
 */
export class PatchEmbeddingBlock extends Module implements UnaryModule {
  /** Tokens per axis: image size / patch size. */
  readonly gridSize: Triple;
  /** Number of tokens N. */
  readonly numPatches: number;

  /** Embeds `imgSize` volumes with `inChannels` channels into `hiddenSize`-wide tokens. */
  constructor(
    inChannels: number,
    imgSize: Size3,
    patchSize: Size3,
    hiddenSize: number,
    numHeads: number,
    opts: TransformerOptions = {},
  ) {
    super();
    const img = triple(imgSize), patch = triple(patchSize);
    if (hiddenSize % numHeads !== 0) {
      throw new RangeError(`PatchEmbeddingBlock: hidden size ${hiddenSize} is not divisible by ${numHeads} heads`);
    }
    if (img.some((d, i) => d % patch[i] !== 0 || d < patch[i])) {
      throw new RangeError(
        `PatchEmbeddingBlock: image size ${fmtShape(img)} is not a multiple of patch ${fmtShape(patch)}`,
      );
    }
    this.gridSize = img.map((d, i) => d / patch[i]) as Triple;
    this.numPatches = this.gridSize[0] * this.gridSize[1] * this.gridSize[2];
    // An own parameter: listed before the conv's, as in PyTorch's named_parameters.
    this.registerParameter(
      "position_embeddings",
      new Init(opts).truncNormal([1, this.numPatches, hiddenSize], 0.02, -2, 2),
    );
    this.registerModule("patch_embeddings", new Conv3d(inChannels, hiddenSize, patch, { ...opts, stride: patch }));
    this.registerModule("dropout", new Dropout(opts.dropoutRate ?? 0, opts));
  }

  /** `[B, C, D, H, W]` → tokens `[B, N, d]`. */
  forward(x: Tensor): Tensor {
    const y = this.child<UnaryModule>("patch_embeddings").forward(x); // [B, d, g1, g2, g3]
    const [b, d] = y.shape;
    if (y.size !== b * d * this.numPatches) {
      throw new ShapeError(
        `PatchEmbeddingBlock: input ${fmtShape(x.shape)} gives grid ${fmtShape(y.shape.slice(2))}, expected ${
          fmtShape(this.gridSize)
        }`,
      );
    }
    const tokens = y.reshape([b, d, this.numPatches]).transpose(1, 2);
    return this.child<UnaryModule>("dropout").forward(tokens.add(this.param("position_embeddings")));
  }
}

/** Configuration of {@link ViT}. */
export interface ViTConfig {
  /** Input channels. */
  inChannels: number;
  /** Input volume extent. */
  imgSize: Size3;
  /** Patch extent. */
  patchSize: Size3;
  /** Token width d. */
  hiddenSize: number;
  /** MLP width. */
  mlpDim: number;
  /** Number of transformer blocks. */
  numLayers: number;
  /** Attention heads. */
  numHeads: number;
  /** Dropout rate everywhere (default 0). */
  dropoutRate?: number;
  /** Bias on qkv (default false). */
  qkvBias?: boolean;
}

/** What {@link ViT.forwardFeatures} returns. */
export interface ViTFeatures {
  /** Patch-embedding output `[B, N, d]`. */
  tokens: Tensor;
  /** Output of each block, before the final norm. */
  hiddenStates: Tensor[];
  /** `norm(hiddenStates[last])`. */
  x: Tensor;
}

/** MONAI's `ViT` without classification head: `patch_embedding`, `blocks.{i}`, `norm`. */
export class ViT extends Module implements UnaryModule {
  /** The configuration. */
  readonly config: Readonly<ViTConfig>;

  /** A ViT per `config`. */
  constructor(config: ViTConfig, opts: ModuleOptions = {}) {
    super();
    this.config = { ...config };
    const c = config, t = { ...opts, dropoutRate: c.dropoutRate ?? 0, qkvBias: c.qkvBias ?? false };
    this.registerModule(
      "patch_embedding",
      new PatchEmbeddingBlock(c.inChannels, c.imgSize, c.patchSize, c.hiddenSize, c.numHeads, t),
    );
    const blocks = Array.from(
      { length: c.numLayers },
      () => new TransformerBlock(c.hiddenSize, c.mlpDim, c.numHeads, t),
    );
    this.registerModule("blocks", new ModuleList(blocks));
    this.registerModule("norm", new LayerNorm(c.hiddenSize, opts));
  }

  /** The patch embedding. */
  get patchEmbedding(): PatchEmbeddingBlock {
    return this.child<PatchEmbeddingBlock>("patch_embedding");
  }

  /** Tokens, every block's output and the normalised last one. */
  forwardFeatures(x: Tensor): ViTFeatures {
    const tokens = this.child<UnaryModule>("patch_embedding").forward(x);
    const hiddenStates: Tensor[] = [];
    let h = tokens;
    for (const blk of this.child<ModuleList<UnaryModule>>("blocks")) hiddenStates.push(h = blk.forward(h));
    return { tokens, hiddenStates, x: this.child<UnaryModule>("norm").forward(h) };
  }

  /** `norm(blocks(patch_embedding(x)))`, `[B, N, d]`. */
  forward(x: Tensor): Tensor {
    return this.forwardFeatures(x).x;
  }
}

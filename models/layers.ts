/**
 * Basic layers with PyTorch's parameter names, shapes and default
 * initialisation (see `init.ts`): Linear, LayerNorm, GELU, Dropout,
 * LeakyReLU, Conv3d, ConvTranspose3d and InstanceNorm3d.
 * @module
 */
import {
  conv3d,
  type Conv3dOptions,
  convTranspose3d,
  defaultRng,
  dropout,
  fmtShape,
  gelu,
  instanceNorm3d,
  layerNorm,
  leakyRelu,
  linear,
  type Rng,
  ShapeError,
  type Tensor,
  type Triple,
} from "../tensor/mod.ts";
import { defaultBound, Init, type ModuleOptions } from "./init.ts";
import { isMeta } from "./meta.ts";
import { Module, type UnaryModule } from "./module.ts";

/** Options of {@link Linear}. */
export interface LinearOptions extends ModuleOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
}

/**
 * `y = x Wᵀ + b` over the last axis, as `torch.nn.Linear`: `weight`
 * `[out, in]`, `bias` `[out]`, both U(−1/√in, 1/√in).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ones } from "../tensor/mod.ts";
 * import { Linear } from "./mod.ts";
 * const fc = new Linear(3, 4);
 * assert.deepEqual([...fc.weight.shape], [4, 3]);
 * assert.deepEqual([...fc.forward(ones([2, 5, 3])).shape], [2, 5, 4]);
 * ```
 */
export class Linear extends Module implements UnaryModule {
  /** Input features. */
  readonly inFeatures: number;
  /** Output features. */
  readonly outFeatures: number;

  /** A linear map from `inFeatures` to `outFeatures`. */
  constructor(inFeatures: number, outFeatures: number, opts: LinearOptions = {}) {
    super();
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const init = new Init(opts), bound = defaultBound(inFeatures);
    this.registerParameter("weight", init.uniform([outFeatures, inFeatures], bound));
    if (opts.bias ?? true) this.registerParameter("bias", init.uniform([outFeatures], bound));
  }

  /** `[out, in]`. */
  get weight(): Tensor {
    return this.param("weight");
  }

  /** `[out]`, or null without bias. */
  get bias(): Tensor | null {
    return this.optionalParam("bias");
  }

  /** Applies the map to the last axis of `x`. */
  forward(x: Tensor): Tensor {
    if (x.shape[x.rank - 1] !== this.inFeatures) {
      throw new ShapeError(`Linear(${this.inFeatures}→${this.outFeatures}): input ${fmtShape(x.shape)}`);
    }
    return linear(x, this.weight, this.bias);
  }

  /** `in=…, out=…, bias=…`. */
  override extraRepr(): string {
    return `in=${this.inFeatures}, out=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}

/** Options of {@link LayerNorm}. */
export interface LayerNormOptions extends ModuleOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Learn `weight` (init 1) and `bias` (init 0) (default true). */
  elementwiseAffine?: boolean;
}

/**
 * Layer normalisation over the trailing `normalizedShape` axes, as
 * `torch.nn.LayerNorm` (biased variance, eps 1e-5).
 */
export class LayerNorm extends Module implements UnaryModule {
  /** Normalised trailing shape. */
  readonly normalizedShape: number[];
  /** Variance epsilon. */
  readonly eps: number;

  /** A layer norm over `normalizedShape` (a number means one trailing axis). */
  constructor(normalizedShape: number | number[], opts: LayerNormOptions = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === "number" ? [normalizedShape] : [...normalizedShape];
    this.eps = opts.eps ?? 1e-5;
    if (opts.elementwiseAffine ?? true) {
      const init = new Init(opts);
      this.registerParameter("weight", init.constant(this.normalizedShape, 1));
      this.registerParameter("bias", init.constant(this.normalizedShape, 0));
    }
  }

  /** Normalises `x`. */
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.optionalParam("weight"), this.optionalParam("bias"), this.eps);
  }

  /** `shape, eps`. */
  override extraRepr(): string {
    return `${fmtShape(this.normalizedShape)}, eps=${this.eps}`;
  }
}

/** Exact (erf) GELU, as `torch.nn.GELU()`. No parameters. */
export class GELU extends Module implements UnaryModule {
  /** Applies GELU elementwise. */
  forward(x: Tensor): Tensor {
    return gelu(x);
  }
}

/** Leaky ReLU, as `torch.nn.LeakyReLU` (MONAI's UNETR blocks use slope 0.01). No parameters. */
export class LeakyReLU extends Module implements UnaryModule {
  /** Slope for negative inputs. */
  readonly negativeSlope: number;

  /** A leaky ReLU with `negativeSlope` (default 0.01). */
  constructor(negativeSlope = 0.01) {
    super();
    this.negativeSlope = negativeSlope;
  }

  /** Applies the activation elementwise. */
  forward(x: Tensor): Tensor {
    return leakyRelu(x, this.negativeSlope);
  }

  /** `negative_slope=…`. */
  override extraRepr(): string {
    return `negative_slope=${this.negativeSlope}`;
  }
}

/**
 * Inverted dropout that respects the module's training flag: in training
 * each element is zeroed with probability `p` and the rest scaled by
 * `1/(1−p)`; in eval mode (and on shape-only tensors) it is the identity.
 * Masks come from `rng` (set at construction through `dropoutRng`, or the
 * global generator at call time), so runs are reproducible.
 */
export class Dropout extends Module implements UnaryModule {
  /** Drop probability. */
  readonly p: number;
  /** Generator for the masks; null means the global one at call time. */
  rng: Rng | null;

  /** A dropout with probability `p`. */
  constructor(p = 0.5, opts: ModuleOptions = {}) {
    super();
    if (!(p >= 0 && p < 1)) throw new RangeError(`Dropout: p must be in [0, 1), got ${p}`);
    this.p = p;
    this.rng = opts.dropoutRng ?? null;
  }

  /** Applies dropout in training mode; identity otherwise. */
  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0 || isMeta(x)) return x;
    return dropout(x, this.p, { rng: this.rng ?? defaultRng(), training: true });
  }

  /** `p=…`. */
  override extraRepr(): string {
    return `p=${this.p}`;
  }
}

/** Options of {@link Conv3d} and {@link ConvTranspose3d}. */
export interface ConvLayerOptions extends ModuleOptions, Conv3dOptions {
  /** Learn a per-output-channel bias (default true, as in PyTorch). */
  bias?: boolean;
  /** Transposed conv only: extra extent on one side of the output (default 0). */
  outputPadding?: number | Triple;
}

const asTriple = (k: number | Triple): Triple => (typeof k === "number" ? [k, k, k] : [...k] as Triple);
const volume = (k: Triple) => k[0] * k[1] * k[2];

function geometry(o: ConvLayerOptions): Conv3dOptions {
  return { stride: o.stride ?? 1, padding: o.padding ?? 0, dilation: o.dilation ?? 1, groups: o.groups ?? 1 };
}

/** 3-D convolution, as `torch.nn.Conv3d`: `weight` `[out, in/groups, k, k, k]`, `bias` `[out]`. */
export class Conv3d extends Module implements UnaryModule {
  /** Input channels. */
  readonly inChannels: number;
  /** Output channels. */
  readonly outChannels: number;
  /** Kernel extent per axis. */
  readonly kernelSize: Triple;
  /** Stride, padding, dilation and groups. */
  readonly geometry: Conv3dOptions;

  /** A conv from `inChannels` to `outChannels` with a `kernelSize` kernel. */
  constructor(inChannels: number, outChannels: number, kernelSize: number | Triple, opts: ConvLayerOptions = {}) {
    super();
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = asTriple(kernelSize);
    this.geometry = geometry(opts);
    const g = this.geometry.groups!;
    const init = new Init(opts), bound = defaultBound((inChannels / g) * volume(this.kernelSize));
    this.registerParameter("weight", init.uniform([outChannels, inChannels / g, ...this.kernelSize], bound));
    if (opts.bias ?? true) this.registerParameter("bias", init.uniform([outChannels], bound));
  }

  /** `[out, in/groups, kD, kH, kW]`. */
  get weight(): Tensor {
    return this.param("weight");
  }

  /** `[out]`, or null without bias. */
  get bias(): Tensor | null {
    return this.optionalParam("bias");
  }

  /** Convolves an NCDHW input. */
  forward(x: Tensor): Tensor {
    return conv3d(x, this.weight, this.bias, this.geometry);
  }

  /** `in, out, kernel_size=…, stride=…, padding=…`. */
  override extraRepr(): string {
    const g = this.geometry;
    return `${this.inChannels}, ${this.outChannels}, kernel_size=${
      fmtShape(this.kernelSize)
    }, stride=${g.stride}, padding=${g.padding}, bias=${this.bias !== null}`;
  }
}

/**
 * 3-D transposed convolution, as `torch.nn.ConvTranspose3d`: `weight`
 * `[in, out/groups, k, k, k]`, `bias` `[out]`. PyTorch's init takes fanIn
 * from weight axis 1, i.e. `out/groups · k³`.
 */
export class ConvTranspose3d extends Module implements UnaryModule {
  /** Input channels. */
  readonly inChannels: number;
  /** Output channels. */
  readonly outChannels: number;
  /** Kernel extent per axis. */
  readonly kernelSize: Triple;
  /** Stride, padding, dilation, groups and output padding. */
  readonly geometry: Conv3dOptions & { outputPadding: number | Triple };

  /** A transposed conv from `inChannels` to `outChannels`. */
  constructor(inChannels: number, outChannels: number, kernelSize: number | Triple, opts: ConvLayerOptions = {}) {
    super();
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = asTriple(kernelSize);
    this.geometry = { ...geometry(opts), outputPadding: opts.outputPadding ?? 0 };
    const g = this.geometry.groups!;
    const init = new Init(opts), bound = defaultBound((outChannels / g) * volume(this.kernelSize));
    this.registerParameter("weight", init.uniform([inChannels, outChannels / g, ...this.kernelSize], bound));
    if (opts.bias ?? true) this.registerParameter("bias", init.uniform([outChannels], bound));
  }

  /** `[in, out/groups, kD, kH, kW]`. */
  get weight(): Tensor {
    return this.param("weight");
  }

  /** `[out]`, or null without bias. */
  get bias(): Tensor | null {
    return this.optionalParam("bias");
  }

  /** Transposed-convolves an NCDHW input. */
  forward(x: Tensor): Tensor {
    return convTranspose3d(x, this.weight, this.bias, this.geometry);
  }

  /** `in, out, kernel_size=…, stride=…`. */
  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernel_size=${
      fmtShape(this.kernelSize)
    }, stride=${this.geometry.stride}, bias=${this.bias !== null}`;
  }
}

/** Options of {@link InstanceNorm3d}. */
export interface InstanceNormOptions extends ModuleOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Learn per-channel `weight` (1) and `bias` (0) (default false, as PyTorch and MONAI's UNETR). */
  affine?: boolean;
}

/**
 * Instance normalisation of NCDHW tensors, as `torch.nn.InstanceNorm3d`
 * with `track_running_stats=False`: each (sample, channel) volume is
 * normalised by its own mean and biased variance, in training and eval alike.
 */
export class InstanceNorm3d extends Module implements UnaryModule {
  /** Expected channels. */
  readonly numFeatures: number;
  /** Variance epsilon. */
  readonly eps: number;

  /** An instance norm for `numFeatures` channels. */
  constructor(numFeatures: number, opts: InstanceNormOptions = {}) {
    super();
    this.numFeatures = numFeatures;
    this.eps = opts.eps ?? 1e-5;
    if (opts.affine) {
      const init = new Init(opts);
      this.registerParameter("weight", init.constant([numFeatures], 1));
      this.registerParameter("bias", init.constant([numFeatures], 0));
    }
  }

  /** Normalises `x` `[N, C, D, H, W]` per sample and channel. */
  forward(x: Tensor): Tensor {
    if (x.rank !== 5 || x.shape[1] !== this.numFeatures) {
      throw new ShapeError(
        `InstanceNorm3d(${this.numFeatures}): expects [N,${this.numFeatures},D,H,W], got ${fmtShape(x.shape)}`,
      );
    }
    return instanceNorm3d(x, this.eps, this.optionalParam("weight"), this.optionalParam("bias"));
  }

  /** `channels, eps=…, affine=…`. */
  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, affine=${this.optionalParam("weight") !== null}`;
  }
}

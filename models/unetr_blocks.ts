/**
 * The convolutional blocks of UNETR, as MONAI's `dynunet_block.py` and
 * `unetr_block.py` (MONAI 1.3.0): `Convolution` (the `get_conv_layer`
 * wrapper, hence the `.conv.weight` names), `UnetResBlock`,
 * `UnetrBasicBlock`, `UnetrPrUpBlock`, `UnetrUpBlock` and `UnetOutBlock`.
 * Norms are `InstanceNorm3d(affine=false)`, activations `LeakyReLU(0.01)`.
 * @module
 */
import { concat, fmtShape, ShapeError, type Tensor, type Triple } from "../tensor/mod.ts";
import { ModuleList, Sequential } from "./containers.ts";
import type { ModuleOptions } from "./init.ts";
import { Conv3d, ConvTranspose3d, InstanceNorm3d, LeakyReLU } from "./layers.ts";
import { Module, type UnaryModule } from "./module.ts";
import type { Size3 } from "./transformer.ts";

const triple = (s: Size3): Triple => (typeof s === "number" ? [s, s, s] : [...s] as Triple);

/** MONAI `get_padding`: ⌊(k − s + 1) / 2⌋ per axis (k3 s1 → 1, k1 → 0, k2 s2 → 0). */
export function convPadding(kernelSize: Size3, stride: Size3): Triple {
  const k = triple(kernelSize), s = triple(stride);
  const p = k.map((kk, i) => (kk - s[i] + 1) / 2);
  if (p.some((v) => v < 0)) {
    throw new RangeError(`convPadding: stride ${fmtShape(s)} exceeds kernel ${fmtShape(k)} + 1`);
  }
  return p.map(Math.trunc) as Triple;
}

/** MONAI `get_output_padding`: 2p − k + s per axis (0 for k2 s2). */
export function convOutputPadding(kernelSize: Size3, stride: Size3, padding: Triple): Triple {
  const k = triple(kernelSize), s = triple(stride);
  const op = padding.map((p, i) => 2 * p - k[i] + s[i]);
  if (op.some((v) => v < 0)) throw new RangeError(`convOutputPadding: negative output padding ${fmtShape(op)}`);
  return op as Triple;
}

/** Options of {@link Convolution}. */
export interface ConvolutionOptions extends ModuleOptions {
  /** Kernel extent (default 3). */
  kernelSize?: Size3;
  /** Stride (default 1). */
  stride?: Size3;
  /** Transposed convolution (default false). */
  transposed?: boolean;
  /** Learn a bias (default false, MONAI `get_conv_layer`'s default). */
  bias?: boolean;
}

/**
 * MONAI's `Convolution` as built by `get_conv_layer(conv_only=True)`: a
 * sequence whose only child is `conv`, with MONAI's padding rule.
 */
export class Convolution extends Module implements UnaryModule {
  /** A (transposed) conv from `inChannels` to `outChannels`. */
  constructor(inChannels: number, outChannels: number, opts: ConvolutionOptions = {}) {
    super();
    const kernel = triple(opts.kernelSize ?? 3), stride = triple(opts.stride ?? 1);
    const padding = convPadding(kernel, stride), bias = opts.bias ?? false;
    const conv = opts.transposed
      ? new ConvTranspose3d(inChannels, outChannels, kernel, {
        ...opts,
        stride,
        padding,
        outputPadding: convOutputPadding(kernel, stride, padding),
        bias,
      })
      : new Conv3d(inChannels, outChannels, kernel, { ...opts, stride, padding, bias });
    this.registerModule("conv", conv);
  }

  /** The wrapped `Conv3d` or `ConvTranspose3d`. */
  get conv(): UnaryModule {
    return this.child<UnaryModule>("conv");
  }

  /** Applies the convolution. */
  forward(x: Tensor): Tensor {
    return this.conv.forward(x);
  }
}

/**
 * MONAI's `UnetResBlock`: `h = lrelu(norm1(conv1(x)))`, `h = norm2(conv2(h))`,
 * residual `x`, or `norm3(conv3(x))` (1×1) when channels or stride change;
 * output `lrelu(h + residual)`.
 */
export class UnetResBlock extends Module implements UnaryModule {
  /** True when the residual path has its own 1×1 conv and norm. */
  readonly downsample: boolean;

  /** A residual block `inChannels → outChannels`, first conv with `stride`. */
  constructor(inChannels: number, outChannels: number, kernelSize: Size3, stride: Size3, opts: ModuleOptions = {}) {
    super();
    this.registerModule("conv1", new Convolution(inChannels, outChannels, { ...opts, kernelSize, stride }));
    this.registerModule("conv2", new Convolution(outChannels, outChannels, { ...opts, kernelSize, stride: 1 }));
    this.registerModule("lrelu", new LeakyReLU(0.01));
    this.registerModule("norm1", new InstanceNorm3d(outChannels));
    this.registerModule("norm2", new InstanceNorm3d(outChannels));
    this.downsample = inChannels !== outChannels || triple(stride).some((s) => s !== 1);
    if (this.downsample) {
      this.registerModule("conv3", new Convolution(inChannels, outChannels, { ...opts, kernelSize: 1, stride }));
      this.registerModule("norm3", new InstanceNorm3d(outChannels));
    }
  }

  /** Applies the block to `[N, C, D, H, W]`. */
  forward(x: Tensor): Tensor {
    const c = (n: string) => this.child<UnaryModule>(n);
    const lrelu = c("lrelu");
    let h = lrelu.forward(c("norm1").forward(c("conv1").forward(x)));
    h = c("norm2").forward(c("conv2").forward(h));
    const residual = this.downsample ? c("norm3").forward(c("conv3").forward(x)) : x;
    return lrelu.forward(h.add(residual));
  }
}

/** MONAI's `UnetrBasicBlock` with `res_block=True`: one `UnetResBlock` named `layer`. */
export class UnetrBasicBlock extends Module implements UnaryModule {
  /** A residual block `inChannels → outChannels`. */
  constructor(inChannels: number, outChannels: number, kernelSize: Size3, stride: Size3, opts: ModuleOptions = {}) {
    super();
    this.registerModule("layer", new UnetResBlock(inChannels, outChannels, kernelSize, stride, opts));
  }

  /** Applies the block. */
  forward(x: Tensor): Tensor {
    return this.child<UnaryModule>("layer").forward(x);
  }
}

/**
 * MONAI's `UnetrPrUpBlock` (conv_block and res_block on): `transp_conv_init`
 * upsamples `inChannels → outChannels`, then each `blocks.{i}` is a
 * `Sequential(transposed conv, UnetResBlock)` that upsamples again.
 * Every step multiplies the extent by `upsampleKernelSize`.
 */
export class UnetrPrUpBlock extends Module implements UnaryModule {
  /** `numLayer + 1` upsamplings from `inChannels` to `outChannels`. */
  constructor(
    inChannels: number,
    outChannels: number,
    numLayer: number,
    kernelSize: Size3,
    stride: Size3,
    upsampleKernelSize: Size3,
    opts: ModuleOptions = {},
  ) {
    super();
    const up = { ...opts, kernelSize: upsampleKernelSize, stride: upsampleKernelSize, transposed: true };
    this.registerModule("transp_conv_init", new Convolution(inChannels, outChannels, up));
    const blocks = Array.from({ length: numLayer }, () =>
      new Sequential(
        new Convolution(outChannels, outChannels, up),
        new UnetResBlock(outChannels, outChannels, kernelSize, stride, opts),
      ));
    this.registerModule("blocks", new ModuleList(blocks));
  }

  /** Upsamples `x`. */
  forward(x: Tensor): Tensor {
    let h = this.child<UnaryModule>("transp_conv_init").forward(x);
    for (const blk of this.child<ModuleList<Sequential>>("blocks")) h = blk.forward(h);
    return h;
  }
}

/**
 * MONAI's `UnetrUpBlock`: `transp_conv` upsamples `inChannels → outChannels`,
 * the result is concatenated with the skip on channels (upsampled first),
 * and `conv_block` (`UnetResBlock(2·out → out)`) fuses them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { randn } from "../tensor/mod.ts";
 * import { UnetrUpBlock } from "./mod.ts";
 * const up = new UnetrUpBlock(16, 8, 3, 2);
 * const y = up.forward(randn([1, 16, 2, 2, 2]), randn([1, 8, 4, 4, 4]));
 * assert.deepEqual([...y.shape], [1, 8, 4, 4, 4]);
 * ```
 */
export class UnetrUpBlock extends Module {
  /** Output channels. */
  readonly outChannels: number;

  /** An up block `inChannels → outChannels` taking an `outChannels` skip. */
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: Size3,
    upsampleKernelSize: Size3,
    opts: ModuleOptions = {},
  ) {
    super();
    this.outChannels = outChannels;
    this.registerModule(
      "transp_conv",
      new Convolution(inChannels, outChannels, {
        ...opts,
        kernelSize: upsampleKernelSize,
        stride: upsampleKernelSize,
        transposed: true,
      }),
    );
    this.registerModule("conv_block", new UnetResBlock(2 * outChannels, outChannels, kernelSize, 1, opts));
  }

  /** Upsamples `x` and fuses it with `skip`. */
  forward(x: Tensor, skip: Tensor): Tensor {
    const up = this.child<UnaryModule>("transp_conv").forward(x);
    if (
      skip.rank !== 5 || skip.shape[1] !== this.outChannels || up.shape.some((d, i) => i !== 1 && d !== skip.shape[i])
    ) {
      throw new ShapeError(`UnetrUpBlock: upsampled ${fmtShape(up.shape)} does not fit skip ${fmtShape(skip.shape)}`);
    }
    return this.child<UnaryModule>("conv_block").forward(concat([up, skip], 1));
  }
}

/** MONAI's `UnetOutBlock`: `conv` = 1×1 Conv3d with bias. */
export class UnetOutBlock extends Module implements UnaryModule {
  /** A 1×1 projection `inChannels → outChannels`. */
  constructor(inChannels: number, outChannels: number, opts: ModuleOptions = {}) {
    super();
    this.registerModule("conv", new Convolution(inChannels, outChannels, { ...opts, kernelSize: 1, bias: true }));
  }

  /** Projects the channels. */
  forward(x: Tensor): Tensor {
    return this.child<UnaryModule>("conv").forward(x);
  }
}

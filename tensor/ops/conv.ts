/**
 * 3-D convolution and transposed convolution in NCDHW layout with PyTorch
 * weight layouts, plus the weight-gradient primitive their VJPs share.
 * The three ops are each other's adjoints, so every VJP is written with them.
 * @module
 */
import { promote } from "../dtype.ts";
import { fmtShape, ShapeError } from "../errors.ts";
import { apply } from "../op.ts";
import { defineOp, type OpDef, type TensorMeta } from "../registry.ts";
import type { Tensor } from "../tensor.ts";
import { conv3dKernel, conv3dWeightGradKernel, type ConvParams, convTranspose3dKernel } from "../cpu/conv.ts";
import { add } from "./elementwise.ts";
import { gpuConv3d, gpuConv3dWeightGrad, gpuConvTranspose3d } from "../webgpu/kernels_linalg.ts";
import { nativeConv3d, nativeConv3dWeightGrad, nativeConvTranspose3d } from "../native/conv.ts";
import { reshape } from "./movement.ts";

export type { ConvParams };

/** Three integers, one per spatial axis (D, H, W). */
export type Triple = [number, number, number];
type TParams = ConvParams & { outputPadding: Triple };
type WParams = ConvParams & { kernel: Triple };

/** Output extent of a conv along one axis (PyTorch's formula). */
function convOut(n: number, k: number, s: number, p: number, d: number): number {
  return Math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1;
}

/** Output extent of a transposed conv along one axis. */
function convTOut(n: number, k: number, s: number, p: number, d: number, op: number): number {
  return (n - 1) * s - 2 * p + d * (k - 1) + op + 1;
}

function check5d(op: string, what: string, t: TensorMeta): void {
  if (t.shape.length !== 5) throw new ShapeError(`${op}: ${what} must be 5-D (NCDHW), got ${fmtShape(t.shape)}`);
}

function spatialOut(op: string, x: TensorMeta, k: readonly number[], p: ConvParams): Triple {
  const o = [0, 1, 2].map((i) => convOut(x.shape[2 + i], k[i], p.stride[i], p.padding[i], p.dilation[i])) as Triple;
  if (o.some((d) => d <= 0)) {
    throw new ShapeError(
      `${op}: input ${fmtShape(x.shape)} is too small for kernel ${fmtShape(k)} (output ${fmtShape(o)})`,
    );
  }
  return o;
}

/** Output-padding that makes convTranspose3d of a conv output return `x`'s extents. */
function adjointPadding(x: TensorMeta, k: readonly number[], p: ConvParams): Triple {
  return [0, 1, 2].map((i) => {
    const o = convOut(x.shape[2 + i], k[i], p.stride[i], p.padding[i], p.dilation[i]);
    return x.shape[2 + i] - convTOut(o, k[i], p.stride[i], p.padding[i], p.dilation[i], 0);
  }) as Triple;
}

const geometry = ({ stride, padding, dilation, groups }: ConvParams): ConvParams => ({
  stride,
  padding,
  dilation,
  groups,
});

const CONV3D: OpDef<ConvParams> = defineOp<ConvParams>({
  name: "conv3d",
  infer: ([x, w], p) => {
    check5d("conv3d", "input", x);
    check5d("conv3d", "weight", w);
    const [O, Cg] = w.shape, C = x.shape[1];
    if (O % p.groups || C % p.groups || Cg * p.groups !== C) {
      throw new ShapeError(
        `conv3d: weight ${fmtShape(w.shape)} expects ${Cg * p.groups} input channel${
          Cg * p.groups === 1 ? "" : "s"
        }, got input ${fmtShape(x.shape)} (groups ${p.groups})`,
      );
    }
    return {
      shape: [x.shape[0], O, ...spatialOut("conv3d", x, w.shape.slice(2), p)],
      dtype: promote(x.dtype, w.dtype),
    };
  },
  cpu: conv3dKernel,
  kernels: { webgpu: gpuConv3d, native: nativeConv3d },
  vjp: (g, { inputs: [x, w], params, needsGrad }) => [
    needsGrad[0]
      ? apply(CONV_T, [g, w], { ...geometry(params), outputPadding: adjointPadding(x, w.shape.slice(2), params) })
      : null,
    needsGrad[1] ? apply(WGRAD, [x, g], { ...geometry(params), kernel: w.shape.slice(2) as Triple }) : null,
  ],
});

const CONV_T: OpDef<TParams> = defineOp<TParams>({
  name: "convTranspose3d",
  infer: ([x, w], p) => {
    check5d("convTranspose3d", "input", x);
    check5d("convTranspose3d", "weight", w);
    const [Cin, Og] = w.shape;
    if (Cin !== x.shape[1] || Cin % p.groups) {
      throw new ShapeError(
        `convTranspose3d: weight ${fmtShape(w.shape)} expects ${Cin} input channels, got input ${fmtShape(x.shape)}`,
      );
    }
    for (let i = 0; i < 3; i++) {
      if (p.outputPadding[i] >= Math.max(p.stride[i], p.dilation[i]) || p.outputPadding[i] < 0) {
        throw new ShapeError(
          `convTranspose3d: output padding ${fmtShape(p.outputPadding)} must be below stride or dilation`,
        );
      }
    }
    const sp = [0, 1, 2].map((i) =>
      convTOut(x.shape[2 + i], w.shape[2 + i], p.stride[i], p.padding[i], p.dilation[i], p.outputPadding[i])
    );
    if (sp.some((d) => d <= 0)) throw new ShapeError(`convTranspose3d: output extent ${fmtShape(sp)} is empty`);
    return { shape: [x.shape[0], Og * p.groups, ...sp], dtype: promote(x.dtype, w.dtype) };
  },
  cpu: convTranspose3dKernel,
  kernels: { webgpu: gpuConvTranspose3d, native: nativeConvTranspose3d },
  vjp: (g, { inputs: [x, w], params, needsGrad }) => [
    needsGrad[0] ? apply(CONV3D, [g, w], geometry(params)) : null,
    needsGrad[1] ? apply(WGRAD, [g, x], { ...geometry(params), kernel: w.shape.slice(2) as Triple }) : null,
  ],
});

const WGRAD: OpDef<WParams> = defineOp<WParams>({
  name: "conv3dWeightGrad",
  infer: ([x, gy], p) => {
    check5d("conv3dWeightGrad", "input", x);
    check5d("conv3dWeightGrad", "output gradient", gy);
    const expect = spatialOut("conv3dWeightGrad", x, p.kernel, p);
    if (gy.shape[0] !== x.shape[0] || expect.some((d, i) => d !== gy.shape[2 + i])) {
      throw new ShapeError(
        `conv3dWeightGrad: output gradient ${fmtShape(gy.shape)} does not match input ${
          fmtShape(x.shape)
        } (expected spatial ${fmtShape(expect)})`,
      );
    }
    return { shape: [gy.shape[1], x.shape[1] / p.groups, ...p.kernel], dtype: promote(x.dtype, gy.dtype) };
  },
  cpu: conv3dWeightGradKernel,
  kernels: { webgpu: gpuConv3dWeightGrad, native: nativeConv3dWeightGrad },
  // Bilinear in (x, gy): ⟨h, W(x, gy)⟩ = ⟨x, convT(gy, h)⟩ = ⟨gy, conv(x, h)⟩.
  vjp: (h, { inputs: [x, gy], params, needsGrad }) => [
    needsGrad[0]
      ? apply(CONV_T, [gy, h], { ...geometry(params), outputPadding: adjointPadding(x, params.kernel, params) })
      : null,
    needsGrad[1] ? apply(CONV3D, [x, h], geometry(params)) : null,
  ],
});

/** Geometry options of {@link conv3d} and {@link convTranspose3d}; numbers apply to all three axes. */
export interface Conv3dOptions {
  /** Stride (default 1). */
  stride?: number | Triple;
  /** Zero padding on both sides (default 0). */
  padding?: number | Triple;
  /** Dilation (default 1). */
  dilation?: number | Triple;
  /** Channel groups (default 1). */
  groups?: number;
}

/** Options of {@link convTranspose3d}. */
export interface ConvTranspose3dOptions extends Conv3dOptions {
  /** Extra extent added on one side of the output (default 0), below stride or dilation. */
  outputPadding?: number | Triple;
}

function triple(op: string, name: string, v: number | Triple | undefined, dflt: number, min: number): Triple {
  const t = (v === undefined ? [dflt, dflt, dflt] : typeof v === "number" ? [v, v, v] : [...v]) as Triple;
  if (t.length !== 3 || t.some((x) => !Number.isInteger(x) || x < min)) {
    throw new ShapeError(`${op}: ${name} must be an integer ≥ ${min} or three of them, got ${JSON.stringify(v)}`);
  }
  return t;
}

function parseGeometry(op: string, o: Conv3dOptions): ConvParams {
  if (o === null || typeof o !== "object" || Array.isArray(o)) {
    throw new TypeError(`${op}: options must be an object such as { padding: 1 }, got ${JSON.stringify(o)}`);
  }
  const known = ["stride", "padding", "dilation", "groups", ...(op === "convTranspose3d" ? ["outputPadding"] : [])];
  const unknown = Object.keys(o).filter((k) => !known.includes(k));
  if (unknown.length) {
    throw new TypeError(
      `${op}: unknown option${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")} (known: ${known.join(", ")})`,
    );
  }
  const groups = o.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw new ShapeError(`${op}: groups must be a positive integer`);
  return {
    stride: triple(op, "stride", o.stride, 1, 1),
    padding: triple(op, "padding", o.padding, 0, 0),
    dilation: triple(op, "dilation", o.dilation, 1, 1),
    groups,
  };
}

/** A bias slot holding something other than a tensor (e.g. the options, one slot early) is a TypeError. */
function checkBias(bias: unknown, op: string): void {
  if (bias === undefined || bias === null || (bias as { isTensor?: boolean }).isTensor === true) return;
  const shown = typeof bias === "object" ? JSON.stringify(bias) : String(bias);
  throw new TypeError(
    `${op}: bias (argument 3) must be a Tensor, null or undefined, got ${shown}; ` +
      `options go in argument 4: ${op}(x, weight, null, ${shown})`,
  );
}

function addBias(y: Tensor, bias: Tensor | null | undefined, op: string): Tensor {
  if (!bias) return y;
  if (bias.rank !== 1 || bias.shape[0] !== y.shape[1]) {
    throw new ShapeError(`${op}: bias ${fmtShape(bias.shape)} does not match ${y.shape[1]} output channels`);
  }
  return add(y, reshape(bias, [1, y.shape[1], 1, 1, 1]));
}

/**
 * 3-D convolution (cross-correlation, as in PyTorch): input `[N, C, D, H, W]`,
 * weight `[O, C/groups, kD, kH, kW]`, optional bias `[O]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { conv3d, ones } from "@lorapt/core";
 * const y = conv3d(ones([1, 1, 4, 4, 4]), ones([2, 1, 3, 3, 3]), null, { padding: 1 });
 * assert.ok(y.shape.join() === "1,2,4,4,4");
 * ```
 */
export function conv3d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: Conv3dOptions = {}): Tensor {
  checkBias(bias, "conv3d");
  return addBias(apply(CONV3D, [x, weight], parseGeometry("conv3d", opts)), bias, "conv3d");
}

/**
 * 3-D transposed convolution: input `[N, Cin, D, H, W]`, weight
 * `[Cin, Cout/groups, kD, kH, kW]` (PyTorch's layout), optional bias `[Cout]`.
 * Output extent per axis: `(n − 1)·s − 2p + d·(k − 1) + outputPadding + 1`.
 */
export function convTranspose3d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  opts: ConvTranspose3dOptions = {},
): Tensor {
  checkBias(bias, "convTranspose3d");
  const p = {
    ...parseGeometry("convTranspose3d", opts),
    outputPadding: triple("convTranspose3d", "outputPadding", opts.outputPadding, 0, 0),
  };
  return addBias(apply(CONV_T, [x, weight], p), bias, "convTranspose3d");
}

/**
 * The gradient of `conv3d` with respect to its weight: for input `x` and
 * output cotangent `gy`, returns `[O, C/groups, …kernel]`. Exposed because it
 * is a primitive (the VJPs of both convolutions use it).
 */
export function conv3dWeightGrad(x: Tensor, gy: Tensor, kernel: Triple, opts: Conv3dOptions = {}): Tensor {
  return apply(WGRAD, [x, gy], { ...parseGeometry("conv3dWeightGrad", opts), kernel });
}

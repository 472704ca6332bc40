/**
 * Neural-network primitives: softmax, log-softmax, layer and instance
 * normalisation, dropout and one-hot encoding.
 * @module
 */
import { type DType, isFloat } from "../dtype.ts";
import { fmtShape, ShapeError } from "../errors.ts";
import { apply } from "../op.ts";
import { defineOp } from "../registry.ts";
import { defaultRng, type Rng } from "../random.ts";
import { normAxis } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { normalizeBackwardKernel, normalizeKernel, oneHotKernel, softmaxKernel } from "../cpu/nn.ts";
import { gpuNormalize, gpuNormalizeBackward, gpuOneHot, gpuSoftmax } from "../webgpu/kernels_reduce.ts";
import { nativeNormalize, nativeNormalizeBackward, nativeSoftmax } from "../native/nn.ts";
import { isGradEnabled } from "../grad_mode.ts";
import { rand } from "./creation.ts";
import { add, cast, div, ge, mul, sqrt, sub } from "./elementwise.ts";
import { logsumexp, mean, sum, variance } from "./reduce.ts";
import { moveAxis } from "./movement.ts";

const SOFTMAX = defineOp<{ axis: number }>({
  name: "softmax",
  infer: ([a]) => {
    if (!isFloat(a.dtype)) throw new ShapeError(`softmax: needs a float input, got ${a.dtype} ${fmtShape(a.shape)}`);
    return { shape: a.shape, dtype: a.dtype };
  },
  cpu: softmaxKernel,
  kernels: { webgpu: gpuSoftmax, native: nativeSoftmax },
  // dx = y ⊙ (g − Σ_axis g ⊙ y)
  vjp: (g, { output: y, params: { axis } }) => [mul(y, sub(g, sum(mul(g, y), axis, true)))],
});

const ONE_HOT = defineOp<{ classes: number; dtype: DType }>({
  name: "oneHot",
  infer: ([a], p) => {
    if (isFloat(a.dtype)) {
      throw new ShapeError(`oneHot: indices must be int32 or uint8, got ${a.dtype} ${fmtShape(a.shape)}`);
    }
    return { shape: [...a.shape, p.classes], dtype: p.dtype };
  },
  cpu: oneHotKernel,
  kernels: { webgpu: gpuOneHot },
  nondiff: "integer input",
});

/**
 * Softmax along `axis` (default: last). Rows sum to 1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { softmax, tensor } from "@lorapt/core";
 * const p = await softmax(tensor([1, 2, 3])).data();
 * assert.ok(Math.abs(p[0] + p[1] + p[2] - 1) < 1e-6);
 * ```
 */
export function softmax(x: Tensor, axis = -1): Tensor {
  return apply(SOFTMAX, [x], { axis: normAxis("softmax", axis, x.rank) });
}

/** `log(softmax(x))` along `axis`, computed stably as `x − logsumexp(x)`. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return sub(x, logsumexp(x, axis, true));
}

/** Normalisation over the last `k` axes (rows of their product), fused into one op. */
interface NormalizeParams {
  /** Number of trailing axes normalised together. */
  k: number;
  /** Added to the variance. */
  eps: number;
  /** Elements per row: the product of the last `k` extents (what the kernels use). */
  inner: number;
}

/** The normalize VJP as one op; see NORMALIZE's vjp. */
const NORMALIZE_BACKWARD = defineOp<{ inner: number; eps: number }>({
  name: "normalizeBackward",
  infer: ([x, y, g]) => {
    for (const [what, t] of [["x̂", y], ["g", g]] as const) {
      if (t.shape.length !== x.shape.length || t.shape.some((d, i) => d !== x.shape[i])) {
        throw new ShapeError(
          `normalizeBackward: ${what} ${fmtShape(t.shape)} must have x's shape ${fmtShape(x.shape)}`,
        );
      }
    }
    return { shape: x.shape, dtype: x.dtype };
  },
  cpu: normalizeBackwardKernel,
  kernels: { webgpu: gpuNormalizeBackward, native: nativeNormalizeBackward },
  nondiff: "runs only inside an unrecorded backward pass; a recorded one (createGraph) uses the composite VJP",
});

const NORMALIZE = defineOp<NormalizeParams>({
  name: "normalize",
  infer: ([a]) => {
    if (!isFloat(a.dtype)) throw new ShapeError(`normalize: needs a float input, got ${a.dtype} ${fmtShape(a.shape)}`);
    return { shape: a.shape, dtype: a.dtype };
  },
  cpu: normalizeKernel,
  kernels: { webgpu: gpuNormalize, native: nativeNormalize },
  // With x̂ the output and r = 1/√(var + eps) per row: dx = r·(g − mean(g) − x̂·mean(g·x̂)). An unrecorded
  // backward pass (the usual one) runs it as one fused op; a recorded one (createGraph) composes it from
  // differentiable ops so that it can be differentiated again.
  vjp: (g, { inputs: [x], output: y, params: { k, eps, inner } }) => {
    if (!isGradEnabled()) return [apply(NORMALIZE_BACKWARD, [x, y, g], { inner, eps })];
    const axes = Array.from({ length: k }, (_, i) => x.rank - k + i);
    const rstd = div(1, sqrt(add(variance(x, axes, { keepdims: true, correction: 0 }), eps)));
    return [mul(rstd, sub(sub(g, mean(g, axes, true)), mul(y, mean(mul(g, y), axes, true))))];
  },
});

/**
 * `(x − mean) / √(var + eps)` over `axes`, with the biased variance (as
 * PyTorch's norms). Trailing axes (layer and instance norm) run as one fused
 * op; other axis sets are composed from reductions.
 */
export function normalize(x: Tensor, axes: number[], eps = 1e-5): Tensor {
  const sorted = [...axes].map((a) => (a < 0 ? a + x.rank : a)).sort((p, q) => p - q);
  const trailing = sorted.length > 0 && sorted.every((a, i) => a === x.rank - sorted.length + i);
  if (trailing && isFloat(x.dtype)) {
    const inner = sorted.reduce((n, a) => n * x.shape[a], 1);
    if (inner > 0) return apply(NORMALIZE, [x], { k: sorted.length, eps, inner });
  }
  const mu = mean(x, axes, true);
  const v = variance(x, axes, { keepdims: true, correction: 0 });
  return div(sub(x, mu), sqrt(add(v, eps)));
}

/**
 * Layer normalisation over the trailing axes given by `normalizedShape`,
 * then `· weight + bias` when given (PyTorch's `F.layer_norm`).
 */
export function layerNorm(
  x: Tensor,
  normalizedShape: readonly number[],
  weight?: Tensor | null,
  bias?: Tensor | null,
  eps = 1e-5,
): Tensor {
  const k = normalizedShape.length;
  const tail = x.shape.slice(x.rank - k);
  if (k === 0 || k > x.rank || tail.some((d, i) => d !== normalizedShape[i])) {
    throw new ShapeError(
      `layerNorm: normalized shape ${fmtShape(normalizedShape)} does not end input ${fmtShape(x.shape)}`,
    );
  }
  let y = normalize(x, Array.from({ length: k }, (_, i) => x.rank - k + i), eps);
  if (weight) y = mul(y, weight);
  if (bias) y = add(y, bias);
  return y;
}

/**
 * Instance normalisation of an NCDHW tensor: each (sample, channel) volume
 * is normalised over D, H, W. Optional per-channel affine (MONAI's UNETR uses none).
 */
export function instanceNorm3d(x: Tensor, eps = 1e-5, weight?: Tensor | null, bias?: Tensor | null): Tensor {
  if (x.rank !== 5) throw new ShapeError(`instanceNorm3d: expects NCDHW input, got ${fmtShape(x.shape)}`);
  let y = normalize(x, [2, 3, 4], eps);
  const c = x.shape[1];
  if (weight) y = mul(y, weight.reshape([1, c, 1, 1, 1]));
  if (bias) y = add(y, bias.reshape([1, c, 1, 1, 1]));
  return y;
}

/** Options of {@link dropout}. */
export interface DropoutOptions {
  /** Generator for the mask (default: the global one). */
  rng?: Rng;
  /** When false, dropout is the identity (evaluation mode). Default true. */
  training?: boolean;
}

/** Zeroes each element with probability `p` and scales the rest by `1/(1−p)` (inverted dropout). */
export function dropout(x: Tensor, p: number, opts: DropoutOptions = {}): Tensor {
  if (!(p >= 0 && p < 1)) throw new RangeError(`dropout: p must be in [0, 1), got ${p}`);
  if (p === 0 || opts.training === false) return x;
  const u = rand(x.shape, { rng: opts.rng ?? defaultRng(), dtype: x.dtype, backend: x.storage.backend });
  const mask = cast(ge(u, p), x.dtype);
  return mul(x, mul(mask, 1 / (1 - p)));
}

/** Options of {@link oneHot}. */
export interface OneHotOptions {
  /** Where the class axis goes (default: last; MONAI puts it at 1). */
  axis?: number;
  /** Output dtype (default float32). */
  dtype?: DType;
}

/** One-hot encodes integer class indices in `[0, classes)`. */
export function oneHot(indices: Tensor, classes: number, opts: OneHotOptions = {}): Tensor {
  const y = apply(ONE_HOT, [indices], { classes, dtype: opts.dtype ?? "float32" });
  return opts.axis === undefined ? y : moveAxis(y, y.rank - 1, opts.axis);
}

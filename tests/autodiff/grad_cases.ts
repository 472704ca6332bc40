/**
 * The gradient-check table: one or more cases per differentiable op, keyed by
 * op name. `grad_check_test.ts` runs every case through `checkGrad`, and
 * `op_coverage_test.ts` fails if a registered op has neither a case here nor
 * a declared `nondiff` reason.
 */
import {
  abs,
  add,
  cast,
  concat,
  conv3d,
  conv3dWeightGrad,
  convTranspose3d,
  div,
  dropout,
  erf,
  exp,
  expand,
  flip,
  gelu,
  gt,
  instanceNorm3d,
  layerNorm,
  leakyRelu,
  leakyReluGrad,
  linear,
  log,
  logSoftmax,
  logsumexp,
  matmul,
  max,
  maximum,
  mean,
  min,
  minimum,
  mul,
  neg,
  normalize,
  pad,
  permute,
  pow,
  relu,
  reshape,
  Rng,
  sigmoid,
  slice,
  softmax,
  sqrt,
  sub,
  sum,
  tanh,
  type Tensor,
  variance,
  where,
} from "../../mod.ts";
import type { CheckGradOptions } from "../../mod.ts";
import { uniform } from "../helpers.ts";
import { TALGEBRA_GRAD_CASES } from "../talgebra/grad_cases.ts";

/** One gradient check: a function, its inputs, and tolerances if not the defaults. */
export interface GradCase {
  name: string;
  f: (...xs: Tensor[]) => Tensor;
  inputs: () => Tensor[];
  opts?: CheckGradOptions;
}

const rng = new Rng(2024);
const u = (shape: number[], lo = -1, hi = 1) => () => [uniform(shape, rng, lo, hi)];
const u2 = (a: number[], b: number[], lo = -1, hi = 1) => () => [uniform(a, rng, lo, hi), uniform(b, rng, lo, hi)];

/** Away from the kinks of abs/relu at 0, where finite differences are meaningless. */
const offZero = (shape: number[]) => () => {
  const sign = sub(mul(cast(gt(uniform(shape, rng), 0), "float32"), 2), 1);
  return [mul(uniform(shape, rng, 0.1, 1), sign)];
};

export const GRAD_CASES: Record<string, GradCase[]> = {
  neg: [{ name: "neg", f: neg, inputs: u([3, 4]) }],
  exp: [{ name: "exp", f: exp, inputs: u([3, 4]) }],
  log: [{ name: "log", f: log, inputs: u([3, 4], 0.2, 3) }],
  sqrt: [{ name: "sqrt", f: sqrt, inputs: u([3, 4], 0.2, 3) }],
  abs: [{ name: "abs", f: abs, inputs: offZero([3, 4]) }],
  relu: [{ name: "relu", f: relu, inputs: offZero([3, 4]) }],
  leakyRelu: [{ name: "leakyRelu", f: (x) => leakyRelu(x, 0.1), inputs: offZero([3, 4]) }],
  leakyReluGrad: [{
    name: "leakyReluGrad (linear in g, piecewise constant in x)",
    f: (g, x) => leakyReluGrad(g, x, 0.1),
    inputs: () => [uniform([3, 4], rng), offZero([3, 4])()[0]],
  }],
  erf: [{ name: "erf", f: erf, inputs: u([3, 4], -3, 3) }],
  gelu: [{ name: "gelu", f: gelu, inputs: u([3, 4], -3, 3) }],
  sigmoid: [{ name: "sigmoid", f: sigmoid, inputs: u([3, 4], -4, 4) }],
  tanh: [{ name: "tanh", f: tanh, inputs: u([3, 4], -2, 2) }],
  cast: [{
    name: "cast through float32",
    f: (x) => mul(cast(x, "float32"), 3),
    inputs: u([5]),
    opts: { eps: 1e-2, atol: 1e-4 },
  }],
  add: [{ name: "add broadcast [2,3]+[3]", f: add, inputs: u2([2, 3], [3]) }],
  sub: [{ name: "sub broadcast [2,1]-[1,3]", f: sub, inputs: u2([2, 1], [1, 3]) }],
  mul: [{ name: "mul broadcast [2,3]*[2,1]", f: mul, inputs: u2([2, 3], [2, 1]) }],
  div: [{ name: "div broadcast [3]/[2,3]", f: div, inputs: u2([3], [2, 3], 0.5, 2) }],
  pow: [{ name: "pow with tensor exponent", f: pow, inputs: u2([2, 3], [3], 0.5, 2) }],
  maximum: [{ name: "maximum", f: maximum, inputs: u2([2, 3], [2, 3]) }],
  minimum: [{ name: "minimum broadcast", f: minimum, inputs: u2([2, 3], [3]) }],
  where: [{ name: "where(a>0, a, b)", f: (a, b) => where(gt(a, 0), mul(a, a), b), inputs: u2([2, 3], [3]) }],
  sum: [
    { name: "sum over axes 0,2", f: (x) => sum(x, [0, 2]), inputs: u([2, 3, 4]) },
    { name: "sum all keepdims", f: (x) => sum(x, undefined, true), inputs: u([2, 3]) },
  ],
  max: [{ name: "max over axis 1", f: (x) => max(x, 1), inputs: u([3, 5]) }],
  min: [{ name: "min over axes 0,1 keepdims", f: (x) => min(x, [0, 1], true), inputs: u([3, 2, 2]) }],
  reshape: [{ name: "reshape", f: (x) => mul(reshape(x, [4, 3]), reshape(x, [4, 3])), inputs: u([2, 6]) }],
  permute: [{ name: "permute", f: (x) => permute(x, [2, 0, 1]), inputs: u([2, 3, 4]) }],
  slice: [{ name: "slice", f: (x) => slice(x, [1, 0, 2], [2, 2, 4]), inputs: u([3, 3, 5]) }],
  pad: [{ name: "pad", f: (x) => pad(x, [[1, 0], [2, 1]], 0.5), inputs: u([2, 3]) }],
  flip: [{ name: "flip", f: (x) => flip(x, [0, 2]), inputs: u([2, 3, 4]) }],
  expand: [{ name: "expand", f: (x) => expand(x, [4, 3, 2]), inputs: u([3, 1]) }],
  concat: [{ name: "concat", f: (a, b) => concat([a, b, a], 1), inputs: u2([2, 1], [2, 3]) }],
  matmul: [
    { name: "matmul batched broadcast", f: matmul, inputs: u2([2, 3, 4], [4, 5]) },
    { name: "matmul vector", f: matmul, inputs: u2([4], [2, 4, 3]) },
  ],
  linear: [
    {
      name: "linear with bias",
      f: (x, w, b) => linear(x, w, b),
      inputs: () => [uniform([2, 3, 4], rng), uniform([5, 4], rng), uniform([5], rng)],
    },
    { name: "linear + gelu, no bias", f: (x, w) => linear(x, w, null, "gelu"), inputs: u2([3, 8], [6, 8]) },
    {
      name: "linear + relu",
      f: (x, w, b) => linear(x, w, b, "relu"),
      inputs: () => [uniform([7, 5], rng), uniform([9, 5], rng), uniform([9], rng)],
    },
  ],
  softmax: [
    { name: "softmax last", f: (x) => softmax(x), inputs: u([3, 4], -2, 2) },
    { name: "softmax axis 0", f: (x) => softmax(x, 0), inputs: u([3, 4], -2, 2) },
  ],
  conv3d: [
    {
      name: "conv3d stride 2 padding 1",
      f: (x, w) => conv3d(x, w, null, { stride: 2, padding: 1 }),
      inputs: u2([1, 2, 5, 4, 3], [3, 2, 3, 3, 3]),
    },
    {
      name: "conv3d dilation 2 groups 2 with bias",
      f: (x, w, b) => conv3d(x, w, b, { dilation: [2, 1, 1], groups: 2, padding: [1, 0, 1] }),
      inputs: () => [uniform([2, 4, 5, 3, 3], rng), uniform([2, 2, 2, 2, 2], rng), uniform([2], rng)],
    },
  ],
  convTranspose3d: [
    {
      name: "convTranspose3d stride 2 padding 1 output padding",
      f: (x, w, b) => convTranspose3d(x, w, b, { stride: 2, padding: 1, outputPadding: [1, 0, 1] }),
      inputs: () => [uniform([1, 2, 3, 2, 3], rng), uniform([2, 3, 3, 3, 3], rng), uniform([3], rng)],
    },
    {
      name: "convTranspose3d kernel 2 stride 2 (UNETR's up-sampling)",
      f: (x, w) => convTranspose3d(x, w, null, { stride: 2 }),
      inputs: u2([2, 2, 2, 2, 2], [2, 2, 2, 2, 2]),
    },
  ],
  normalize: [
    { name: "normalize over the last axis", f: (x) => normalize(x, [-1]), inputs: u([3, 5], -2, 2) },
    {
      name: "normalize over the last three axes",
      f: (x) => normalize(x, [2, 3, 4], 1e-3),
      inputs: u([2, 2, 2, 3, 2], -2, 2),
    },
  ],
  conv3dWeightGrad: [{
    name: "conv3dWeightGrad (bilinear in input and output gradient)",
    f: (x, gy) => conv3dWeightGrad(x, gy, [3, 2, 3], { stride: [2, 1, 1], padding: 1 }),
    inputs: u2([1, 2, 4, 3, 3], [1, 2, 2, 4, 3]),
  }],
  ...TALGEBRA_GRAD_CASES,
};

/** Compositions whose gradients come from the primitives; checked all the same. */
export const COMPOSITE_CASES: GradCase[] = [
  { name: "mean", f: (x) => mean(x, [1]), inputs: u([3, 4]) },
  { name: "variance", f: (x) => variance(x, [0, 1]), inputs: u([3, 4]) },
  { name: "logsumexp", f: (x) => logsumexp(x, 1), inputs: u([3, 4], -3, 3) },
  { name: "logSoftmax", f: (x) => logSoftmax(x, 0), inputs: u([3, 4], -3, 3) },
  {
    name: "layerNorm with weight and bias",
    f: (x, w, b) => layerNorm(x, [4], w, b),
    inputs: () => [uniform([3, 4], rng), uniform([4], rng), uniform([4], rng)],
  },
  { name: "instanceNorm3d", f: (x) => instanceNorm3d(x), inputs: u([2, 2, 2, 3, 2]) },
  { name: "dropout with a fixed mask", f: (x) => dropout(x, 0.3, { rng: new Rng(5) }), inputs: u([4, 5]) },
];

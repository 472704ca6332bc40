/**
 * Elementwise ops with NumPy broadcasting: arithmetic, math functions,
 * activations, comparisons, `where` and `cast`. Each is one `defineOp` entry:
 * shape rule, CPU kernel and VJP.
 * @module
 */
import { allocArray, type DType, floatOf, isFloat, promote } from "../dtype.ts";
import { fmtShape, ShapeError } from "../errors.ts";
import { withGradMode } from "../grad_mode.ts";
import { apply } from "../op.ts";
import { defineOp, type OpDef, type TensorMeta } from "../registry.ts";
import { broadcastShapes } from "../shape.ts";
import type { Tensor, TensorLike } from "../tensor.ts";
import { binaryKernel, unaryKernel, whereKernel } from "../cpu/elementwise.ts";
import { erf as erfScalar } from "../special.ts";
import { type ActivationName, type ActivationOps, ACTIVATIONS } from "../activations.ts";
import { gpuElementwise, gpuView } from "../webgpu/kernels.ts";
import { nativeElementwise } from "../native/elementwise.ts";
import { full } from "./creation.ts";
import { sumTo } from "./reduce.ts";

/** Turns a number into a scalar tensor on `like`'s backend (ints stay ints when integral). */
export function toTensor(v: TensorLike, like: Tensor): Tensor {
  if (typeof v !== "number") return v;
  const dtype: DType = isFloat(like.dtype) || Number.isInteger(v) ? like.dtype : "float32";
  return full([], v, { dtype, backend: like.storage.backend });
}

const sameDtype = ([a]: readonly TensorMeta[]) => ({ shape: a.shape, dtype: a.dtype });
const floatDtype = ([a]: readonly TensorMeta[]) => ({ shape: a.shape, dtype: floatOf(a.dtype) });

/** How {@link unary} builds an op besides its scalar function and VJP. */
interface UnaryOptions<P> {
  /** Float output (int inputs give float32; WGSL computes in f32); otherwise the input's dtype and type. */
  toFloat: boolean;
  /** The same function as a WGSL expression in `x`. */
  wgsl: string;
  /** Float parameters, read in WGSL as `fparam(P + k)`. */
  floats?: (p: P) => number[];
}

/** An elementwise op of one input: `f` per element on the CPU, `wgsl` on WebGPU, and `vjp` (null: no gradient). */
function unary<P = undefined>(
  name: string,
  f: (x: number, p: P) => number,
  vjp: ((g: Tensor, x: Tensor, y: Tensor, p: P) => Tensor) | null,
  { toFloat, wgsl, floats }: UnaryOptions<P>,
): OpDef<P> {
  return defineOp<P>({
    name,
    infer: toFloat ? floatDtype : sameDtype,
    cpu: unaryKernel(f),
    kernels: {
      webgpu: gpuElementwise<P>(wgsl, toFloat ? "f32" : "out", floats),
      native: nativeElementwise(name, floats),
    },
    vjp: vjp ? (g, { inputs, output, params }) => [vjp(g, inputs[0], output, params)] : undefined,
    nondiff: vjp ? undefined : "piecewise constant",
  });
}

/** The elementwise ops that activation gradients are written with (activations.ts). */
export const ACTIVATION_OPS: ActivationOps<Tensor> = { add, sub, mul, exp, erf, gt, where };

/** The op of an entry of the activation table (activations.ts): its formula, WGSL and gradient. */
function activation(name: ActivationName): OpDef<undefined> {
  const a = ACTIVATIONS[name];
  return unary(name, a.cpu, (g, x, y) => a.grad(g, x, y, ACTIVATION_OPS), { toFloat: a.float, wgsl: a.wgsl("x") });
}

const NEG = unary("neg", (x) => -x, (g) => neg(g), { toFloat: false, wgsl: "-x" });
const EXP = unary("exp", Math.exp, (g, _x, y) => mul(g, y), { toFloat: true, wgsl: "exp(x)" });
const LOG = unary("log", Math.log, (g, x) => div(g, x), { toFloat: true, wgsl: "log(x)" });
const SQRT = unary("sqrt", Math.sqrt, (g, _x, y) => div(g, mul(y, 2)), { toFloat: true, wgsl: "sqrt(x)" });
const ABS = unary("abs", Math.abs, (g, x) => mul(g, sign(x)), { toFloat: false, wgsl: "abs(x)" });
const SIGN = unary("sign", Math.sign, null, { toFloat: false, wgsl: "sign(f32(x))" });
const RELU = activation("relu");
// The leaky ReLU VJP as one op, g·(x > 0 ? 1 : alpha), in place of gt + mul + where (three full passes at 64³).
// It is linear in g and piecewise constant in x, so its own VJP is itself.
const LEAKY_GRAD: OpDef<{ alpha: number }> = defineOp<{ alpha: number }>({
  name: "leakyReluGrad",
  infer: ([g, x]) => {
    if (g.shape.length !== x.shape.length || g.shape.some((d, i) => d !== x.shape[i])) {
      throw new ShapeError(`leakyReluGrad: gradient ${fmtShape(g.shape)} must have x's shape ${fmtShape(x.shape)}`);
    }
    return { shape: x.shape, dtype: promote(g.dtype, x.dtype) };
  },
  cpu: ([g, x], p, out) => {
    const r = allocArray(out.dtype, g.data.length), gd = g.data, xd = x.data;
    for (let i = 0; i < r.length; i++) r[i] = xd[i] > 0 ? gd[i] : p.alpha * gd[i];
    return r;
  },
  kernels: {
    webgpu: gpuElementwise<{ alpha: number }>("select(fparam(P + 0u) * x, x, y > 0.0)", "f32", (p) => [p.alpha]),
    native: nativeElementwise("leakyReluGrad"),
  },
  vjp: (h, { inputs: [_g, x], params, needsGrad }) => [needsGrad[0] ? apply(LEAKY_GRAD, [h, x], params) : null, null],
});
const LEAKY = unary<{ alpha: number }>(
  "leakyRelu",
  (x, p) => (x > 0 ? x : p.alpha * x),
  (g, x, _y, p) => apply(LEAKY_GRAD, [g, x], p),
  { toFloat: true, wgsl: "select(fparam(P + 0u) * x, x, x > 0.0)", floats: (p) => [p.alpha] },
);
const ERF = unary(
  "erf",
  erfScalar,
  (g, x) => mul(g, mul(exp(neg(mul(x, x))), 2 / Math.sqrt(Math.PI))),
  { toFloat: true, wgsl: "erf_approx(x)" },
);
const GELU = activation("gelu");
const SIGMOID = activation("sigmoid");
const TANH = activation("tanh");
const STOP = defineOp<undefined>({
  name: "stopGradient",
  infer: sameDtype,
  cpu: ([a]) => a.data,
  kernels: { webgpu: gpuView },
  nondiff: "stops gradients by definition",
});
const CAST = defineOp<{ dtype: DType }>({
  name: "cast",
  infer: ([a], p) => ({ shape: a.shape, dtype: p.dtype }),
  cpu: unaryKernel((x) => x) as OpDef<{ dtype: DType }>["cpu"],
  kernels: { webgpu: gpuElementwise("x", "in"), native: nativeElementwise("cast") },
  vjp: (g, { inputs }) => [cast(g, inputs[0].dtype)],
});

function binaryInfer(name: string, toFloat: boolean) {
  return ([a, b]: readonly TensorMeta[]) => {
    const dtype = promote(a.dtype, b.dtype);
    return { shape: broadcastShapes(name, a.shape, b.shape), dtype: toFloat ? floatOf(dtype) : dtype };
  };
}

/** A broadcasting op of two inputs; `wgsl` is the same function in `x`, `y`. */
function binary(
  name: string,
  f: (x: number, y: number) => number,
  vjp: ((g: Tensor, a: Tensor, b: Tensor, y: Tensor, needs: readonly boolean[]) => (Tensor | null)[]) | null,
  wgsl: string,
  toFloat = false,
): OpDef<undefined> {
  return defineOp<undefined>({
    name,
    infer: binaryInfer(name, toFloat),
    cpu: binaryKernel(f),
    kernels: { webgpu: gpuElementwise(wgsl, toFloat ? "f32" : "out"), native: nativeElementwise(name) },
    vjp: vjp
      ? (g, { inputs: [a, b], output, needsGrad }) => {
        const [ga, gb] = vjp(g, a, b, output, needsGrad);
        return [ga && sumTo(ga, a.shape), gb && sumTo(gb, b.shape)];
      }
      : undefined,
    nondiff: vjp ? undefined : "boolean output",
  });
}

const ADD = binary("add", (x, y) => x + y, (g) => [g, g], "x + y");
const SUB = binary("sub", (x, y) => x - y, (g, _a, _b, _y, n) => [g, n[1] ? neg(g) : null], "x - y");
const MUL = binary(
  "mul",
  (x, y) => x * y,
  (g, a, b, _y, n) => [n[0] ? mul(g, b) : null, n[1] ? mul(g, a) : null],
  "x * y",
);
const DIV = binary(
  "div",
  (x, y) => x / y,
  (g, _a, b, y, n) => [n[0] ? div(g, b) : null, n[1] ? neg(div(mul(g, y), b)) : null],
  "x / y",
  true,
);
// WGSL's pow is undefined for x < 0 and gives NaN for 0^0; match Math.pow.
const POW_WGSL = "select(select(pow(x, y), select(1.0, -1.0, abs(y) % 2.0 == 1.0) * pow(abs(x), y), " +
  "x < 0.0 && floor(y) == y), 1.0, y == 0.0)";
// d(a^b)/da = b a^(b-1); d(a^b)/db = a^b ln a, taken as 0 where a ≤ 0 (PyTorch does the same at a = 0).
const POW = binary(
  "pow",
  Math.pow,
  (g, a, b, y, n) => [
    n[0] ? mul(g, mul(b, pow(a, sub(b, 1)))) : null,
    n[1] ? mul(g, where(gt(a, 0), mul(y, log(where(gt(a, 0), a, 1))), 0)) : null,
  ],
  POW_WGSL,
  true,
);
// Ties split the gradient evenly, as PyTorch does.
function tieShare(g: Tensor, a: Tensor, b: Tensor, wins: Tensor): (Tensor | null)[] {
  const share = add(cast(wins, g.dtype), mul(cast(eq(a, b), g.dtype), 0.5));
  return [mul(g, share), mul(g, sub(1, share))];
}
const MAXIMUM = binary("maximum", Math.max, (g, a, b) => tieShare(g, a, b, gt(a, b)), "max(x, y)");
const MINIMUM = binary("minimum", Math.min, (g, a, b) => tieShare(g, a, b, lt(a, b)), "min(x, y)");

function comparison(name: string, f: (x: number, y: number) => boolean, wgsl: string): OpDef<undefined> {
  return defineOp<undefined>({
    name,
    infer: ([a, b]) => ({ shape: broadcastShapes(name, a.shape, b.shape), dtype: "uint8" }),
    cpu: binaryKernel((x, y) => (f(x, y) ? 1 : 0)),
    kernels: { webgpu: gpuElementwise(`select(0u, 1u, ${wgsl})`, "in"), native: nativeElementwise(name) },
    nondiff: "boolean output",
  });
}
const EQ = comparison("eq", (x, y) => x === y, "x == y");
const NE = comparison("ne", (x, y) => x !== y, "x != y");
const LT = comparison("lt", (x, y) => x < y, "x < y");
const LE = comparison("le", (x, y) => x <= y, "x <= y");
const GT = comparison("gt", (x, y) => x > y, "x > y");
const GE = comparison("ge", (x, y) => x >= y, "x >= y");

const WHERE = defineOp<undefined>({
  name: "where",
  infer: ([c, a, b]) => {
    if (c.dtype !== "uint8") {
      throw new ShapeError(`where: condition must be uint8, got ${c.dtype} ${fmtShape(c.shape)}`);
    }
    return { shape: broadcastShapes("where", c.shape, a.shape, b.shape), dtype: promote(a.dtype, b.dtype) };
  },
  cpu: whereKernel,
  kernels: { webgpu: gpuElementwise("select(z, y, x != 0)"), native: nativeElementwise("where") },
  vjp: (g, { inputs: [c, a, b], needsGrad }) => {
    const zero = full([], 0, { dtype: g.dtype, backend: g.storage.backend });
    return [
      null,
      needsGrad[1] ? sumTo(where(c, g, zero), a.shape) : null,
      needsGrad[2] ? sumTo(where(c, zero, g), b.shape) : null,
    ];
  },
});

function bin(op: OpDef<undefined>, a: TensorLike, b: TensorLike): Tensor {
  if (typeof a === "number") {
    if (typeof b === "number") throw new ShapeError(`${op.name}: at least one argument must be a tensor`);
    a = toTensor(a, b);
  }
  return apply(op, [a, toTensor(b, a)], undefined);
}

/** Elementwise `a + b` with broadcasting. */
export function add(a: TensorLike, b: TensorLike): Tensor {
  return bin(ADD, a, b);
}
/** Elementwise `a - b` with broadcasting. */
export function sub(a: TensorLike, b: TensorLike): Tensor {
  return bin(SUB, a, b);
}
/** Elementwise `a * b` with broadcasting. */
export function mul(a: TensorLike, b: TensorLike): Tensor {
  return bin(MUL, a, b);
}
/** Elementwise true division `a / b` (integers give float32). */
export function div(a: TensorLike, b: TensorLike): Tensor {
  return bin(DIV, a, b);
}
/** Elementwise `a ** b` (float result). */
export function pow(a: TensorLike, b: TensorLike): Tensor {
  return bin(POW, a, b);
}
/** Elementwise maximum; ties share the gradient equally. */
export function maximum(a: TensorLike, b: TensorLike): Tensor {
  return bin(MAXIMUM, a, b);
}
/** Elementwise minimum; ties share the gradient equally. */
export function minimum(a: TensorLike, b: TensorLike): Tensor {
  return bin(MINIMUM, a, b);
}
/** `a == b` as uint8 (1 or 0). */
export function eq(a: TensorLike, b: TensorLike): Tensor {
  return bin(EQ, a, b);
}
/** `a != b` as uint8. */
export function ne(a: TensorLike, b: TensorLike): Tensor {
  return bin(NE, a, b);
}
/** `a < b` as uint8. */
export function lt(a: TensorLike, b: TensorLike): Tensor {
  return bin(LT, a, b);
}
/** `a <= b` as uint8. */
export function le(a: TensorLike, b: TensorLike): Tensor {
  return bin(LE, a, b);
}
/** `a > b` as uint8. */
export function gt(a: TensorLike, b: TensorLike): Tensor {
  return bin(GT, a, b);
}
/** `a >= b` as uint8. */
export function ge(a: TensorLike, b: TensorLike): Tensor {
  return bin(GE, a, b);
}

/** Picks `a` where `cond` (uint8) is non-zero and `b` elsewhere, with broadcasting. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const like = typeof a === "number" ? (typeof b === "number" ? cond : b) : a;
  const ta = toTensor(a, like), tb = toTensor(b, like);
  return apply(WHERE, [cond, ta, tb], undefined);
}

/** Elementwise negation. */
export function neg(x: Tensor): Tensor {
  return apply(NEG, [x], undefined);
}
/** Elementwise `e^x`. */
export function exp(x: Tensor): Tensor {
  return apply(EXP, [x], undefined);
}
/** Elementwise natural logarithm. */
export function log(x: Tensor): Tensor {
  return apply(LOG, [x], undefined);
}
/** Elementwise square root. */
export function sqrt(x: Tensor): Tensor {
  return apply(SQRT, [x], undefined);
}
/** Elementwise absolute value (its gradient at 0 is 0). */
export function abs(x: Tensor): Tensor {
  return apply(ABS, [x], undefined);
}
/** Elementwise sign: -1, 0 or 1. */
export function sign(x: Tensor): Tensor {
  return apply(SIGN, [x], undefined);
}
/** Elementwise `max(x, 0)`. */
export function relu(x: Tensor): Tensor {
  return apply(RELU, [x], undefined);
}
/** Elementwise leaky ReLU: `x` if positive, else `alpha·x` (MONAI's UNETR uses 0.01). */
export function leakyRelu(x: Tensor, alpha = 0.01): Tensor {
  return apply(LEAKY, [x], { alpha });
}
/**
 * The leaky ReLU's vector-Jacobian product in one op: `g` where `x > 0`,
 * `alpha·g` elsewhere (what `leakyRelu`'s backward pass runs).
 */
export function leakyReluGrad(g: Tensor, x: Tensor, alpha = 0.01): Tensor {
  return apply(LEAKY_GRAD, [g, x], { alpha });
}
/** Elementwise error function. */
export function erf(x: Tensor): Tensor {
  return apply(ERF, [x], undefined);
}
/**
 * Elementwise GELU in its exact form `x·Φ(x) = ½x(1 + erf(x/√2))`, as in
 * PyTorch's default `nn.GELU()`.
 */
export function gelu(x: Tensor): Tensor {
  return apply(GELU, [x], undefined);
}
/** Elementwise logistic sigmoid, computed without overflow. */
export function sigmoid(x: Tensor): Tensor {
  return apply(SIGMOID, [x], undefined);
}
/** Elementwise hyperbolic tangent. */
export function tanh(x: Tensor): Tensor {
  return apply(TANH, [x], undefined);
}
/** The same values, cut off from autodiff: no gradient flows through. */
export function stopGradient(x: Tensor): Tensor {
  return apply(STOP, [x], undefined);
}
/**
 * Converts to `dtype` (floats to ints truncate toward zero). Casts to an
 * integer dtype carry no gradient.
 */
export function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return x;
  if (!isFloat(dtype)) return withGradMode(false, () => apply(CAST, [x], { dtype }));
  return apply(CAST, [x], { dtype });
}

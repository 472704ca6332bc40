/**
 * The activation table: for each activation, its per-element formula for the
 * host backends (`cpu`, and `native` for its epilogues), its WGSL expression,
 * and its gradient. `unary()` builds the `relu`, `gelu`, `sigmoid` and `tanh`
 * ops from it, and the fused `linear` op takes its epilogue (CPU kernel, WGSL
 * kernels) and its VJP from it, so each formula is written once.
 *
 * The gradients are written with ops passed in as {@link ActivationOps}
 * rather than imported: kernels import this module, and the op modules import
 * the kernels, so importing the ops here would close a circle.
 * @module
 */
import type { LinearActivation } from "./kernel_types.ts";
import { erf } from "./special.ts";

/**
 * The WGSL error function the GELU expressions call (and the `erf` op):
 * Abramowitz & Stegun 7.1.26, |error| < 1.5e-7 (the CPU `erf` is exact to
 * about 1e-15). Every WebGPU kernel that needs it includes this one text.
 */
export const ERF_WGSL: string = `fn erf_approx(x: f32) -> f32 {
  // Abramowitz & Stegun 7.1.26, |error| < 1.5e-7.
  let t = 1.0 / (1.0 + 0.3275911 * abs(x));
  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-x * x);
  return select(-y, y, x >= 0.0);
}
`;

/** The ops an activation's gradient is written with (the elementwise ops of `ops/elementwise.ts`). */
export interface ActivationOps<T> {
  /** a + b. */
  add(a: T | number, b: T | number): T;
  /** a − b. */
  sub(a: T | number, b: T | number): T;
  /** a · b. */
  mul(a: T | number, b: T | number): T;
  /** eˣ. */
  exp(x: T): T;
  /** The error function. */
  erf(x: T): T;
  /** a > b, as a boolean tensor. */
  gt(a: T, b: T | number): T;
  /** cond ? a : b, elementwise. */
  where(cond: T, a: T | number, b: T | number): T;
}

/** One activation y = f(x). */
export interface Activation {
  /** f of one element, in float64; a plain function, cheap to call in a kernel's loop. */
  readonly cpu: (x: number) => number;
  /**
   * f as a WGSL expression of the expression `x` (parenthesise compound
   * arguments); it may call `erf_approx` ({@link ERF_WGSL}).
   */
  readonly wgsl: (x: string) => string;
  /** Float output (int inputs give float32, WGSL computes in f32); else the input's dtype. */
  readonly float: boolean;
  /** The cotangent of x: g·f′(x), given the cotangent g of y = f(x) and y itself. */
  readonly grad: <T>(g: T, x: T, y: T, ops: ActivationOps<T>) => T;
}

const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** max(x, 0); NaN stays NaN, as in PyTorch. */
export function reluScalar(x: number): number {
  return Math.max(x, 0);
}

/** The exact GELU, x·Φ(x) = ½x(1 + erf(x/√2)), as PyTorch's default `nn.GELU()`. */
export function geluScalar(x: number): number {
  return 0.5 * x * (1 + erf(x * SQRT1_2));
}

/** The logistic function, 1/(1 + e⁻ˣ), in a form that never overflows. */
export function sigmoidScalar(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** The activations, by op name. */
export const ACTIVATIONS = {
  relu: {
    cpu: reluScalar,
    wgsl: (x) => `max(${x}, 0)`,
    float: false,
    grad: (g, x, _y, o) => o.where(o.gt(x, 0), g, 0),
  },
  // gelu'(x) = Φ(x) + x φ(x), with Φ(x) = ½(1 + erf(x/√2)) and φ the standard normal density.
  gelu: {
    cpu: geluScalar,
    wgsl: (x) => `0.5 * ${x} * (1.0 + erf_approx(${x} * 0.7071067811865476))`,
    float: true,
    grad: (g, x, _y, o) => {
      const cdf = o.mul(o.add(o.erf(o.mul(x, SQRT1_2)), 1), 0.5);
      const pdf = o.mul(o.exp(o.mul(o.mul(x, x), -0.5)), INV_SQRT_2PI);
      return o.mul(g, o.add(cdf, o.mul(x, pdf)));
    },
  },
  sigmoid: {
    cpu: sigmoidScalar,
    wgsl: (x) => `1.0 / (1.0 + exp(-${x}))`,
    float: true,
    grad: (g, _x, y, o) => o.mul(g, o.mul(y, o.sub(1, y))),
  },
  // The WGSL argument is clamped to ±15, where tanh is already ±1 in f32.
  tanh: {
    cpu: Math.tanh,
    wgsl: (x) => `tanh(clamp(${x}, -15.0, 15.0))`,
    float: true,
    grad: (g, _x, y, o) => o.mul(g, o.sub(1, o.mul(y, y))),
  },
} as const satisfies Record<string, Activation>;

/** The name of an activation in {@link ACTIVATIONS}. */
export type ActivationName = keyof typeof ACTIVATIONS;

/** The activation a fused `linear` applies, or `undefined` for `"none"`. */
export function linearActivation(name: LinearActivation): Activation | undefined {
  return name === "none" ? undefined : ACTIVATIONS[name];
}

/**
 * SSF (Lian et al. 2022): a trainable scale γ and shift β after a linear
 * layer or a LayerNorm, y = γ ⊙ f(x) + β.
 * Names `ssf_scale`, `ssf_shift` (dongzelian/SSF). Merge: after a linear
 * layer W' = diag(γ) W, b' = γ ⊙ b + β (a bias-free qkv gains a bias); after
 * a LayerNorm weight' = γ ⊙ weight, bias' = γ ⊙ bias + β.
 * @module
 */
import { layerNorm, type Rng, type Tensor } from "../../tensor/mod.ts";
import { noGrad } from "../../autodiff/mod.ts";
import { type Init, LayerNorm, type Linear, Module, type UnaryModule } from "../../models/mod.ts";
import { AdaptedLinear, initLike, type Mergeable, plainLinear } from "./base.ts";

/** How γ and β start: identity (1, 0) or the official N(1, 0.02²), N(0, 0.02²). */
export type SsfInit = "identity" | "official";

function addScaleShift(init: Init, width: number, how: SsfInit): [Tensor, Tensor] {
  if (how === "official") {
    return [
      init.truncNormal([width], 0.02, -Infinity, Infinity, 1),
      init.truncNormal([width], 0.02, -Infinity, Infinity),
    ];
  }
  return [init.constant([width], 1), init.constant([width], 0)];
}

/** A linear layer followed by SSF on its `out` features. */
export class SsfLinear extends AdaptedLinear {
  /** Wraps `base`. */
  constructor(base: Linear, opts: { rng?: Rng; init?: SsfInit } = {}) {
    super(base);
    const [g, b] = addScaleShift(initLike(base.weight, opts), this.outFeatures, opts.init ?? "identity");
    this.addAdapter("ssf_scale", g);
    this.addAdapter("ssf_shift", b);
  }

  /** γ ⊙ (x Wᵀ + b) + β. */
  forward(x: Tensor): Tensor {
    return this.baseForward(x).mul(this.param("ssf_scale")).add(this.param("ssf_shift"));
  }

  /** `Linear` with diag(γ) W and γ ⊙ b + β (always with a bias). */
  merged(): Linear {
    return noGrad(() => {
      const g = this.param("ssf_scale"), beta = this.param("ssf_shift"), b = this.bias;
      const w = this.weight.mul(g.reshape([this.outFeatures, 1]));
      return plainLinear(w, b ? b.mul(g).add(beta) : beta.add(0));
    });
  }
}

/** A LayerNorm (with affine weight and bias) followed by SSF. */
export class SsfLayerNorm extends Module implements UnaryModule, Mergeable {
  /** Normalised trailing shape. */
  readonly normalizedShape: number[];
  /** Variance epsilon. */
  readonly eps: number;

  /** Wraps `base`, taking over its `weight` and `bias` tensors. */
  constructor(base: LayerNorm, opts: { rng?: Rng; init?: SsfInit } = {}) {
    super();
    this.normalizedShape = [...base.normalizedShape];
    this.eps = base.eps;
    const [w, b] = ["weight", "bias"].map((n) => base.namedParameters().find(([k]) => k === n)?.[1]);
    if (!w || !b) throw new Error("SSF: LayerNorm targets need elementwise affine weight and bias");
    this.registerParameter("weight", w);
    this.registerParameter("bias", b);
    const width = this.normalizedShape.reduce((a, c) => a * c, 1);
    const [g, s] = addScaleShift(initLike(w, opts), width, opts.init ?? "identity");
    this.registerParameter("ssf_scale", g.reshape(this.normalizedShape));
    this.registerParameter("ssf_shift", s.reshape(this.normalizedShape));
  }

  /** γ ⊙ LayerNorm(x) + β. */
  forward(x: Tensor): Tensor {
    const y = layerNorm(x, this.normalizedShape, this.param("weight"), this.param("bias"), this.eps);
    return y.mul(this.param("ssf_scale")).add(this.param("ssf_shift"));
  }

  /** `LayerNorm` with γ ⊙ weight and γ ⊙ bias + β. */
  merged(): LayerNorm {
    return noGrad(() => {
      const g = this.param("ssf_scale"), w = this.param("weight");
      const ln = new LayerNorm(this.normalizedShape, { eps: this.eps, materialize: false });
      ln.setParameter("weight", w.mul(g));
      ln.setParameter("bias", this.param("bias").mul(g).add(this.param("ssf_shift")));
      return ln;
    });
  }

  /** `shape, eps`. */
  override extraRepr(): string {
    return `[${this.normalizedShape}], eps=${this.eps}`;
  }
}

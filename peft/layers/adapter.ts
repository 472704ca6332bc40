/**
 * The Adapter baseline (RepAdapter, Luo et al. 2023) in the placement that
 * reproduces the paper's 7.9869 M (peft/README.md,
 * "Adapter placement"): a dense (one group), bias-free c→r→c adapter on the
 * **output** of each adapted linear layer, c = its output width:
 *
 *   y = z + s·W_B·drop(W_A z),  z = x Wᵀ + b,
 *
 * with W_A `[r, c]` (`adapter_down`, Xavier-uniform) and W_B `[c, r]`
 * (`adapter_up`, zero, so the layer starts as the base layer). On qkv,
 * out_proj, linear1, linear2 this is 2r(3d + d + 4d + d) = 18dr per block.
 * Being linear it re-parameterises exactly: with M = I + s·W_B W_A,
 * W' = M W and b' = M b. Unlike the input-side RepAdapter it creates no
 * bias on the bias-free qkv.
 * @module
 */
import { matmul, type Rng, type Tensor, tensor, transpose } from "../../tensor/mod.ts";
import { noGrad } from "../../autodiff/mod.ts";
import { Dropout, type Linear, type UnaryModule } from "../../models/mod.ts";
import { AdaptedLinear, initLike, plainLinear } from "./base.ts";

/** A linear layer followed by a rank-r bias-free residual adapter on its output. */
export class AdapterLinear extends AdaptedLinear {
  /** Hidden width r. */
  readonly rank: number;
  /** Scale s of the up-projection. */
  readonly scale: number;

  /** Wraps `base` with an adapter of hidden width `rank` and scale `scale`. */
  constructor(base: Linear, rank: number, scale: number, opts: { rng?: Rng; dropout?: number } = {}) {
    super(base);
    this.rank = rank;
    this.scale = scale;
    const c = this.outFeatures, init = initLike(base.weight, opts);
    // Xavier-uniform: U(±√(6/(fanIn + fanOut))).
    this.addAdapter("adapter_down", init.uniform([rank, c], Math.sqrt(6 / (rank + c))));
    this.addAdapter("adapter_up", init.constant([c, rank], 0));
    if (opts.dropout) this.registerModule("adapter_dropout", new Dropout(opts.dropout, { dropoutRng: opts.rng }));
  }

  /** Base output plus the adapter on it. */
  forward(x: Tensor): Tensor {
    const z = this.baseForward(x);
    let h = matmul(z, transpose(this.param("adapter_down")));
    if (this.namedChildren().length) h = this.child<UnaryModule>("adapter_dropout").forward(h);
    return z.add(matmul(h, transpose(this.param("adapter_up"))).mul(this.scale));
  }

  /** M = I + s·W_B W_A, `[c, c]`. */
  map(): Tensor {
    const c = this.outFeatures, eye = new Float64Array(c * c);
    for (let i = 0; i < c; i++) eye[i * c + i] = 1;
    const up = this.param("adapter_up");
    const i = tensor(eye, [c, c], { dtype: up.dtype, backend: up.storage.backend });
    return i.add(matmul(up, this.param("adapter_down")).mul(this.scale));
  }

  /** `Linear` with W' = M W, b' = M b. */
  merged(): Linear {
    return noGrad(() => {
      const m = this.map(), b = this.bias;
      return plainLinear(matmul(m, this.weight), b ? matmul(m, b.reshape([this.outFeatures, 1])).reshape([-1]) : null);
    });
  }

  /** `in, out, r, s`. */
  override extraRepr(): string {
    return `${super.extraRepr()}, r=${this.rank}, scale=${this.scale}`;
  }
}

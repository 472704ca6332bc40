/**
 * LoRA (Hu et al. 2021) and PiSSA (Meng et al. 2024) on a linear layer
 * (arXiv 2106.09685, 2404.02948; defaults in peft/README.md).
 * @module
 */
import { fdiag, matmul, reshape, type Rng, type Tensor, transpose, tsvdTruncate } from "../../tensor/mod.ts";
import { noGrad } from "../../autodiff/mod.ts";
import { defaultBound, Dropout, type Linear, type UnaryModule } from "../../models/mod.ts";
import { toHost64, toParamLike } from "../host.ts";
import { AdaptedLinear, initLike, plainLinear } from "./base.ts";

/**
 * `y = x W0ᵀ + b + (α/r)·(drop(x) Aᵀ) Bᵀ` with A `[r, in]` (`lora_A`) and
 * B `[out, r]` (`lora_B`) trainable. A starts Kaiming-uniform with a = √5,
 * i.e. U(−1/√in, 1/√in) as loralib and HF PEFT do; B starts at zero, so the
 * layer starts as the base layer. Merge: W = W0 + (α/r)·B A.
 */
export class LoraLinear extends AdaptedLinear {
  /** Rank r. */
  readonly rank: number;
  /** α/r. */
  readonly scaling: number;

  /** Wraps `base` with a rank-`rank` update of strength `alpha`/`rank`. */
  constructor(base: Linear, rank: number, alpha: number, opts: { rng?: Rng; dropout?: number } = {}) {
    super(base);
    this.rank = rank;
    this.scaling = alpha / rank;
    const init = initLike(base.weight, opts);
    this.addAdapter("lora_A", init.uniform([rank, this.inFeatures], defaultBound(this.inFeatures)));
    this.addAdapter("lora_B", init.constant([this.outFeatures, rank], 0));
    if (opts.dropout) this.registerModule("lora_dropout", new Dropout(opts.dropout, { dropoutRng: opts.rng }));
  }

  /** ΔW = (α/r)·B A, `[out, in]`. */
  delta(): Tensor {
    return matmul(this.param("lora_B"), this.param("lora_A")).mul(this.scaling);
  }

  /** Base output plus the low-rank path. */
  forward(x: Tensor): Tensor {
    const drop = this.namedChildren().length ? this.child<UnaryModule>("lora_dropout").forward(x) : x;
    const low = matmul(matmul(drop, transpose(this.param("lora_A"))), transpose(this.param("lora_B")));
    return this.baseForward(x).add(low.mul(this.scaling));
  }

  /** `Linear` with W0 + (α/r)·B A. */
  merged(): Linear {
    return noGrad(() => plainLinear(this.weight.add(this.delta()), this.bias));
  }

  /** `in, out, r, α/r`. */
  override extraRepr(): string {
    return `${super.extraRepr()}, r=${this.rank}, scaling=${this.scaling}`;
  }
}

/**
 * PiSSA in the three-factor layout that matches the paper's count
 * (peft/README.md: U `[out, r]`, S `[r, r]`, V `[in, r]`, all
 * trainable): `y = x (W_res + U S Vᵀ)ᵀ + b`. Built with {@link PissaLinear.create}:
 * the principal part is the top-r SVD of W0 and the stored weight is the
 * frozen residual W_res = W0 − U S Vᵀ, computed in float64 from the factors
 * as stored, so the layer starts as the base layer up to one rounding.
 */
export class PissaLinear extends AdaptedLinear {
  /** Rank r. */
  readonly rank: number;

  private constructor(base: Linear, rank: number, u: Tensor, s: Tensor, v: Tensor, residual: Tensor | null) {
    super(base);
    this.rank = rank;
    if (residual) this.setParameter("weight", residual);
    this.addAdapter("pissa_U", u);
    this.addAdapter("pissa_S", s);
    this.addAdapter("pissa_V", v);
  }

  /**
   * Splits `base` into principal (trainable) and residual (frozen) parts.
   * The SVD is the t-SVD of W0 viewed as a `[out, in, 1]` tensor
   * (`tsvdTruncate`, which is the plain SVD when n3 = 1). Meta (shape-only)
   * layers get meta factors and keep their weight.
   */
  static async create(base: Linear, rank: number): Promise<PissaLinear> {
    // The rank is checked against min(out, in) once, by applyPeft (checkRank, peft/config.ts).
    const w = base.weight, [out, inp] = w.shape, init = initLike(w);
    if (!init.options.materialize) {
      const meta = (shape: number[]) => init.constant(shape, 0);
      return new PissaLinear(base, rank, meta([out, rank]), meta([rank, rank]), meta([inp, rank]), null);
    }
    const w64 = await toHost64(w);
    const t = await tsvdTruncate(reshape(w64, [out, inp, 1]), rank);
    // Round the factors to the parameter dtype first, then take the residual against exactly those factors.
    const [u, s, v] = await Promise.all([
      toParamLike(t.U, w, [out, rank]),
      toParamLike(fdiag(t.S), w, [rank, rank]), // the r singular values on the diagonal of pissa_S
      toParamLike(t.V, w, [inp, rank]),
    ]);
    const [u64, s64, v64] = await Promise.all([u, s, v].map(toHost64));
    const res64 = noGrad(() => w64.sub(matmul(matmul(u64, s64), transpose(v64))));
    const residual = await toParamLike(res64, w);
    return new PissaLinear(base, rank, u, s, v, residual);
  }

  /** The principal part U S Vᵀ, `[out, in]`. */
  principal(): Tensor {
    return matmul(matmul(this.param("pissa_U"), this.param("pissa_S")), transpose(this.param("pissa_V")));
  }

  /** Residual path plus the principal path, applied to `x` without forming U S Vᵀ: ((x V) Sᵀ) Uᵀ. */
  forward(x: Tensor): Tensor {
    const xv = matmul(x, this.param("pissa_V"));
    const low = matmul(matmul(xv, transpose(this.param("pissa_S"))), transpose(this.param("pissa_U")));
    return this.baseForward(x).add(low);
  }

  /** `Linear` with W_res + U S Vᵀ. */
  merged(): Linear {
    return noGrad(() => plainLinear(this.weight.add(this.principal()), this.bias));
  }

  /** `in, out, r`. */
  override extraRepr(): string {
    return `${super.extraRepr()}, r=${this.rank}`;
  }
}

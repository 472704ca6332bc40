/**
 * What every adapted layer shares. An adapted layer replaces a `Linear` (or
 * `LayerNorm`) in place through `setSubmodule` and keeps the base layer's
 * parameter tensors under the same names (`weight`, `bias`), as loralib's
 * `lora.Linear` does: the pre-trained state-dict names stay valid, and the
 * adapter's own tensors sit next to them (`vit.blocks.0.attn.qkv.lora_A`).
 * @module
 */
import { matmul, type Tensor, transpose } from "../../tensor/mod.ts";
import { Init, isMeta, Linear, Module, type UnaryModule } from "../../models/mod.ts";
import type { FloatDType, ModuleOptions } from "../../models/mod.ts";

/** A layer that {@link merge} can fold back into a plain one. */
export interface Mergeable extends Module {
  /** The equivalent plain layer (`Linear` or `LayerNorm`) with the adapter folded in. */
  merged(): Module;
}

/** True when `m` is an adapted layer. */
export function isMergeable(m: Module): m is Mergeable {
  return typeof (m as unknown as { merged?: unknown }).merged === "function";
}

/** Options for creating adapter tensors like an existing parameter (dtype, backend, meta). */
export function initLike(like: Tensor, opts: Pick<ModuleOptions, "rng"> = {}): Init {
  return new Init({
    ...opts,
    dtype: like.dtype as FloatDType,
    materialize: !isMeta(like),
    backend: isMeta(like) ? undefined : like.storage.backend,
  });
}

/** A plain `Linear` holding `weight` (and `bias` when given) itself, as merge results are. */
export function plainLinear(weight: Tensor, bias: Tensor | null): Linear {
  const [out, inp] = weight.shape;
  const lin = new Linear(inp, out, { materialize: false, bias: bias !== null, dtype: weight.dtype as FloatDType });
  lin.setParameter("weight", weight);
  if (bias) lin.setParameter("bias", bias);
  return lin;
}

/**
 * Base of the adapted linear layers: holds the base `weight` `[out, in]`
 * and optional `bias` `[out]` and computes `x Wᵀ + b`; subclasses add their
 * update on top.
 */
export abstract class AdaptedLinear extends Module implements UnaryModule, Mergeable {
  /** Input features. */
  readonly inFeatures: number;
  /** Output features. */
  readonly outFeatures: number;

  /** Takes over `base`'s parameter tensors (the same objects, not copies). */
  constructor(base: Linear) {
    super();
    this.inFeatures = base.inFeatures;
    this.outFeatures = base.outFeatures;
    this.registerParameter("weight", base.weight);
    if (base.bias) this.registerParameter("bias", base.bias);
  }

  /** `[out, in]` (for PiSSA and LoRA-PT: the frozen residual). */
  get weight(): Tensor {
    return this.param("weight");
  }

  /** `[out]`, or null. */
  get bias(): Tensor | null {
    return this.optionalParam("bias");
  }

  /** `x Wᵀ + b` with the stored weight. */
  protected baseForward(x: Tensor, weight: Tensor = this.weight): Tensor {
    const y = matmul(x, transpose(weight));
    const b = this.bias;
    return b ? y.add(b) : y;
  }

  /** A newly created tensor registered as an adapter parameter. */
  protected addAdapter(name: string, t: Tensor): Tensor {
    return this.registerParameter(name, t);
  }

  /** The adapted layer with the update folded into plain weights. */
  abstract merged(): Module;

  /** Applies the adapted layer to the last axis of `x`. */
  abstract forward(x: Tensor): Tensor;

  /** `in=…, out=…`. */
  override extraRepr(): string {
    return `in=${this.inFeatures}, out=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}

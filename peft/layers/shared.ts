/**
 * A home for tensors that several layers share (LoTR's A and B, LoRA-PT's
 * U, S, V). UNETR's `vit.blocks` is replaced by this list: the same blocks as
 * children `0…L−1`, plus the shared tensors as its own parameters
 * (`vit.blocks.lora_pt_sa_U`). Iterating it still yields only the blocks, so
 * the ViT's forward is unchanged, and every shared tensor is listed once by
 * `namedParameters`, `stateDict` and `withParameters`.
 * @module
 */
import type { Tensor } from "../../tensor/mod.ts";
import { type Module, ModuleList } from "../../models/mod.ts";

/** `vit.blocks` with parameters shared across the blocks. */
export class SharedFactorList extends ModuleList {
  /** The same blocks as `blocks`, in order. */
  constructor(blocks: Iterable<Module>) {
    super(blocks);
  }

  /** Registers `t` under `name` (no dots). Returns it. */
  addShared(name: string, t: Tensor): Tensor {
    return this.registerParameter(name, t);
  }

  /** The shared tensor `name`, read at call time (so parameter substitution reaches every user). */
  shared(name: string): Tensor {
    return this.param(name);
  }

  /** A plain `ModuleList` of the same blocks (what {@link merge} leaves behind). */
  plain(): ModuleList {
    return new ModuleList([...this]);
  }
}

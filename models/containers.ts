/**
 * Containers with numbered children, as `torch.nn.ModuleList` and
 * `torch.nn.Sequential`: their children are named `0`, `1`, …
 * @module
 */
import type { Tensor } from "../tensor/mod.ts";
import { Module, type UnaryModule } from "./module.ts";

/**
 * A list of modules named by index (`blocks.0`, `blocks.1`, …). It has no
 * `forward`: the owner decides how to call the items.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Linear, ModuleList } from "./mod.ts";
 * const list = new ModuleList([new Linear(2, 2), new Linear(2, 2, { bias: false })]);
 * assert.equal(list.length, 2);
 * assert.deepEqual(list.namedParameters().map(([n]) => n), ["0.weight", "0.bias", "1.weight"]);
 * ```
 */
export class ModuleList<M extends Module = Module> extends Module {
  /** Registers `modules` as children `0…n−1`. */
  constructor(modules: Iterable<M> = []) {
    super();
    for (const m of modules) this.append(m);
  }

  /** Number of items. */
  get length(): number {
    return this.namedChildren().length;
  }

  /** Adds `m` as the next numbered child. Returns `this`. */
  append(m: M): this {
    this.registerModule(String(this.length), m);
    return this;
  }

  /** The item at `index` (negative counts from the end). */
  at(index: number): M {
    const n = this.length;
    const i = index < 0 ? n + index : index;
    if (!(i >= 0 && i < n)) throw new RangeError(`ModuleList: index ${index} out of range for ${n} items`);
    return this.child<M>(String(i));
  }

  /** The items in order. */
  *[Symbol.iterator](): Iterator<M> {
    for (const [, m] of this.namedChildren()) yield m as M;
  }
}

/**
 * Modules applied one after another; children are named `0`, `1`, …
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tensor } from "../tensor/mod.ts";
 * import { GELU, Linear, Sequential } from "./mod.ts";
 * const net = new Sequential(new Linear(3, 5), new GELU(), new Linear(5, 1));
 * assert.deepEqual([...net.forward(tensor([[1, 2, 3]])).shape], [1, 1]);
 * ```
 */
export class Sequential extends Module implements UnaryModule {
  /** Registers `layers` as children `0…n−1`. */
  constructor(...layers: UnaryModule[]) {
    super();
    layers.forEach((m, i) => this.registerModule(String(i), m));
  }

  /** Applies the children in order. */
  forward(x: Tensor): Tensor {
    for (const [, m] of this.namedChildren()) x = (m as UnaryModule).forward(x);
    return x;
  }
}

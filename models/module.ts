/**
 * The `Module` base class: named parameters and submodules with PyTorch's
 * dotted names, train/eval mode, state dicts, and parameter substitution for
 * functional calls (gradient checks, adapters).
 *
 * Naming follows `torch.nn.Module.named_parameters()`: a module lists its own
 * parameters first, in registration order, then each child's under
 * `child.` in the child's registration order. List-like containers name
 * their children `0`, `1`, … (`vit.blocks.0.attn.qkv.weight`).
 * @module
 */
import { cast, fmtShape, Tensor } from "../tensor/mod.ts";
// After tensor/mod.ts: the tensor library must be entered through its own mod.ts first.
import { noGrad } from "../autodiff/mod.ts";
import { isMeta } from "./meta.ts";

/** Parameters by dotted name, in `namedParameters()` order. */
export type StateDict = Map<string, Tensor>;

/** What `loadStateDict` accepts: a Map or a plain record of name → tensor. */
export type StateDictLike = ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>;

/** Options of {@link Module.loadStateDict}. */
export interface LoadStateDictOptions {
  /**
   * When true (default), missing or unexpected keys are an error. Shape
   * mismatches are always an error, as in PyTorch.
   */
  strict?: boolean;
}

/** A shape disagreement between a checkpoint and the model. */
export interface ShapeMismatch {
  /** Dotted parameter name. */
  name: string;
  /** Shape in the checkpoint. */
  checkpoint: number[];
  /** Shape in the model. */
  model: number[];
}

/** What {@link Module.loadStateDict} did. */
export interface LoadStateDictResult {
  /** Model parameters that the dict lacked (left unchanged). */
  missingKeys: string[];
  /** Dict entries that match no parameter (ignored). */
  unexpectedKeys: string[];
  /** Parameters that received a value, in model order. */
  loadedKeys: string[];
}

const LIST_MAX = 8;
function listNames(names: readonly string[]): string {
  const head = names.slice(0, LIST_MAX).join(", ");
  return names.length > LIST_MAX ? `${head}, … (${names.length - LIST_MAX} more)` : head;
}

/** Raised by {@link Module.loadStateDict}; the message names keys and shapes. */
export class StateDictError extends Error {
  /** Model parameters absent from the dict. */
  readonly missingKeys: string[];
  /** Dict keys that name no parameter. */
  readonly unexpectedKeys: string[];
  /** Keys present on both sides with different shapes, in model order. */
  readonly mismatched: ShapeMismatch[];

  /** Builds the message from the three lists; `owner` names the module type. */
  constructor(owner: string, missing: string[], unexpected: string[], mismatched: ShapeMismatch[]) {
    const parts: string[] = [];
    if (mismatched.length) {
      const m = mismatched[0];
      parts.push(
        `size mismatch for ${m.name}: checkpoint ${fmtShape(m.checkpoint)}, model ${fmtShape(m.model)}` +
          (mismatched.length > 1 ? ` (${mismatched.length - 1} more mismatched)` : ""),
      );
    }
    if (missing.length) parts.push(`${missing.length} missing key(s): ${listNames(missing)}`);
    if (unexpected.length) parts.push(`${unexpected.length} unexpected key(s): ${listNames(unexpected)}`);
    super(`loadStateDict(${owner}): ${parts.join("; ")}`);
    this.name = "StateDictError";
    this.missingKeys = missing;
    this.unexpectedKeys = unexpected;
    this.mismatched = mismatched;
  }
}

const NAME = /^(?:[A-Za-z_][A-Za-z0-9_]*|\d+)$/;
const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Base class of every layer and model. Subclasses register parameters and
 * children in their constructor and read them back in `forward`, so a
 * parameter or child replaced later (by `setParameter`, `withParameters`,
 * `loadStateDict` or an adapter's `setSubmodule`) is what `forward` uses.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Linear, Sequential } from "./mod.ts";
 * const net = new Sequential(new Linear(4, 8), new Linear(8, 2));
 * assert.deepEqual(net.namedParameters().map(([n]) => n), ["0.weight", "0.bias", "1.weight", "1.bias"]);
 * assert.equal(net.numParameters(), 4 * 8 + 8 + 8 * 2 + 2);
 * ```
 */
export abstract class Module {
  /** True in training mode (dropout active); set with {@link train} / {@link eval}. */
  training = true;
  readonly #params = new Map<string, Tensor>();
  readonly #children = new Map<string, Module>();

  /** The class name, used in messages. */
  get typeName(): string {
    return this.constructor.name;
  }

  /** Registers a parameter under `name` and flags it `requiresGrad`. Returns it. */
  protected registerParameter(name: string, t: Tensor): Tensor {
    this.#checkFree(name);
    t.requiresGrad = true;
    this.#params.set(name, t);
    return t;
  }

  /** Registers a child module under `name`. Returns it. */
  protected registerModule<M extends Module>(name: string, m: M): M {
    this.#checkFree(name);
    this.#children.set(name, m);
    return m;
  }

  #checkFree(name: string): void {
    if (!NAME.test(name)) throw new Error(`${this.typeName}: invalid attribute name "${name}"`);
    if (this.#params.has(name) || this.#children.has(name)) {
      throw new Error(`${this.typeName}: "${name}" is already registered`);
    }
  }

  /** This module's own parameter `name` (not dotted). */
  protected param(name: string): Tensor {
    const t = this.#params.get(name);
    if (!t) throw new Error(`${this.typeName}: no parameter "${name}"`);
    return t;
  }

  /** This module's own parameter `name`, or null when it was not registered (optional biases). */
  protected optionalParam(name: string): Tensor | null {
    return this.#params.get(name) ?? null;
  }

  /** This module's child `name` (not dotted). */
  protected child<M extends Module = Module>(name: string): M {
    const m = this.#children.get(name);
    if (!m) throw new Error(`${this.typeName}: no submodule "${name}"`);
    return m as M;
  }

  /** Direct children with their names, in registration order. */
  namedChildren(): [string, Module][] {
    return [...this.#children];
  }

  /** Every module in the tree (this one first, named ""), depth first in registration order. */
  namedModules(prefix = ""): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [n, c] of this.#children) out.push(...c.namedModules(prefix ? `${prefix}.${n}` : n));
    return out;
  }

  /** Every parameter with its dotted name, own parameters first, then children's (PyTorch order). */
  namedParameters(prefix = ""): [string, Tensor][] {
    const pre = prefix ? `${prefix}.` : "";
    const out: [string, Tensor][] = [...this.#params].map(([n, t]) => [pre + n, t]);
    for (const [n, c] of this.#children) out.push(...c.namedParameters(pre + n));
    return out;
  }

  /** Every parameter, in {@link namedParameters} order. */
  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Total number of parameter elements (computed from shapes; works on meta modules). */
  numParameters(): number {
    return this.parameters().reduce((n, t) => n + t.size, 0);
  }

  /** Sets training mode on this module and every descendant. Returns `this`. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  /** Evaluation mode (dropout off): `train(false)`. Returns `this`. */
  eval(): this {
    return this.train(false);
  }

  /** Parameters by dotted name (UNETR has no buffers, so this equals `namedParameters`). */
  stateDict(): StateDict {
    return new Map(this.namedParameters());
  }

  /** The child at dotted `path` ("" is this module). */
  getSubmodule(path: string): Module {
    return (path ? path.split(".") : []).reduce<Module>((m, part) => {
      const c = m.#children.get(part);
      if (!c) throw new Error(`${this.typeName}: no submodule "${path}" (${m.typeName} has no child "${part}")`);
      return c;
    }, this);
  }

  #locate(path: string): [Module, string] {
    const dot = path.lastIndexOf(".");
    return [this.getSubmodule(dot < 0 ? "" : path.slice(0, dot)), path.slice(dot + 1)];
  }

  /** The parameter at dotted `path`. */
  getParameter(path: string): Tensor {
    const [owner, local] = this.#locate(path);
    const t = owner.#params.get(local);
    if (!t) throw new Error(`${this.typeName}: no parameter "${path}"`);
    return t;
  }

  /**
   * Replaces the parameter at `path` by another tensor object of the same
   * shape (any dtype or backend). Unlike `Tensor.assign`, the module then
   * holds `t` itself, so gradients with respect to `t` flow through `forward`.
   */
  setParameter(path: string, t: Tensor): void {
    const [owner, local] = this.#locate(path);
    const old = owner.#params.get(local);
    if (!old) throw new Error(`${this.typeName}: no parameter "${path}"`);
    if (!sameShape(old.shape, t.shape)) {
      throw new Error(
        `${this.typeName}.setParameter: ${path} has shape ${fmtShape(old.shape)}, got ${fmtShape(t.shape)}`,
      );
    }
    owner.#params.set(local, t);
  }

  /** Replaces the child at dotted `path` (adapters wrap layers this way). */
  setSubmodule(path: string, m: Module): void {
    const [owner, local] = this.#locate(path);
    if (!owner.#children.has(local)) throw new Error(`${this.typeName}: no submodule "${path}"`);
    owner.#children.set(local, m);
  }

  /**
   * Runs `fn` with some parameters temporarily replaced (like
   * `torch.func.functional_call`), restoring them afterwards even on error.
   * `fn` must be synchronous.
   */
  withParameters<T>(substitutes: StateDictLike, fn: () => T): T {
    const entries = substitutes instanceof Map ? [...substitutes] : Object.entries(substitutes);
    const saved: [string, Tensor][] = [];
    try {
      for (const [path, t] of entries) {
        saved.push([path, this.getParameter(path)]);
        this.setParameter(path, t);
      }
      return fn();
    } finally {
      for (const [path, t] of saved.reverse()) this.setParameter(path, t);
    }
  }

  /**
   * Copies values from `dict` into the parameters of the same name. All
   * checks run before anything is written. Values of another float dtype are
   * cast; shape-only (meta) parameters are replaced by the loaded values.
   */
  loadStateDict(dict: StateDictLike, opts: LoadStateDictOptions = {}): LoadStateDictResult {
    const given = new Map<string, Tensor>(dict instanceof Map ? dict : Object.entries(dict));
    const own = this.namedParameters();
    const ownNames = new Set(own.map(([n]) => n));
    const missing: string[] = [], mismatched: ShapeMismatch[] = [];
    for (const [name, p] of own) {
      const v = given.get(name);
      if (!v) missing.push(name);
      else if (!sameShape(v.shape, p.shape)) mismatched.push({ name, checkpoint: [...v.shape], model: [...p.shape] });
    }
    const unexpected = [...given.keys()].filter((k) => !ownNames.has(k));
    if (mismatched.length || ((opts.strict ?? true) && (missing.length || unexpected.length))) {
      throw new StateDictError(this.typeName, missing, unexpected, mismatched);
    }
    const loaded: string[] = [];
    noGrad(() => {
      for (const [name, p] of own) {
        const v = given.get(name);
        if (!v) continue;
        const value = v.dtype === p.dtype ? v : cast(v, p.dtype);
        if (isMeta(p) && !isMeta(value)) {
          // A fresh parameter tensor sharing the value's storage; the caller's tensor stays unflagged.
          const fresh = new Tensor(value.shape, value.dtype, value.storage);
          fresh.requiresGrad = true;
          this.setParameter(name, fresh);
        } else {
          p.assign(value);
        }
        loaded.push(name);
      }
    });
    return { missingKeys: missing, unexpectedKeys: unexpected, loadedKeys: loaded };
  }

  /** Extra text shown after the class name by {@link toString} (layer sizes). */
  extraRepr(): string {
    return "";
  }

  /** A PyTorch-style tree of the module, e.g. `Linear(in=4, out=8)`. */
  toString(): string {
    const extra = this.extraRepr();
    if (!this.#children.size) return `${this.typeName}(${extra})`;
    const lines = [...this.#children].map(([n, c]) => `  (${n}): ${c.toString().replaceAll("\n", "\n  ")}`);
    if (extra) lines.unshift(`  ${extra}`);
    return `${this.typeName}(\n${lines.join("\n")}\n)`;
  }
}

/** A module whose `forward` maps one tensor to one tensor (what containers chain). */
export interface UnaryModule extends Module {
  /** Applies the module. */
  forward(x: Tensor): Tensor;
}

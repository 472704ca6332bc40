/**
 * Adam (with optional AMSGrad and coupled L2 weight decay) and AdamW, as
 * PyTorch's `torch.optim.Adam` / `AdamW` compute them (single-tensor path),
 * so a step here matches a step there in float32 up to rounding.
 *
 * LoRA-PT trains with Adam, AMSGrad on, β = (0.9, 0.999), ε = 1e−8,
 * lr 1e−3 and weight decay 1e−5 *added to the gradient* (spec
 * paper §4.3). State (first and second moments, running max)
 * lives in tensors on the parameters' backend; parameters and state update
 * in place through `Tensor.assign`, so a step needs no sync.
 * @module
 */
import { keep, maximum, type Tensor, tidy, zerosLike } from "../tensor/mod.ts";
import type { AdamHyper } from "../tensor/backend.ts";
import { wrapStorage } from "../tensor/op.ts";
import { noGrad } from "../autodiff/mod.ts";

/** Options of {@link Adam} and {@link AdamW}. */
export interface AdamOptions {
  /** Learning rate; the schedule overwrites {@link Adam.lr} each step. Default 1e-3. */
  lr?: number;
  /** Decay rates of the first and second moment. Default [0.9, 0.999]. */
  betas?: [number, number];
  /** Added to the denominator. Default 1e-8. */
  eps?: number;
  /** Weight decay: coupled L2 for {@link Adam} (default 0), decoupled for {@link AdamW} (default 1e-2). */
  weightDecay?: number;
  /** Use the running maximum of the second moment (Reddi et al. 2018). Default false. */
  amsgrad?: boolean;
}

/** Per-parameter optimizer state. */
interface Slot {
  m: Tensor;
  v: Tensor;
  vmax: Tensor | null;
}

/** The optimizer state as named tensors plus the step count, for checkpoints. */
export interface OptimizerState {
  /** Steps taken so far (bias corrections depend on it). */
  step: number;
  /** `m.<i>`, `v.<i>` and (AMSGrad) `vmax.<i>` for parameter index i. */
  tensors: Map<string, Tensor>;
}

/**
 * The backend's one-kernel update (see `Backend.adamUpdate`), when it has one
 * and every tensor is float32 on it; the new storage replaces the old through
 * `assign`. Returns false to fall back to the composed ops.
 */
function fusedStep(p: Tensor, g: Tensor, s: Slot, h: AdamHyper): boolean {
  const backend = p.storage.backend;
  if (!backend.adamUpdate) return false;
  const all = [p, g, s.m, s.v, ...(s.vmax ? [s.vmax] : [])];
  if (all.some((t) => t.dtype !== "float32" || t.storage.backend !== backend || t.size !== p.size)) return false;
  const r = backend.adamUpdate(
    {
      p: p.storage.handle,
      g: g.storage.handle,
      m: s.m.storage.handle,
      v: s.v.storage.handle,
      vmax: s.vmax?.storage.handle,
    },
    p.size,
    h,
  );
  const swap = (t: Tensor, handle: unknown) => {
    const fresh = wrapStorage(t.shape, "float32", { backend, handle });
    t.assign(fresh);
    fresh.dispose();
  };
  swap(p, r.p);
  swap(s.m, r.m);
  swap(s.v, r.v);
  if (s.vmax) swap(s.vmax, r.vmax);
  return true;
}

/**
 * Adam with optional AMSGrad and coupled L2 weight decay (PyTorch's
 * `Adam(weight_decay=…)`: `g ← g + λθ` before the moments).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Adam } from "./optim.ts";
 * import { gradients, tensor, tidy } from "../mod.ts";
 * const w = tensor([1, -2]);
 * w.requiresGrad = true;
 * const opt = new Adam([w], { lr: 0.1, amsgrad: true });
 * for (let i = 0; i < 3; i++) tidy(() => opt.step(gradients(w.mul(w).sum(), [w])));
 * const [a, b] = await w.data();
 * assert.ok(Math.abs(a) < 1 && Math.abs(b) < 2); // moved towards the minimum at 0
 * assert.equal(opt.stepCount, 3);
 * ```
 */
export class Adam {
  /** The parameters updated by {@link step}, in order. */
  readonly params: readonly Tensor[];
  /** Current learning rate (a schedule sets it before each step). */
  lr: number;
  /** β₁, β₂. */
  readonly betas: readonly [number, number];
  /** ε. */
  readonly eps: number;
  /** Weight decay λ. */
  readonly weightDecay: number;
  /** Whether AMSGrad is on. */
  readonly amsgrad: boolean;
  /** Whether weight decay is decoupled (AdamW) rather than added to the gradient. */
  readonly decoupled: boolean = false;
  #step = 0;
  #slots: Slot[];

  /** An optimizer over `params` (tensors that parameters of a module share). */
  constructor(params: readonly Tensor[], opts: AdamOptions = {}) {
    this.params = [...params];
    this.lr = opts.lr ?? 1e-3;
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? this.defaultWeightDecay();
    this.amsgrad = opts.amsgrad ?? false;
    const [b1, b2] = this.betas;
    if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1)) throw new RangeError(`Adam: betas [${b1}, ${b2}] must be in [0, 1)`);
    if (!(this.lr >= 0)) throw new RangeError(`Adam: lr ${this.lr} must be >= 0`);
    this.#slots = noGrad(() =>
      this.params.map((p) => ({
        m: keep(zerosLike(p)),
        v: keep(zerosLike(p)),
        vmax: this.amsgrad ? keep(zerosLike(p)) : null,
      }))
    );
  }

  /** Weight decay when none is given (0 for Adam). */
  protected defaultWeightDecay(): number {
    return 0;
  }

  /** Steps taken so far. */
  get stepCount(): number {
    return this.#step;
  }

  /**
   * One update with `grads[i]` the gradient of `params[i]`. Runs without
   * recording a graph and frees its temporaries; reads nothing back.
   */
  step(grads: readonly Tensor[]): void {
    if (grads.length !== this.params.length) {
      throw new RangeError(`Adam.step: ${grads.length} gradients for ${this.params.length} parameters`);
    }
    this.#step++;
    const [b1, b2] = this.betas, t = this.#step, lr = this.lr, wd = this.weightDecay;
    // The scalar factors of torch.optim.adam._single_tensor_adam, in its order.
    const stepSize = lr / (1 - b1 ** t);
    const bc2Sqrt = Math.sqrt(1 - b2 ** t);
    const h: AdamHyper = {
      b1,
      b2,
      lr,
      wd,
      decoupled: this.decoupled,
      stepSize,
      bc2Sqrt,
      eps: this.eps,
    };
    noGrad(() =>
      tidy(() => {
        this.params.forEach((p, i) => {
          const s = this.#slots[i];
          if (fusedStep(p, grads[i], s, h)) return;
          let g = grads[i];
          if (this.decoupled) {
            if (wd !== 0) p.assign(p.mul(1 - lr * wd));
          } else if (wd !== 0) {
            g = g.add(p.mul(wd));
          }
          s.m.assign(s.m.add(g.sub(s.m).mul(1 - b1))); // lerp_(g, 1 − β₁)
          s.v.assign(s.v.mul(b2).add(g.mul(g).mul(1 - b2)));
          let second = s.v;
          if (s.vmax) {
            s.vmax.assign(maximum(s.vmax, s.v));
            second = s.vmax;
          }
          const denom = second.sqrt().div(bc2Sqrt).add(this.eps);
          p.assign(p.sub(s.m.div(denom).mul(stepSize)));
        });
      })
    );
  }

  /** The state as named tensors (shared with the optimizer: copy or save, do not dispose). */
  stateDict(): OptimizerState {
    const tensors = new Map<string, Tensor>();
    this.#slots.forEach((s, i) => {
      tensors.set(`m.${i}`, s.m);
      tensors.set(`v.${i}`, s.v);
      if (s.vmax) tensors.set(`vmax.${i}`, s.vmax);
    });
    return { step: this.#step, tensors };
  }

  /** Restores a state written by {@link stateDict}; every tensor must be present with the right shape. */
  loadStateDict(state: OptimizerState): void {
    noGrad(() => {
      this.#slots.forEach((s, i) => {
        for (const key of ["m", "v", "vmax"] as const) {
          const dst = s[key];
          if (!dst) continue;
          const src = state.tensors.get(`${key}.${i}`);
          if (!src) throw new Error(`${this.constructor.name}.loadStateDict: missing "${key}.${i}"`);
          dst.assign(src.dtype === dst.dtype ? src : src.cast(dst.dtype));
        }
      });
    });
    this.#step = state.step;
  }

  /** Frees the state tensors. */
  dispose(): void {
    for (const s of this.#slots) for (const t of [s.m, s.v, s.vmax]) t?.dispose();
  }
}

/**
 * AdamW (Loshchilov & Hutter 2019): Adam whose weight decay shrinks the
 * parameter directly, `θ ← θ(1 − lr·λ)`, instead of entering the moments.
 * Default λ = 1e-2 as in PyTorch.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AdamW } from "./optim.ts";
 * import { tensor, tidy, zeros } from "../mod.ts";
 * const w = tensor([2]);
 * const opt = new AdamW([w], { lr: 0.1, weightDecay: 0.5 });
 * tidy(() => opt.step([zeros([1])])); // zero gradient: only the decay acts
 * assert.ok(Math.abs((await w.data())[0] - 2 * (1 - 0.05)) < 1e-6);
 * ```
 */
export class AdamW extends Adam {
  /** Always true: the decay shrinks the parameter, not the gradient. */
  override readonly decoupled: boolean = true;
  /** AdamW's default decay, 1e-2. */
  protected override defaultWeightDecay(): number {
    return 1e-2;
  }
}

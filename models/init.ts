/**
 * Construction options shared by every module and the initialisers that
 * PyTorch and MONAI use for the layers of UNETR.
 *
 * - `nn.Linear`, `nn.Conv3d`, `nn.ConvTranspose3d` (PyTorch `reset_parameters`):
 *   weight `kaiming_uniform_(a=√5)`, which is U(−1/√fanIn, 1/√fanIn), and bias
 *   U(−1/√fanIn, 1/√fanIn). PyTorch takes fanIn from weight axis 1 times the
 *   kernel volume, so for a transposed conv (`[in, out/groups, k…]`) it is
 *   `out/groups · k³`.
 * - `nn.LayerNorm`: weight 1, bias 0.
 * - MONAI `PatchEmbeddingBlock.position_embeddings`: truncated normal, mean 0,
 *   std 0.02, cut at ±2 (absolute bounds, as MONAI passes them).
 * @module
 */
import {
  type Backend,
  defaultRng,
  type DType,
  fromArray,
  getBackend,
  type Rng,
  type Shape,
  sizeOf,
  type Tensor,
} from "../tensor/mod.ts";
import { metaTensor } from "./meta.ts";

/** Float dtypes a module's parameters can have. */
export type FloatDType = "float32" | "float64";

/** Options every module constructor accepts. */
export interface ModuleOptions {
  /** Generator for the initial weights (default: the global one, see `seed`). */
  rng?: Rng;
  /** Generator for dropout masks (default: the global one at call time). */
  dropoutRng?: Rng;
  /** Parameter dtype (default `float32`; `float64` for gradient checks on the CPU). */
  dtype?: FloatDType;
  /** Backend of the parameters (default: the current backend). */
  backend?: Backend;
  /**
   * When false, parameters are shape-only meta tensors: nothing is allocated
   * or drawn, which makes counting the 93 M-parameter reference UNETR instant.
   * `loadStateDict` materialises them. Default true.
   */
  materialize?: boolean;
}

/** Creates initial parameter values according to {@link ModuleOptions}. */
export class Init {
  /** The options in force. */
  readonly options: ModuleOptions;

  /** Wraps `options`. */
  constructor(options: ModuleOptions = {}) {
    this.options = options;
  }

  /** The parameter dtype. */
  get dtype(): DType {
    return this.options.dtype ?? "float32";
  }

  #make(shape: Shape, draw: (rng: Rng) => number): Tensor {
    if (this.options.materialize === false) return metaTensor(shape, this.dtype);
    const n = sizeOf(shape);
    const a = this.dtype === "float64" ? new Float64Array(n) : new Float32Array(n);
    const rng = this.options.rng ?? defaultRng();
    for (let i = 0; i < n; i++) a[i] = draw(rng);
    return fromArray(a, shape, this.options.backend ?? getBackend());
  }

  /** U(−bound, bound), PyTorch's default for weights and biases of linear and conv layers. */
  uniform(shape: Shape, bound: number): Tensor {
    return this.#make(shape, (rng) => rng.uniformIn(-bound, bound));
  }

  /** A constant (LayerNorm weight 1, bias 0). */
  constant(shape: Shape, value: number): Tensor {
    return this.#make(shape, () => value);
  }

  /** Normal(mean, std) redrawn until inside [lo, hi], like `torch.nn.init.trunc_normal_`. */
  truncNormal(shape: Shape, std: number, lo: number, hi: number, mean = 0): Tensor {
    return this.#make(shape, (rng) => {
      for (;;) {
        const v = mean + std * rng.normal();
        if (v >= lo && v <= hi) return v;
      }
    });
  }
}

/** `1/√fanIn`, the bound of PyTorch's default uniform init for linear and conv layers. */
export function defaultBound(fanIn: number): number {
  return fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
}

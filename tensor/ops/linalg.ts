/**
 * Batched matrix multiplication, and the fused fully connected layer `linear`.
 * @module
 */
import { promote } from "../dtype.ts";
import { fmtShape, ShapeError } from "../errors.ts";
import { apply } from "../op.ts";
import { defineOp } from "../registry.ts";
import { broadcastShapes } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { linearKernel, matmulKernel } from "../cpu/matmul.ts";
import { gpuLinear } from "../webgpu/linear_blocked.ts";
import { linearActivation } from "../activations.ts";
import type { LinearActivation, LinearParams } from "../kernel_types.ts";
import { gpuMatmul } from "../webgpu/kernels_linalg.ts";
import { nativeLinear, nativeMatmul } from "../native/matmul.ts";
import { sum, sumTo } from "./reduce.ts";
import { reshape, transpose } from "./movement.ts";
import { ACTIVATION_OPS } from "./elementwise.ts";

const MATMUL = defineOp<undefined>({
  name: "matmul",
  infer: ([a, b]) => {
    const where = `matmul: ${fmtShape(a.shape)} @ ${fmtShape(b.shape)}`;
    if (a.shape.length < 2 || b.shape.length < 2) throw new ShapeError(`${where}: both operands need 2 or more axes`);
    const k1 = a.shape[a.shape.length - 1], k2 = b.shape[b.shape.length - 2];
    if (k1 !== k2) throw new ShapeError(`${where}: inner dimensions ${k1} and ${k2} differ`);
    const batch = broadcastShapes("matmul", a.shape.slice(0, -2), b.shape.slice(0, -2));
    return {
      shape: [...batch, a.shape[a.shape.length - 2], b.shape[b.shape.length - 1]],
      dtype: promote(a.dtype, b.dtype),
    };
  },
  cpu: matmulKernel,
  kernels: { webgpu: gpuMatmul, native: nativeMatmul },
  vjp: (g, { inputs: [a, b], needsGrad }) => [
    needsGrad[0] ? sumTo(matmul(g, transpose(b)), a.shape) : null,
    needsGrad[1] ? sumTo(matmul(transpose(a), g), b.shape) : null,
  ],
});

/**
 * Matrix product with NumPy semantics: `[..., m, k] @ [..., k, n]`, batch
 * axes broadcast; a 1-D operand is a row (left) or column (right) vector
 * whose axis is dropped from the result.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { matmul, tensor } from "@lorapt/core";
 * const c = matmul(tensor([[1, 2]]), tensor([[3], [4]]));
 * assert.ok((await c.item()) === 11);
 * ```
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  const va = a.rank === 1, vb = b.rank === 1;
  if (a.rank === 0 || b.rank === 0) {
    throw new ShapeError(
      `matmul: ${fmtShape(a.shape)} @ ${fmtShape(b.shape)}: scalars cannot be multiplied as matrices`,
    );
  }
  const A = va ? reshape(a, [1, a.shape[0]]) : a;
  const B = vb ? reshape(b, [b.shape[0], 1]) : b;
  const c = apply(MATMUL, [A, B], undefined);
  if (!va && !vb) return c;
  const s = [...c.shape];
  if (vb) s.splice(s.length - 1, 1);
  if (va) s.splice(s.length - (vb ? 1 : 2), 1);
  return reshape(c, s);
}

const LINEAR = defineOp<LinearParams>({
  name: "linear",
  infer: (inputs) => {
    const [x, w, b] = inputs;
    const where = `linear: x ${fmtShape(x.shape)}, weight ${fmtShape(w.shape)}${
      b ? `, bias ${fmtShape(b.shape)}` : ""
    }`;
    if (x.shape.length < 1 || w.shape.length !== 2) {
      throw new ShapeError(`${where}: expects x [..., in] and weight [out, in]`);
    }
    if (x.shape[x.shape.length - 1] !== w.shape[1]) {
      throw new ShapeError(`${where}: x has ${x.shape[x.shape.length - 1]} features, weight expects ${w.shape[1]}`);
    }
    if (b && (b.shape.length !== 1 || b.shape[0] !== w.shape[0])) {
      throw new ShapeError(`${where}: bias must be [${w.shape[0]}]`);
    }
    const dtype = inputs.reduce((d, t) => promote(d, t.dtype), x.dtype);
    return { shape: [...x.shape.slice(0, -1), w.shape[0]], dtype };
  },
  cpu: linearKernel,
  kernels: { webgpu: gpuLinear, native: nativeLinear },
  // z = x·Wᵀ + b, y = act(z): the activation's derivative (activations.ts) needs z, recomputed with one more product.
  vjp: (g, { inputs: [x, w, b], output, params, needsGrad }) => {
    const act = linearActivation(params.activation);
    const gz = act ? act.grad(g, linear(x, w, b ?? null), output, ACTIVATION_OPS) : g;
    const k = x.shape[x.shape.length - 1], n = w.shape[0];
    const gz2 = reshape(gz, [-1, n]);
    return [
      needsGrad[0] ? matmul(gz, w) : null,
      needsGrad[1] ? matmul(transpose(gz2), reshape(x, [-1, k])) : null,
      b && needsGrad[2] ? sum(gz2, 0) : null,
    ];
  },
});

/**
 * A fully connected layer in one fused op: `act(x·Wᵀ + b)` with PyTorch's
 * weight layout `[out, in]` (`F.linear`, optionally followed by ReLU or the
 * exact GELU). On WebGPU the bias and activation run in the matmul's
 * epilogue, and the weight is read without a transpose.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { linear, tensor } from "@lorapt/core";
 * const y = linear(tensor([[1, 2]]), tensor([[1, 0], [1, 1], [0, -1]]), tensor([0, 1, 0]), "relu");
 * assert.deepEqual(await y.array(), [[1, 4, 0]]);
 * ```
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null, activation: LinearActivation = "none"): Tensor {
  return apply(LINEAR, bias ? [x, weight, bias] : [x, weight], { activation });
}

export type { LinearActivation };

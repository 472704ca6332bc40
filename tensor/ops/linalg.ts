/**
 * Batched matrix multiplication.
 * @module
 */
import { promote } from "../dtype.ts";
import { fmtShape, ShapeError } from "../errors.ts";
import { apply } from "../op.ts";
import { defineOp } from "../registry.ts";
import { broadcastShapes } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { matmulKernel } from "../cpu/matmul.ts";
import { gpuMatmul } from "../webgpu/kernels_linalg.ts";
import { sumTo } from "./reduce.ts";
import { reshape, transpose } from "./movement.ts";

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
  kernels: { webgpu: gpuMatmul },
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

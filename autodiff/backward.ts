/**
 * The heart of reverse mode, in one place: walk the recorded graph from an
 * output back to the wanted inputs in reverse topological order, calling
 * each op's VJP and summing cotangents where a tensor was used more than once.
 * @module
 */
import { fmtShape, NoGradientError, ShapeError } from "../tensor/errors.ts";
import { withGradMode } from "../tensor/grad_mode.ts";
import { add } from "../tensor/ops/elementwise.ts";
import { onesLike, zerosLike } from "../tensor/ops/creation.ts";
import { sameShape } from "../tensor/shape.ts";
import type { Tensor } from "../tensor/tensor.ts";

/** Options of {@link gradients}. */
export interface GradientsOptions {
  /** Cotangent of `y` (default: ones, so `y` is usually a scalar loss). */
  seed?: Tensor;
  /** Record the backward pass itself, for higher-order derivatives (default false). */
  createGraph?: boolean;
}

/** Tensors between `xs` and `y`, children after parents (topological order). */
function topoOrder(y: Tensor, wanted: Set<Tensor>): { order: Tensor[]; relevant: Set<Tensor> } {
  const order: Tensor[] = [];
  const relevant = new Set<Tensor>();
  const state = new Map<Tensor, 1 | 2>();
  // Iterative DFS: deep graphs (long training unrolls) must not overflow the stack.
  const stack: [Tensor, number][] = [[y, 0]];
  state.set(y, 1);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const inputs = t.node?.inputs ?? [];
    if (i < inputs.length) {
      top[1]++;
      const child = inputs[i];
      if (!state.has(child)) {
        state.set(child, 1);
        stack.push([child, 0]);
      }
      continue;
    }
    stack.pop();
    state.set(t, 2);
    if (wanted.has(t) || inputs.some((c) => relevant.has(c))) relevant.add(t);
    order.push(t);
  }
  return { order, relevant };
}

/**
 * The gradients of `y` with respect to each of `xs` (zeros where `y` does not
 * depend on one). `xs` are parameters (`requiresGrad`) or recorded
 * intermediates. Throws `NoGradientError` naming the op when the path passes
 * through an op without a VJP.
 */
export function gradients(y: Tensor, xs: readonly Tensor[], opts: GradientsOptions = {}): Tensor[] {
  const wanted = new Set(xs);
  const { order, relevant } = topoOrder(y, wanted);
  const seed = opts.seed ?? onesLike(y);
  if (!sameShape(seed.shape, y.shape)) {
    throw new ShapeError(`gradients: seed ${fmtShape(seed.shape)} does not match output ${fmtShape(y.shape)}`);
  }
  return withGradMode(opts.createGraph ?? false, () => {
    const grads = new Map<Tensor, Tensor>([[y, seed]]);
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      const g = grads.get(t);
      const node = t.node;
      if (!g || !node) continue;
      const needsGrad = node.inputs.map((c) => relevant.has(c));
      if (!needsGrad.some(Boolean)) continue;
      if (!node.op.vjp) throw new NoGradientError(node.op.name);
      const cots = node.op.vjp(g, { inputs: node.inputs, output: t, params: node.params, needsGrad });
      node.inputs.forEach((c, k) => {
        const ct = cots[k];
        if (!needsGrad[k] || !ct) return;
        if (!sameShape(ct.shape, c.shape)) {
          throw new ShapeError(
            `${node.op.name}: VJP returned ${fmtShape(ct.shape)} for input ${k} of shape ${fmtShape(c.shape)}`,
          );
        }
        const prev = grads.get(c);
        grads.set(c, prev ? add(prev, ct) : ct);
      });
    }
    return xs.map((x) => grads.get(x) ?? zerosLike(x));
  });
}

/**
 * The one parity check every backend suite uses: run `f` on the CPU
 * reference and on another backend with the same inputs, compare the outputs
 * and, when asked, the gradients of a fixed random projection of them.
 */
import assert from "node:assert/strict";
import { type Backend, fromArray, Rng, sum, type Tensor, valueAndGrad } from "../../mod.ts";
import { assertClose, uniform } from "../helpers.ts";

/** A tolerance pair. */
export interface Tol {
  atol: number;
  rtol: number;
}

/** Copies a tensor onto `backend`. */
export async function onto(t: Tensor, backend: Backend): Promise<Tensor> {
  return fromArray(await t.data(), t.shape, backend);
}

/** Runs `f` on the CPU inputs and on copies on `backend`, and compares outputs (and gradients when `grads`). */
export async function parity(
  backend: Backend,
  name: string,
  f: (...xs: Tensor[]) => Tensor,
  cpuInputs: Tensor[],
  grads: boolean,
  tol: Tol,
): Promise<void> {
  const inputs = await Promise.all(cpuInputs.map((t) => onto(t, backend)));
  if (!grads) {
    const a = f(...cpuInputs), b = f(...inputs);
    assert.equal(b.backend, backend.name);
    assert.deepEqual([...b.shape], [...a.shape], name);
    assert.equal(b.dtype, a.dtype, name);
    assertClose(await b.data(), await a.data(), { ...tol, what: `${name} forward` });
    return;
  }
  // Project on a fixed direction so every output element gets a cotangent.
  const probe = f(...cpuInputs);
  const dir = uniform([...probe.shape], new Rng(99), 0.5, 1.5);
  const dirOn = await onto(dir, backend);
  const scalar = (d: Tensor) => (...xs: Tensor[]) => sum(f(...xs).mul(d));
  const ref = valueAndGrad(scalar(dir))(...cpuInputs);
  const got = valueAndGrad(scalar(dirOn))(...inputs);
  assertClose([await got.value.item()], [await ref.value.item()], { ...tol, what: `${name} value` });
  for (let i = 0; i < ref.grads.length; i++) {
    assertClose(await got.grads[i].data(), await ref.grads[i].data(), { ...tol, what: `${name} grad ${i}` });
  }
}

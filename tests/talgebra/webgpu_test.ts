/**
 * The third-order algebra on the WebGPU backend: the same properties as on
 * the CPU, within float32 tolerances (the per-op parity, forward and
 * gradient, is in tests/tensor/webgpu_parity_test.ts).
 */
import assert from "node:assert/strict";
import {
  cpuBackend,
  fdiag,
  fromArray,
  initWebGPU,
  isOrthogonal,
  Rng,
  sub,
  sum,
  type Tensor,
  tprod,
  tprodCirculant,
  tsvdTruncate,
  ttranspose,
} from "../../mod.ts";
import { assertClose } from "../helpers.ts";

const gpu = await initWebGPU({ quiet: true });
const ignore = gpu === null;

function random(shape: number[], rng: Rng): Float32Array {
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.uniformIn(-1, 1));
}

async function relError(a: Tensor, b: Tensor): Promise<number> {
  const d = sub(a, b);
  return Math.sqrt((await sum(d.mul(d)).item()) / (await sum(b.mul(b)).item()));
}

Deno.test({
  name: "webgpu: tprod equals the block-circulant definition computed on the CPU (odd n3)",
  ignore,
  fn: async () => {
    const rng = new Rng(1);
    for (const [n1, n2, n3, n4] of [[3, 4, 5, 2], [2, 3, 12, 4], [4, 4, 7, 1]]) {
      const a = random([n1, n2, n3], rng), b = random([n2, n4, n3], rng);
      const want = await tprodCirculant(fromArray(a, [n1, n2, n3], cpuBackend), fromArray(b, [n2, n4, n3], cpuBackend))
        .data();
      const got = tprod(fromArray(a, [n1, n2, n3], gpu!), fromArray(b, [n2, n4, n3], gpu!));
      assert.equal(got.backend, "webgpu");
      assertClose(await got.data(), want, { atol: 1e-5, rtol: 1e-4 });
    }
  },
});

Deno.test({
  name: "webgpu: tsvdTruncate of a GPU tensor gives GPU factors that reconstruct and are orthogonal",
  ignore,
  fn: async () => {
    const rng = new Rng(2);
    const [n1, n2, n3, r] = [9, 7, 12, 3];
    // Exact tubal rank 3: X * Y with X [n1, r, n3] and Y [r, n2, n3], built on the CPU.
    const x = fromArray(random([n1, r, n3], rng), [n1, r, n3], cpuBackend);
    const y = fromArray(random([r, n2, n3], rng), [r, n2, n3], cpuBackend);
    const host = await tprod(x, y).data();
    const a = fromArray(host, [n1, n2, n3], gpu!);
    const t = await tsvdTruncate(a, r, { parts: true });
    for (const f of [t.U, t.V, t.principal]) assert.equal(f.backend, "webgpu");
    assert.ok(await isOrthogonal(t.U, 1e-4), "Uᵀ*U = I");
    assert.ok(await isOrthogonal(t.V, 1e-4), "Vᵀ*V = I");
    const rebuilt = tprod(tprod(t.U, fdiag(t.S)), ttranspose(t.V));
    assert.ok((await relError(rebuilt, a)) <= 1e-5, "U*S*Vᵀ reconstructs a tensor of exact tubal rank r");
    assert.ok((await relError(t.principal, a)) <= 1e-5);
  },
});

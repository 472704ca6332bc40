/**
 * The backends' one-kernel Adam update against the composed ops it replaces
 * (the reference): bitwise on the CPU backend, within float32 rounding on
 * WebGPU, over several steps of Adam, AMSGrad, coupled and decoupled decay.
 */
import assert from "node:assert/strict";
import {
  Adam,
  AdamW,
  type Backend,
  fromArray,
  getBackend,
  initWebGPU,
  Rng,
  setBackend,
  type Tensor,
} from "../../mod.ts";

type Make = (params: Tensor[]) => Adam;
const CASES: [string, Make][] = [
  ["Adam", (ps) => new Adam(ps, { lr: 1e-2 })],
  ["Adam, AMSGrad, coupled decay", (ps) => new Adam(ps, { lr: 1e-2, amsgrad: true, weightDecay: 1e-2 })],
  ["AdamW, AMSGrad", (ps) => new AdamW(ps, { lr: 1e-2, amsgrad: true, weightDecay: 1e-1 })],
];

/** Five steps on a 5×7 and a 6 parameter (odd and vec4-sized) with fixed gradients; the final values. */
async function run(make: Make, fused: boolean): Promise<Float32Array[]> {
  const backend = getBackend() as Backend;
  const saved = backend.adamUpdate;
  if (!fused) backend.adamUpdate = undefined;
  try {
    const rng = new Rng(7);
    const r = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
    const ps = [fromArray(r(35), [5, 7]), fromArray(r(8), [8])];
    const opt = make(ps);
    for (let t = 0; t < 5; t++) opt.step([fromArray(r(35), [5, 7]), fromArray(r(8), [8])]);
    const out = [];
    for (const p of ps) out.push(await p.data() as Float32Array);
    return out;
  } finally {
    backend.adamUpdate = saved;
  }
}

for (const [name, make] of CASES) {
  Deno.test(`${name}: the CPU backend's fused update equals the composed ops bitwise`, async () => {
    setBackend("cpu");
    assert.ok(getBackend().adamUpdate, "the CPU backend offers the fused update");
    const [a, b] = [await run(make, true), await run(make, false)];
    a.forEach((x, i) => assert.deepEqual([...x], [...b[i]], `parameter ${i}`));
  });
}

const gpu = await initWebGPU({ quiet: true });
for (const [name, make] of CASES) {
  Deno.test({
    name: `${name}: the WebGPU fused update matches the composed ops within 1e-6`,
    ignore: !gpu?.adamUpdate,
    fn: async () => {
      const prev = getBackend().name;
      setBackend("webgpu");
      try {
        const [a, b] = [await run(make, true), await run(make, false)];
        a.forEach((x, i) =>
          x.forEach((v, j) => assert.ok(Math.abs(v - b[i][j]) <= 1e-6, `parameter ${i}[${j}]: ${v} vs ${b[i][j]}`))
        );
      } finally {
        setBackend(prev);
      }
    },
  });
}

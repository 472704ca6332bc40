/**
 * The activation table (tensor/activations.ts) against independent
 * references: known values, finite differences of its own scalar formula,
 * and the unary ops and fused `linear` epilogue that are built from it.
 */
import assert from "node:assert/strict";
import { type ActivationOps, ACTIVATIONS, ERF_WGSL, linearActivation } from "../../tensor/activations.ts";
import { gelu, linear, matmul, relu, Rng, sigmoid, tanh, transpose } from "../../mod.ts";
import { assertClose, uniform } from "../helpers.ts";

// The gradients run on plain numbers here, so they are checked without any tensor machinery.
const NUMBER_OPS: ActivationOps<number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  exp: Math.exp,
  erf: (x) => {
    // erf by Simpson's rule on 2/√π·e^(−t²), 2000 panels: an independent reference for the table's erf.
    const n = 2000, h = x / n;
    let s = 1 + Math.exp(-x * x);
    for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * Math.exp(-((i * h) ** 2));
    return (s * h / 3) * 2 / Math.sqrt(Math.PI);
  },
  gt: (a, b) => (a > b ? 1 : 0),
  where: (c, a, b) => (c ? a : b),
};

Deno.test("activation formulas match hand-computed values", () => {
  const { relu: r, gelu: g, sigmoid: s, tanh: t } = ACTIVATIONS;
  assert.deepEqual([r.cpu(-2), r.cpu(0), r.cpu(3.5)], [0, 0, 3.5]);
  assert.ok(Number.isNaN(r.cpu(NaN)), "relu(NaN) is NaN, as in PyTorch");
  // gelu(x) = x·Φ(x); Φ(1) = 0.8413447460685429, Φ(−2) = 0.02275013194817921.
  assertClose([g.cpu(1), g.cpu(-2), g.cpu(0)], [0.8413447460685429, -2 * 0.02275013194817921, 0], { atol: 1e-14 });
  assertClose([s.cpu(0), s.cpu(800), s.cpu(-800), s.cpu(Math.log(3))], [0.5, 1, 0, 0.75], { atol: 1e-15 });
  // tanh(x) = (e²ˣ − 1)/(e²ˣ + 1), so tanh(½) = (e − 1)/(e + 1).
  assertClose([t.cpu(0.5), t.cpu(0)], [(Math.E - 1) / (Math.E + 1), 0], { atol: 1e-15 });
});

Deno.test("each activation's grad is the central finite difference of its formula", () => {
  for (const [name, a] of Object.entries(ACTIVATIONS)) {
    for (const x of [-2.3, -0.7, 0.4, 1.9]) {
      const h = 1e-6, fd = (a.cpu(x + h) - a.cpu(x - h)) / (2 * h);
      const got = a.grad(1.5, x, a.cpu(x), NUMBER_OPS);
      assertClose([got], [1.5 * fd], { atol: 1e-7, rtol: 1e-7, what: `${name}'(${x})` });
    }
  }
});

Deno.test("the unary activation ops apply the table's formula elementwise", async () => {
  const x = uniform([4, 5], new Rng(7), -4, 4), xs = await x.data();
  for (const [name, f] of [["relu", relu], ["gelu", gelu], ["sigmoid", sigmoid], ["tanh", tanh]] as const) {
    const want = Float32Array.from(xs, ACTIVATIONS[name].cpu);
    assertClose(await f(x).data(), want, { atol: 0, rtol: 0, what: name });
  }
});

Deno.test("linear's epilogue is the table's activation of x·Wᵀ + b", async () => {
  const rng = new Rng(3);
  const x = uniform([3, 6], rng), w = uniform([5, 6], rng), b = uniform([5], rng);
  const z = await matmul(x, transpose(w)).add(b).data();
  for (const act of ["relu", "gelu"] as const) {
    const want = Float32Array.from(z, linearActivation(act)!.cpu);
    assertClose(await linear(x, w, b, act).data(), want, { atol: 1e-6, what: act });
  }
  assert.equal(linearActivation("none"), undefined);
});

Deno.test("one WGSL erf: the GELU expression calls the function that ERF_WGSL defines", () => {
  assert.match(ERF_WGSL, /^fn erf_approx\(x: f32\) -> f32 \{/);
  assert.match(ACTIVATIONS.gelu.wgsl("v"), /erf_approx\(v \* 0\.7071067811865476\)/);
});

/**
 * One parity suite over both backends: every op runs on the CPU reference
 * and on WebGPU (the software adapter in CI) with the same random inputs,
 * forward and backward, and the results must agree within the stated
 * tolerance. The last test fails if any registered op was not exercised.
 */
import assert from "node:assert/strict";
import {
  argmax,
  argmin,
  cast,
  conv3d,
  conv3dWeightGrad,
  convTranspose3d,
  cpuBackend,
  eq,
  fromArray,
  ge,
  gelu,
  gradients,
  gt,
  initWebGPU,
  instanceNorm3d,
  type KernelFamily,
  le,
  linear,
  listOps,
  lt,
  matmul,
  ne,
  oneHot,
  Rng,
  sign,
  stopGradient,
  sum,
  type Tensor,
  tidy,
} from "../../mod.ts";
import { GRAD_CASES } from "../autodiff/grad_cases.ts";
import { uniform } from "../helpers.ts";
import { onto, parity as parityOn, type Tol } from "./parity.ts";

const gpu = await initWebGPU({ quiet: true });
const ignore = gpu === null;
if (ignore) console.warn("webgpu parity: no adapter on this machine; parity tests are skipped");

/** float32 tolerance for GPU vs CPU: CPU accumulates in float64, WGSL in f32. */
const TOL = { atol: 2e-5, rtol: 2e-4 };

const seen = new Set<string>();
if (gpu) {
  const run = gpu.run.bind(gpu);
  gpu.run = (op, inputs, params, out) => {
    seen.add(op.name);
    return run(op, inputs, params, out);
  };
}

function toGpu(t: Tensor): Promise<Tensor> {
  return onto(t, gpu!);
}

/** Runs `f` on both backends and compares outputs (and gradients when `grads`). */
function parity(
  name: string,
  f: (...xs: Tensor[]) => Tensor,
  cpuInputs: Tensor[],
  grads: boolean,
  tol: Tol = TOL,
): Promise<void> {
  return parityOn(gpu!, name, f, cpuInputs, grads, tol);
}

for (const [op, cases] of Object.entries(GRAD_CASES)) {
  for (const c of cases) {
    Deno.test({
      name: `webgpu matches cpu, forward and gradient: ${op} (${c.name})`,
      ignore,
      fn: () => parity(c.name, c.f, c.inputs(), true),
    });
  }
}

/** Runs `fn` with the context's kernel family forced to `family`, restoring it afterwards. */
async function withKernelFamily(family: KernelFamily, fn: () => Promise<void>): Promise<void> {
  const ctx = gpu!.ctx, saved = ctx.kernelFamily;
  ctx.kernelFamily = family;
  try {
    await fn();
  } finally {
    ctx.kernelFamily = saved;
  }
}

const FAMILIES: readonly KernelFamily[] = ["register-blocked", "workgroup-tiled"];

const rng = new Rng(31);
const ints = (shape: number[], hi: number) =>
  fromArray(Int32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.int(0, hi - 1)), shape, cpuBackend);

const FORWARD_ONLY: [string, (...xs: Tensor[]) => Tensor, () => Tensor[]][] = [
  [
    "comparisons with broadcasting",
    (a, b) => eq(a, b).add(ne(a, b)).add(lt(a, b)).add(le(a, b)).add(gt(a, b)).add(ge(a, b)),
    () => [ints([3, 17], 3), ints([17], 3)],
  ],
  ["sign", (x) => sign(x), () => [uniform([33], rng)]],
  ["cast float→int32→float", (x) => cast(cast(x.mul(10), "int32"), "float32"), () => [uniform([17], rng)]],
  ["argmax along axis 1", (x) => argmax(x, 1), () => [uniform([3, 17], rng)]],
  ["argmin along axis 0 keepdims", (x) => argmin(x, 0, true), () => [uniform([3, 17], rng)]],
  ["oneHot", (i) => oneHot(i, 5, { axis: 1 }), () => [ints([3, 4], 5)]],
  ["stopGradient is a view", (x) => stopGradient(x).mul(2), () => [uniform([3], rng)]],
  ["matmul odd sizes 17×33×3", matmul, () => [uniform([17, 33], rng), uniform([33, 3], rng)]],
  ["matmul 1×1×1", matmul, () => [uniform([1, 1], rng), uniform([1, 1], rng)]],
  ["gelu on 33 elements", gelu, () => [uniform([33], rng, -4, 4)]],
  [
    "conv3d 3 channels, 17-wide",
    (x, w) => conv3d(x, w, null, { padding: 1 }),
    () => [uniform([1, 3, 3, 5, 17], rng), uniform([3, 3, 3, 3, 3], rng)],
  ],
];

for (const [name, f, inputs] of FORWARD_ONLY) {
  Deno.test({ name: `webgpu matches cpu, forward: ${name}`, ignore, fn: () => parity(name, f, inputs(), false) });
}

const MATMUL_CASES: [string, () => Tensor[]][] = [
  ["aligned 33×8 @ 8×12, batch 3", () => [uniform([3, 33, 8], rng), uniform([8, 12], rng)]],
  ["broadcast batch [2,1] × [3], 20×16 @ 16×8", () => [uniform([2, 1, 20, 16], rng), uniform([3, 16, 8], rng)]],
  ["unaligned 17×33 @ 33×3", () => [uniform([17, 33], rng), uniform([33, 3], rng)]],
  ["64-aligned 70×64 @ 64×68", () => [uniform([70, 64], rng), uniform([64, 68], rng)]],
  // Uniform-block B (matmul_uniform.ts, 256 rows or more): 3 blocks of 512 rows, a partial second 32-column panel,
  // rows not a multiple of 16; the gradient of A runs it with one block and 35 panels.
  ["uniform B panels [2,130,1100] @ 1100×36", () => [uniform([2, 130, 1100], rng), uniform([1100, 36], rng)]],
];

for (const family of FAMILIES) {
  for (const [name, inputs] of MATMUL_CASES) {
    Deno.test({
      name: `webgpu matches cpu: matmul kernel family "${family}", ${name}, forward and gradient`,
      ignore,
      fn: () => withKernelFamily(family, () => parity(name, matmul, inputs(), true)),
    });
  }
}

const LINEAR_CASES: [string, (...xs: Tensor[]) => Tensor, () => Tensor[]][] = [
  [
    "linear K%4 = 0, bias, gelu",
    (x, w, b) => linear(x, w, b, "gelu"),
    () => [uniform([2, 19, 12], rng), uniform([10, 12], rng), uniform([10], rng)],
  ],
  ["linear K = 7, no bias", (x, w) => linear(x, w), () => [uniform([5, 7], rng), uniform([17, 7], rng)]],
  // 256 rows or more: Wᵀ packed into uniform blocks (matmul_uniform.ts) with the bias and activation as its epilogue.
  [
    "linear uniform panels, 260 rows, 36 outputs (a partial second panel), bias, gelu",
    (x, w, b) => linear(x, w, b, "gelu"),
    () => [uniform([2, 130, 64], rng), uniform([36, 64], rng), uniform([36], rng)],
  ],
  [
    "linear uniform panels, K = 600 (two blocks), relu, no bias",
    (x, w) => linear(x, w, null, "relu"),
    () => [uniform([260, 600], rng), uniform([40, 600], rng)],
  ],
];

for (const family of FAMILIES) {
  for (const [name, f, inputs] of LINEAR_CASES) {
    Deno.test({
      name: `webgpu matches cpu: linear kernel family "${family}", ${name}, forward and gradient`,
      ignore,
      fn: () => withKernelFamily(family, () => parity(name, f, inputs(), true)),
    });
  }
}

// Work longer than llvmpipe's ~65,535 loop iterations per invocation must be split, not truncated.
// A float32 sum of n terms is off by up to about n·ε·mean|term| (the CPU sums in float64), so these
// long reductions get tolerances that grow with n; a truncated loop would be off by a large fraction.
const LONG_TOL = { atol: 2e-3, rtol: 2e-3 };
const LONG_CASES: [string, (...xs: Tensor[]) => Tensor, () => Tensor[], boolean][] = [
  ["sum of 200,000 elements", (x) => sum(x), () => [uniform([200000], rng)], true],
  ["sum over axes 1,2 of [2,300,300]", (x) => sum(x, [1, 2]), () => [uniform([2, 300, 300], rng)], true],
  ["max of 100,000 elements", (x) => x.max(), () => [uniform([100000], rng)], true],
  ["argmax of 100,000 elements", (x) => argmax(x, 0), () => [uniform([100000], rng)], false],
  [
    "conv3d stride = kernel, weight gradient over 5,832 positions (two chunks)",
    (x, w) => conv3d(x, w, null, { stride: 2 }),
    () => [uniform([1, 2, 36, 36, 36], rng), uniform([3, 2, 2, 2, 2], rng)],
    true,
  ],
  ["instance norm over 48³", (x) => instanceNorm3d(x), () => [uniform([1, 2, 48, 48, 48], rng, -2, 3)], true],
  [
    "conv3d weight gradient over 70,400 positions (blocked)",
    (x, g) => conv3dWeightGrad(x, g, [3, 3, 3], { padding: 1 }),
    () => [uniform([2, 2, 20, 40, 44], rng), uniform([2, 3, 20, 40, 44], rng)],
    false,
  ],
  [
    "conv3d weight gradient over 85,750 positions (stride 2)",
    (x, g) => conv3dWeightGrad(x, g, [3, 3, 3], { padding: 1, stride: 2 }),
    () => [uniform([2, 1, 70, 70, 70], rng), uniform([2, 2, 35, 35, 35], rng)],
    false,
  ],
];

for (const [name, f, inputs, grads] of LONG_CASES) {
  Deno.test({
    name: `webgpu matches cpu past the loop limit: ${name}`,
    ignore,
    fn: () => parity(name, f, inputs(), grads, LONG_TOL),
  });
}

const CONV_CASES: [string, (x: Tensor, w: Tensor) => Tensor, () => Tensor[]][] = [
  [
    "3×3×3 pad 1, 17 output channels, W 19",
    (x, w) => conv3d(x, w, null, { padding: 1 }),
    () => [uniform([2, 3, 5, 6, 19], rng), uniform([17, 3, 3, 3, 3], rng)],
  ],
  ["1×1×1 pad 0", (x, w) => conv3d(x, w), () => [uniform([1, 4, 3, 4, 5], rng), uniform([6, 4, 1, 1, 1], rng)]],
  [
    "3×2×3 pad [1,0,2]",
    (x, w) => conv3d(x, w, null, { padding: [1, 0, 2] }),
    () => [uniform([1, 2, 4, 5, 6], rng), uniform([3, 2, 3, 2, 3], rng)],
  ],
  // Uniform-block weights (conv_uniform.ts): vec4 input rows when W % 4 == 0, 8- and 16-channel blocks, input
  // channels spread over two uniform blocks (37 fit one at 3×3×3; the second block binds the input from channel 37,
  // which needs D·H·W a multiple of 64), W padding 0 and 2.
  [
    "3×3×3 pad 1, W 8 (vec4 rows), 5 output channels",
    (x, w) => conv3d(x, w, null, { padding: 1 }),
    () => [uniform([2, 3, 4, 5, 8], rng), uniform([5, 3, 3, 3, 3], rng)],
  ],
  [
    "3×3×3 pad 1, 40 input channels (two uniform blocks), 18 output channels, 4×4×8",
    (x, w) => conv3d(x, w, null, { padding: 1 }),
    () => [uniform([2, 40, 4, 4, 8], rng), uniform([18, 40, 3, 3, 3], rng)],
  ],
  [
    "5×5×5 pad 2, W 16",
    (x, w) => conv3d(x, w, null, { padding: 2 }),
    () => [uniform([1, 2, 6, 5, 16], rng), uniform([3, 2, 5, 5, 5], rng)],
  ],
  [
    "3×3×3 pad 0, W 8",
    (x, w) => conv3d(x, w),
    () => [uniform([1, 2, 5, 4, 8], rng), uniform([9, 2, 3, 3, 3], rng)],
  ],
  [
    "transposed stride 1, 3×3×3 pad 1, 6 → 20 channels, W 12",
    (x, w) => convTranspose3d(x, w, null, { padding: 1 }),
    () => [uniform([1, 6, 3, 4, 12], rng), uniform([6, 20, 3, 3, 3], rng)],
  ],
  // Stride = kernel: the patch kernels (conv_patch.ts), odd channel counts and extents that leave a remainder.
  [
    "patchwise 2×2×2 stride 2, 5 output channels, extents 5×6×7",
    (x, w) => conv3d(x, w, null, { stride: 2 }),
    () => [uniform([2, 3, 5, 6, 7], rng), uniform([5, 3, 2, 2, 2], rng)],
  ],
  [
    "patchwise 4×4×4 stride 4 (64 taps), one input channel",
    (x, w) => conv3d(x, w, null, { stride: 4 }),
    () => [uniform([1, 1, 8, 8, 12], rng), uniform([6, 1, 4, 4, 4], rng)],
  ],
  [
    "patchwise 2×1×3 stride [2,1,3]",
    (x, w) => conv3d(x, w, null, { stride: [2, 1, 3] }),
    () => [uniform([1, 2, 4, 3, 6], rng), uniform([7, 2, 2, 1, 3], rng)],
  ],
  [
    "transposed patchwise 2×2×2 stride 2, 3 → 5 channels",
    (x, w) => convTranspose3d(x, w, null, { stride: 2 }),
    () => [uniform([2, 3, 3, 4, 5], rng), uniform([3, 5, 2, 2, 2], rng)],
  ],
  [
    "transposed patchwise 1×3×2 stride [1,3,2], 12 output channels",
    (x, w) => convTranspose3d(x, w, null, { stride: [1, 3, 2] }),
    () => [uniform([1, 4, 2, 3, 3], rng), uniform([4, 12, 1, 3, 2], rng)],
  ],
];

for (const family of FAMILIES) {
  for (const [name, f, inputs] of CONV_CASES) {
    Deno.test({
      name: `webgpu matches cpu: conv3d kernel family "${family}", ${name}, forward and gradient`,
      ignore,
      fn: () => withKernelFamily(family, () => parity(name, f as (...xs: Tensor[]) => Tensor, inputs(), true)),
    });
  }
}

Deno.test({
  name: "webgpu: a training step records work without syncing until the loss is read",
  ignore,
  fn: async () => {
    const ctx = gpu!.ctx;
    const w = await toGpu(uniform([8, 4], rng));
    w.requiresGrad = true;
    const x = await toGpu(uniform([16, 8], rng));
    await w.data(); // settle uploads
    const syncs = ctx.stats.syncs;
    const loss = tidy(() => {
      const l = sum(matmul(x, w).tanh().mul(matmul(x, w)));
      const [g] = gradients(l, [w]);
      w.assign(w.sub(g.mul(0.01)));
      return l;
    });
    assert.equal(ctx.stats.syncs, syncs, "no sync inside the step");
    await loss.item();
    assert.equal(ctx.stats.syncs, syncs + 1, "exactly one sync: the loss read");
  },
});

Deno.test({
  name: "webgpu: every registered op ran on the GPU in this suite",
  ignore,
  fn: () => {
    const missing = listOps().filter((op) => !op.name.startsWith("test.") && !seen.has(op.name)).map((op) => op.name);
    assert.deepEqual(missing, []);
  },
});

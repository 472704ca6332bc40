/**
 * Tensors larger than one storage binding (128 MiB on the software adapter):
 * elementwise ops, matmul and conv3d split their work and still match (one
 * case lowers the limit to reach the per-sample, per-channel-block path).
 */
import assert from "node:assert/strict";
import { conv3d, cpuBackend, fromArray, initWebGPU, matmul, type Tensor } from "../../mod.ts";

const gpu = await initWebGPU({ quiet: true });
const ignore = gpu === null;
const N40M = 40_000_000;

function pattern(n: number, period: number, scale: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = ((i * 7919) % period) * scale - 0.5;
  return a;
}

function assertSame(got: ArrayLike<number>, want: ArrayLike<number>, what: string, tol = 1e-5) {
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol * (1 + Math.abs(want[i])))) {
      assert.fail(`${what}[${i}]: ${got[i]} vs ${want[i]}`);
    }
  }
}

Deno.test({
  name: "webgpu: elementwise ops on 40M floats (160 MB) run in binding-sized chunks",
  ignore,
  fn: async () => {
    assert.ok(N40M * 4 > gpu!.ctx.maxBinding, "the tensor exceeds one binding");
    const host = pattern(N40M, 1000, 0.001);
    const x = fromArray(host, [N40M], gpu!);
    const y = await x.mul(2).add(x).data();
    for (let i = 0; i < N40M; i += 9973) assert.equal(y[i], Math.fround(Math.fround(host[i] * 2) + host[i]), `y[${i}]`);
    assert.equal(y[N40M - 1], Math.fround(Math.fround(host[N40M - 1] * 2) + host[N40M - 1]));
  },
});

Deno.test({
  name: "webgpu: matmul with a 40M-float left operand splits its rows",
  ignore,
  fn: async () => {
    const rows = N40M / 8;
    const a = pattern(N40M, 997, 0.001), b = pattern(32, 31, 0.03);
    const want = await matmul(fromArray(a, [rows, 8], cpuBackend), fromArray(b, [8, 4], cpuBackend)).data();
    const got = await matmul(fromArray(a, [rows, 8], gpu!), fromArray(b, [8, 4], gpu!)).data();
    assertSame(got, want, "matmul");
  },
});

Deno.test({
  name: "webgpu: conv3d on a 40.96M-float input runs per sample",
  ignore,
  fn: async () => {
    const shape = [2, 5, 160, 160, 160];
    const n = shape.reduce((p, q) => p * q, 1);
    const x = pattern(n, 1009, 0.001), w = pattern(15, 13, 0.1);
    const run = (be: typeof cpuBackend): Tensor =>
      conv3d(
        fromArray(x, shape, be),
        fromArray(w, [3, 5, 1, 1, 1], be),
        fromArray(new Float32Array([0.1, 0.2, 0.3]), [3], be),
      );
    const want = await run(cpuBackend).data();
    const got = await run(gpu!).data();
    assertSame(got, want, "conv3d");
  },
});

Deno.test({
  name: "webgpu: conv3d past a (lowered) binding limit runs per sample, and per block of 37 input channels",
  ignore,
  fn: async () => {
    // With the limit at 256 KiB, two samples of [40, 16, 8, 8] (160 KiB each) no longer fit one binding, one does, and
    // the 3×3×3 weights of 40 input channels need two uniform blocks per 16 output channels: the uniform-block
    // kernel's per-sample path, with the second block bound from input channel 37 on.
    const ctx = gpu!.ctx as { maxBinding: number };
    const saved = ctx.maxBinding;
    const shape = [2, 40, 16, 8, 8];
    const n = shape.reduce((p, q) => p * q, 1);
    const x = pattern(n, 1009, 0.001), w = pattern(18 * 40 * 27, 997, 0.002);
    const run = (be: typeof cpuBackend): Tensor =>
      conv3d(fromArray(x, shape, be), fromArray(w, [18, 40, 3, 3, 3], be), null, { padding: 1 });
    const want = await run(cpuBackend).data();
    ctx.maxBinding = 256 * 1024;
    try {
      assert.ok(n * 4 > ctx.maxBinding && (n / 2) * 4 <= ctx.maxBinding);
      const got = await run(gpu!).data();
      assertSame(got, want, "conv3d", 1e-4);
    } finally {
      ctx.maxBinding = saved;
    }
  },
});

/**
 * CPU reference backend throughput: matmul and conv3d forward, with numpy
 * measured in the same run as the peer. The CPU backend is written for
 * clarity, not speed (the WebGPU backend is the compute path), so the ratio
 * shows how far the reference is from a BLAS-backed peer.
 * @module
 */
import { conv3d, matmul, randn, Rng, type Tensor } from "../mod.ts";
import { numpyTimes } from "./peers/numpy.ts";

const M = 256, K = 256, N = 256;
const C = 8, S = 16;

/**
 * The best of `reps` timed calls of `fn` (after one warm-up), in seconds. With `read` (default) each result
 * is read back synchronously; host backends whose kernels finish before the op returns can skip that copy.
 */
export function best(fn: () => Tensor, reps: number, read = true): number {
  fn().dispose();
  let t = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const y = fn();
    if (read) y.dataSync();
    t = Math.min(t, (performance.now() - t0) / 1000);
    y.dispose();
  }
  return t;
}

/** Runs the CPU benchmark and prints one line per op. */
export async function benchCpuOps(): Promise<void> {
  const rng = new Rng(0);
  const a = randn([M, K], { rng }), b = randn([K, N], { rng });
  const x = randn([1, C, S, S, S], { rng }), w = randn([C, C, 3, 3, 3], { rng });
  const tMatmul = best(() => matmul(a, b), 3);
  const tConv = best(() => conv3d(x, w, null, { padding: 1 }), 3);
  const mmSpec = `mm:${M},${K},${N}`, convSpec = `conv:${C},${S}`;
  const np = await numpyTimes([mmSpec, convSpec]);
  const peer = np && { matmul: np[mmSpec], conv3d: np[convSpec], numpy: np.numpy };
  const flopsMatmul = 2 * M * K * N, flopsConv = 2 * C * C * 27 * S ** 3;
  const line = (name: string, t: number, flops: number, p?: number) =>
    console.log(
      `cpu ${name.padEnd(28)} ${(flops / t / 1e9).toFixed(2).padStart(7)} GFLOP/s` +
        (p ? `   numpy ${(flops / p / 1e9).toFixed(2).padStart(7)} GFLOP/s   ratio ${(p / t).toFixed(3)}× numpy` : ""),
    );
  console.log(`# CPU reference backend vs ${peer ? `numpy ${peer.numpy}` : "no numpy peer (python3/numpy missing)"}`);
  line(`matmul ${M}x${K}x${N}`, tMatmul, flopsMatmul, peer?.matmul);
  line(`conv3d 1x${C}x${S}^3 3^3 ${C}->${C}`, tConv, flopsConv, peer?.conv3d);
}

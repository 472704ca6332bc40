/**
 * WebGPU backend throughput: matmul at the transformer shapes and conv3d
 * 1×32×64³ (3×3×3, 32→32, pad 1) forward and backward, in GFLOP/s, with
 * TensorFlow.js 4.22 (webgpu and wasm backends, same adapter, same run) and
 * numpy as peers; linear (bias + GELU epilogue) at one transformer shape,
 * ours only; plus dispatches and syncs per UNETR training step.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-webgpu";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import {
  conv3d,
  conv3dWeightGrad,
  convTranspose3d,
  createUnetr,
  fromArray,
  gradients,
  initWebGPU,
  linear,
  matmul,
  mean,
  oneHot,
  Rng,
  setBackend,
  type Tensor,
  tidy,
  type WebGPUBackend,
} from "../mod.ts";
import { numpyTimes } from "./peers/numpy.ts";

const MATMULS: [number, number, number][] = [[1024, 1024, 1024], [512, 768, 2304], [512, 768, 3072], [512, 3072, 768]];
const C = 32, S = 64;
const CONV_FLOPS = 2 * C * C * 27 * S ** 3;

function values(n: number, rng: Rng): Float32Array {
  return Float32Array.from({ length: n }, () => rng.uniformIn(-1, 1));
}

/** Best seconds per call: `reps` rounds of `batch` queued calls and one read, after one such round of warm-up. */
async function timeOurs(f: () => Tensor, reps = 3, batch = 3): Promise<number> {
  const warm = Array.from({ length: batch }, f);
  await warm[batch - 1].data();
  warm.forEach((y) => y.dispose());
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    const ys = Array.from({ length: batch }, f);
    await ys[batch - 1].data();
    best = Math.min(best, (performance.now() - t0) / 1000 / batch);
    ys.forEach((y) => y.dispose());
  }
  return best;
}

async function timeTf(f: () => tf.Tensor, reps = 3): Promise<number> {
  const warm = f();
  await warm.data();
  warm.dispose();
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    const y = f();
    await y.data();
    best = Math.min(best, (performance.now() - t0) / 1000);
    y.dispose();
  }
  return best;
}

const gflops = (flops: number, s: number) => (flops / s / 1e9).toFixed(1).padStart(7);
const ratio = (ours: number, peer?: number) => (peer ? `${(peer / ours).toFixed(2)}×`.padStart(8) : "     n/a");

async function tfPeers(): Promise<Record<string, Record<string, number>>> {
  const out: Record<string, Record<string, number>> = {};
  const wasmDir = new URL("./", import.meta.resolve("@tensorflow/tfjs-backend-wasm")).href;
  setWasmPaths(wasmDir);
  for (const backend of ["webgpu", "wasm"]) {
    try {
      if (!(await tf.setBackend(backend))) continue;
      await tf.ready();
    } catch {
      continue;
    }
    const rng = new Rng(1);
    const times: Record<string, number> = {};
    for (const [m, k, n] of MATMULS) {
      const a = tf.tensor2d(values(m * k, rng), [m, k]), b = tf.tensor2d(values(k * n, rng), [k, n]);
      times[`mm:${m},${k},${n}`] = await timeTf(() => tf.matMul(a, b));
      tf.dispose([a, b]);
    }
    // TF.js conv3d is NDHWC with filter [kD, kH, kW, in, out]; the wasm one is slow, so one timed round.
    const x = tf.tensor5d(values(C * S ** 3, rng), [1, S, S, S, C]);
    const w = tf.tensor5d(values(27 * C * C, rng), [3, 3, 3, C, C]);
    times.conv = await timeTf(() => tf.conv3d(x, w, 1, "same"), backend === "wasm" ? 1 : 2);
    tf.dispose([x, w]);
    out[backend] = times;
  }
  return out;
}

async function unetrStep(gpu: WebGPUBackend): Promise<string> {
  setBackend("webgpu");
  const model = createUnetr("unetr-tiny", { seed: 0 });
  setBackend("cpu");
  const [size] = [32];
  const rng = new Rng(2);
  const x = fromArray(values(size ** 3, rng), [1, 1, size, size, size], gpu);
  const labels = fromArray(Int32Array.from({ length: size ** 3 }, () => rng.int(0, 1)), [1, size, size, size], gpu);
  const target = oneHot(labels, 2, { axis: 1 });
  const params = model.parameters();
  const step = () =>
    tidy(() => {
      const probs = model.forward(x);
      const err = probs.sub(target);
      const loss = mean(err.mul(err));
      const grads = gradients(loss, params);
      params.forEach((p, i) => p.assign(p.sub(grads[i].mul(1e-3))));
      return loss;
    });
  (await step().item(), 0);
  const d0 = gpu.ctx.stats.dispatches, s0 = gpu.ctx.stats.syncs, t0 = performance.now();
  const loss = step();
  await loss.item();
  const ms = performance.now() - t0;
  return `unetr-tiny training step (batch 1, 32³; forward, MSE to one-hot, backward, SGD): ${
    gpu.ctx.stats.dispatches - d0
  } dispatches, ${gpu.ctx.stats.syncs - s0} sync, ${ms.toFixed(0)} ms`;
}

/** Runs the WebGPU benchmark and prints the table and ratio lines. */
export async function benchWebgpu(): Promise<void> {
  const gpu = await initWebGPU();
  if (!gpu) return;
  const rng = new Rng(0);
  const up = (shape: number[]) => fromArray(values(shape.reduce((p, q) => p * q, 1), rng), shape, gpu);
  const ours: Record<string, number> = {};
  for (const [m, k, n] of MATMULS) {
    const a = up([m, k]), b = up([k, n]);
    ours[`mm:${m},${k},${n}`] = await timeOurs(() => matmul(a, b));
  }
  // linear: x·Wᵀ + b with GELU, PyTorch's [out, in] weight, at the first transformer shape (ours only).
  const [lm, lk, ln] = MATMULS[1];
  const lx = up([lm, lk]), lw = up([ln, lk]), lb = up([ln]);
  ours.linear = await timeOurs(() => linear(lx, lw, lb, "gelu"));
  const x = up([1, C, S, S, S]), w = up([C, C, 3, 3, 3]), gy = up([1, C, S, S, S]);
  ours.conv = await timeOurs(() => conv3d(x, w, null, { padding: 1 }), 2, 2);
  ours.convGradInput = await timeOurs(() => convTranspose3d(gy, w, null, { padding: 1 }), 2, 2);
  ours.convGradWeight = await timeOurs(() => conv3dWeightGrad(x, gy, [3, 3, 3], { padding: 1 }), 1, 1);
  const step = await unetrStep(gpu);
  const tfTimes = await tfPeers();
  const np = await numpyTimes([...MATMULS.map(([m, k, n]) => `mm:${m},${k},${n}`), `conv:${C},${S}`]);
  if (np) np.conv = np[`conv:${C},${S}`];

  console.log(`# WebGPU backend on "${gpu.ctx.description}" (kernel family "${gpu.ctx.kernelFamily}")`);
  console.log(
    `# peers in this run: TF.js 4.22 ${Object.keys(tfTimes).join(", ") || "(none)"}; ${
      np
        ? `numpy ${np.numpy} (${np.blas}; OPENBLAS_CORETYPE=${Deno.env.get("OPENBLAS_CORETYPE") ?? "unset"})`
        : "no numpy"
    }`,
  );
  console.log("op                                   ours GFLOP/s   vs tfjs-webgpu   vs tfjs-wasm   vs numpy");
  const row = (name: string, key: string, flops: number) =>
    console.log(
      `${name.padEnd(36)} ${gflops(flops, ours[key])}        ${ratio(ours[key], tfTimes.webgpu?.[key])}       ${
        ratio(ours[key], tfTimes.wasm?.[key])
      }   ${ratio(ours[key], np?.[key])}`,
    );
  for (const [m, k, n] of MATMULS) row(`matmul ${m}x${k}x${n}`, `mm:${m},${k},${n}`, 2 * m * k * n);
  row(`conv3d 1x${C}x${S}^3 3^3 fwd`, "conv", CONV_FLOPS);
  console.log(`${"conv3d backward, input gradient".padEnd(36)} ${gflops(CONV_FLOPS, ours.convGradInput)}`);
  console.log(`${"conv3d backward, weight gradient".padEnd(36)} ${gflops(CONV_FLOPS, ours.convGradWeight)}`);
  console.log(
    `${`linear ${lm}x${lk}x${ln} + bias, gelu`.padEnd(36)} ${gflops(2 * lm * lk * ln, ours.linear)}`,
  );
  console.log("(ratios are peer time / our time: above 1× means we are faster)");
  console.log(step);
}

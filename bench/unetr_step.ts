/**
 * One training step of `unetr-small` at batch 2 (forward, the authors' soft
 * Dice loss on the softmax output, backward, Adam with AMSGrad and coupled
 * weight decay 1e-5) on the CPU backend, the native backend when a BLAS
 * loads and WebGPU when an adapter exists, next to the same step in PyTorch
 * CPU (`peers/torch_unetr_step.py`) measured in the same run on the same
 * weights and batch.
 *
 * The weights and the batch go to the peer as one safetensors file. Before
 * timing, both sides take two steps in eval mode (dropout off, so they are
 * deterministic): the first loss checks the forward pass, the second checks
 * backward and the Adam update. The timed steps then run in training mode
 * (dropout 0.1 on, as in training) on both sides.
 *
 * `UNETR_STEPS` (default 3) sets the timed steps per backend;
 * `UNETR_BACKENDS` (default `cpu,native,webgpu,torch`) which sides run;
 * `UNETR_TORCH_THREADS` (default 2) the peer's thread count;
 * `UNETR_FORWARD=1` also times batch-1 inference forwards (eval mode, no
 * tape) on every side. Peak resident memory is the process's high-water
 * mark (`VmHWM`): it is one side's own only when one of ours runs.
 * @module
 */
import {
  Adam,
  blasStatus,
  createUnetr,
  fromArray,
  fromFloat32,
  getBackend,
  gradients,
  initNative,
  initWebGPU,
  noGrad,
  type RawTensor,
  Rng,
  setBackend,
  softmaxDice2,
  tidy,
  type UNETR,
  type WebGPUBackend,
  writeSafetensors,
} from "../mod.ts";

const NAME = "unetr-small";
const BATCH = 2, SIZE = 64, SEED = 0;
const ADAM = { lr: 1e-3, betas: [0.9, 0.999] as [number, number], eps: 1e-8, weightDecay: 1e-5, amsgrad: true };
/** |ours − torch| allowed on the two eval-mode check losses (float32, different summation orders). */
const LOSS_TOL = 1e-4;
const PYTHON = "/usr/bin/python3";

/** The batch as plain arrays: input `[B,1,S,S,S]` ~ N(0,1), target `[B,S,S,S]` in {0,1}. */
function makeBatch(): { x: Float32Array; y: Float32Array } {
  const rng = new Rng(SEED + 1), n = BATCH * SIZE ** 3;
  const x = Float32Array.from({ length: n }, () => rng.normal());
  const y = Float32Array.from({ length: n }, () => rng.int(0, 1));
  return { x, y };
}

interface RunResult {
  /** Losses of the two eval-mode check steps. */
  checkLosses: [number, number];
  /** Mean ms per timed training step. */
  msPerStep: number;
  /** Per-step ms of the timed steps. */
  stepMs: number[];
  /** Per-forward ms of batch-1 inference (UNETR_FORWARD=1). */
  forwardMs?: number[];
  /** WebGPU only: dispatches and syncs per timed step. */
  dispatches?: number;
  syncs?: number;
}

async function run(
  backend: string,
  batch: { x: Float32Array; y: Float32Array },
  steps: number,
  gpu: WebGPUBackend | null,
  forward: boolean,
): Promise<RunResult> {
  const previous = getBackend().name;
  setBackend(backend);
  try {
    const model = createUnetr(NAME, { seed: SEED });
    const x = fromArray(batch.x, [BATCH, 1, SIZE, SIZE, SIZE]);
    const y = fromArray(batch.y, [BATCH, SIZE, SIZE, SIZE]);
    const params = model.parameters();
    const opt = new Adam(params, ADAM);
    const step = async (): Promise<number> => {
      const lossT = tidy(() => {
        const loss = softmaxDice2(model.forward(x), y);
        opt.step(gradients(loss, params));
        return loss;
      });
      const loss = await lossT.item(); // the step's one sync, as in train()
      lossT.dispose();
      return loss;
    };
    model.eval();
    const checkLosses: [number, number] = [await step(), await step()];
    model.train();
    await step(); // warm-up in training mode (dropout masks, pipelines)
    const stepMs: number[] = [];
    const d0 = gpu?.ctx.stats.dispatches ?? 0, s0 = gpu?.ctx.stats.syncs ?? 0;
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      const loss = await step();
      stepMs.push(performance.now() - t0);
      if (!Number.isFinite(loss)) throw new Error(`benchUnetrStep: ${backend} loss is ${loss}`);
    }
    const result: RunResult = { checkLosses, stepMs, msPerStep: stepMs.reduce((a, b) => a + b, 0) / steps };
    if (forward) {
      model.eval();
      const x1 = fromArray(batch.x.subarray(0, SIZE ** 3), [1, 1, SIZE, SIZE, SIZE]);
      const once = async () => {
        const y = noGrad(() => model.forward(x1));
        await y.data();
        y.dispose();
      };
      await once(); // warm-up
      result.forwardMs = [];
      for (let i = 0; i < steps; i++) {
        const t0 = performance.now();
        await once();
        result.forwardMs.push(performance.now() - t0);
      }
      x1.dispose();
    }
    if (gpu) {
      result.dispatches = (gpu.ctx.stats.dispatches - d0) / steps;
      result.syncs = (gpu.ctx.stats.syncs - s0) / steps;
    }
    opt.dispose();
    for (const p of params) p.dispose();
    x.dispose();
    y.dispose();
    return result;
  } finally {
    setBackend(previous);
  }
}

/**
 * Writes the initial parameters (a CPU model built with the runs' seed: the
 * same values on every backend) and the batch (`bench.input`, `bench.target`)
 * as safetensors.
 */
async function writeState(path: string, x: Float32Array, y: Float32Array): Promise<void> {
  const previous = getBackend().name;
  setBackend("cpu");
  let model: UNETR;
  try {
    model = createUnetr(NAME, { seed: SEED });
  } finally {
    setBackend(previous);
  }
  const tensors = new Map<string, RawTensor>();
  for (const [name, p] of model.namedParameters()) {
    tensors.set(name, fromFloat32(await p.data() as Float32Array, [...p.shape], "F32"));
    p.dispose();
  }
  tensors.set("bench.input", fromFloat32(x, [BATCH, 1, SIZE, SIZE, SIZE], "F32"));
  tensors.set("bench.target", fromFloat32(y, [BATCH, SIZE, SIZE, SIZE], "F32"));
  await writeSafetensors(path, tensors, { model: NAME, seed: String(SEED) });
}

interface TorchResult {
  skip?: string;
  torch?: string;
  threads?: number;
  checkLosses?: [number, number];
  msPerStep?: number;
  stepMs?: number[];
  forwardMs?: number[];
  peakRssMb?: number;
}

async function runTorch(path: string, steps: number, forward: boolean): Promise<TorchResult> {
  const threads = Deno.env.get("UNETR_TORCH_THREADS") ?? "2";
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(PYTHON, {
      args: [
        new URL("./peers/torch_unetr_step.py", import.meta.url).pathname,
        path,
        "--steps",
        String(steps),
        "--threads",
        threads,
        "--json",
        ...(forward ? ["--forward"] : []),
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    return { skip: `${PYTHON} cannot run (${(e as Error).message})` };
  }
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" | ");
    return { skip: `the peer failed (exit ${out.code}): ${err}` };
  }
  return JSON.parse(text.split("\n").at(-1)!);
}

const fmt = (ms: number) => `${ms.toFixed(0)} ms`;

/** The process's peak resident memory in MB (`VmHWM` of /proc/self/status; 0 where that file does not exist). */
function peakRssMb(): number {
  try {
    const m = Deno.readTextFileSync("/proc/self/status").match(/VmHWM:\s+(\d+) kB/);
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}
const fmtLoss = (l: number) => l.toFixed(7);

/** Runs the UNETR training-step benchmark and prints ms per step, ratios and the loss check. */
export async function benchUnetrStep(): Promise<void> {
  const steps = Number(Deno.env.get("UNETR_STEPS") ?? 3);
  const backends = (Deno.env.get("UNETR_BACKENDS") ?? "cpu,native,webgpu,torch").split(",").map((s) => s.trim());
  const forward = Deno.env.get("UNETR_FORWARD") === "1";
  const batch = makeBatch();
  const dir = await Deno.makeTempDir({ prefix: "unetr_step_" });
  const path = `${dir}/state.safetensors`;
  console.log(
    `# ${NAME} training step, batch ${BATCH}, ${SIZE}³: forward, softmaxDice2, backward, ` +
      `Adam(AMSGrad, lr 1e-3, wd 1e-5); mean of ${steps} timed training-mode steps after warm-up`,
  );
  try {
    await writeState(path, batch.x, batch.y);
    const ours: [string, RunResult, string][] = [];
    if (backends.includes("cpu")) ours.push(["cpu", await run("cpu", batch, steps, null, forward), ""]);
    if (backends.includes("native")) {
      if (initNative()) {
        const s = blasStatus();
        ours.push(["native", await run("native", batch, steps, null, forward), `   (${s.library}, ${s.core} kernels)`]);
      } else console.log(`ours native   skipped: ${blasStatus().reason}`);
    }
    const gpu = backends.includes("webgpu") ? await initWebGPU({ quiet: true }) : null;
    if (gpu) {
      const r = await run("webgpu", batch, steps, gpu, forward);
      ours.push(["webgpu", r, `   ${r.dispatches} dispatches, ${r.syncs} syncs per step on "${gpu.ctx.description}"`]);
    } else if (backends.includes("webgpu")) console.log("ours webgpu   skipped: no WebGPU adapter");
    const peakMb = peakRssMb();
    const torch: TorchResult = backends.includes("torch")
      ? await runTorch(path, steps, forward)
      : { skip: "not selected (UNETR_BACKENDS)" };

    const ref = torch.msPerStep;
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const refFwd = torch.forwardMs ? mean(torch.forwardMs) : undefined;
    const vs = (ms: number, r?: number) => (r ? `   ${(ms / r).toFixed(2)}× PyTorch's time` : "");
    const each = (xs?: number[]) => xs ? `   [${xs.map((t) => t.toFixed(0)).join(", ")}]` : "";
    for (const [name, r, extra] of ours) {
      console.log(
        `ours ${name.padEnd(9)}${fmt(r.msPerStep).padStart(9)}/step${vs(r.msPerStep, ref)}${each(r.stepMs)}${extra}`,
      );
    }
    if (torch.skip || !ref) {
      console.log(`pytorch cpu   skipped: ${torch.skip ?? "no time reported"}`);
    } else {
      console.log(
        `pytorch cpu   ${fmt(ref).padStart(9)}/step${
          each(torch.stepMs)
        }   (torch ${torch.torch}, ${torch.threads} threads)`,
      );
    }
    if (forward) {
      for (const [name, r] of ours) {
        const ms = mean(r.forwardMs!);
        console.log(
          `forward, batch 1, ours ${name.padEnd(7)}${fmt(ms).padStart(9)}${vs(ms, refFwd)}${each(r.forwardMs)}`,
        );
      }
      if (refFwd) console.log(`forward, batch 1, pytorch    ${fmt(refFwd).padStart(9)}${each(torch.forwardMs)}`);
    }
    if (ours.length === 1) {
      console.log(
        `peak resident memory: ours ${ours[0][0]} ${peakMb.toFixed(0)} MB` +
          (torch.peakRssMb ? `, pytorch ${torch.peakRssMb.toFixed(0)} MB (after the training steps)` : ""),
      );
    }
    // Same weights, same batch: the eval-mode losses must agree (reference: the first side that ran).
    const rows: [string, [number, number]][] = ours.map(([name, r]) => [`ours ${name}`, r.checkLosses]);
    if (torch.checkLosses) rows.push(["pytorch", torch.checkLosses]);
    if (rows.length === 0) return;
    const [refName, [r1, r2]] = rows[0];
    const diff = ([l1, l2]: [number, number]) => Math.max(Math.abs(l1 - r1), Math.abs(l2 - r2));
    for (const [name, losses] of rows) {
      const d = name === refName ? "" : `   |Δ| vs ${refName} ${diff(losses).toExponential(1)}`;
      console.log(
        `check loss (eval) ${name.padEnd(12)} step 1 ${fmtLoss(losses[0])}  step 2 ${fmtLoss(losses[1])}${d}`,
      );
    }
    const bad = rows.slice(1).filter(([, losses]) => !(diff(losses) <= LOSS_TOL));
    if (rows.length > 1) {
      console.log(
        bad.length
          ? `check: MISMATCH beyond ${LOSS_TOL} for ${bad.map(([n]) => n).join(", ")}`
          : `check: the losses agree within ${LOSS_TOL}`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await benchUnetrStep();

/**
 * The native backend's convolutions (tensor/native/conv.ts) against
 * PyTorch's conv3d and its autograd gradients on 2 threads
 * (`peers/torch_conv.py`, `/usr/bin/python3`), measured in the same run:
 * forward, input gradient and weight gradient in GFLOP/s and the ratio, for
 * the issue's conv3d 1×32×64³ → 32, 3³ pad 1, and for the convolutions of a
 * `unetr-small` training step (batch 2, 64³, feature size 8, hidden 96: see
 * models/unetr.ts and models/unetr_blocks.ts).
 *
 * Ours is timed through the public ops on the native backend: `conv3d`, and
 * `gradients` with only the input (or only the weight) requiring a gradient,
 * so each backward row runs exactly one VJP op (convTranspose3d or
 * conv3dWeightGrad), as PyTorch's autograd does. Best of `NATIVE_CONV_REPS`
 * (default 3) after one warm-up. The main shape is also timed with im2col
 * forced (every stride-1 conv on the im2col path), which is the measurement
 * behind the method choice in tensor/native/conv.ts.
 *
 * `NATIVE_CONV_SHAPES=main` times only the main shape;
 * `NATIVE_CONV_TORCH=0` skips the peer. `OPENBLAS_CORETYPE=Haswell` forces
 * OpenBLAS's AVX2 kernels on an AVX-512 machine (it affects ours only).
 * @module
 */
import { conv3d, convTranspose3d, fromArray, gradients, Rng, type Tensor, type Triple } from "../mod.ts";
import { blasStatus } from "../tensor/native/blas.ts";
import { initNative } from "../tensor/native/backend.ts";
import { setNativeConvTuning } from "../tensor/native/conv.ts";

const PYTHON = "/usr/bin/python3";

/** One convolution to time: conv3d, or convTranspose3d when `transposed`. */
interface ConvSpec {
  name: string;
  x: number[];
  w: number[];
  stride: number;
  padding: number;
  transposed?: boolean;
}

const MAIN: ConvSpec = {
  name: "conv3d 1×32×64³ → 32, 3³ pad 1",
  x: [1, 32, 64, 64, 64],
  w: [32, 32, 3, 3, 3],
  stride: 1,
  padding: 1,
};

/** The distinct convolutions of a unetr-small training step (batch 2), with where they occur. */
const UNETR_SMALL: ConvSpec[] = [
  { name: "enc1.conv1 3³ 1→8 @64³", x: [2, 1, 64, 64, 64], w: [8, 1, 3, 3, 3], stride: 1, padding: 1 },
  { name: "enc1/dec2.conv2 3³ 8→8 @64³", x: [2, 8, 64, 64, 64], w: [8, 8, 3, 3, 3], stride: 1, padding: 1 },
  { name: "dec2.conv1 3³ 16→8 @64³", x: [2, 16, 64, 64, 64], w: [8, 16, 3, 3, 3], stride: 1, padding: 1 },
  { name: "dec2.conv3 1³ 16→8 @64³", x: [2, 16, 64, 64, 64], w: [8, 16, 1, 1, 1], stride: 1, padding: 0 },
  { name: "out 1³ 8→2 @64³", x: [2, 8, 64, 64, 64], w: [2, 8, 1, 1, 1], stride: 1, padding: 0 },
  {
    name: "dec2.transp 2³ s2 16→8 32³→64³",
    x: [2, 16, 32, 32, 32],
    w: [16, 8, 2, 2, 2],
    stride: 2,
    padding: 0,
    transposed: true,
  },
  { name: "enc2/dec3 3³ 16→16 @32³", x: [2, 16, 32, 32, 32], w: [16, 16, 3, 3, 3], stride: 1, padding: 1 },
  { name: "dec3.conv1 3³ 32→16 @32³", x: [2, 32, 32, 32, 32], w: [16, 32, 3, 3, 3], stride: 1, padding: 1 },
  { name: "enc3/dec4 3³ 32→32 @16³", x: [2, 32, 16, 16, 16], w: [32, 32, 3, 3, 3], stride: 1, padding: 1 },
  { name: "dec5 3³ 128→64 @8³", x: [2, 128, 8, 8, 8], w: [64, 128, 3, 3, 3], stride: 1, padding: 1 },
  { name: "vit patch embedding 16³ s16 1→96", x: [2, 1, 64, 64, 64], w: [96, 1, 16, 16, 16], stride: 16, padding: 0 },
];

/** Best seconds per pass. */
interface Times {
  forward: number;
  input: number;
  weight: number;
}

function flops(s: ConvSpec): number {
  const taps = s.w[2] * s.w[3] * s.w[4];
  if (s.transposed) return 2 * s.x[0] * s.w[0] * s.w[1] * taps * s.x[2] * s.x[3] * s.x[4];
  const out = [2, 3, 4].map((i) => Math.floor((s.x[i] + 2 * s.padding - s.w[i]) / s.stride) + 1);
  return 2 * s.x[0] * s.w[0] * s.w[1] * taps * out[0] * out[1] * out[2];
}

function random(shape: readonly number[], rng: Rng): Float32Array {
  const a = new Float32Array(shape.reduce((p, q) => p * q, 1));
  for (let i = 0; i < a.length; i++) a[i] = rng.uniformIn(-1, 1);
  return a;
}

async function best(fn: () => Tensor, reps: number): Promise<number> {
  let t = Infinity;
  for (let r = 0; r <= reps; r++) {
    const t0 = performance.now();
    const y = fn();
    await y.data();
    const dt = (performance.now() - t0) / 1000;
    y.dispose();
    if (r > 0) t = Math.min(t, dt); // r = 0 is the warm-up
  }
  return t;
}

async function timeOurs(s: ConvSpec, reps: number): Promise<Times> {
  const backend = initNative()!;
  const rng = new Rng(0);
  const x = fromArray(random(s.x, rng), s.x, backend), w = fromArray(random(s.w, rng), s.w, backend);
  const geo = { stride: s.stride as number | Triple, padding: s.padding as number | Triple };
  const f = () => s.transposed ? convTranspose3d(x, w, null, geo) : conv3d(x, w, null, geo);
  const forward = await best(f, reps);
  x.requiresGrad = true;
  const yx = f();
  const seed = fromArray(random(yx.shape, rng), yx.shape, backend);
  const input = await best(() => gradients(yx, [x], { seed })[0], reps);
  x.requiresGrad = false;
  w.requiresGrad = true;
  const yw = f();
  const weight = await best(() => gradients(yw, [w], { seed })[0], reps);
  for (const t of [x, w, yx, yw, seed]) t.dispose();
  return { forward, input, weight };
}

interface TorchOut {
  skip?: string;
  torch?: string;
  threads?: number;
  times?: Record<string, Times>;
}

async function timeTorch(specs: ConvSpec[], reps: number): Promise<TorchOut> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(PYTHON, {
      args: [
        new URL("./peers/torch_conv.py", import.meta.url).pathname,
        JSON.stringify(specs),
        "--threads",
        "2",
        "--reps",
        String(reps),
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    return { skip: `${PYTHON} cannot run (${(e as Error).message})` };
  }
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" | ");
    return { skip: `the peer failed (exit ${out.code}): ${err}` };
  }
  return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
}

function cpuKind(): string {
  try {
    const info = Deno.readTextFileSync("/proc/cpuinfo");
    const model = info.match(/^model name\s*:\s*(.+)$/m)?.[1] ?? "unknown CPU";
    const avx512 = /^flags\s*:.*\bavx512f\b/m.test(info);
    return `${model}, ${navigator.hardwareConcurrency} cores, AVX-512 ${avx512 ? "yes" : "no"}`;
  } catch {
    return `${Deno.build.arch}, ${navigator.hardwareConcurrency} cores`;
  }
}

/** The 1-minute load average (timings on a shared machine swing with it), or "?" where the OS does not say. */
function loadAverage(): string {
  try {
    return Deno.loadavg()[0].toFixed(1);
  } catch {
    return "?";
  }
}

const PASSES = ["forward", "input", "weight"] as const;
const LABEL: Record<(typeof PASSES)[number], string> = {
  forward: "forward",
  input: "input gradient",
  weight: "weight gradient",
};

/** Prints the table described in the module doc. */
export async function benchNativeConv(): Promise<void> {
  if (!initNative()) {
    console.log(`native conv: skipped (${blasStatus().reason})`);
    return;
  }
  const reps = Number(Deno.env.get("NATIVE_CONV_REPS") ?? "3");
  const specs = Deno.env.get("NATIVE_CONV_SHAPES") === "main" ? [MAIN] : [MAIN, ...UNETR_SMALL];
  const st = blasStatus();
  const coretype = Deno.env.get("OPENBLAS_CORETYPE");
  console.log(
    `native conv: ${cpuKind()}; ${st.library}, OpenBLAS core ${st.core ?? "?"}${
      coretype ? ` (OPENBLAS_CORETYPE=${coretype})` : ""
    }, ${st.threads ?? "?"} threads; best of ${reps}; load average ${loadAverage()}`,
  );
  const skipTorch = Deno.env.get("NATIVE_CONV_TORCH") === "0";
  const torch: TorchOut = skipTorch ? { skip: "NATIVE_CONV_TORCH=0" } : await timeTorch(specs, reps);
  console.log(
    torch.skip ? `  peer: skipped (${torch.skip})` : `  peer: PyTorch ${torch.torch} conv3d, ${torch.threads} threads`,
  );
  const ours: [ConvSpec, string, Times][] = [];
  for (const s of specs) {
    ours.push([s, s.name, await timeOurs(s, reps)]);
    if (s === MAIN) {
      const previous = setNativeConvTuning({ shiftMinChannels: 2 ** 30 });
      try {
        ours.push([s, `${s.name}, im2col forced`, await timeOurs(s, reps)]);
      } finally {
        setNativeConvTuning(previous);
      }
    }
  }
  // The peer runs again after ours and keeps its better time per pass, so that a load change on a shared machine
  // during the run does not favour either side.
  if (!skipTorch && torch.times) {
    const again = await timeTorch(specs, reps);
    for (const [name, t] of Object.entries(again.times ?? {})) {
      const b = torch.times[name];
      if (b) { for (const p of PASSES) b[p] = Math.min(b[p], t[p]); }
    }
  }
  const rows: string[][] = [["shape", "pass", "ours GFLOP/s", "torch GFLOP/s", "ours / torch"]];
  for (const [s, label, t] of ours) {
    const peer = torch.times?.[s.name];
    for (const p of PASSES) {
      const a = flops(s) / t[p] / 1e9, b = peer ? flops(s) / peer[p] / 1e9 : NaN;
      rows.push([label, LABEL[p], a.toFixed(1), peer ? b.toFixed(1) : "–", peer ? `${(a / b).toFixed(2)}×` : "–"]);
    }
  }
  const width = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) {
    console.log("  " + r.map((c, i) => i === 0 || i === 1 ? c.padEnd(width[i]) : c.padStart(width[i])).join("  "));
  }
}

if (import.meta.main) await benchNativeConv();

/**
 * `deno task bench native`: the native backend (system BLAS through FFI)
 * against its peers, measured in the same run on the same cores, with the
 * issue's targets as ratios:
 * - matmul 1024³ and the three transformer shapes of unetr-base against
 *   numpy (target ≥ 0.8× numpy's throughput);
 * - conv3d 1×32×64³, 3³: forward, input and weight gradient against
 *   PyTorch's `conv3d` on 2 threads (`native_conv.ts`; target ≥ 0.8×);
 * - the unetr-small training step (batch 2, 64³) and the batch-1 forward
 *   against PyTorch 1.13 on 2 threads (target ≤ 1.3× PyTorch's time), with
 *   peak resident memory; run in a child process so that the high-water
 *   mark is the native side's own.
 *
 * The first lines name the CPU (model, AVX-512 yes/no) and the BLAS kernel
 * family, because both decide the numbers.
 * @module
 */
import { blasStatus, initNative, matmul, randn, Rng } from "../mod.ts";
import { numpyTimes } from "./peers/numpy.ts";
import { best } from "./cpu_ops.ts";
import { benchNativeConv } from "./native_conv.ts";

/** The CPU model and whether it has AVX-512, from /proc/cpuinfo (Linux). */
export function cpuKind(): { model: string; avx512: boolean; cores: number } {
  try {
    const info = Deno.readTextFileSync("/proc/cpuinfo");
    const model = info.match(/model name\s*:\s*(.+)/)?.[1] ?? "unknown CPU";
    return { model, avx512: /\bavx512f\b/.test(info), cores: navigator.hardwareConcurrency };
  } catch {
    return { model: Deno.build.arch, avx512: false, cores: navigator.hardwareConcurrency };
  }
}

const MATMULS: [number, number, number][] = [[1024, 1024, 1024], [512, 768, 2304], [512, 768, 3072], [512, 3072, 768]];

async function benchMatmul(): Promise<void> {
  const native = initNative()!;
  const rng = new Rng(0);
  const np = await numpyTimes(MATMULS.map(([m, k, n]) => `mm:${m},${k},${n}`));
  console.log(
    `# matmul, float32: native vs ${np ? `numpy ${np.numpy} (${np.blas})` : "no numpy peer (python3/numpy missing)"}`,
  );
  for (const [m, k, n] of MATMULS) {
    const a = randn([m, k], { rng, backend: native }), b = randn([k, n], { rng, backend: native });
    // native kernels finish before the op returns: no read-back copy, as numpy returns its result uncopied
    const t = best(() => matmul(a, b), 5, false);
    const flops = 2 * m * k * n, p = np?.[`mm:${m},${k},${n}`];
    const ratio = p ? p / t : undefined;
    console.log(
      `matmul ${`${m}x${k}x${n}`.padEnd(14)} native ${(flops / t / 1e9).toFixed(1).padStart(6)} GFLOP/s` +
        (p && ratio
          ? `   numpy ${(flops / p / 1e9).toFixed(1).padStart(6)} GFLOP/s   ${ratio.toFixed(2)}× numpy` +
            `   target ≥ 0.8×: ${ratio >= 0.8 ? "met" : "NOT met"}`
          : ""),
    );
    a.dispose();
    b.dispose();
  }
}

async function benchUnetr(): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./unetr_step.ts", import.meta.url).pathname],
    env: { UNETR_BACKENDS: "native,torch", UNETR_FORWARD: "1", UNETR_STEPS: Deno.env.get("UNETR_STEPS") ?? "3" },
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  console.log(text.trimEnd());
  const ratio = (re: RegExp) => Number(text.match(re)?.[1]);
  const step = ratio(/ours native\s+\d+ ms\/step\s+([\d.]+)× PyTorch/);
  const fwd = ratio(/forward, batch 1, ours native\s+\d+ ms\s+([\d.]+)× PyTorch/);
  if (Number.isFinite(step)) {
    console.log(`target training step ≤ 1.3× PyTorch: ${step <= 1.3 ? "met" : "NOT met"} (${step}×)`);
  }
  if (Number.isFinite(fwd)) console.log(`target forward ≤ 1.3× PyTorch: ${fwd <= 1.3 ? "met" : "NOT met"} (${fwd}×)`);
}

/** Runs the native benchmarks and prints one line per row. */
export async function benchNative(): Promise<void> {
  const cpu = cpuKind(), s = blasStatus();
  console.log(`# native backend on ${cpu.model}, ${cpu.cores} cores, AVX-512 ${cpu.avx512 ? "yes" : "no"}`);
  if (!initNative()) {
    console.log(`native skipped: ${s.reason}`);
    return;
  }
  console.log(`# BLAS ${s.library}, ${s.core ?? "unknown"} kernels, ${s.threads ?? "?"} threads`);
  await benchMatmul();
  await benchNativeConv();
  await benchUnetr();
}

if (import.meta.main) await benchNative();

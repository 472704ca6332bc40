/**
 * `deno task bench predict`: `predict()` of one 182×218×182 scan (the MNI152
 * 1 mm grid of the paper) with a 4-checkpoint `unetr-small` ensemble, the
 * issue-16 target being ≤ 60 s. The run is made on the spot: three
 * full-size hippocampus phantoms, `finetune()` from the shipped
 * `unetr-small` weights (LoRA-PT, 4 epochs of 2 updates, a checkpoint per
 * epoch), then the timed prediction of the held-out scan on the chosen
 * backend (`BENCH_BACKEND`, default `auto`). No peer: the row is an absolute
 * time, printed with the CPU kind.
 * @module
 */
import { finetune, makePhantomDataset, predict, useBackend } from "../mod.ts";
import type { BackendChoice } from "../mod.ts";
import { cpuKind } from "./native.ts";

const WEIGHTS = new URL("../weights/unetr-small-tumour-phantoms.safetensors", import.meta.url).pathname;

/** Builds the run and times one prediction; prints one line per phase. */
export async function benchPredict(): Promise<void> {
  const cpu = cpuKind();
  const backend = await useBackend((Deno.env.get("BENCH_BACKEND") ?? "auto") as BackendChoice, { quiet: true });
  console.log(`# predict, one 182×218×182 scan, unetr-small, 4-checkpoint ensemble, backend ${backend}`);
  console.log(`# ${cpu.model}, ${cpu.cores} cores, AVX-512 ${cpu.avx512 ? "yes" : "no"}`);
  const dir = await Deno.makeTempDir({ prefix: "bench_predict_" });
  try {
    await makePhantomDataset({ task: "hippocampus", n: 3, dir: `${dir}/data`, seed: 7 });
    const t0 = performance.now();
    const run = await finetune({
      data: `${dir}/data`,
      pretrained: WEIGHTS,
      out: `${dir}/run`,
      method: "lora-pt",
      trainSize: 2,
      config: { epochs: 4, batchSize: 1, checkpointEvery: 1, ensemble: 4, lr: 1e-3 },
      progress: false,
      log: () => {},
    });
    console.log(`run: finetune 4 epochs × 2 updates in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const id = run.split.test[0];
    const scan = `${dir}/data/${id}/${id}_img.nii.gz`;
    let used: string[] = [];
    const t1 = performance.now();
    const [p] = await predict(run.runDir, [scan], { onCheckpoints: (files) => (used = files) });
    const s = (performance.now() - t1) / 1000;
    console.log(
      `predict ${id}: ${s.toFixed(1)} s with ${used.length} checkpoints (${p.foreground} foreground voxels)` +
        `   target ≤ 60 s: ${s <= 60 ? "met" : "NOT met"}`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await benchPredict();

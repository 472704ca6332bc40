/**
 * `lorapt experiment`: bad input exits 2 naming the culprit, shards and the
 * SLURM script cover the grid, and a tiny table2 grid on phantoms runs,
 * writes results.jsonl and table.md, does nothing on a rerun and reruns only
 * the cell whose line a kill cut short.
 */
import assert from "node:assert/strict";
import { expandGrid, gridAxes, makePhantomDataset, shardCells } from "../../mod.ts";
import { EXPERIMENT, main, parseFlags, runExperiment } from "../../cli/mod.ts";
import { MODEL_KEY } from "../../cli/model_io.ts";
import { saveCheckpoint } from "../../train/mod.ts";
import { tinyUnetr } from "../train/tiny.ts";

async function run(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [], err: string[] = [];
  const code = await main(args, { log: (m) => out.push(m), error: (m) => err.push(m) });
  return { code, out, err };
}

/** runExperiment on a command line (without the leading `experiment`). */
function experiment(args: string[]) {
  const v = parseFlags(EXPERIMENT, args);
  if (!v) throw new Error("--help");
  return runExperiment(v);
}

/** Four 20³ hippocampus phantoms and a tiny UNETR's weights (with its config) in a temp folder. */
async function fixture(): Promise<{ dir: string; data: string; weights: string }> {
  const dir = await Deno.makeTempDir();
  const data = `${dir}/hippo`;
  await makePhantomDataset({ task: "hippocampus", n: 4, dir: data, size: 20 });
  const model = tinyUnetr(0);
  const weights = `${dir}/pre.safetensors`;
  await saveCheckpoint(weights, model, { metadata: { [MODEL_KEY]: JSON.stringify(model.config) } });
  return { dir, data, weights };
}

const exists = (p: string) => Deno.stat(p).then(() => true, () => false);

Deno.test("lorapt experiment: bad input exits 2 with one line naming the flag or value, and runs nothing", async () => {
  const { dir, data, weights } = await fixture();
  try {
    const out = `${dir}/out`;
    const base = ["experiment", "table2", "--data", data, "--pretrained", weights, "--out", out];
    const ok = [...base, "--methods", "full,lora-pt", "--train-sizes", "2", "--epochs", "1"];
    const cases: [string[], RegExp][] = [
      [["experiment", "--data", data], /^lorapt experiment: missing the experiment: lorapt experiment table1\|/],
      [["experiment", "table9", "--data", data], /^lorapt experiment: unknown experiment "table9" \(one of table1, /],
      [["experiment", "table2", "--pretrained", weights], /^lorapt experiment: missing --data$/],
      [
        ["experiment", "table2", "--data", "/no/such/dir", "--pretrained", weights, "--train-sizes", "2"],
        /^lorapt experiment: --data: folder \/no\/such\/dir does not exist$/,
      ],
      [[...base, "--methods", "full,magic"], /^lorapt experiment: --methods: unknown method "magic" \(known: full,/],
      [[...base, "--methods", "ssf:2"], /^lorapt experiment: --methods: ssf takes no rank, got "ssf:2"$/],
      [
        [...base, "--methods", "lora:4,full", "--ranks", "1,2"],
        /^lorapt experiment: --methods lora:4 and --ranks 1,2 both set lora's rank; give one of them$/,
      ],
      [[...base, "--methods", "full", "--ranks", "4"], /^lorapt experiment: --ranks 4: none of the methods \(full\)/],
      [
        [...base, "--train-sizes", "2,4,5"],
        /^lorapt experiment: --train-sizes 4,5: dataset hippo \(.*hippo\) has 4 labelled subjects; every training/,
      ],
      [
        ["experiment", "table2", "--data", `a=${data},a=${data}`, "--pretrained", weights],
        /^lorapt experiment: --data: dataset name "a" is given twice$/,
      ],
      [[...ok, "--seeds", "1,x"], /^lorapt experiment: --seeds: "x" is not an integer ≥ 0$/],
      [[...ok, "--shard", "3/2"], /^lorapt experiment: --shard 3\/2: I must be in 1\.\.2$/],
      [[...ok, "--shard", "1-2"], /^lorapt experiment: --shard "1-2" is not I\/N/],
      [[...ok, "--shard", "1/2", "--report-only"], /^lorapt experiment: --shard runs a slice .* --report-only takes/],
      [[...ok, "--dry-run", "--emit-slurm", `${dir}/x`], /^lorapt experiment: --dry-run and --emit-slurm exclude/],
      [[...ok, "--slurm-tasks", "2"], /^lorapt experiment: --slurm-tasks goes with --emit-slurm$/],
      [
        [...ok, "--emit-slurm", `${dir}/x.slurm`, "--slurm-tasks", "3"],
        /^lorapt experiment: --slurm-tasks "3" must be an integer in 1\.\.2$/,
      ],
      [[...ok, "--epochs", "0"], /^lorapt experiment: --epochs "0" must be an integer in 1\.\.∞$/],
      [[...ok, "--hd", "hd99"], /^lorapt experiment: --hd "hd99" is not one of hd95, hdmax$/],
      [[...ok, "--backend", "tpu"], /^lorapt experiment: --backend "tpu" is not one of auto, native, webgpu, cpu$/],
      [
        [...ok, "--pretrained", `${dir}/none.safetensors`],
        /^lorapt experiment: --pretrained: file .*none\.safetensors does not exist$/,
      ],
      [[...ok, "--lr", "fast"], /^lorapt experiment: --lr "fast" must be a number in 0\.\.∞$/],
      [[...ok, "--epoch", "3"], /^lorapt experiment: unknown flag --epoch \(see lorapt experiment --help\)$/],
    ];
    for (const [args, pattern] of cases) {
      const r = await run(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.err}`);
      assert.equal(r.err.length, 1, `${args.join(" ")}: ${r.err}`);
      assert.match(r.err[0], pattern);
    }
    assert.equal(await exists(`${out}/results.jsonl`), false);
    assert.equal(await exists(`${dir}/x.slurm`), false);

    // A finished cell run with other settings: reusing its numbers would be wrong.
    await Deno.mkdir(out, { recursive: true });
    const line = {
      key: "table2/hippo/full/n2/seed1000",
      experiment: "table2",
      dataset: "hippo",
      method: "full",
      rank: null,
      trainSize: 2,
      seed: 1000,
      params: 1,
      dice: 0.5,
      hd95: 1,
      hdMax: 1,
      config: { epochs: 7 },
    };
    await Deno.writeTextFile(`${out}/results.jsonl`, JSON.stringify(line) + "\n");
    const r = await run([...ok, "--dry-run"]);
    assert.equal(r.code, 2);
    assert.match(
      r.err[0],
      /results\.jsonl: 1 finished cell\(s\) were run with other settings, e\.g\. table2\/hippo\/full/,
    );
    assert.match(r.err[0], /epochs: 7 → 1/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lorapt experiment --help: the experiments and every flag", async () => {
  const r = await run(["experiment", "--help"]);
  assert.equal(r.code, 0);
  for (const name of ["table1", "table2", "table3", "fig3", "--shard I/N", "--emit-slurm FILE", "--report-only"]) {
    assert.ok(r.out[0].includes(name), name);
  }
});

Deno.test("lorapt experiment --dry-run --shard i/n: the n shards list every cell of the grid once", async () => {
  const { dir, data, weights } = await fixture();
  try {
    const args = ["--experiment", "table1", "--data", data, "--pretrained", weights, "--out", `${dir}/out`];
    args.push("--train-sizes", "2", "--dry-run", "--quiet");
    const whole = await experiment(args);
    assert.equal(whole.grid.length, 30); // 5 ranked methods × 6 ranks
    assert.deepEqual(whole.selected, whole.grid.map((c) => c.key));
    const seen: string[] = [];
    for (let i = 1; i <= 4; i++) {
      const part = await experiment([...args, "--shard", `${i}/4`]);
      assert.deepEqual(part.selected, whole.grid.filter((c) => c.index % 4 === i - 1).map((c) => c.key));
      seen.push(...part.selected);
    }
    assert.deepEqual(seen.sort(), whole.grid.map((c) => c.key).sort());
    assert.equal(await exists(`${dir}/out`), false, "a dry run writes nothing");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Splits a shell command line of plain, single-quoted and double-quoted words. */
function shellWords(line: string): string[] {
  const words: string[] = [];
  for (const m of line.matchAll(/'((?:[^']|'\\'')*)'|"([^"]*)"|(\S+)/g)) {
    words.push(m[1] !== undefined ? m[1].replaceAll(`'\\''`, "'") : m[2] ?? m[3]);
  }
  return words;
}

Deno.test("lorapt experiment --emit-slurm: a job array whose task t runs shard t/n of the same grid", async () => {
  const { dir, data, weights } = await fixture();
  try {
    const out = `${dir}/out`, script = `${dir}/table2.slurm`;
    const r = await run([
      ...["experiment", "table2", "--data", `hippo=${data}`, "--pretrained", weights, "--out", out],
      ...["--train-sizes", "1,2", "--seeds", "1,2", "--epochs", "3", "--lr", "3e-2", "--no-flip"],
      ...["--emit-slurm", script, "--slurm-tasks", "5", "--quiet"],
    ]);
    assert.equal(r.code, 0, r.err.join("\n"));
    const text = await Deno.readTextFile(script);
    const lines = text.split("\n");
    assert.equal(lines[0], "#!/bin/bash");
    assert.ok(lines.includes("#SBATCH --array=1-5"));
    assert.ok(lines.includes("#SBATCH --job-name=lorapt-table2"));
    assert.ok(lines.includes("#SBATCH --gres=gpu:1"));
    assert.ok(lines.includes(`#SBATCH --output=${out}/slurm/%x-%A_%a.out`));
    assert.ok(await exists(`${out}/slurm`), "the log folder exists before the jobs start");
    assert.equal(await exists(`${out}/results.jsonl`), false, "nothing ran");
    // Every #SBATCH line comes before the first command, or SLURM ignores it.
    const firstCommand = lines.findIndex((l) => l !== "" && !l.startsWith("#"));
    assert.ok(lines.every((l, i) => !l.startsWith("#SBATCH") || i < firstCommand));
    const exec = lines.find((l) => l.startsWith("exec "))!;
    assert.ok(exec.endsWith(`--shard "\${SLURM_ARRAY_TASK_ID}/5"`), exec);
    const words = shellWords(exec);
    assert.deepEqual(words.slice(1, 4), ["deno", "run", "-A"]);
    assert.ok(words[4].endsWith("/cli/main.ts") && words[4].startsWith("/"));
    const args = words.slice(5, -2);
    assert.deepEqual(args.slice(0, 2), ["experiment", "table2"]);
    for (const f of ["--emit-slurm", "--slurm-tasks", "--quiet", "--dry-run"]) assert.ok(!args.includes(f), f);
    for (const f of ["--train-sizes", "--seeds", "--epochs", "--lr", "--no-flip"]) assert.ok(args.includes(f), f);
    assert.equal(args[args.indexOf("--data") + 1], `hippo=${data}`);

    // The task's command line, run as task 2 of 5, selects exactly shard 2/5 of the grid.
    const grid = expandGrid("table2", ["hippo"], gridAxes("table2", { trainSizes: "1,2", seeds: "1,2" }));
    const argv = ["--experiment", ...args.slice(1), "--shard", "2/5", "--dry-run", "--quiet"];
    const task = await experiment(argv);
    assert.equal(task.grid.length, 2 * 8 * 2);
    assert.deepEqual(task.selected, shardCells(grid, { index: 2, count: 5 }).map((c) => c.key));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "lorapt experiment table2 on phantoms: results.jsonl and table.md; a rerun does nothing; a cut line reruns",
  sanitizeResources: false,
  fn: async () => {
    const { dir, data, weights } = await fixture();
    try {
      const out = `${dir}/out`;
      const args = ["table2", "--data", data, "--pretrained", weights, "--out", out, "--methods", "full,lora-pt"];
      args.push("--train-sizes", "2", "--epochs", "1", "--batch-size", "1", "--ensemble", "1", "--min-mm3", "0");
      args.push("--checkpoint-every", "0", "--backend", "cpu", "--quiet");
      const first = await run(["experiment", ...args]);
      assert.equal(first.code, 0, first.err.join("\n"));
      const text = await Deno.readTextFile(`${out}/results.jsonl`);
      const lines = text.trimEnd().split("\n");
      assert.equal(lines.length, 2);
      const recs = lines.map((l) => JSON.parse(l));
      assert.deepEqual(recs.map((x) => x.key), [
        "table2/hippo/full/n2/seed1000",
        "table2/hippo/lora-pt-r1/n2/seed1000",
      ]);
      for (const x of recs) {
        assert.ok(x.dice >= 0 && x.dice <= 1, `dice ${x.dice}`);
        assert.equal(x.nTest, 2);
        assert.equal(x.config.epochs, 1);
        assert.equal(x.backend, "cpu");
        assert.ok(await exists(`${out}/runs/${x.key}/split.json`));
        assert.ok(await exists(`${out}/runs/${x.key}/pred/metrics.csv`));
      }
      assert.ok(recs[0].params > recs[1].params, "full trains more than LoRA-PT");
      assert.equal(recs[0].params, recs[0].totalParams);
      const table = await Deno.readTextFile(`${out}/table.md`);
      assert.match(table, /^## Table 2: 2 training subjects$/m);
      assert.match(table, /^\| Method \| Params \(M\) \| hippo Dice ↑ \| hippo HD95 ↓ \|$/m);
      assert.match(table, /^\| Full tuning \| \d\.\d{4} \| /m);
      assert.match(table, /^\| LoRA-PT \(r=1\) \| \d\.\d{4} \| /m);
      assert.match(table, /2 of 2 cells done/);

      const again = await experiment(["--experiment", ...args]);
      assert.deepEqual(again.ran, []);
      assert.deepEqual(again.skipped, recs.map((x) => x.key));
      assert.equal(await Deno.readTextFile(`${out}/results.jsonl`), text, "a rerun appends nothing");
      assert.equal(await Deno.readTextFile(`${out}/table.md`), table);

      // A kill while the second line was being written: its cell runs again (resuming its finished training).
      await Deno.writeTextFile(`${out}/results.jsonl`, text.slice(0, lines[0].length + 1 + 40));
      const rerun = await experiment(["--experiment", ...args]);
      assert.deepEqual(rerun.ran, [recs[1].key]);
      const after = (await Deno.readTextFile(`${out}/results.jsonl`)).trimEnd().split("\n");
      assert.equal(after.length, 3);
      assert.equal(after[0], lines[0]);
      assert.equal(after[1], lines[1].slice(0, 40), "the fragment stays on its own line");
      const redone = JSON.parse(after[2]);
      assert.equal(redone.key, recs[1].key);
      for (const m of ["dice", "hd95", "hdMax", "params"]) assert.equal(redone[m], recs[1][m], m);
      assert.deepEqual((await experiment(["--experiment", ...args])).ran, []);

      const report = await run(["experiment", "table2", "--out", out, "--report-only", "--quiet"]);
      assert.equal(report.code, 0, report.err.join("\n"));
      assert.match(await Deno.readTextFile(`${out}/table.md`), /^\| LoRA-PT \(r=1\) \| /m);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

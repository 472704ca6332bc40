/**
 * Makes the pre-trained weights this repository ships in `weights/`: writes a
 * tumour phantom dataset, runs `lorapt pretrain` on it, and copies the run's
 * `model_last.safetensors` to `weights/<model>-tumour-phantoms.safetensors`
 * together with `<model>-tumour-phantoms.json` (the command line, the
 * pre-training flags, the final loss, wall time, versions and the git commit
 * the weights were made at).
 *
 * ```sh
 * deno run -A tools/pretrain_weights.ts --model unetr-tiny --subjects 16 --epochs 40
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { makePhantomDataset } from "../data/mod.ts";
import { PRETRAIN, runPretrain } from "../cli/train_cmd.ts";
import { parseFlags } from "../cli/args.ts";
import { runVersions } from "../train/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    model: { type: "string", default: "unetr-tiny" },
    subjects: { type: "string", default: "16" },
    epochs: { type: "string", default: "40" },
    size: { type: "string" },
    seed: { type: "string", default: "2024" },
    lr: { type: "string", default: "3e-3" },
    "batch-size": { type: "string", default: "2" },
    backend: { type: "string", default: "auto" },
    work: { type: "string", default: "runs/weights" },
    out: { type: "string", default: "weights" },
  },
});
const model = values.model!;
const imgSize = model === "unetr-tiny" ? 32 : model === "unetr-small" ? 64 : 0;
if (!imgSize) throw new Error(`--model ${model}: weights are made for unetr-tiny and unetr-small only`);
const size = Number(values.size ?? Math.round(imgSize * 1.25));
const n = Number(values.subjects), seed = Number(values.seed);
const work = `${values.work}/${model}`;
await Deno.remove(work, { recursive: true }).catch(() => {});
console.log(`phantoms: ${n} tumour scans at ${size}³ → ${work}/data`);
await makePhantomDataset({
  task: "tumour",
  n,
  dir: `${work}/data`,
  size,
  seed,
  layout: "authors",
  nTrain: n,
  nValid: 0,
});
const args = [
  ...["--data", `${work}/data`, "--model", model, "--epochs", values.epochs!, "--out", `${work}/run`],
  ...["--loss", "dice-ce", "--lr", values.lr!, "--batch-size", values["batch-size"]!, "--seed", String(seed)],
  ...["--checkpoint-every", "5", "--ensemble", "1", "--val-every", "0", "--backend", values.backend!],
];
const flags = parseFlags(PRETRAIN, args);
if (!flags) Deno.exit(0);
const t0 = performance.now();
const res = await runPretrain(flags);
const seconds = (performance.now() - t0) / 1000;
const name = `${model}-tumour-phantoms`;
await Deno.mkdir(values.out!, { recursive: true });
await Deno.copyFile(`${res.runDir}/model_last.safetensors`, `${values.out}/${name}.safetensors`);
const git = new Deno.Command("git", { args: ["rev-parse", "--short", "HEAD"], stdout: "piped", stderr: "null" });
const commit = new TextDecoder().decode((await git.output()).stdout).trim();
const record = {
  weights: `${name}.safetensors`,
  made_by: `deno run -A tools/pretrain_weights.ts ${Deno.args.join(" ")}`.trim(),
  pretrain_args: ["lorapt", "pretrain", ...args],
  phantoms: { task: "tumour", subjects: n, size, seed },
  loss_first: res.result.losses[0],
  loss_last: res.result.losses.at(-1),
  seconds: Math.round(seconds),
  commit,
  versions: runVersions(),
};
await Deno.writeTextFile(`${values.out}/${name}.json`, JSON.stringify(record, null, 2) + "\n");
console.log(
  `wrote ${values.out}/${name}.safetensors (loss ${record.loss_first} → ${record.loss_last}, ${record.seconds} s)`,
);

/**
 * `lorapt experiment table1|table2|table3|fig3`: runs the grid of one of the
 * paper's experiments (§5, Tables 2–3 and Fig. 3), one `finetune()` →
 * `predict()` of the test subjects → `evaluate()` per cell (the library
 * calls of train/, as `lorapt finetune`, `predict` and `eval` run them), each in its own run folder
 * `<out>/runs/<key>/`, and appends every finished cell to
 * `<out>/results.jsonl`. A rerun skips the cells found there, so a killed
 * run, or a grid split with `--shard i/n` over many processes sharing the
 * folder, fills one file. `table.md` (and for Fig. 3 `fig3.svg`) is rewritten
 * from the file after every run; `--emit-slurm FILE` writes a job array that
 * runs the shards on a cluster. The grid and the file are train/experiment.ts,
 * the tables and the figure train/experiment_report.ts.
 * @module
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  aggregateMetrics,
  loadDataset,
  parseLabelMap,
  readNifti,
  type SubjectMetrics,
  writeNifti,
} from "../data/mod.ts";
import { BACKEND_CHOICES, getBackend, useBackend } from "../tensor/mod.ts";
import {
  appendResult,
  configDifferences,
  type CropSamplingRequest,
  evaluate,
  expandGrid,
  EXPERIMENT_PRESETS,
  type ExperimentCell,
  type ExperimentName,
  EXPERIMENTS,
  fig3Svg,
  finetune,
  formatDuration,
  type GridAxes,
  gridAxes,
  GridError,
  InputError,
  inputErrors,
  niftiScan,
  parseShard,
  predict,
  RANKED_METHODS,
  readResults,
  type ResultRecord,
  resultsTable,
  runVersions,
  type Shard,
  shardCells,
  type TrainConfig,
} from "../train/mod.ts";
import {
  asUserError,
  choice,
  type CommandSpec,
  existingDir,
  existingFile,
  flag,
  type FlagSpec,
  type FlagValues,
  need,
  num,
  str,
  UsageError,
} from "./args.ts";
import { cropSamplingFlags, FINETUNE, sharedTrainConfig } from "./train_cmd.ts";
import { PREDICT } from "./predict_cmd.ts";
import { writeMetrics } from "./eval_cmd.ts";
import { libraryCall, MODEL_NAMES } from "./model_io.ts";

const s = (help: string, value: string, def?: string): FlagSpec => ({ type: "string", help, value, default: def });
const b = (help: string): FlagSpec => ({ type: "boolean", help });

/** Finetune flags every cell takes as given (their help is finetune's). */
const CELL_TRAIN_FLAGS = [
  "model",
  "epochs",
  "batch-size",
  "lr",
  "weight-decay",
  "optimizer",
  "no-amsgrad",
  "schedule",
  "loss",
  "checkpoint-every",
  "ensemble",
  "no-flip",
  "no-intensity",
  "label-map",
  "frozen-dropout",
  "backend",
  "force",
  "pos-fraction",
  "roi",
  "roi-margin",
] as const;
/** Predict flags every cell takes. */
const CELL_PREDICT_FLAGS = ["min-mm3", "overlap", "no-second-softmax"] as const;

const pick = (from: Record<string, FlagSpec>, names: readonly string[]) =>
  Object.fromEntries(names.map((n) => [n, from[n]]));

const presetLine = (name: ExperimentName) => {
  const p = EXPERIMENT_PRESETS[name];
  const methods = p.methods.length === RANKED_METHODS.length ? "the ranked methods" : "all 8 methods";
  const ranks = p.ranks ? `at ranks ${p.ranks.join(",")}` : "at the paper's ranks";
  return `  ${name}: ${methods} ${ranks}, train sizes ${p.trainSizes.join(",")} (paper: ${p.paperDatasets.join(", ")})`;
};

/** `lorapt experiment`. */
export const EXPERIMENT: CommandSpec = {
  name: "experiment",
  summary: "run the grid of Table 1, 2, 3 or Fig. 3 (resumable, shardable); write table.md and fig3.svg",
  description: [
    "The first argument names the experiment (lorapt experiment table2 --data DIR --pretrained FILE …).",
    "Each cell (dataset, method, rank, train size, seed) fine-tunes, predicts its test subjects and scores",
    "them in --out/runs/KEY/, then appends one line to --out/results.jsonl. Cells already there are",
    "skipped, so rerunning resumes; --shard i/n runs the cells with index ≡ i-1 (mod n), for array jobs.",
    "table.md (and fig3.svg) is rewritten from results.jsonl at the end of every run. Grids:",
    ...EXPERIMENTS.map((e, i) => presetLine(e) + (i === EXPERIMENTS.length - 1 ? "." : ";")),
  ].join("\n"),
  flags: {
    experiment: s(`${EXPERIMENTS.join(" | ")} (or the first argument)`, "NAME"),
    data: s("dataset folder, or NAME=DIR,NAME=DIR,… (names head the table's columns)", "DIR"),
    pretrained: FINETUNE.flags.pretrained,
    out: s("output folder: results.jsonl, table.md, fig3.svg, runs/ (default: runs/EXPERIMENT)", "DIR"),
    methods: s("comma-separated NAME or NAME:RANK (default: the experiment's)", "LIST"),
    ranks: s("ranks every ranked method runs at (default: table1 1,2,4,8,16,32; else the paper's)", "LIST"),
    "train-sizes": s(
      "training subjects per cell, drawn by seed; the rest are test (default: the experiment's)",
      "LIST",
    ),
    seeds: s("seeds; each draws its own split, initialisation and augmentation", "LIST", "1000"),
    shard: s("run only shard I of N: the cells whose grid index is ≡ I-1 (mod N)", "I/N"),
    "emit-slurm": s("write a SLURM job-array script running the shards to FILE, and run nothing", "FILE"),
    "slurm-tasks": s("array tasks of --emit-slurm (default: one per cell, at most 1000)", "N"),
    "report-only": b("run nothing: rewrite table.md (and fig3.svg) from results.jsonl"),
    "dry-run": b("list the cells of this shard, done or not, and run nothing"),
    hd: s(
      "distance in the tables: hd95 (paper's definition) | hdmax (what the authors' script printed)",
      "NAME",
      "hd95",
    ),
    "fail-fast": b("stop at the first failing cell (default: run the others, exit 1 at the end)"),
    quiet: b("print nothing but errors"),
    ...pick(FINETUNE.flags, CELL_TRAIN_FLAGS),
    ...pick(PREDICT.flags, CELL_PREDICT_FLAGS),
  },
};

/** What {@link runExperiment} did. */
export interface ExperimentRunResult {
  /** The output folder. */
  out: string;
  /** Every cell of the grid. */
  grid: ExperimentCell[];
  /** Keys of the cells this invocation is responsible for (its shard, or the whole grid). */
  selected: string[];
  /** Keys of the cells run now. */
  ran: string[];
  /** Keys of this shard's cells found done. */
  skipped: string[];
  /** Cells that failed, with the error. */
  failed: { key: string; error: string }[];
  /** Files written (table.md, fig3.svg, the SLURM script). */
  written: string[];
}

/** A dataset of the grid. */
interface DatasetArg {
  name: string;
  dir: string;
}

/**
 * `--data`: `DIR` (named by its last path part) or `NAME=DIR` items,
 * comma-separated.
 */
function parseDatasets(text: string): DatasetArg[] {
  const items = text.split(",").map((x) => x.trim()).filter(Boolean);
  if (items.length === 0) throw new UsageError("--data: no dataset given");
  return items.map((item) => {
    const eq = item.indexOf("=");
    const dir = (eq >= 0 ? item.slice(eq + 1) : item).replace(/\/+$/, "") || "/";
    const name = eq >= 0 ? item.slice(0, eq) : dir.replace(/^.*\//, "");
    return { name, dir };
  });
}

/** A GridError is the user's mistake: exit 2. */
function gridCheck<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof GridError) throw new UsageError(e.message);
    throw e;
  }
}

/** Checks the forwarded flags up front (a typo must not fail every cell) and returns the settings they fix. */
function checkSettings(v: FlagValues): Record<string, unknown> {
  return {
    model: str(v, "model") === undefined ? null : choice(v, "model", MODEL_NAMES), // null: the weights' own
    epochs: num(v, "epochs", { min: 1, integer: true }),
    batchSize: num(v, "batch-size", { min: 1, integer: true }),
    lr: num(v, "lr", { min: 0 }),
    weightDecay: num(v, "weight-decay", { min: 0 }),
    optimizer: choice(v, "optimizer", ["adam", "adamw"] as const),
    amsgrad: !flag(v, "no-amsgrad"),
    schedule: choice(v, "schedule", ["poly-epoch", "poly-iteration", "constant"] as const),
    loss: choice(v, "loss", ["dice", "dice-ce"] as const),
    ensemble: num(v, "ensemble", { min: 1, integer: true }),
    flip: !flag(v, "no-flip"),
    intensity: !flag(v, "no-intensity"),
    labelMap: str(v, "label-map") ?? null,
    frozenDropout: choice(v, "frozen-dropout", ["train", "off"] as const),
    minMm3: num(v, "min-mm3", { min: 0 }),
    overlap: num(v, "overlap", { min: 0, max: 0.99 }),
    secondSoftmax: !flag(v, "no-second-softmax"),
    ...cropSettings(v),
  };
}

/** The training settings every cell shares (its seed is its own), from the finetune flags. */
function cellTrainConfig(v: FlagValues): Partial<TrainConfig> {
  return { ...sharedTrainConfig(v), frozenDropout: choice(v, "frozen-dropout", ["train", "off"] as const) };
}

/**
 * `--pos-fraction`, `--roi`, `--roi-margin` as given, for the cells' records
 * (each cell resolves `auto` for its crop and labels).
 */
function cropSettings(v: FlagValues): Record<string, unknown> {
  const c = cropSamplingFlags(v);
  return { posFraction: need(v, "pos-fraction"), roi: str(v, "roi") ?? null, roiMargin: c.roiMargin };
}

const quote = (x: string) => (/^[A-Za-z0-9_./=,:@%+-]+$/.test(x) ? x : `'${x.replace(/'/g, `'\\''`)}'`);

/** Options of {@link slurmScript}. */
export interface SlurmScriptOptions {
  /** Experiment name (job name). */
  experiment: string;
  /** Cells in the grid. */
  cells: number;
  /** Array tasks (shards). */
  tasks: number;
  /** The `lorapt` command line without `--shard`, e.g. `["deno", "run", "-A", "/x/cli/main.ts", "experiment", …]`. */
  command: readonly string[];
  /** Folder the jobs start in. */
  cwd: string;
  /** The output folder (logs go to `<out>/slurm/`). */
  out: string;
}

/**
 * A SLURM job-array script: task t of `tasks` runs `command --shard t/tasks`.
 * Site-specific lines (partition, time, memory) are left commented out.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { slurmScript } from "./experiment_cmd.ts";
 * const text = slurmScript({ experiment: "table2", cells: 24, tasks: 8, cwd: "/w", out: "/w/runs/t2",
 *   command: ["deno", "run", "-A", "/w/cli/main.ts", "experiment", "table2"] });
 * assert.match(text, /^#SBATCH --array=1-8$/m);
 * assert.match(text, /experiment table2 --shard "\$\{SLURM_ARRAY_TASK_ID\}\/8"$/m);
 * ```
 */
export function slurmScript(o: SlurmScriptOptions): string {
  const cmd = o.command.map(quote).join(" ");
  return [
    "#!/bin/bash",
    `# lorapt experiment ${o.experiment}: ${o.cells} cells in ${o.tasks} array tasks; task t runs the cells whose`,
    `# 0-based grid index i has i mod ${o.tasks} = t - 1. Every task appends its finished cells to`,
    `# ${o.out}/results.jsonl and skips those already there, so a failed or timed-out task`,
    `# can be resubmitted as is (sbatch --array=T this-file). Edit the commented site lines, then: sbatch this-file.`,
    `# When every task is done, rebuild the tables from the whole file with:`,
    `#   ${cmd} --report-only`,
    `#SBATCH --job-name=lorapt-${o.experiment}`,
    `#SBATCH --array=1-${o.tasks}`,
    "#SBATCH --ntasks=1",
    "#SBATCH --cpus-per-task=4",
    "#SBATCH --gres=gpu:1",
    `#SBATCH --output=${o.out}/slurm/%x-%A_%a.out`,
    "##SBATCH --partition=gpu",
    "##SBATCH --time=24:00:00",
    "##SBATCH --mem=64G",
    "set -euo pipefail",
    `cd ${quote(o.cwd)}`,
    `exec ${cmd} --shard "\${SLURM_ARRAY_TASK_ID}/${o.tasks}"`,
    "",
  ].join("\n");
}

/** How this module's `main.ts` is started again (a file path when local, else its URL). */
function entryPoint(): string {
  const url = new URL("./main.ts", import.meta.url);
  return url.protocol === "file:" ? fileURLToPath(url) : url.href;
}

/** Flags about one invocation, not the grid (and `--quiet`: a job's log should show progress); not in the script. */
const INVOCATION_FLAGS = new Set([
  "experiment",
  "emit-slurm",
  "slurm-tasks",
  "shard",
  "dry-run",
  "report-only",
  "quiet",
]);

/** The `lorapt experiment` command line of `v` for every array task: paths made absolute, defaults left out. */
function taskCommand(v: FlagValues, name: string, datasets: DatasetArg[], pretrained: string, out: string): string[] {
  const args = ["experiment", name, "--data", datasets.map((d) => `${d.name}=${resolve(d.dir)}`).join(",")];
  args.push("--pretrained", resolve(pretrained), "--out", resolve(out));
  for (const [n, f] of Object.entries(EXPERIMENT.flags)) {
    if (INVOCATION_FLAGS.has(n) || ["data", "pretrained", "out"].includes(n)) continue;
    const x = v[n];
    if (x === true) args.push(`--${n}`);
    else if (typeof x === "string" && x !== f.default) args.push(`--${n}`, x);
  }
  return ["deno", "run", "-A", entryPoint(), ...args];
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${Deno.pid}`;
  await Deno.writeTextFile(tmp, text);
  await Deno.rename(tmp, path);
}

/** Writes table.md (and fig3.svg for fig3) from `records`; returns the paths. */
async function writeReports(
  out: string,
  name: ExperimentName,
  records: ResultRecord[],
  o: { hd: "hd95" | "hdMax"; datasets?: string[]; axes?: GridAxes; expected?: number },
): Promise<string[]> {
  await Deno.mkdir(out, { recursive: true });
  const order = o.axes ? { datasets: o.datasets, methods: o.axes.methods, trainSizes: o.axes.trainSizes } : undefined;
  const table = `${out}/table.md`;
  await writeAtomic(table, resultsTable(records, { experiment: name, hd: o.hd, order, expected: o.expected }));
  if (name !== "fig3") return [table];
  const svg = `${out}/fig3.svg`;
  await writeAtomic(svg, fig3Svg(records, { hd: o.hd, methods: o.axes?.methods, datasets: o.datasets }));
  return [table, svg];
}

const removeIfThere = (path: string) =>
  Deno.remove(path, { recursive: true }).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });

const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);

function hostInfo(): { host?: string; slurm?: string } {
  const out: { host?: string; slurm?: string } = {};
  try {
    out.host = Deno.hostname();
    const job = Deno.env.get("SLURM_ARRAY_JOB_ID") ?? Deno.env.get("SLURM_JOB_ID");
    if (job) out.slurm = [job, Deno.env.get("SLURM_ARRAY_TASK_ID")].filter(Boolean).join("_");
  } catch {
    // no --allow-sys / --allow-env: leave them out
  }
  return out;
}

/** Everything a cell needs besides its own coordinates. */
interface CellContext {
  out: string;
  datasets: Map<string, DatasetArg>;
  pretrained: string;
  /** `--model`, or undefined: the weights' own. */
  model: string | undefined;
  /** `--force`: train past the memory estimate. */
  force: boolean;
  train: Partial<TrainConfig>;
  /** The crops' sampling as asked (`--pos-fraction`, `--roi`, `--roi-margin`); each cell's run resolves it. */
  crops: CropSamplingRequest;
  labelMap: Record<number, number> | undefined;
  predict: { minMm3: number; overlap: number; secondSoftmax: boolean };
  configs: Map<string, Record<string, unknown>>;
  quiet: boolean;
}

/** Fine-tunes, predicts the test subjects and scores one cell; returns its results line. */
async function runCell(cell: ExperimentCell, ctx: CellContext): Promise<ResultRecord> {
  const t0 = performance.now();
  const runDir = `${ctx.out}/runs/${cell.key}`;
  const ds = ctx.datasets.get(cell.dataset)!;
  // resume: a cell killed mid-training continues from its resume.safetensors (same settings, same numbers).
  const ft = await libraryCall(() =>
    finetune({
      data: ds.dir,
      pretrained: ctx.pretrained,
      out: runDir,
      method: cell.method,
      ...(cell.rank === null ? {} : { rank: cell.rank }),
      trainSize: cell.trainSize,
      model: ctx.model,
      force: ctx.force,
      labelMap: ctx.labelMap,
      ...ctx.crops,
      config: { ...ctx.train, seed: cell.seed },
      resume: true,
      progress: ctx.quiet ? false : {},
      log: ctx.quiet ? undefined : (line) => console.error(line),
    })
  );
  // The test subjects' label maps go to <run>/pred/ (as lorapt predict writes them), then are scored.
  const pred = `${runDir}/pred`;
  await removeIfThere(pred);
  await Deno.mkdir(pred, { recursive: true });
  const dataset = await libraryCall(() => inputErrors("data", ds.dir, () => loadDataset(ds.dir)));
  const test = new Set(ft.split.test);
  const subjects = dataset.subjects.filter((x) => test.has(x.id));
  const byId = new Map(subjects.map((x) => [x.id, x]));
  const rows: SubjectMetrics[] = [];
  await libraryCall(() =>
    predict(runDir, subjects.map((x) => niftiScan(x.imagePath, x.id)), {
      ...ctx.predict,
      onScan: async (r) => {
        const path = `${pred}/${r.id}.nii.gz`;
        await writeNifti(path, r.labels, { reference: r.reference, description: `lorapt predict ${runDir}` });
        const truthPath = byId.get(r.id)!.labelPath;
        if (!truthPath) throw new InputError("data", ` ${ds.dir}: test subject ${r.id} has no label`);
        const truth = await inputErrors("data", truthPath, () => readNifti(truthPath));
        rows.push(evaluate(r.labels, truth, { id: r.id, labelMap: ctx.labelMap, names: [path, truthPath] }));
      },
    })
  );
  rows.sort((a, b) => (a.id ?? "").localeCompare(b.id ?? "", "en", { numeric: true }));
  const sm = aggregateMetrics(rows);
  await writeMetrics(rows, sm, {
    csv: `${pred}/metrics.csv`,
    summaryPath: `${pred}/summary.json`,
    pred,
    truth: ds.dir,
  });
  return {
    key: cell.key,
    experiment: cell.experiment,
    dataset: cell.dataset,
    method: cell.method,
    rank: cell.rank,
    trainSize: cell.trainSize,
    seed: cell.seed,
    params: ft.report.trainable,
    totalParams: ft.report.total,
    nTest: sm.n,
    missed: sm.missed,
    dice: finite(sm.mean.dice),
    diceSd: finite(sm.std.dice),
    hd95: finite(sm.mean.hd95),
    hd95Sd: finite(sm.std.hd95),
    hdMax: finite(sm.mean.hdMax),
    hdMaxSd: finite(sm.std.hdMax),
    assd: finite(sm.mean.assd),
    assdSd: finite(sm.std.assd),
    seconds: Math.round((performance.now() - t0) / 10) / 100,
    finished: new Date().toISOString(),
    runDir,
    config: ctx.configs.get(cell.dataset)!,
    versions: { ...runVersions() },
    backend: getBackend().name,
    ...hostInfo(),
  };
}

const cellLabel = (c: ExperimentCell) =>
  `${c.dataset} · ${c.method}${c.rank === null ? "" : ` r=${c.rank}`} · n=${c.trainSize} · seed ${c.seed}`;

/** Runs `lorapt experiment` with parsed flags. */
export async function runExperiment(v: FlagValues): Promise<ExperimentRunResult> {
  const nameText = str(v, "experiment");
  if (!nameText) {
    throw new UsageError(`missing the experiment: lorapt experiment ${EXPERIMENTS.join("|")} --data DIR …`);
  }
  if (!(EXPERIMENTS as readonly string[]).includes(nameText)) {
    throw new UsageError(`unknown experiment "${nameText}" (one of ${EXPERIMENTS.join(", ")})`);
  }
  const name = nameText as ExperimentName;
  const quiet = flag(v, "quiet");
  const say = (m: string) => quiet || console.log(m);
  const out = (str(v, "out") ?? `runs/${name}`).replace(/\/+$/, "");
  const results = `${out}/results.jsonl`;
  const hd = choice(v, "hd", ["hd95", "hdmax"] as const) === "hdmax" ? "hdMax" : "hd95";
  const reportOnly = flag(v, "report-only"), dryRun = flag(v, "dry-run"), slurmPath = str(v, "emit-slurm");
  const modes = [reportOnly && "--report-only", dryRun && "--dry-run", slurmPath && "--emit-slurm"].filter(Boolean);
  if (modes.length > 1) throw new UsageError(`${modes.join(" and ")} exclude each other`);
  if (str(v, "shard") && (reportOnly || slurmPath)) {
    throw new UsageError(
      `--shard runs a slice of the grid; ${reportOnly ? "--report-only" : "--emit-slurm"} takes the whole`,
    );
  }
  if (str(v, "slurm-tasks") && !slurmPath) throw new UsageError("--slurm-tasks goes with --emit-slurm");
  const shard: Shard | null = str(v, "shard") ? gridCheck(() => parseShard(need(v, "shard"))) : null;
  const axes = gridCheck(() =>
    gridAxes(name, {
      methods: str(v, "methods"),
      ranks: str(v, "ranks"),
      trainSizes: str(v, "train-sizes"),
      seeds: str(v, "seeds"),
    })
  );
  const settings = checkSettings(v);
  const backend = choice(v, "backend", BACKEND_CHOICES); // not a setting: results agree
  const base = { out, grid: [] as ExperimentCell[], selected: [], ran: [], skipped: [], failed: [] };

  if (reportOnly && !str(v, "data")) {
    // No grid given: the table holds every record of this experiment in the file.
    const parsed = await readResults(results);
    if (parsed.records.size === 0 && parsed.badLines.length === 0) {
      throw new UsageError(`--report-only: ${results} holds no results`);
    }
    const records = [...parsed.records.values()].filter((r) => r.experiment === name);
    const written = await writeReports(out, name, records, { hd });
    say(`${name}: ${records.length} results from ${results} → ${written.join(", ")}`);
    return { ...base, written };
  }

  const datasets = parseDatasets(need(v, "data"));
  const grid = gridCheck(() => expandGrid(name, datasets.map((d) => d.name), axes));
  const names = datasets.map((d) => d.name);
  const parsed = await readResults(results);
  const keys = new Set(grid.map((c) => c.key));
  const inGrid = (r: ResultRecord) => keys.has(r.key);
  if (reportOnly) {
    const records = [...parsed.records.values()].filter(inGrid);
    const written = await writeReports(out, name, records, { hd, datasets: names, axes, expected: grid.length });
    say(`${name}: ${records.length} of ${grid.length} cells in ${results} → ${written.join(", ")}`);
    return { ...base, grid, written };
  }

  // Everything the cells need is checked before the first one runs.
  const pretrained = await existingFile(need(v, "pretrained"), "pretrained");
  if (!/\.(safetensors|pth|pt)$/.test(pretrained)) {
    throw new UsageError(`--pretrained ${pretrained}: expected a .safetensors or .pth file`);
  }
  const configs = new Map<string, Record<string, unknown>>();
  for (const d of datasets) {
    await existingDir(d.dir, "data");
    const ds = await asUserError(`--data ${d.dir}`, () => loadDataset(d.dir));
    const labelled = ds.subjects.filter((x) => x.labelPath).length;
    const tooBig = axes.trainSizes.filter((n) => n >= labelled);
    if (tooBig.length) {
      throw new UsageError(
        `--train-sizes ${tooBig.join(",")}: dataset ${d.name} (${d.dir}) has ${labelled} labelled subjects; ` +
          `every training size must leave at least one test subject`,
      );
    }
    configs.set(d.name, { data: resolve(d.dir), pretrained: resolve(pretrained), ...settings });
  }
  for (const line of parsed.badLines) {
    say(`${results}: line ${line} is not a whole record (a killed run?); its cell runs again`);
  }
  for (const key of parsed.duplicates) say(`${results}: ${key} appears more than once; the first line counts`);
  const mismatched = grid.flatMap((c) => {
    const r = parsed.records.get(c.key);
    const diff = r ? configDifferences(r.config ?? {}, configs.get(c.dataset)!) : [];
    return diff.length ? [{ key: c.key, diff }] : [];
  });
  if (mismatched.length) {
    throw new UsageError(
      `${results}: ${mismatched.length} finished cell(s) were run with other settings, e.g. ${mismatched[0].key} ` +
        `(${mismatched[0].diff.join("; ")}); use another --out, or the settings they were run with`,
    );
  }

  if (slurmPath) {
    const tasks = str(v, "slurm-tasks")
      ? num(v, "slurm-tasks", { min: 1, max: grid.length, integer: true })
      : Math.min(grid.length, 1000);
    const abs = resolve(out);
    await Deno.mkdir(`${abs}/slurm`, { recursive: true });
    const text = slurmScript({
      experiment: name,
      cells: grid.length,
      tasks,
      command: taskCommand(v, name, datasets, pretrained, out),
      cwd: Deno.cwd(),
      out: abs,
    });
    await Deno.writeTextFile(slurmPath, text, { mode: 0o755 });
    say(`${name}: ${grid.length} cells in ${tasks} array tasks → ${slurmPath} (submit with: sbatch ${slurmPath})`);
    return { ...base, grid, selected: grid.map((c) => c.key), written: [slurmPath] };
  }

  const mine = shard ? shardCells(grid, shard) : grid;
  const todo = mine.filter((c) => !parsed.records.has(c.key));
  const skipped = mine.filter((c) => parsed.records.has(c.key)).map((c) => c.key);
  const size = `${names.length} dataset(s) × ${axes.trainSizes.length} train size(s) × ` +
    `${axes.methods.length} method/rank(s) × ${axes.seeds.length} seed(s)`;
  say(
    `${name}: ${grid.length} cells (${size})` + (shard ? `; shard ${shard.index}/${shard.count}: ${mine.length}` : "") +
      `; ${skipped.length} done, ${todo.length} to run → ${out}/`,
  );
  if (dryRun) {
    for (const c of mine) say(`  ${parsed.records.has(c.key) ? "done" : "todo"}  ${c.key}`);
    return { ...base, grid, selected: mine.map((c) => c.key), skipped, written: [] };
  }

  await Deno.mkdir(out, { recursive: true });
  await useBackend(backend);
  const ctx: CellContext = {
    out,
    datasets: new Map(datasets.map((d) => [d.name, d])),
    pretrained,
    model: str(v, "model") === undefined ? undefined : choice(v, "model", MODEL_NAMES),
    force: flag(v, "force"),
    train: cellTrainConfig(v),
    crops: cropSamplingFlags(v),
    labelMap: str(v, "label-map") ? parseLabelMap(need(v, "label-map")) : undefined,
    predict: {
      minMm3: num(v, "min-mm3", { min: 0 }),
      overlap: num(v, "overlap", { min: 0, max: 0.99 }),
      secondSoftmax: !flag(v, "no-second-softmax"),
    },
    configs,
    quiet,
  };
  const ran: string[] = [], failed: { key: string; error: string }[] = [];
  for (const [i, cell] of todo.entries()) {
    say(`\n[${i + 1}/${todo.length}] ${cellLabel(cell)} → ${out}/runs/${cell.key}/`);
    let record: ResultRecord;
    try {
      record = await runCell(cell, ctx);
    } catch (e) {
      if (flag(v, "fail-fast")) throw e;
      const error = (e as Error)?.message ?? String(e);
      failed.push({ key: cell.key, error });
      console.error(`lorapt experiment: cell ${cell.key} failed: ${error}`);
      continue;
    }
    await appendResult(results, record);
    ran.push(cell.key);
    const hdValue = record[hd];
    say(
      `[${i + 1}/${todo.length}] Dice ${record.dice === null ? "–" : (record.dice * 100).toFixed(2)}, ` +
        `${hd === "hd95" ? "HD95" : "HDmax"} ${hdValue === null ? "–" : `${hdValue.toFixed(3)} mm`}, ` +
        `${record.params.toLocaleString("en")} trainable, ${formatDuration(record.seconds)}`,
    );
  }
  const now = await readResults(results);
  const records = [...now.records.values()].filter(inGrid);
  const written = await writeReports(out, name, records, { hd, datasets: names, axes, expected: grid.length });
  say(`\n${name}: ${records.length} of ${grid.length} cells done → ${written.join(", ")}`);
  if (failed.length) {
    throw new Error(
      `${failed.length} of ${todo.length} cells failed (they run again next time): ` +
        failed.map((f) => `${f.key}: ${f.error}`).join("; "),
    );
  }
  return { out, grid, selected: mine.map((c) => c.key), ran, skipped, failed, written };
}

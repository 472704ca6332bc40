/**
 * The paper's experiments as grids (paper §5, Tables 1–3, Fig. 3): which
 * methods, ranks, training sizes, datasets and seeds Table 1, Table 2,
 * Table 3 and Fig. 3 need; one key per cell; a shared, append-only
 * `results.jsonl` that makes a grid resumable and lets many processes (a
 * SLURM job array) fill it. The tables and the Fig. 3 plot drawn from it are
 * in `experiment_report.ts`. No training happens here: `lorapt experiment`
 * (cli/experiment_cmd.ts) runs the cells.
 *
 * A cell is (experiment, dataset, method, rank, training size, seed); its key
 * is `table2/eadc/lora-r32/n5/seed1000` (no `-r` part for the methods without a
 * rank). Cells are ordered dataset, training size, method (with rank), seed;
 * `--shard i/n` takes the cells whose 0-based index is ≡ i − 1 (mod n), so
 * each shard gets a mix of cheap and costly cells and the n shards cover the
 * grid exactly once whatever has already run.
 * @module
 */
import { METHOD_LABELS, PAPER_RANKS, PEFT_METHODS, RANKED_METHODS } from "../peft/mod.ts";
import { METHODS } from "./methods.ts";

/** The experiments of the paper that `lorapt experiment` reproduces. */
export const EXPERIMENTS = ["table1", "table2", "table3", "fig3"] as const;
/** One of {@link EXPERIMENTS}. */
export type ExperimentName = typeof EXPERIMENTS[number];

// The method lists come from peft/'s one method table (peft/methods.ts).
export { METHOD_LABELS, PAPER_RANKS, RANKED_METHODS };
const isRanked = (name: string) => (RANKED_METHODS as readonly string[]).includes(name);

/** What an experiment runs unless flags override it. */
export interface ExperimentPreset {
  /** What the paper calls it (`"Table 2"`), the start of its table's title. */
  title: string;
  /** Methods in the paper's row order; `rank` null takes {@link PAPER_RANKS} (or the rank sweep). */
  methods: readonly string[];
  /** Ranks every ranked method sweeps (Table 1), or null: each at its {@link PAPER_RANKS} value. */
  ranks: readonly number[] | null;
  /** Training sizes (subjects drawn by seed; all others are test, paper §5.2). */
  trainSizes: readonly number[];
  /** The datasets the paper used, for the help text; the grid takes those given with `--data`. */
  paperDatasets: readonly string[];
  /** `"rank"`: one column per rank (Table 1); `"method"`: Dice and HD columns per dataset (Tables 2–3). */
  layout: "rank" | "method";
}

/** The eight methods of the paper's Tables 2–3 and Fig. 3. */
const ALL_METHODS: readonly string[] = PEFT_METHODS;

/**
 * The grid of each experiment (paper §5, Tables 1–3, Fig. 3). Fig. 3's
 * training sizes are not given in the paper (its text places a crossover at
 * about 20 subjects); 5, 10, 20 and 40 are this library's choice.
 */
export const EXPERIMENT_PRESETS: Readonly<Record<ExperimentName, ExperimentPreset>> = Object.freeze({
  table1: {
    title: "Table 1",
    methods: RANKED_METHODS,
    ranks: [1, 2, 4, 8, 16, 32],
    trainSizes: [5],
    paperDatasets: ["EADC-ADNI"],
    layout: "rank",
  },
  table2: {
    title: "Table 2",
    methods: ALL_METHODS,
    ranks: null,
    trainSizes: [5],
    paperDatasets: ["EADC-ADNI", "LPBA40", "HFH"],
    layout: "method",
  },
  table3: {
    title: "Table 3",
    methods: ALL_METHODS,
    ranks: null,
    trainSizes: [10],
    paperDatasets: ["EADC-ADNI", "LPBA40", "HFH"],
    layout: "method",
  },
  fig3: {
    title: "Fig. 3",
    methods: ALL_METHODS,
    ranks: null,
    trainSizes: [5, 10, 20, 40],
    paperDatasets: ["EADC-ADNI"],
    layout: "method",
  },
});

/** A grid that cannot be built: the message names the flag and the bad value. */
export class GridError extends Error {
  /** An error whose message is shown as is. */
  constructor(message: string) {
    super(message);
    this.name = "GridError";
  }
}

/** A method at one rank (null for the methods without one). */
export interface MethodRank {
  /** Method name, one of `METHODS`. */
  method: string;
  /** Rank, or null for full, linear-probe, decoder and SSF. */
  rank: number | null;
}

/**
 * A comma-separated list of distinct integers ≥ `min`, as `--name` gave it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseIntList } from "./experiment.ts";
 * assert.deepEqual(parseIntList("5, 10", "train-sizes", 1), [5, 10]);
 * assert.throws(() => parseIntList("5,x", "train-sizes", 1), /--train-sizes: "x" is not an integer ≥ 1/);
 * ```
 */
export function parseIntList(text: string, name: string, min: number): number[] {
  const items = text.split(",").map((s) => s.trim());
  if (items.every((s) => s === "")) throw new GridError(`--${name}: the list is empty`);
  const out: number[] = [];
  for (const s of items) {
    const x = Number(s);
    if (s === "" || !Number.isInteger(x) || x < min) {
      throw new GridError(`--${name}: "${s}" is not an integer ≥ ${min}`);
    }
    if (out.includes(x)) throw new GridError(`--${name}: ${x} is listed twice`);
    out.push(x);
  }
  return out;
}

/** Axes of a grid before the datasets are known, as flags give them (absent: the experiment's preset). */
export interface GridAxesOptions {
  /** `--methods`: `name` or `name:rank` items. */
  methods?: string;
  /** `--ranks`: ranks every ranked method runs at (overrides the preset's). */
  ranks?: string;
  /** `--train-sizes`. */
  trainSizes?: string;
  /** `--seeds` (default `1000`, the authors' seed). */
  seeds?: string;
}

/** The method, training-size and seed axes of a grid. */
export interface GridAxes {
  /** Methods with their ranks, in row order. */
  methods: MethodRank[];
  /** Training sizes. */
  trainSizes: number[];
  /** Seeds (each draws its own split, initialisation and augmentation). */
  seeds: number[];
}

/**
 * The method, training-size and seed axes of `experiment`, with flag
 * overrides. A ranked method runs at every rank of `--ranks` (or of the
 * preset's sweep, Table 1), else at `name:rank` when given, else at its
 * {@link PAPER_RANKS} value. Unknown methods, ranks on a method without one,
 * a `name:rank` together with `--ranks`, and `--ranks` for methods that take
 * none are {@link GridError}s.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gridAxes } from "./experiment.ts";
 * const t1 = gridAxes("table1");
 * assert.equal(t1.methods.length, 5 * 6);
 * assert.deepEqual(gridAxes("table2", { methods: "full,lora-pt" }).methods, [
 *   { method: "full", rank: null },
 *   { method: "lora-pt", rank: 1 },
 * ]);
 * assert.throws(() => gridAxes("table2", { methods: "lora-pt,magic" }), /--methods: unknown method "magic"/);
 * ```
 */
export function gridAxes(experiment: ExperimentName, o: GridAxesOptions = {}): GridAxes {
  const preset = EXPERIMENT_PRESETS[experiment];
  if (!preset) throw new GridError(`unknown experiment "${experiment}" (one of ${EXPERIMENTS.join(", ")})`);
  const items = o.methods === undefined ? [...preset.methods] : o.methods.split(",").map((s) => s.trim());
  if (items.every((s) => s === "")) throw new GridError("--methods: the list is empty");
  const sweep = o.ranks !== undefined ? parseIntList(o.ranks, "ranks", 1) : preset.ranks;
  const methods: MethodRank[] = [];
  const seen = new Set<string>();
  for (const item of items) {
    const [name, rankText, ...extra] = item.split(":");
    if (!name || extra.length) throw new GridError(`--methods: "${item}" is not NAME or NAME:RANK`);
    if (!METHODS.includes(name)) {
      throw new GridError(`--methods: unknown method "${name}" (known: ${METHODS.join(", ")})`);
    }
    if (seen.has(name)) throw new GridError(`--methods: ${name} is listed twice`);
    seen.add(name);
    const ranked = isRanked(name);
    if (rankText !== undefined) {
      if (!ranked) throw new GridError(`--methods: ${name} takes no rank, got "${item}"`);
      if (o.ranks !== undefined) {
        throw new GridError(`--methods ${item} and --ranks ${o.ranks} both set ${name}'s rank; give one of them`);
      }
      const r = Number(rankText);
      if (!Number.isInteger(r) || r < 1) throw new GridError(`--methods: rank "${rankText}" of ${name} is not ≥ 1`);
      methods.push({ method: name, rank: r });
    } else if (!ranked) methods.push({ method: name, rank: null });
    else if (sweep) { for (const r of sweep) methods.push({ method: name, rank: r }); }
    else methods.push({ method: name, rank: PAPER_RANKS[name] });
  }
  if (o.ranks !== undefined && !methods.some((m) => isRanked(m.method))) {
    throw new GridError(
      `--ranks ${o.ranks}: none of the methods (${[...seen].join(", ")}) takes a rank ` +
        `(those that do: ${RANKED_METHODS.join(", ")})`,
    );
  }
  const trainSizes = o.trainSizes !== undefined ? parseIntList(o.trainSizes, "train-sizes", 1) : [...preset.trainSizes];
  const seeds = o.seeds !== undefined ? parseIntList(o.seeds, "seeds", 0) : [1000];
  return { methods, trainSizes, seeds };
}

/** One cell of a grid: one fine-tuning run, scored on its test subjects. */
export interface ExperimentCell {
  /** Deterministic key, see {@link cellKey}. */
  key: string;
  /** 0-based position in the grid (what `--shard` partitions). */
  index: number;
  /** Experiment name. */
  experiment: string;
  /** Dataset name. */
  dataset: string;
  /** Method. */
  method: string;
  /** Rank, or null. */
  rank: number | null;
  /** Training subjects drawn by `seed`. */
  trainSize: number;
  /** Seed of split, initialisation, data order, augmentation and dropout. */
  seed: number;
}

/**
 * The key of a cell: `experiment/dataset/method[-rRANK]/nSIZE/seedSEED`.
 * It names the cell in `results.jsonl` and is its run folder under `--out/runs/`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cellKey } from "./experiment.ts";
 * assert.equal(cellKey({ experiment: "table2", dataset: "eadc", method: "lora", rank: 32, trainSize: 5, seed: 1000 }),
 *   "table2/eadc/lora-r32/n5/seed1000");
 * assert.equal(cellKey({ experiment: "table2", dataset: "eadc", method: "full", rank: null, trainSize: 5, seed: 1 }),
 *   "table2/eadc/full/n5/seed1");
 * ```
 */
export function cellKey(c: Omit<ExperimentCell, "key" | "index">): string {
  const m = c.rank === null ? c.method : `${c.method}-r${c.rank}`;
  return `${c.experiment}/${c.dataset}/${m}/n${c.trainSize}/seed${c.seed}`;
}

/** Dataset names become table headings and folder names: letters, digits, `.`, `_`, `-`. */
export const DATASET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Every cell of `experiment` over `datasets` × training sizes × methods ×
 * seeds, in that nesting order (the last varies fastest).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { expandGrid, gridAxes } from "./experiment.ts";
 * const cells = expandGrid("table2", ["eadc", "lpba40", "hfh"], gridAxes("table2", { seeds: "1,2" }));
 * assert.equal(cells.length, 3 * 8 * 2);
 * assert.equal(cells[1].key, "table2/eadc/full/n5/seed2");
 * ```
 */
export function expandGrid(experiment: string, datasets: readonly string[], axes: GridAxes): ExperimentCell[] {
  if (datasets.length === 0) throw new GridError("--data: no dataset given");
  const bad = datasets.find((d) => !DATASET_NAME.test(d));
  if (bad !== undefined) throw new GridError(`--data: dataset name "${bad}" may hold only letters, digits, ., _ and -`);
  const dup = datasets.find((d, i) => datasets.indexOf(d) !== i);
  if (dup !== undefined) throw new GridError(`--data: dataset name "${dup}" is given twice`);
  const cells: ExperimentCell[] = [];
  for (const dataset of datasets) {
    for (const trainSize of axes.trainSizes) {
      for (const { method, rank } of axes.methods) {
        for (const seed of axes.seeds) {
          const c = { experiment, dataset, method, rank, trainSize, seed };
          cells.push({ key: cellKey(c), index: cells.length, ...c });
        }
      }
    }
  }
  return cells;
}

/** A slice of a grid: shard `index` of `count` (1-based). */
export interface Shard {
  /** 1 ≤ index ≤ count. */
  index: number;
  /** Number of shards. */
  count: number;
}

/**
 * Parses `--shard i/n` (1 ≤ i ≤ n).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseShard } from "./experiment.ts";
 * assert.deepEqual(parseShard("2/4"), { index: 2, count: 4 });
 * assert.throws(() => parseShard("5/4"), /--shard 5\/4: I must be in 1\.\.4/);
 * ```
 */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new GridError(`--shard "${text}" is not I/N (e.g. 2/8)`);
  const index = Number(m[1]), count = Number(m[2]);
  if (count < 1) throw new GridError(`--shard ${text}: N must be at least 1`);
  if (index < 1 || index > count) throw new GridError(`--shard ${text}: I must be in 1..${count}`);
  return { index, count };
}

/**
 * The cells of shard `s`: those whose grid index is ≡ index − 1 (mod count).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { expandGrid, gridAxes, shardCells } from "./experiment.ts";
 * const cells = expandGrid("table2", ["eadc"], gridAxes("table2"));
 * assert.deepEqual(shardCells(cells, { index: 2, count: 3 }).map((c) => c.index), [1, 4, 7]);
 * ```
 */
export function shardCells<T extends { index: number }>(cells: readonly T[], s: Shard): T[] {
  return cells.filter((c) => c.index % s.count === s.index - 1);
}

/** One finished cell: a line of `results.jsonl`. Means are over the run's test subjects. */
export interface ResultRecord {
  /** {@link cellKey}. */
  key: string;
  /** Experiment name. */
  experiment: string;
  /** Dataset name. */
  dataset: string;
  /** Method. */
  method: string;
  /** Rank, or null. */
  rank: number | null;
  /** Training subjects. */
  trainSize: number;
  /** Seed. */
  seed: number;
  /** Trainable parameters. */
  params: number;
  /** All parameters of the (adapted) model. */
  totalParams: number;
  /** Test subjects scored. */
  nTest: number;
  /** Test subjects with an empty prediction or truth (Dice 0, left out of the distance means). */
  missed: number;
  /** Mean Dice in [0, 1] (null: no subject). */
  dice: number | null;
  /** Sample SD of Dice over the test subjects. */
  diceSd: number | null;
  /** Mean HD95 in mm, the paper's definition (95th percentile of surface distances, paper §4.2). */
  hd95: number | null;
  /** Sample SD of HD95. */
  hd95Sd: number | null;
  /** Mean maximum Hausdorff distance in mm: what the authors' script prints as "HD95" (its `evaluation/hd95.py`). */
  hdMax: number | null;
  /** Sample SD of HDmax. */
  hdMaxSd: number | null;
  /** Mean average symmetric surface distance in mm. */
  assd: number | null;
  /** Sample SD of ASSD. */
  assdSd: number | null;
  /** Wall time of fine-tuning, prediction and scoring, seconds. */
  seconds: number;
  /** When the cell finished (ISO 8601). */
  finished: string;
  /** The cell's run folder. */
  runDir: string;
  /** Everything besides the key that decides the numbers (data, weights, schedule, …). */
  config: Record<string, unknown>;
  /** Package and runtime versions. */
  versions: Record<string, string>;
  /** Backend the cell ran on. */
  backend: string;
  /** Host name and SLURM job/task, where known. */
  host?: string;
  /** `SLURM_ARRAY_JOB_ID_SLURM_ARRAY_TASK_ID` when run by a job array. */
  slurm?: string;
}

/** What {@link parseResults} found. */
export interface ParsedResults {
  /** Records by key; the first line of a key wins. */
  records: Map<string, ResultRecord>;
  /** 1-based numbers of lines that are not a whole record (a run killed mid-write): their cells run again. */
  badLines: number[];
  /** Keys that appear on more than one line (kept: the first). */
  duplicates: string[];
}

const isNum = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x);
const isNumOrNull = (x: unknown) => x === null || isNum(x);

function isRecord(x: unknown): x is ResultRecord {
  if (typeof x !== "object" || x === null) return false;
  const r = x as Record<string, unknown>;
  return typeof r.key === "string" && typeof r.experiment === "string" && typeof r.dataset === "string" &&
    typeof r.method === "string" && (r.rank === null || isNum(r.rank)) && isNum(r.trainSize) && isNum(r.seed) &&
    isNum(r.params) && isNumOrNull(r.dice) && isNumOrNull(r.hd95) && isNumOrNull(r.hdMax);
}

/**
 * Reads the text of a `results.jsonl`. Blank lines are skipped; a line that
 * is not a whole record (the tail a killed process left) is listed in
 * `badLines` and ignored, so its cell counts as not done.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseResults } from "./experiment.ts";
 * const r = parseResults('{"key":"table2/a/full/n5/seed1","exp\n');
 * assert.equal(r.records.size, 0);
 * assert.deepEqual(r.badLines, [1]);
 * ```
 */
export function parseResults(text: string): ParsedResults {
  const records = new Map<string, ResultRecord>();
  const badLines: number[] = [], duplicates: string[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    let x: unknown;
    try {
      x = JSON.parse(line);
    } catch {
      badLines.push(i + 1);
      return;
    }
    if (!isRecord(x)) {
      badLines.push(i + 1);
      return;
    }
    if (records.has(x.key)) duplicates.push(x.key);
    else records.set(x.key, x);
  });
  return { records, badLines, duplicates };
}

/** {@link parseResults} of the file at `path`; a missing file has no records. */
export async function readResults(path: string): Promise<ParsedResults> {
  try {
    return parseResults(await Deno.readTextFile(path));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return parseResults("");
    throw e;
  }
}

/**
 * Appends `record` to the JSONL file at `path` as one `write` of one line on
 * a descriptor opened with O_APPEND, so processes sharing the file (shards of
 * a job array) never interleave within a line on a local or POSIX file
 * system (NFS gives no such promise for O_APPEND). When the file ends in a
 * partial line (a writer was killed), a newline goes first so this record
 * stays whole.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { appendResult, readResults, type ResultRecord } from "./experiment.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, '{"key":"cut');
 * const record = { key: "table2/a/full/n5/seed1", experiment: "table2", dataset: "a", method: "full", rank: null,
 *   trainSize: 5, seed: 1, params: 10, dice: 0.5, hd95: 3, hdMax: 4 } as ResultRecord;
 * await appendResult(path, record);
 * const r = await readResults(path);
 * assert.deepEqual([r.records.size, r.badLines], [1, [1]]);
 * await Deno.remove(path);
 * ```
 */
export async function appendResult(path: string, record: ResultRecord): Promise<void> {
  const line = new TextEncoder().encode(JSON.stringify(record) + "\n");
  const file = await Deno.open(path, { read: true, append: true, create: true });
  try {
    const size = (await file.stat()).size;
    let bytes = line;
    if (size > 0) {
      const last = new Uint8Array(1);
      await file.seek(size - 1, Deno.SeekMode.Start);
      await file.read(last);
      if (last[0] !== 0x0a) {
        bytes = new Uint8Array(line.length + 1);
        bytes[0] = 0x0a;
        bytes.set(line, 1);
      }
    }
    let done = 0;
    while (done < bytes.length) done += await file.write(bytes.subarray(done));
  } finally {
    file.close();
  }
}

/**
 * The `config` entries whose values differ between a finished cell and the
 * run that meets it: a changed setting must not reuse old numbers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { configDifferences } from "./experiment.ts";
 * assert.deepEqual(configDifferences({ epochs: 1, lr: 0.1 }, { epochs: 2, lr: 0.1 }), ["epochs: 1 → 2"]);
 * ```
 */
export function configDifferences(done: Record<string, unknown>, now: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(done), ...Object.keys(now)])];
  return keys.filter((k) => JSON.stringify(done[k]) !== JSON.stringify(now[k]))
    .map((k) => `${k}: ${JSON.stringify(done[k]) ?? "absent"} → ${JSON.stringify(now[k]) ?? "absent"}`);
}

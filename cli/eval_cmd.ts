/**
 * `lorapt eval`: scores predicted label maps against the truth (the
 * paper's §4.2 metrics as the authors' evaluation/ scripts compute them) and writes a per-subject CSV and a summary:
 * Dice, HD95 (paper: 95th percentile), HDmax (the authors' script's
 * "HD95"), ASSD, and the subjects missed (empty prediction or truth).
 * @module
 */
import {
  aggregateMetrics,
  loadDataset,
  type MetricSummary,
  parseLabelMap,
  readNifti,
  type SubjectMetrics,
} from "../data/mod.ts";
import { writeFileAtomic } from "../models/io/mod.ts";
import { evaluate } from "../train/mod.ts";
import { libraryCall } from "./model_io.ts";
import {
  asUserError,
  type CommandSpec,
  existingDir,
  flag,
  type FlagValues,
  need,
  num,
  str,
  UsageError,
  userValue,
} from "./args.ts";

/** `lorapt eval`. */
export const EVAL: CommandSpec = {
  name: "eval",
  summary: "score predicted label maps: per-subject CSV and summary (Dice, HD95, HDmax, ASSD, missed)",
  description: "--pred holds <id>.nii.gz files; --truth is a dataset folder (labels by subject id) or a\n" +
    "folder of <id>.nii.gz label maps. Distances use the truth's voxel spacing, in mm.",
  flags: {
    pred: { type: "string", value: "DIR", help: "folder of predicted <id>.nii.gz" },
    truth: { type: "string", value: "DIR", help: "dataset folder or folder of <id>.nii.gz labels" },
    out: { type: "string", value: "FILE", help: "per-subject CSV (default: <pred>/metrics.csv)" },
    summary: { type: "string", value: "FILE", help: "summary JSON (default: <pred>/summary.json)" },
    "label-map": { type: "string", value: "MAP", help: 'merge truth label values, e.g. "37,38:1"' },
    "pred-label-map": {
      type: "string",
      value: "MAP",
      help: 'merge predicted label values, e.g. "1,2,4:1" (values outside {0, 1} are refused without it)',
    },
    "max-voxels": {
      type: "string",
      value: "N",
      help: "refuse label maps with more voxels than N, checked from the header before inflating",
      default: "268435456",
    },
    quiet: { type: "boolean", help: "print nothing but errors" },
  },
};

const NIFTI = /\.nii(\.gz)?$/;

async function truthPaths(dir: string): Promise<Map<string, string>> {
  const isDataset = await Deno.stat(`${dir}/dataset.json`).then(() => true, () => false) ||
    await (async () => {
      for await (const e of Deno.readDir(dir)) if (e.isDirectory) return true;
      return false;
    })();
  const out = new Map<string, string>();
  if (isDataset) {
    const ds = await asUserError(`--truth ${dir}`, () => loadDataset(dir));
    for (const s of ds.subjects) if (s.labelPath) out.set(s.id, s.labelPath);
  } else {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && NIFTI.test(e.name)) out.set(e.name.replace(NIFTI, ""), `${dir}/${e.name}`);
    }
  }
  return out;
}

/** What {@link runEval} computed and where it wrote it. */
export interface EvalResult {
  /** One row per subject. */
  rows: SubjectMetrics[];
  /** Means, standard deviations and missed subjects. */
  summary: MetricSummary;
  /** The CSV path. */
  csv: string;
  /** The summary JSON path. */
  summaryPath: string;
}

const fmt = (x: number, digits: number) => (Number.isFinite(x) ? x.toFixed(digits) : String(x));

/** The summary as a few lines for people (Dice ×100, distances in mm). */
export function formatSummary(s: MetricSummary): string {
  const pm = (m: "dice" | "hd95" | "hdMax" | "assd", scale: number, d: number) =>
    `${fmt(s.mean[m] * scale, d)} ± ${fmt(s.std[m] * scale, d)}`;
  return [
    `subjects ${s.n}, missed ${s.missed}${s.missed ? ` (${s.missedIds.join(", ")})` : ""}`,
    `Dice  ${pm("dice", 100, 2)} %`,
    `HD95  ${pm("hd95", 1, 3)} mm   (paper: 95th percentile)`,
    `HDmax ${pm("hdMax", 1, 3)} mm   (the authors' script's "HD95")`,
    `ASSD  ${pm("assd", 1, 3)} mm`,
  ].join("\n");
}

/** Checks, before any work, that `path` (given by `--name`) can be written: its folder exists, it is no folder. */
async function outputFile(path: string, name: string): Promise<string> {
  const st = await Deno.stat(path).catch(() => null);
  if (st?.isDirectory) throw new UsageError(`--${name} ${path} is a folder, not a file`);
  const parent = path.includes("/") ? path.replace(/\/[^/]*$/, "") || "/" : ".";
  const pst = await Deno.stat(parent).catch(() => null);
  if (!pst?.isDirectory) throw new UsageError(`--${name} ${path}: folder ${parent} does not exist`);
  return path;
}

/**
 * Writes the per-subject CSV (`id,dice,hd95,hd_max,assd`) and the summary
 * JSON (which names `pred` and `truth`), each atomically (temp file, then
 * rename): never half-written.
 */
export async function writeMetrics(
  rows: readonly SubjectMetrics[],
  summary: MetricSummary,
  o: { csv: string; summaryPath: string; pred: string; truth: string },
): Promise<void> {
  const lines = ["id,dice,hd95,hd_max,assd", ...rows.map((r) => [r.id, r.dice, r.hd95, r.hdMax, r.assd].join(","))];
  const text = (s: string) => new TextEncoder().encode(s);
  await writeFileAtomic(o.csv, text(lines.join("\n") + "\n"));
  await writeFileAtomic(
    o.summaryPath,
    text(JSON.stringify({ pred: o.pred, truth: o.truth, ...summary }, null, 2) + "\n"),
  );
}

/** Runs `lorapt eval` with parsed flags. */
export async function runEval(v: FlagValues): Promise<EvalResult> {
  const predDir = await existingDir(need(v, "pred"), "pred");
  const truthDir = await existingDir(need(v, "truth"), "truth");
  const labelMap = str(v, "label-map")
    ? userValue("--label-map", () => parseLabelMap(str(v, "label-map")!))
    : undefined;
  const predLabelMap = str(v, "pred-label-map")
    ? userValue("--pred-label-map", () => parseLabelMap(str(v, "pred-label-map")!))
    : undefined;
  const maxVoxels = num(v, "max-voxels", { min: 1, integer: true });
  const csv = await outputFile(str(v, "out") ?? `${predDir}/metrics.csv`, "out");
  const summaryPath = await outputFile(str(v, "summary") ?? `${predDir}/summary.json`, "summary");
  const preds: [string, string][] = [];
  for await (const e of Deno.readDir(predDir)) {
    if (e.isFile && NIFTI.test(e.name)) preds.push([e.name.replace(NIFTI, ""), `${predDir}/${e.name}`]);
  }
  if (preds.length === 0) throw new UsageError(`--pred ${predDir}: no .nii or .nii.gz files`);
  preds.sort((a, b) => a[0].localeCompare(b[0], "en", { numeric: true }));
  const truths = await truthPaths(truthDir);
  const rows: SubjectMetrics[] = [];
  for (const [id, predPath] of preds) {
    const truthPath = truths.get(id);
    if (!truthPath) throw new UsageError(`--truth ${truthDir}: no label for prediction ${predPath} (id "${id}")`);
    const pred = await asUserError(`--pred ${predPath}`, () => readNifti(predPath, { maxVoxels }));
    const truth = await asUserError(`--truth ${truthPath}`, () => readNifti(truthPath, { maxVoxels }));
    const names: [string, string] = [predPath, truthPath];
    rows.push(await libraryCall(() => evaluate(pred, truth, { id, labelMap, predLabelMap, names })));
  }
  const summary = aggregateMetrics(rows);
  await writeMetrics(rows, summary, { csv, summaryPath, pred: predDir, truth: truthDir });
  if (!flag(v, "quiet")) {
    console.log(formatSummary(summary));
    console.log(`per-subject: ${csv}\nsummary: ${summaryPath}`);
  }
  return { rows, summary, csv, summaryPath };
}

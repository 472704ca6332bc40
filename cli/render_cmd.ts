/**
 * `lorapt render`: Figure-2-style pictures of one case (the paper's §4.2
 * metrics in the titles): PNG slices through the
 * structure's centre, a 3-D surface rendering, and `report.html` with one row
 * per method and one column per case. Calling it once per case (and method)
 * with the same `--out` adds to the same report.
 * @module
 */
import { checkLabel, parseLabelMap, readNifti, type Volume } from "../data/mod.ts";
import { renderReport, type ReportEntry } from "../viz/report.ts";
import {
  asUserError,
  type CommandSpec,
  existingFile,
  flag,
  type FlagValues,
  need,
  num,
  str,
  UsageError,
  userValue,
} from "./args.ts";
import { type CommandIO, runCommand } from "./run.ts";

/** `lorapt render`. */
export const RENDER: CommandSpec = {
  name: "render",
  summary: "draw a case: PNG slices, a 3-D surface rendering, and report.html (one row per method)",
  description: "--pred is one label map, or several as METHOD=FILE,METHOD=FILE (one report row each).\n" +
    "Images go to <out>/<case>/<method>/; report.json in <out> collects every rendered case.",
  flags: {
    image: { type: "string", value: "FILE", help: "the MRI (.nii or .nii.gz)" },
    truth: { type: "string", value: "FILE", help: "ground-truth label map" },
    pred: { type: "string", value: "FILE", help: "predicted label map, or METHOD=FILE,METHOD=FILE" },
    out: { type: "string", value: "DIR", help: "report folder (created)" },
    case: { type: "string", value: "ID", help: "case name (default: the image file name)" },
    method: { type: "string", value: "NAME", help: "method name of a single --pred", default: "prediction" },
    "label-map": { type: "string", value: "MAP", help: 'merge truth label values, e.g. "37,38:1"' },
    "pixels-per-mm": { type: "string", value: "N", help: "slice resolution", default: "2" },
    size: { type: "string", value: "PX", help: "3-D panel size per view", default: "360" },
    smooth: { type: "string", value: "N", help: "Taubin smoothing iterations of the 3-D surfaces", default: "10" },
    title: { type: "string", value: "TEXT", help: "report heading", default: "Segmentation report" },
    embed: { type: "boolean", help: "embed the PNGs in report.html as data URLs" },
    quiet: { type: "boolean", help: "print nothing but errors" },
  },
};

const NIFTI = /\.nii(\.gz)?$/;

/** `--pred` as `[method, path]` pairs. */
export function parsePredictions(text: string, method: string): [string, string][] {
  if (!text.includes("=")) return [[method, text]];
  return text.split(",").map((part) => {
    const at = part.indexOf("=");
    const name = part.slice(0, at).trim(), path = part.slice(at + 1).trim();
    if (at <= 0 || !path) throw new UsageError(`--pred: "${part}" is not METHOD=FILE`);
    return [name, path];
  });
}

async function load(path: string, flagName: string): Promise<Volume> {
  await existingFile(path, flagName);
  return await asUserError(`--${flagName} ${path}`, () => readNifti(path));
}

function sameShape(a: Volume, b: Volume, what: string): void {
  if (a.shape.some((n, i) => n !== b.shape[i])) {
    throw new UsageError(`${what} shape [${b.shape}] differs from --truth shape [${a.shape}]`);
  }
}

/** Renders the case and returns the report's entries (all cases so far). */
export async function runRender(v: FlagValues): Promise<ReportEntry[]> {
  const imagePath = need(v, "image"), truthPath = need(v, "truth"), outDir = need(v, "out").replace(/\/+$/, "");
  const preds = parsePredictions(need(v, "pred"), need(v, "method"));
  const labelMap = str(v, "label-map")
    ? userValue("--label-map", () => parseLabelMap(str(v, "label-map")!))
    : undefined;
  const image = await load(imagePath, "image");
  const truth = checkLabelOrUsage(await load(truthPath, "truth"), truthPath, labelMap);
  sameShape(truth, image, "--image");
  const predictions = [];
  for (const [method, path] of preds) {
    const prediction = checkLabelOrUsage(await load(path, "pred"), path);
    sameShape(truth, prediction, `--pred ${path}`);
    predictions.push({ method, prediction });
  }
  const caseId = str(v, "case") ?? imagePath.replace(/^.*\//, "").replace(NIFTI, "");
  const entries = await renderReport(image, truth, predictions, {
    outDir,
    caseId,
    pixelsPerMm: num(v, "pixels-per-mm", { min: 0.1, max: 20 }),
    surfaceSize: num(v, "size", { min: 32, max: 2048, integer: true }),
    smooth: num(v, "smooth", { min: 0, max: 200, integer: true }),
    title: str(v, "title"),
    embed: flag(v, "embed"),
  });
  if (!flag(v, "quiet")) {
    for (const e of entries.filter((e) => e.caseId === caseId && preds.some(([m]) => m === e.method))) {
      const d = Number.isFinite(e.dice) ? (100 * e.dice).toFixed(2) : "n/a";
      const h = Number.isFinite(e.hd95) ? e.hd95.toFixed(2) : "n/a";
      console.log(`${e.caseId} ${e.method}: Dice ${d}, HD95 ${h} mm -> ${outDir}/${e.files.slices}`);
    }
    console.log(`wrote ${outDir}/report.html (${entries.length} entries)`);
  }
  return entries;
}

function checkLabelOrUsage(label: Volume, path: string, labelMap?: Record<number, number>): Volume<Uint8Array> {
  try {
    return checkLabel(label, path, { labelMap });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/**
 * Runs `lorapt render` with the command-line `args` (flags only, without the
 * command name) and returns the exit code: 0, 1 (internal error) or 2 (usage).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderCommand } from "./render_cmd.ts";
 * const errors: string[] = [];
 * assert.equal(await renderCommand(["--image", "/no/such.nii.gz"], { error: (m) => errors.push(m) }), 2);
 * assert.equal(errors[0], "lorapt render: missing --truth");
 * ```
 */
export function renderCommand(args: string[], io: CommandIO = {}): Promise<number> {
  return runCommand(RENDER, runRender, args, io);
}

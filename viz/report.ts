/**
 * The visual report of a run, like the paper's Figure 2: for every case and
 * method, PNG slices (axial, coronal, sagittal and the three side by side)
 * and a 3-D surface rendering, and one `report.html` with one row per method
 * and one column per case. Entries accumulate in `report.json` next to it, so
 * rendering cases one at a time (`lorapt render` per case and method) builds
 * up one page. Images are referenced relatively (`<case>/<method>/*.png`), or
 * embedded as data URLs with `embed: true` for a single-file page.
 * @module
 */
import { segmentationMetrics } from "../data/metrics.ts";
import type { Volume } from "../data/volume.ts";
import { OVERLAY_COLOURS } from "./legend.ts";
import { encodePng } from "./png.ts";
import { type OverlayInput, PLANES, renderSlice, renderSlices } from "./slices.ts";
import { renderSurfaceFigure } from "./surface_render.ts";

/** The figures and scores of one case under one method. */
export interface ReportEntry {
  /** Case (subject) identifier. */
  caseId: string;
  /** Method name, e.g. `"LoRA-PT"`. */
  method: string;
  /** Dice in [0, 1]. */
  dice: number;
  /** HD95 (paper: max of directed 95th percentiles), mm. */
  hd95: number;
  /** Maximum Hausdorff distance (the authors' script's "HD95"), mm. */
  hdMax: number;
  /** Image paths relative to the report folder. */
  files: { axial: string; coronal: string; sagittal: string; slices: string; surface: string };
}

/** Options of {@link renderCase}. */
export interface RenderCaseOptions {
  /** Report folder; images go to `<outDir>/<caseId>/<method>/`. */
  outDir: string;
  /** Case identifier (a column of the report). */
  caseId: string;
  /** Method name (a row of the report). */
  method: string;
  /** Slice pixels per mm (default 2). */
  pixelsPerMm?: number;
  /** 3-D panel size in pixels (default 360). */
  surfaceSize?: number;
  /** Taubin smoothing iterations of the 3-D surfaces (default 10). */
  smooth?: number;
}

/** A file- and folder-name-safe version of an identifier. */
export function safeName(name: string): string {
  const s = name.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^\.+/, "_");
  return s.length ? s : "_";
}

/**
 * Renders one case under one method into `outDir` and returns its report
 * entry (metrics from `segmentationMetrics` on the truth's spacing).
 */
export async function renderCase(input: OverlayInput, options: RenderCaseOptions): Promise<ReportEntry> {
  const { truth, prediction } = input;
  const m = segmentationMetrics(prediction.data, truth.data, truth.shape, truth.spacing);
  const folder = `${safeName(options.caseId)}/${safeName(options.method)}`;
  await Deno.mkdir(`${options.outDir}/${folder}`, { recursive: true });
  const title = `${options.caseId} · ${options.method}`;
  const common = { pixelsPerMm: options.pixelsPerMm, title, metrics: m };
  const write = async (name: string, raster: Parameters<typeof encodePng>[0]) => {
    await Deno.writeFile(`${options.outDir}/${folder}/${name}.png`, await encodePng(raster));
    return `${folder}/${name}.png`;
  };
  const files = {} as ReportEntry["files"];
  for (const plane of PLANES) files[plane] = await write(plane, renderSlice(input, plane, common).raster);
  files.slices = await write("slices", renderSlices(input, common));
  const surface = renderSurfaceFigure(truth, prediction, {
    size: options.surfaceSize,
    smooth: options.smooth,
    title,
    metrics: m,
  });
  files.surface = await write("surface", surface);
  return { caseId: options.caseId, method: options.method, dice: m.dice, hd95: m.hd95, hdMax: m.hdMax, files };
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
const num = (x: number, scale: number, digits: number) => (Number.isFinite(x) ? (x * scale).toFixed(digits) : "n/a");
const rgb = (c: readonly number[]) => `rgb(${c.join(",")})`;

/** Options of {@link reportHtml} and {@link writeReport}. */
export interface ReportOptions {
  /** Page heading (default "Segmentation report"). */
  title?: string;
  /** Embed the PNGs as data URLs (read from `outDir`) instead of linking them. */
  embed?: boolean;
}

/**
 * The report page: one row per method (first-seen order), one column per
 * case, each cell the three slices and the 3-D rendering with Dice and HD95;
 * the row header gives the method's mean Dice and HD95. `src` maps an image
 * path to what the page should load (the path itself, or a data URL).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { reportHtml } from "./report.ts";
 * const files = { axial: "a.png", coronal: "c.png", sagittal: "s.png", slices: "x.png", surface: "y.png" };
 * const html = reportHtml([{ caseId: "s01", method: "LoRA", dice: 0.8, hd95: 2, hdMax: 4, files }]);
 * assert.match(html, /<th[^>]*>s01<\/th>/);
 * assert.match(html, /Dice 80\.00/);
 * ```
 */
export function reportHtml(
  entries: readonly ReportEntry[],
  options: ReportOptions = {},
  src: (path: string) => string = (p) => p,
): string {
  const cases = [...new Set(entries.map((e) => e.caseId))];
  const methods = [...new Set(entries.map((e) => e.method))];
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const title = escapeHtml(options.title ?? "Segmentation report");
  const legend = ([["overlap", OVERLAY_COLOURS.overlap], ["FP: prediction only", OVERLAY_COLOURS.falsePositive], [
    "FN: truth only",
    OVERLAY_COLOURS.falseNegative,
  ]] as const).map(([t, c]) => `<span class="sw" style="background:${rgb(c)}"></span>${t}`).join(" ");
  const rows = methods.map((method) => {
    const mine = entries.filter((e) => e.method === method);
    const head = `<th class="method">${escapeHtml(method)}<div class="m">mean Dice ${
      num(mean(mine.map((e) => e.dice)), 100, 2)
    }<br>mean HD95 ${num(mean(mine.map((e) => e.hd95)), 1, 2)} mm</div></th>`;
    const cells = cases.map((c) => {
      const e = mine.find((x) => x.caseId === c);
      if (!e) return '<td class="empty">—</td>';
      const link = (k: keyof ReportEntry["files"]) => `<a href="${escapeHtml(src(e.files[k]))}">${k}</a>`;
      return `<td><img src="${escapeHtml(src(e.files.slices))}" alt="slices ${escapeHtml(c)} ${escapeHtml(method)}">` +
        `<img src="${escapeHtml(src(e.files.surface))}" alt="3-D ${escapeHtml(c)} ${escapeHtml(method)}">` +
        `<div class="m">Dice ${num(e.dice, 100, 2)} · HD95 ${num(e.hd95, 1, 2)} mm · HDmax ${num(e.hdMax, 1, 2)} mm · ${
          link("axial")
        } ${link("coronal")} ${link("sagittal")}</div></td>`;
    });
    return `<tr>${head}${cells.join("")}</tr>`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>
body{font:14px system-ui,sans-serif;background:#111;color:#eee;margin:16px}
table{border-collapse:collapse}td,th{border:1px solid #333;padding:6px;vertical-align:top}
th.method{text-align:left;white-space:nowrap}td img{display:block;max-width:100%;margin-bottom:4px}
.m{font-weight:normal;color:#bbb;font-size:12px}a{color:#8cf}
.sw{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:-1px}
</style></head><body>
<h1>${title}</h1>
<p>${legend}. Dice ×100; HD95 = max of the directed 95th-percentile surface distances (paper); HDmax = maximum
Hausdorff distance (the authors' script's "HD95"). Slices pass through the centre of the largest structure;
world right/anterior/superior point right/up.</p>
<table><tr><th></th>${cases.map((c) => `<th>${escapeHtml(c)}</th>`).join("")}</tr>
${rows.join("\n")}
</table></body></html>
`;
}

/** Writes `report.json` and `report.html` for `entries` into `outDir`; returns the HTML path. */
export async function writeReport(
  outDir: string,
  entries: readonly ReportEntry[],
  options: ReportOptions = {},
): Promise<string> {
  await Deno.mkdir(outDir, { recursive: true });
  await Deno.writeTextFile(`${outDir}/report.json`, JSON.stringify({ entries }, null, 2) + "\n");
  const urls = new Map<string, string>();
  if (options.embed) {
    for (const e of entries) {
      for (const path of Object.values(e.files)) {
        const bytes = await Deno.readFile(`${outDir}/${path}`);
        urls.set(path, `data:image/png;base64,${btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(""))}`);
      }
    }
  }
  const path = `${outDir}/report.html`;
  await Deno.writeTextFile(path, reportHtml(entries, options, (p) => urls.get(p) ?? p));
  return path;
}

/**
 * Merges `entries` into the report in `outDir` (an entry replaces one with the
 * same case and method; a missing `report.json` starts a new report, an
 * unreadable one is an error) and rewrites `report.html`. Returns all entries.
 */
export async function addToReport(
  outDir: string,
  entries: readonly ReportEntry[],
  options: ReportOptions = {},
): Promise<ReportEntry[]> {
  let old: ReportEntry[] = [];
  try {
    old = JSON.parse(await Deno.readTextFile(`${outDir}/report.json`)).entries ?? [];
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new Error(`addToReport: ${outDir}/report.json: ${(e as Error).message}`);
    }
  }
  const key = (e: ReportEntry) => `${e.caseId}\u0000${e.method}`;
  const fresh = new Set(entries.map(key));
  const all = [...old.filter((e) => !fresh.has(key(e))), ...entries];
  await writeReport(outDir, all, options);
  return all;
}

/** Renders several methods' predictions of one case and adds them to the report in `outDir`. */
export async function renderReport(
  image: Volume,
  truth: Volume,
  predictions: readonly { method: string; prediction: Volume }[],
  options: Omit<RenderCaseOptions, "method"> & ReportOptions,
): Promise<ReportEntry[]> {
  const entries: ReportEntry[] = [];
  for (const { method, prediction } of predictions) {
    entries.push(await renderCase({ image, truth, prediction }, { ...options, method }));
  }
  return await addToReport(options.outDir, entries, options);
}

/**
 * What `lorapt experiment` makes of its `results.jsonl`: per-cell means and
 * SDs over seeds, the paper-format markdown tables (Tables 1–3) and the
 * Fig. 3 SVG (paper §5). Pure functions of the records;
 * the grid and the file are in `experiment.ts`.
 * @module
 */
import { METHODS } from "./methods.ts";
import {
  EXPERIMENT_PRESETS,
  type ExperimentName,
  METHOD_LABELS,
  type MethodRank,
  type ResultRecord,
} from "./experiment.ts";

const isNum = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x);

/** A mean with its spread: over seeds when a cell has several, else over the test subjects of its one run. */
export interface MeanSd {
  /** Mean (NaN when nothing was measured). */
  mean: number;
  /** Sample standard deviation (NaN when undefined). */
  sd: number;
  /** What `sd` is over. */
  over: "seeds" | "subjects";
}

/** The results of one (dataset, training size, method, rank) over its seeds. */
export interface CellSummary extends MethodRank {
  /** Dataset name. */
  dataset: string;
  /** Training subjects. */
  trainSize: number;
  /** Seeds done. */
  seeds: number;
  /** Trainable parameters. */
  params: number;
  /** Dice in [0, 1]. */
  dice: MeanSd;
  /** HD95 (paper definition), mm. */
  hd95: MeanSd;
  /** Maximum Hausdorff distance (the authors' script's "HD95"), mm. */
  hdMax: MeanSd;
  /** Missed test subjects over all seeds. */
  missed: number;
}

function meanSd(records: readonly ResultRecord[], m: "dice" | "hd95" | "hdMax"): MeanSd {
  const xs = records.map((r) => r[m]).filter(isNum);
  if (records.length === 1) {
    const sd = records[0][`${m}Sd` as const];
    return { mean: xs[0] ?? NaN, sd: isNum(sd) ? sd : NaN, over: "subjects" };
  }
  const mean = xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : NaN;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1)) : NaN;
  return { mean, sd, over: "seeds" };
}

const methodOrder = (m: MethodRank) => METHODS.indexOf(m.method) * 1e6 + (m.rank ?? 0);

/**
 * Groups records by (dataset, training size, method, rank) and averages
 * them over seeds, in dataset, training size, method, rank order (datasets
 * in first-seen order, methods in the paper's).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { summarizeResults } from "./experiment_report.ts";
 * import type { ResultRecord } from "./experiment.ts";
 * const r = (seed: number, dice: number) => ({ key: `k${seed}`, experiment: "table2", dataset: "a",
 *   method: "full", rank: null, trainSize: 5, seed, params: 10, dice, hd95: 2, hdMax: 3 }) as ResultRecord;
 * const [s] = summarizeResults([r(1, 0.8), r(2, 0.84)]);
 * assert.equal(s.seeds, 2);
 * assert.ok(Math.abs(s.dice.mean - 0.82) < 1e-12);
 * ```
 */
export function summarizeResults(records: Iterable<ResultRecord>): CellSummary[] {
  const groups = new Map<string, ResultRecord[]>();
  const datasets: string[] = [];
  for (const r of records) {
    if (!datasets.includes(r.dataset)) datasets.push(r.dataset);
    const k = JSON.stringify([r.dataset, r.trainSize, r.method, r.rank]);
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const out: CellSummary[] = [];
  for (const rs of groups.values()) {
    const { dataset, trainSize, method, rank } = rs[0];
    out.push({
      dataset,
      trainSize,
      method,
      rank,
      seeds: rs.length,
      params: rs[0].params,
      dice: meanSd(rs, "dice"),
      hd95: meanSd(rs, "hd95"),
      hdMax: meanSd(rs, "hdMax"),
      missed: rs.reduce((s, r) => s + (r.missed ?? 0), 0),
    });
  }
  return out.sort((a, b) =>
    datasets.indexOf(a.dataset) - datasets.indexOf(b.dataset) || a.trainSize - b.trainSize ||
    methodOrder(a) - methodOrder(b)
  );
}

/** Options of {@link resultsTable}. */
export interface ResultsTableOptions {
  /** The experiment (its layout and title). */
  experiment: ExperimentName;
  /** Distance column: `"hd95"` (paper definition, default) or `"hdMax"` (what the authors' script printed). */
  hd?: "hd95" | "hdMax";
  /** Row, column and group order (default: as {@link summarizeResults} sorts). */
  order?: { datasets?: readonly string[]; methods?: readonly MethodRank[]; trainSizes?: readonly number[] };
  /** Cells in the grid, for the "k of N cells done" line. */
  expected?: number;
}

const DASH = "–";

/** `mean ± sd` with the mean in bold when `bold`; a dash for no value. */
function cellText(m: MeanSd | undefined, scale: number, digits: number, bold: boolean): string {
  if (!m || !Number.isFinite(m.mean)) return DASH;
  const mean = (m.mean * scale).toFixed(digits);
  const sd = Number.isFinite(m.sd) ? ` ± ${(m.sd * scale).toFixed(digits)}` : "";
  return (bold ? `**${mean}**` : mean) + sd;
}

/** The best displayed mean among `values` (max or min), compared as printed; NaN when fewer than two compete. */
function best(values: (MeanSd | undefined)[], scale: number, digits: number, dir: 1 | -1): number {
  const xs = values.filter((m) => m && Number.isFinite(m.mean)).map((m) => Number((m!.mean * scale).toFixed(digits)));
  return xs.length > 1 ? (dir === 1 ? Math.max(...xs) : Math.min(...xs)) : NaN;
}

const isBest = (m: MeanSd | undefined, scale: number, digits: number, b: number) =>
  !!m && Number.isFinite(m.mean) && Number((m.mean * scale).toFixed(digits)) === b;

const row = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;
const rule = (n: number) => `|---|${"---:|".repeat(n - 1)}`;
const methodLabel = (m: MethodRank, withRank: boolean) =>
  (METHOD_LABELS[m.method] ?? m.method) + (withRank && m.rank !== null ? ` (r=${m.rank})` : "");
const params = (n: number | undefined) => (n === undefined ? DASH : (n / 1e6).toFixed(4));

/**
 * The paper-format markdown of an experiment's results. Tables 2–3 and Fig. 3
 * (`"method"` layout): one row per method (with its rank), `Params (M)`,
 * then `Dice ↑` (%) and `HD95 ↓` (mm) for every dataset (and training size),
 * best of each column in bold (where two or more compete). Table 1 (`"rank"` layout): per dataset and
 * training size, a Dice table with one column per rank (best of each row in
 * bold, as the paper), then the same for HD95 and for the parameter counts.
 * Each value is `mean ± sd`, see {@link MeanSd}; a cell not run yet is `–`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resultsTable } from "./experiment_report.ts";
 * import type { ResultRecord } from "./experiment.ts";
 * const rec = (method: string, rank: number | null, params: number, dice: number, hd95: number) =>
 *   ({ key: method, experiment: "table2", dataset: "eadc", method, rank, trainSize: 5, seed: 1000, params,
 *     dice, diceSd: 0.02, hd95, hd95Sd: 1, hdMax: 6 }) as ResultRecord;
 * const md = resultsTable([rec("full", null, 93_011_170, 0.8379, 5.839), rec("lora-pt", 1, 2_844_488, 0.8447, 5.311)], {
 *   experiment: "table2",
 * });
 * assert.ok(md.includes("| Full tuning | 93.0112 | 83.79 ± 2.00 | 5.839 ± 1.000 |"));
 * assert.ok(md.includes("| LoRA-PT (r=1) | 2.8445 | **84.47** ± 2.00 | **5.311** ± 1.000 |"));
 * ```
 */
export function resultsTable(records: Iterable<ResultRecord>, o: ResultsTableOptions): string {
  const preset = EXPERIMENT_PRESETS[o.experiment];
  const hd = o.hd ?? "hd95";
  const hdName = hd === "hd95" ? "HD95" : "HDmax";
  const all = [...records];
  const sums = summarizeResults(all);
  const datasets = o.order?.datasets ?? [...new Set(sums.map((s) => s.dataset))];
  const sizes = o.order?.trainSizes ?? [...new Set(sums.map((s) => s.trainSize))].sort((a, b) => a - b);
  const methods = o.order?.methods ??
    sums.map((s) => ({ method: s.method, rank: s.rank }))
      .filter((m, i, a) => a.findIndex((x) => x.method === m.method && x.rank === m.rank) === i)
      .sort((a, b) => methodOrder(a) - methodOrder(b));
  const find = (d: string, n: number, m: MethodRank) =>
    sums.find((s) => s.dataset === d && s.trainSize === n && s.method === m.method && s.rank === m.rank);
  const what = preset.layout === "rank"
    ? "Dice by rank"
    : sizes.length === 1
    ? `${sizes[0]} training subjects`
    : "Dice and distance by number of training subjects";
  const lines = [`## ${preset.title}: ${what}`, ""];
  if (preset.layout === "method") {
    const groups = datasets.flatMap((d) => sizes.map((n) => ({ d, n })));
    const label = (g: { d: string; n: number }) =>
      [datasets.length > 1 || sizes.length === 1 ? g.d : "", sizes.length > 1 ? `n=${g.n}` : ""].filter(Boolean)
        .join(" ");
    lines.push(
      row(["Method", "Params (M)", ...groups.flatMap((g) => [`${label(g)} Dice ↑`, `${label(g)} ${hdName} ↓`])]),
    );
    lines.push(rule(2 + 2 * groups.length));
    const bestDice = groups.map((g) => best(methods.map((m) => find(g.d, g.n, m)?.dice), 100, 2, 1));
    const bestHd = groups.map((g) => best(methods.map((m) => find(g.d, g.n, m)?.[hd]), 1, 3, -1));
    for (const m of methods) {
      const any = groups.map((g) => find(g.d, g.n, m)).find((s) => s);
      const cells = groups.flatMap((g, i) => {
        const s = find(g.d, g.n, m);
        return [
          cellText(s?.dice, 100, 2, isBest(s?.dice, 100, 2, bestDice[i])),
          cellText(s?.[hd], 1, 3, isBest(s?.[hd], 1, 3, bestHd[i])),
        ];
      });
      lines.push(row([methodLabel(m, true), params(any?.params), ...cells]));
    }
  } else {
    const names = [...new Set(methods.map((m) => m.method))];
    const ranks = [...new Set(methods.map((m) => m.rank).filter((r): r is number => r !== null))].sort((a, b) => a - b);
    const cols: (number | null)[] = [...ranks, ...(methods.some((m) => m.rank === null) ? [null] : [])];
    const head = ["Method", ...cols.map((r) => (r === null ? "no rank" : `r=${r}`))];
    for (const d of datasets) {
      for (const n of sizes) {
        lines.push(`### ${d}, ${n} training subjects`, "");
        for (
          const [title, get, scale, digits, dir] of [
            ["Dice ↑ (%)", (s?: CellSummary) => s?.dice, 100, 2, 1],
            [`${hdName} ↓ (mm)`, (s?: CellSummary) => s?.[hd], 1, 3, -1],
          ] as const
        ) {
          lines.push(`${title}`, "", row(head), rule(head.length));
          for (const name of names) {
            const vals = cols.map((r) => get(find(d, n, { method: name, rank: r })));
            const b = best(vals, scale, digits, dir);
            lines.push(
              row([
                methodLabel({ method: name, rank: null }, false),
                ...vals.map((v) => cellText(v, scale, digits, isBest(v, scale, digits, b))),
              ]),
            );
          }
          lines.push("");
        }
        lines.push("Params (M)", "", row(head), rule(head.length));
        for (const name of names) {
          lines.push(row([
            methodLabel({ method: name, rank: null }, false),
            ...cols.map((r) => {
              const s = find(d, n, { method: name, rank: r });
              return s ? params(s.params) : DASH;
            }),
          ]));
        }
        lines.push("");
      }
    }
    if (lines.at(-1) === "") lines.pop();
  }
  lines.push("", ...tableNotes(sums, all.length, o.expected, hd));
  return lines.join("\n") + "\n";
}

function tableNotes(sums: CellSummary[], runs: number, expected: number | undefined, hd: "hd95" | "hdMax"): string[] {
  const notes: string[] = [];
  notes.push(
    "Dice in %, distances in mm: means over the test subjects of each run (every subject not drawn for training, " +
      "paper §5.2). " +
      (hd === "hd95"
        ? "HD95 is the paper's definition (95th percentile of surface distances); the authors' script printed the " +
          "maximum Hausdorff distance under that name (`--hd hdmax` shows it)."
        : 'HDmax is the maximum Hausdorff distance, what the authors\' evaluation script printed as "HD95"; ' +
          "`--hd hd95` shows the paper's definition."),
  );
  const seeds = sums.map((s) => s.seeds);
  const lo = Math.min(...seeds), hi = Math.max(...seeds);
  if (sums.length) {
    notes.push(
      `± is the sample SD over seeds for a cell with several seeds, else over the test subjects of its one run; ` +
        `seeds per cell: ${lo === hi ? lo : `${lo}–${hi}`}. Params (M): trainable parameters / 10⁶.`,
    );
  }
  const missed = sums.reduce((s, x) => s + x.missed, 0);
  if (missed) notes.push(`${missed} test prediction(s) were empty: Dice 0, left out of the distance means.`);
  if (expected !== undefined) notes.push(`${runs} of ${expected} cells done; a cell not run yet shows ${DASH}.`);
  return notes.map((n) => n + "\n").join("\n").trimEnd().split("\n");
}

/** Options of {@link fig3Svg}. */
export interface Fig3Options {
  /** Right panel's distance: `"hd95"` (default) or `"hdMax"`. */
  hd?: "hd95" | "hdMax";
  /** Method order (default: the paper's). */
  methods?: readonly MethodRank[];
  /** Dataset order (one row of two panels each; default: first seen). */
  datasets?: readonly string[];
}

/** One colour per method, the same in every figure (Okabe–Ito, colour-blind safe; LoRA-PT vermilion). */
const COLOURS: Readonly<Record<string, string>> = {
  full: "#000000",
  "linear-probe": "#999999",
  decoder: "#8C564B",
  lora: "#56B4E9",
  adapter: "#009E73",
  ssf: "#CC79A7",
  lotr: "#E69F00",
  pissa: "#0072B2",
  "lora-pt": "#D55E00",
};
/** Dash patterns telling apart the ranks of one method (first rank solid). */
const DASHES = ["", "6 3", "2 2", "8 3 2 3"];

/** Colour and dash of each series: by method, then by the rank's place among that method's ranks. */
function seriesStyle(methods: readonly MethodRank[]): { colour: string; dash: string }[] {
  return methods.map((m, i) => {
    const k = methods.slice(0, i).filter((x) => x.method === m.method).length;
    const dash = DASHES[k % DASHES.length];
    return { colour: COLOURS[m.method] ?? "#666666", dash: dash ? ` stroke-dasharray="${dash}"` : "" };
  });
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const f1 = (x: number) => Number(x.toFixed(1));

/** About five round tick values from at or below `lo` to at or above `hi`. */
function niceTicks(lo: number, hi: number): number[] {
  const span = hi - lo || Math.abs(hi) || 1;
  const raw = span / 5, p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((k) => k * p).find((s) => s >= raw)!;
  const first = Math.floor(lo / step + 1e-9), last = Math.ceil(hi / step - 1e-9);
  return Array.from({ length: last - first + 1 }, (_, i) => Number(((first + i) * step).toPrecision(12)));
}

/**
 * Fig. 3 as a standalone SVG: for each dataset, Dice (%) against the number of
 * training subjects on the left and the distance (mm) on the right, one line
 * per method with a dot per training size and, where a point has several
 * seeds, a ± SD whisker; a shared legend on the right. The x axis is
 * logarithmic when the sizes span a factor of 4 or more (5, 10, 20, 40),
 * with a tick at every size. Each method's line is a `<g class="series">`
 * holding one `<circle>` per point.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fig3Svg } from "./experiment_report.ts";
 * import type { ResultRecord } from "./experiment.ts";
 * const rec = (n: number, dice: number) => ({ key: `k${n}`, experiment: "fig3", dataset: "eadc", method: "full",
 *   rank: null, trainSize: n, seed: 1, params: 1, dice, hd95: 5, hdMax: 6 }) as ResultRecord;
 * const svg = fig3Svg([rec(5, 0.8), rec(10, 0.85)]);
 * assert.ok(svg.startsWith("<svg") && svg.trimEnd().endsWith("</svg>"));
 * assert.equal(svg.match(/<circle /g)?.length, 2 * 2);
 * ```
 */
export function fig3Svg(records: Iterable<ResultRecord>, o: Fig3Options = {}): string {
  const hd = o.hd ?? "hd95";
  const sums = summarizeResults(records);
  const datasets = o.datasets ?? [...new Set(sums.map((s) => s.dataset))];
  const methods = (o.methods ?? sums.map((s) => ({ method: s.method, rank: s.rank })))
    .filter((m, i, a) => a.findIndex((x) => x.method === m.method && x.rank === m.rank) === i)
    .filter((m) => sums.some((s) => s.method === m.method && s.rank === m.rank))
    .sort((a, b) => (o.methods ? 0 : methodOrder(a) - methodOrder(b)));
  const sizes = [...new Set(sums.map((s) => s.trainSize))].sort((a, b) => a - b);
  const styles = seriesStyle(methods);
  const W = 360, H = 260, ML = 58, MR = 14, MT = 34, MB = 46, LEGEND = 170;
  const width = 2 * W + LEGEND, height = Math.max(1, datasets.length) * H;
  const logX = sizes.length > 1 && sizes[sizes.length - 1] / sizes[0] >= 4;
  const tx = logX ? Math.log2 : (x: number) => x;
  // A margin of 6% on both sides keeps the end points (and their whiskers) off the axes.
  const [a0, a1] = sizes.length > 1
    ? [tx(sizes[0]), tx(sizes[sizes.length - 1])]
    : [tx(sizes[0] ?? 1) - 1, tx(sizes[0] ?? 1) + 1];
  const x0 = a0 - 0.06 * (a1 - a0), x1 = a1 + 0.06 * (a1 - a0);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `font-family="Helvetica, Arial, sans-serif" font-size="11">`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
  ];
  const metrics = [
    { get: (s: CellSummary) => s.dice, scale: 100, label: "Dice (%)", name: "Dice ↑" },
    {
      get: (s: CellSummary) => s[hd],
      scale: 1,
      label: `${hd === "hd95" ? "HD95" : "HDmax"} (mm)`,
      name: hd === "hd95" ? "HD95 ↓" : "HDmax ↓",
    },
  ];
  datasets.forEach((d, di) => {
    metrics.forEach((metric, pi) => {
      const ox = pi * W, oy = di * H;
      const pts = sums.filter((s) => s.dataset === d).map((s) => ({ s, m: metric.get(s) }))
        .filter((p) => Number.isFinite(p.m.mean));
      const ext = pts.flatMap((p) => {
        const sd = Number.isFinite(p.m.sd) && p.m.over === "seeds" ? p.m.sd : 0;
        return [(p.m.mean - sd) * metric.scale, (p.m.mean + sd) * metric.scale];
      });
      let lo = ext.length ? Math.min(...ext) : 0, hi = ext.length ? Math.max(...ext) : 1;
      if (hi - lo < 1e-9) [lo, hi] = [lo - 1, hi + 1];
      const ticks = niceTicks(lo, hi);
      const y0 = ticks[0], y1 = ticks[ticks.length - 1];
      const px = (x: number) => f1(ox + ML + ((tx(x) - x0) / (x1 - x0)) * (W - ML - MR));
      const py = (y: number) => f1(oy + H - MB - ((y - y0) / (y1 - y0)) * (H - MT - MB));
      out.push(`<g class="panel" data-dataset="${esc(d)}" data-metric="${esc(metric.name)}">`);
      out.push(
        `<text x="${f1(ox + ML + (W - ML - MR) / 2)}" y="${oy + 18}" text-anchor="middle" font-size="13" ` +
          `font-weight="bold">${esc(`${d}: ${metric.name}`)}</text>`,
      );
      const left = ox + ML, right = ox + W - MR, top = oy + MT, bottom = oy + H - MB;
      out.push(`<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="#000000"/>`);
      out.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" stroke="#000000"/>`);
      for (const t of ticks) {
        const y = py(t);
        out.push(`<line x1="${left}" y1="${y}" x2="${right}" y2="${y}" stroke="#e0e0e0"/>`);
        out.push(`<line x1="${left - 4}" y1="${y}" x2="${left}" y2="${y}" stroke="#000000"/>`);
        out.push(`<text x="${left - 7}" y="${f1(y + 4)}" text-anchor="end">${esc(String(t))}</text>`);
      }
      for (const n of sizes) {
        const x = px(n);
        out.push(`<line x1="${x}" y1="${bottom}" x2="${x}" y2="${bottom + 4}" stroke="#000000"/>`);
        out.push(`<text x="${x}" y="${bottom + 16}" text-anchor="middle">${n}</text>`);
      }
      out.push(
        `<text x="${f1((left + right) / 2)}" y="${bottom + 34}" text-anchor="middle">training subjects</text>`,
        `<text transform="translate(${ox + 16} ${f1((top + bottom) / 2)}) rotate(-90)" text-anchor="middle">` +
          `${esc(metric.label)}</text>`,
      );
      methods.forEach((m, mi) => {
        const { colour, dash } = styles[mi];
        const mine = pts.filter((p) => p.s.method === m.method && p.s.rank === m.rank)
          .sort((a, b) => a.s.trainSize - b.s.trainSize);
        out.push(`<g class="series" data-method="${esc(methodLabel(m, true))}" stroke="${colour}" fill="${colour}">`);
        if (mine.length > 1) {
          const path = mine.map((p) => `${px(p.s.trainSize)},${py(p.m.mean * metric.scale)}`).join(" ");
          const w = m.method === "lora-pt" ? 2.5 : 1.5;
          out.push(`<polyline points="${path}" fill="none" stroke-width="${w}"${dash}/>`);
        }
        for (const p of mine) {
          const x = px(p.s.trainSize), y = py(p.m.mean * metric.scale);
          if (p.m.over === "seeds" && Number.isFinite(p.m.sd)) {
            const a = py((p.m.mean - p.m.sd) * metric.scale), b = py((p.m.mean + p.m.sd) * metric.scale);
            out.push(`<line x1="${x}" y1="${a}" x2="${x}" y2="${b}" stroke-width="1"/>`);
          }
          out.push(`<circle cx="${x}" cy="${y}" r="3"/>`);
        }
        out.push(`</g>`);
      });
      out.push(`</g>`);
    });
  });
  out.push(`<g class="legend">`);
  methods.forEach((m, mi) => {
    const { colour, dash } = styles[mi], y = MT + 8 + mi * 18, x = 2 * W + 10;
    out.push(
      `<line x1="${x}" y1="${y}" x2="${x + 22}" y2="${y}" stroke="${colour}" stroke-width="2"${dash}/>`,
      `<rect x="${x + 8}" y="${y - 3}" width="6" height="6" fill="${colour}"/>`,
      `<text x="${x + 30}" y="${y + 4}">${esc(methodLabel(m, true))}</text>`,
    );
  });
  out.push(`</g>`, `</svg>`);
  return out.join("\n") + "\n";
}

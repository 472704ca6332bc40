/**
 * Tiny dependency-free SVG plots for the notebooks: {@link linePlot} (axes, ticks, labels, legend, optional log y),
 * {@link heatmap} (a matrix as coloured cells with a colour bar) and {@link hstack} (plots side by side). Each
 * returns an SVG string; show it with `await Deno.jupyter.display(Deno.jupyter.svg\`${svg}\`)`.
 * @module
 */

/** One line of a {@link linePlot}. */
export interface Series {
  name: string;
  x: readonly number[];
  y: readonly number[];
  color?: string;
  /** Dashed line. */
  dash?: boolean;
  /** Dots at the points; `"only"` draws no line. */
  markers?: boolean | "only";
}

/** Options of {@link linePlot}. */
export interface LinePlotOptions {
  title?: string;
  xlabel?: string;
  ylabel?: string;
  /** Logarithmic y axis (non-positive values are left out). */
  logY?: boolean;
  width?: number;
  height?: number;
}

/** Options of {@link heatmap}. */
export interface HeatmapOptions {
  title?: string;
  xlabel?: string;
  ylabel?: string;
  /** Side of one cell in pixels (default 28). */
  cell?: number;
  /** Write each value in its cell with this many decimals (default: no numbers). */
  digits?: number;
  /** Colour range (default: the data's; a range that straddles 0 is made symmetric and drawn blue–white–red). */
  range?: [number, number];
  /** Labels written left of the rows and under the columns. */
  rowLabels?: readonly string[];
  colLabels?: readonly string[];
  /** Draw block boundaries every `[rows, cols]` cells (e.g. the blocks of a block circulant matrix). */
  blocks?: [number, number];
}

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];
const FONT = `font-family="sans-serif" font-size="12"`;

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const num = (v: number) => Number(v.toFixed(2));

function text(x: number, y: number, s: string, attrs = ""): string {
  return `<text x="${num(x)}" y="${num(y)}" ${attrs}>${esc(s)}</text>`;
}

function svgOpen(w: number, h: number): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" ${FONT}>` +
    `<rect width="${w}" height="${h}" fill="white"/>`;
}

/** About `count` round tick values covering [lo, hi] (steps of 1, 2 or 5 × 10^k). */
function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (hi <= lo) return [lo];
  const raw = (hi - lo) / count, p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
  const out = [];
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) {
    out.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  }
  return out;
}

function tickLabel(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(0) : String(Number(v.toPrecision(6)));
}

/** A line plot of one or more series, with axes, ticks, axis labels, a title and a legend. */
export function linePlot(series: readonly Series[], opts: LinePlotOptions = {}): string {
  const W = opts.width ?? 560, H = opts.height ?? 340, m = { l: 64, r: 16, t: opts.title ? 30 : 12, b: 46 };
  const fy = (v: number) => (opts.logY ? Math.log10(v) : v);
  const ok = (v: number) => Number.isFinite(v) && (!opts.logY || v > 0);
  const xs = series.flatMap((s) => s.x.filter((_, i) => ok(s.y[i])));
  const ys = series.flatMap((s) => s.y.filter(ok).map(fy));
  let [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  if (x0 === x1) (x0 -= 1, x1 += 1);
  else (x0 -= 0.02 * (x1 - x0), x1 += 0.02 * (x1 - x0));
  if (y0 === y1) (y0 -= 1, y1 += 1);
  if (opts.logY) (y0 = Math.floor(y0), y1 = Math.ceil(y1));
  else (y0 -= 0.05 * (y1 - y0), y1 += 0.05 * (y1 - y0));
  const pw = W - m.l - m.r, ph = H - m.t - m.b;
  const px = (v: number) => m.l + ((v - x0) / (x1 - x0)) * pw;
  const py = (v: number) => m.t + ph - ((v - y0) / (y1 - y0)) * ph;
  const out = [svgOpen(W, H)];
  if (opts.title) out.push(text(W / 2, 20, opts.title, `text-anchor="middle" font-size="14"`));
  const yticks = opts.logY ? niceTicks(y0, y1, Math.min(8, y1 - y0)).filter(Number.isInteger) : niceTicks(y0, y1);
  for (const t of yticks) {
    out.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${num(py(t))}" y2="${num(py(t))}" stroke="#e5e5e5"/>`);
    out.push(text(m.l - 6, py(t) + 4, opts.logY ? `1e${t}` : tickLabel(t), `text-anchor="end"`));
  }
  for (const t of niceTicks(x0, x1, 8)) {
    out.push(`<line x1="${num(px(t))}" x2="${num(px(t))}" y1="${m.t + ph}" y2="${m.t + ph + 4}" stroke="black"/>`);
    out.push(text(px(t), m.t + ph + 17, tickLabel(t), `text-anchor="middle"`));
  }
  out.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="black"/>`);
  if (opts.xlabel) out.push(text(m.l + pw / 2, H - 8, opts.xlabel, `text-anchor="middle"`));
  if (opts.ylabel) {
    const y = m.t + ph / 2;
    out.push(text(16, y, opts.ylabel, `text-anchor="middle" transform="rotate(-90 16 ${num(y)})"`));
  }
  const lw = 40 + 6.6 * Math.max(...series.map((s) => s.name.length)), lx = m.l + pw - lw - 6;
  out.push(
    `<rect x="${num(lx - 6)}" y="${m.t + 4}" width="${num(lw + 6)}" height="${16 * series.length + 6}" ` +
      `fill="white" fill-opacity="0.85" stroke="#ccc"/>`,
  );
  series.forEach((s, k) => {
    const color = s.color ?? PALETTE[k % PALETTE.length], dash = s.dash ? ` stroke-dasharray="6 4"` : "";
    const pts = s.x.map((x, i) => [x, s.y[i]]).filter(([, y]) => ok(y)).map(([x, y]) => [px(x), py(fy(y))]);
    if (s.markers !== "only") {
      const d = pts.map(([x, y], i) => `${i ? "L" : "M"}${num(x)},${num(y)}`).join("");
      out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
    }
    if (s.markers) {
      for (const [x, y] of pts) out.push(`<circle cx="${num(x)}" cy="${num(y)}" r="3" fill="${color}"/>`);
    }
    const ly = m.t + 18 + 16 * k;
    if (s.markers) out.push(`<circle cx="${num(lx + 11)}" cy="${ly - 4}" r="3" fill="${color}"/>`);
    if (s.markers !== "only") {
      out.push(
        `<line x1="${num(lx)}" x2="${num(lx + 22)}" y1="${ly - 4}" y2="${
          ly - 4
        }" stroke="${color}" stroke-width="2"${dash}/>`,
      );
    }
    out.push(text(lx + 28, ly, s.name));
  });
  return out.join("") + "</svg>";
}

// Viridis, sampled at five points, and a blue–white–red scale for signed data.
const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
const DIVERGING = [[33, 102, 172], [247, 247, 247], [178, 24, 43]];

function colorAt(stops: number[][], t: number): string {
  const u = Math.min(1, Math.max(0, t)) * (stops.length - 1), i = Math.min(stops.length - 2, Math.floor(u));
  const c = stops[i].map((a, j) => Math.round(a + (stops[i + 1][j] - a) * (u - i)));
  return `rgb(${c.join(",")})`;
}

/** A matrix (`values[row][col]`) as coloured cells, row 0 at the top, with a colour bar. */
export function heatmap(values: readonly (readonly number[])[], opts: HeatmapOptions = {}): string {
  const rows = values.length, cols = values[0]?.length ?? 0, c = opts.cell ?? 28;
  const flat = values.flat();
  let [lo, hi] = opts.range ?? [Math.min(...flat), Math.max(...flat)];
  const signed = lo < 0 && hi > 0;
  if (signed && !opts.range) hi = -(lo = -Math.max(-lo, hi));
  if (hi === lo) hi = lo + 1;
  const stops = signed ? DIVERGING : VIRIDIS;
  const rl = opts.rowLabels ? 7 * Math.max(...opts.rowLabels.map((s) => s.length)) + 6 : 0;
  const m = { l: (opts.ylabel ? 40 : 24) + rl, t: opts.title ? 32 : 10 }, gw = cols * c, gh = rows * c;
  const bottom = m.t + gh + (opts.colLabels ? 16 : 0);
  const W = Math.max(m.l + gw + 90, (opts.title?.length ?? 0) * 7.5 + 20), H = bottom + (opts.xlabel ? 36 : 20);
  m.l += (W - (m.l + gw + 90)) / 2; // centre the grid under a wide title
  const out = [svgOpen(W, H)];
  if (opts.title) out.push(text(W / 2, 20, opts.title, `text-anchor="middle" font-size="14"`));
  values.forEach((row, i) =>
    row.forEach((v, j) => {
      const t = (v - lo) / (hi - lo), x = m.l + j * c, y = m.t + i * c;
      out.push(`<rect x="${x}" y="${y}" width="${c}" height="${c}" fill="${colorAt(stops, t)}"/>`);
      if (opts.digits !== undefined) {
        const ink = signed ? (Math.abs(2 * t - 1) > 0.6 ? "white" : "black") : t > 0.6 ? "black" : "white";
        out.push(
          text(x + c / 2, y + c / 2 + 4, v.toFixed(opts.digits), `text-anchor="middle" font-size="10" fill="${ink}"`),
        );
      }
    })
  );
  if (opts.blocks) {
    const [br, bc] = opts.blocks,
      line = (x1: number, y1: number, x2: number, y2: number) =>
        `<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="black" stroke-width="1.5"/>`;
    for (let i = br; i < rows; i += br) out.push(line(m.l, m.t + i * c, m.l + gw, m.t + i * c));
    for (let j = bc; j < cols; j += bc) out.push(line(m.l + j * c, m.t, m.l + j * c, m.t + gh));
  }
  out.push(`<rect x="${m.l}" y="${m.t}" width="${gw}" height="${gh}" fill="none" stroke="black"/>`);
  opts.rowLabels?.forEach((s, i) => out.push(text(m.l - 5, m.t + (i + 0.5) * c + 4, s, `text-anchor="end"`)));
  opts.colLabels?.forEach((s, j) => out.push(text(m.l + (j + 0.5) * c, m.t + gh + 14, s, `text-anchor="middle"`)));
  if (opts.xlabel) out.push(text(m.l + gw / 2, bottom + 26, opts.xlabel, `text-anchor="middle"`));
  if (opts.ylabel) {
    const y = m.t + gh / 2, turn = opts.ylabel.length > 2 ? ` transform="rotate(-90 14 ${num(y)})"` : "";
    out.push(text(14, y, opts.ylabel, `text-anchor="middle"${turn}`));
  }
  // Colour bar: 20 bands from hi (top) to lo (bottom), labelled at the ends and the middle.
  const bx = m.l + gw + 14, bh = Math.max(gh, 60) / 20;
  for (let k = 0; k < 20; k++) {
    out.push(
      `<rect x="${bx}" y="${num(m.t + k * bh)}" width="14" height="${num(bh + 0.5)}" fill="${
        colorAt(stops, 1 - (k + 0.5) / 20)
      }"/>`,
    );
  }
  for (const [f, v] of [[0, hi], [0.5, (lo + hi) / 2], [1, lo]]) {
    const label = Math.abs(v) < 1e-9 * (hi - lo) ? 0 : Number(v.toPrecision(3));
    out.push(text(bx + 20, m.t + f * 20 * bh + 4, tickLabel(label)));
  }
  return out.join("") + "</svg>";
}

/** Places SVGs made by this module side by side, top-aligned, `gap` pixels apart. */
export function hstack(svgs: readonly string[], gap = 12): string {
  const size = (s: string) => [Number(/width="([\d.]+)"/.exec(s)?.[1]), Number(/height="([\d.]+)"/.exec(s)?.[1])];
  let x = 0;
  const parts = svgs.map((s) => {
    const [w] = size(s), part = s.replace("<svg ", `<svg x="${x}" y="0" `);
    x += w + gap;
    return part;
  });
  const h = Math.max(...svgs.map((s) => size(s)[1]));
  return `${svgOpen(x - gap, h)}${parts.join("")}</svg>`;
}

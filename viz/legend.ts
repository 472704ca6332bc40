/**
 * The shared look of every figure: the overlay colours (agreement, false
 * positive, false negative) and the title strip with the title, the Dice
 * and HD95, and a colour legend, drawn above a figure.
 * @module
 */
import { blit, drawText, fillRect, type Rgb, textHeight, textWidth } from "./draw.ts";
import { createRaster, type Raster } from "./png.ts";

/**
 * Overlay colours: `overlap` where truth and prediction agree, `falsePositive`
 * where only the prediction has the structure, `falseNegative` where only the
 * truth has it.
 */
export const OVERLAY_COLOURS: { overlap: Rgb; falsePositive: Rgb; falseNegative: Rgb } = {
  overlap: [40, 200, 90],
  falsePositive: [235, 50, 50],
  falseNegative: [50, 120, 255],
};

/** Background and text colours of the title strip. */
export const STRIP_BACKGROUND: Rgb = [20, 20, 24], STRIP_TEXT: Rgb = [235, 235, 235];

/** What a title strip says. */
export interface TitleInfo {
  /** First line, e.g. `"case01 · LoRA-PT · axial z=84"`. */
  title?: string;
  /** Dice in [0, 1] (shown ×100); NaN shows as n/a. */
  dice?: number;
  /** HD95 in mm; NaN or Infinity shows as n/a. */
  hd95?: number;
}

const fmt = (x: number | undefined, scale: number, digits: number) =>
  x !== undefined && Number.isFinite(x) ? (x * scale).toFixed(digits) : "n/a";

function stripLines(info: TitleInfo): string[] {
  const lines = info.title ? [info.title] : [];
  if (info.dice !== undefined || info.hd95 !== undefined) {
    lines.push(`Dice ${fmt(info.dice, 100, 2)}   HD95 ${fmt(info.hd95, 1, 2)} mm`);
  }
  return lines;
}

const LEGEND: [Rgb, string][] = [
  [OVERLAY_COLOURS.overlap, "overlap"],
  [OVERLAY_COLOURS.falsePositive, "FP: prediction only"],
  [OVERLAY_COLOURS.falseNegative, "FN: truth only"],
];

function naturalWidth(info: TitleInfo, scale: number): number {
  const pad = 4 * scale;
  const legend = LEGEND.reduce((s, [, t]) => s + 10 * scale + textWidth(t, scale) + 8 * scale, 0);
  return 2 * pad + Math.max(legend, ...stripLines(info).map((l) => textWidth(l, scale)));
}

/**
 * Draws `info` and the colour legend as a strip of at least `width` pixels;
 * the text scale is the largest of 1–3 that fits `width` (wider only at
 * scale 1 when even that does not fit).
 */
export function titleStrip(info: TitleInfo, width: number, scale?: number): Raster {
  scale ??= [3, 2, 1].find((s) => naturalWidth(info, s) <= width) ?? 1;
  const lines = stripLines(info);
  const pad = 4 * scale;
  const height = textHeight(lines.length + 1, scale) + 2 * pad;
  const r = createRaster(Math.max(width, naturalWidth(info, scale)), height, STRIP_BACKGROUND);
  lines.forEach((l, i) => drawText(r, pad, pad + textHeight(i, scale), l, STRIP_TEXT, scale));
  let x = pad;
  const y = pad + textHeight(lines.length, scale);
  for (const [colour, text] of LEGEND) {
    fillRect(r, x, y, 7 * scale, 7 * scale, colour);
    x = drawText(r, x + 10 * scale, y, text, STRIP_TEXT, scale) + 8 * scale;
  }
  return r;
}

/** `figure` under a title strip, centred when the strip is wider; returns the image and the figure's top-left. */
export function withTitle(figure: Raster, info: TitleInfo, scale?: number): { raster: Raster; x: number; y: number } {
  const strip = titleStrip(info, figure.width, scale);
  const out = createRaster(strip.width, strip.height + figure.height, [0, 0, 0]);
  blit(out, strip, 0, 0);
  const x = Math.floor((strip.width - figure.width) / 2);
  blit(out, figure, x, strip.height);
  return { raster: out, x, y: strip.height };
}

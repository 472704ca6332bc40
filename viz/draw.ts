/**
 * Drawing into a {@link Raster}: filled rectangles, bitmap-font text, copies
 * of one raster into another, and reading a pixel back (for tests).
 * @module
 */
import { ADVANCE, glyph, GLYPH_HEIGHT, GLYPH_WIDTH, LINE_HEIGHT, textWidth } from "./font.ts";
import { createRaster, type Raster } from "./png.ts";

/** An RGB colour, each channel 0–255. */
export type Rgb = readonly [number, number, number];

/** Fills the rectangle `[x, x + w) × [y, y + h)`, clipped to the raster. */
export function fillRect(r: Raster, x: number, y: number, w: number, h: number, colour: Rgb): void {
  const x0 = Math.max(0, Math.round(x)), x1 = Math.min(r.width, Math.round(x + w));
  const y0 = Math.max(0, Math.round(y)), y1 = Math.min(r.height, Math.round(y + h));
  for (let yy = y0; yy < y1; yy++) {
    for (let xx = x0; xx < x1; xx++) {
      const o = (yy * r.width + xx) * r.channels;
      r.data[o] = colour[0], r.data[o + 1] = colour[1], r.data[o + 2] = colour[2];
      if (r.channels === 4) r.data[o + 3] = 255;
    }
  }
}

/**
 * Draws `text` with its top-left corner at `(x, y)` using the built-in 5×7
 * font magnified by the integer `scale`; returns the x after the text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createRaster } from "./png.ts";
 * import { drawText, pixel } from "./draw.ts";
 * const r = createRaster(12, 8);
 * drawText(r, 0, 0, "1", [255, 255, 255]);
 * assert.deepEqual(pixel(r, 2, 0), [255, 255, 255]); // the top of the "1"
 * assert.deepEqual(pixel(r, 0, 0), [0, 0, 0]);
 * ```
 */
export function drawText(r: Raster, x: number, y: number, text: string, colour: Rgb, scale = 1): number {
  let cx = Math.round(x);
  for (const ch of text) {
    const bits = glyph(ch);
    for (let gy = 0; gy < GLYPH_HEIGHT; gy++) {
      for (let gx = 0; gx < GLYPH_WIDTH; gx++) {
        if (bits[gy * GLYPH_WIDTH + gx]) fillRect(r, cx + gx * scale, y + gy * scale, scale, scale, colour);
      }
    }
    cx += ADVANCE * scale;
  }
  return cx;
}

/** Height in pixels of `lines` lines of text at `scale`. */
export function textHeight(lines: number, scale = 1): number {
  return lines * LINE_HEIGHT * scale;
}

export { textWidth };

/** Copies `src` into `dst` with its top-left corner at `(x, y)`, clipped. */
export function blit(dst: Raster, src: Raster, x: number, y: number): void {
  for (let sy = 0; sy < src.height; sy++) {
    const dy = y + sy;
    if (dy < 0 || dy >= dst.height) continue;
    for (let sx = 0; sx < src.width; sx++) {
      const dx = x + sx;
      if (dx < 0 || dx >= dst.width) continue;
      const s = (sy * src.width + sx) * src.channels, d = (dy * dst.width + dx) * dst.channels;
      for (let c = 0; c < 3; c++) dst.data[d + c] = src.data[s + c];
      if (dst.channels === 4) dst.data[d + 3] = src.channels === 4 ? src.data[s + 3] : 255;
    }
  }
}

/** The RGB colour at `(x, y)`. */
export function pixel(r: Raster, x: number, y: number): [number, number, number] {
  if (x < 0 || y < 0 || x >= r.width || y >= r.height) {
    throw new RangeError(`pixel: (${x}, ${y}) is outside the ${r.width}x${r.height} raster`);
  }
  const o = (y * r.width + x) * r.channels;
  return [r.data[o], r.data[o + 1], r.data[o + 2]];
}

/** Lays rasters side by side (top-aligned) with `gap` pixels between them on `background`. */
export function hconcat(parts: readonly Raster[], gap = 0, background: Rgb = [0, 0, 0]): Raster {
  const width = parts.reduce((s, p) => s + p.width, 0) + gap * Math.max(0, parts.length - 1);
  const out = createRaster(width, Math.max(...parts.map((p) => p.height)), background);
  let x = 0;
  for (const p of parts) {
    blit(out, p, x, 0);
    x += p.width + gap;
  }
  return out;
}

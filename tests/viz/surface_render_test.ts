import assert from "node:assert/strict";
import { makeVolume, type Shape3 } from "../../data/volume.ts";
import { OVERLAY_COLOURS } from "../../viz/legend.ts";
import { marchingCubes } from "../../viz/marching_cubes.ts";
import { decodePng, encodePng, type Raster } from "../../viz/png.ts";
import { maskSurface, renderSurfaceFigure, renderSurfaces } from "../../viz/surface_render.ts";

const shape: Shape3 = [24, 24, 24];
function box(lo: number[], hi: number[]): Uint8Array {
  const m = new Uint8Array(24 * 24 * 24);
  for (let k = lo[2]; k <= hi[2]; k++) {
    for (let j = lo[1]; j <= hi[1]; j++) for (let i = lo[0]; i <= hi[0]; i++) m[i + 24 * (j + 24 * k)] = 1;
  }
  return m;
}

/** Counts pixels whose hue is closest to each overlay colour (background excluded). */
function hues(r: Raster): { overlap: number; falsePositive: number; falseNegative: number } {
  const out = { overlap: 0, falsePositive: 0, falseNegative: 0 };
  for (let i = 0; i < r.width * r.height; i++) {
    const px = [r.data[3 * i], r.data[3 * i + 1], r.data[3 * i + 2]];
    const max = Math.max(...px);
    if (max < 40) continue;
    const n = px.map((c) => c / max);
    let best: keyof typeof out = "overlap", bestD = Infinity;
    for (const k of Object.keys(out) as (keyof typeof out)[]) {
      const c = OVERLAY_COLOURS[k], cm = Math.max(...c);
      const d = c.reduce((s, v, q) => s + (v / cm - n[q]) ** 2, 0);
      if (d < bestD) [best, bestD] = [k, d];
    }
    out[best]++;
  }
  return out;
}

Deno.test("identical truth and prediction render entirely in the overlap colour", () => {
  const m = box([6, 6, 6], [16, 14, 12]);
  const mesh = marchingCubes(m, shape);
  const r = renderSurfaces(mesh, mesh, { size: 96, views: [{ azimuth: 30, elevation: 30 }] });
  const h = hues(r);
  assert.ok(h.overlap > 500, `overlap pixels ${h.overlap}`);
  assert.equal(h.falsePositive + h.falseNegative, 0);
});

Deno.test("a prediction that sticks out shows false-positive colour, a missing part false-negative", () => {
  const truth = marchingCubes(box([6, 6, 6], [16, 16, 16]), shape);
  const bigger = marchingCubes(box([6, 6, 6], [16, 16, 20]), shape); // extends 4 voxels up
  const smaller = marchingCubes(box([6, 6, 6], [16, 16, 12]), shape);
  const view = { size: 96, views: [{ azimuth: 0, elevation: 0 }] }; // from the front, superior up
  const fp = hues(renderSurfaces(truth, bigger, view));
  assert.ok(fp.falsePositive > 100 && fp.falseNegative === 0, JSON.stringify(fp));
  const fn = hues(renderSurfaces(truth, smaller, view));
  assert.ok(fn.falseNegative > 100 && fn.falsePositive === 0, JSON.stringify(fn));
});

Deno.test("front view puts superior up: a prediction extending upwards is red at the top", () => {
  const truth = marchingCubes(box([6, 6, 6], [16, 16, 16]), shape);
  const bigger = marchingCubes(box([6, 6, 6], [16, 16, 20]), shape);
  const r = renderSurfaces(truth, bigger, { size: 100, views: [{ azimuth: 0, elevation: 0 }] });
  const rowHue = (y: number) =>
    hues({ ...r, height: 1, data: r.data.subarray(3 * r.width * y, 3 * r.width * (y + 1)) });
  let top = -1, bottom = -1;
  for (let y = 0; y < r.height; y++) {
    const h = rowHue(y);
    if (h.overlap + h.falsePositive > 0) (top < 0 && (top = y), bottom = y);
  }
  assert.ok(rowHue(top + 2).falsePositive > 0, "top rows are the protruding prediction");
  assert.equal(rowHue(bottom - 2).falsePositive, 0);
});

Deno.test("the 3-D figure decodes with its title strip and one panel per view", async () => {
  const truth = makeVolume(box([6, 6, 6], [16, 16, 16]), shape, { spacing: [1, 1, 2] });
  const prediction = makeVolume(box([7, 6, 6], [17, 16, 16]), shape, { spacing: [1, 1, 2] });
  const figure = renderSurfaceFigure(truth, prediction, { size: 200, title: "case" });
  const png = await decodePng(await encodePng(figure));
  assert.equal(png.width, 2 * 200 + 4);
  assert.ok(png.height > 200);
  const h = hues(png);
  assert.ok(h.overlap > 0 && h.falsePositive > 0 && h.falseNegative > 0, JSON.stringify(h));
});

Deno.test("maskSurface mirrors a negative axis and keeps the winding outward", () => {
  const m = makeVolume(box([2, 2, 2], [5, 5, 5]), shape, {
    affine: [[-1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]],
  });
  const mesh = maskSurface(m, 0);
  let maxX = -Infinity;
  for (let v = 0; v < mesh.positions.length; v += 3) maxX = Math.max(maxX, mesh.positions[v]);
  assert.ok(maxX <= -1.5);
  const t = mesh.triangles, p = mesh.positions;
  let vol = 0;
  for (let f = 0; f < t.length; f += 3) {
    const [a, b, c] = [3 * t[f], 3 * t[f + 1], 3 * t[f + 2]];
    vol += p[a] * (p[b + 1] * p[c + 2] - p[b + 2] * p[c + 1]) + p[a + 1] * (p[b + 2] * p[c] - p[b] * p[c + 2]) +
      p[a + 2] * (p[b] * p[c + 1] - p[b + 1] * p[c]);
  }
  assert.ok(vol > 0);
});

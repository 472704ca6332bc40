import assert from "node:assert/strict";
import { makeVolume, type Shape3, type Spacing3 } from "../../data/volume.ts";
import { pixel } from "../../viz/draw.ts";
import { OVERLAY_COLOURS } from "../../viz/legend.ts";
import { decodePng, encodePng } from "../../viz/png.ts";
import { renderSlice, renderSlices, robustWindow, structureCentre } from "../../viz/slices.ts";

const shape: Shape3 = [12, 10, 8];
const at = (i: number, j: number, k: number) => i + shape[0] * (j + shape[1] * k);

/** Image = 100 everywhere; truth/prediction share a block, each has one private voxel in slice k = 4. */
function scene(spacing: Spacing3 = [1, 1, 1], affine?: number[][]) {
  const image = makeVolume(new Float32Array(12 * 10 * 8).fill(100), shape, { spacing, affine });
  const truth = makeVolume(new Uint8Array(12 * 10 * 8), shape, { spacing, affine });
  const prediction = makeVolume(new Uint8Array(12 * 10 * 8), shape, { spacing, affine });
  for (let k = 3; k <= 5; k++) {
    for (let j = 4; j <= 6; j++) {
      for (let i = 5; i <= 7; i++) truth.data[at(i, j, k)] = prediction.data[at(i, j, k)] = 1;
    }
  }
  prediction.data[at(8, 5, 4)] = 1; // false positive
  truth.data[at(4, 5, 4)] = 1; // false negative
  image.data[at(1, 1, 4)] = 0; // a dark voxel, for orientation
  return { image, truth, prediction };
}

Deno.test("structureCentre is the centre of mass of the largest component of truth ∪ prediction", () => {
  const { truth, prediction } = scene();
  assert.deepEqual(structureCentre(truth.data, prediction.data, shape), [6, 5, 4]);
  assert.deepEqual(structureCentre(new Uint8Array(960), new Uint8Array(960), shape), [6, 5, 4]);
});

Deno.test("robustWindow ignores background zeros and outliers", () => {
  const x = new Float32Array(1000);
  for (let i = 0; i < 500; i++) x[i] = 10 + (i % 100);
  x[0] = 1e6;
  const [lo, hi] = robustWindow(x);
  assert.ok(lo >= 10 && lo <= 12 && hi >= 107 && hi <= 109, `window ${lo}..${hi}`);
});

Deno.test("an axial slice decodes with the expected size and overlap / FP / FN colours at known voxels", async () => {
  const input = scene();
  const view = renderSlice(input, "axial", { opacity: 1, pixelsPerMm: 4, window: [0, 100] });
  assert.equal(view.index, 4);
  const png = await decodePng(await encodePng(view.raster));
  assert.deepEqual([png.width, png.height], [view.raster.width, view.raster.height]);
  const stripHeight = view.toPixel([0, shape[1] - 1, 4])[1] - 2; // top voxel row starts right under the strip
  assert.equal(png.height, stripHeight + 10 * 4);
  assert.ok(png.width >= 12 * 4);
  const colour = (v: number[]) => pixel(png, ...view.toPixel(v));
  assert.deepEqual(colour([6, 5, 4]), [...OVERLAY_COLOURS.overlap]);
  assert.deepEqual(colour([8, 5, 4]), [...OVERLAY_COLOURS.falsePositive]);
  assert.deepEqual(colour([4, 5, 4]), [...OVERLAY_COLOURS.falseNegative]);
  assert.deepEqual(colour([2, 2, 4]), [255, 255, 255]); // grey 100 in window [0, 100]
  assert.deepEqual(colour([1, 1, 4]), [0, 0, 0]);
});

Deno.test("overlays blend with the grey image at the given opacity", () => {
  const view = renderSlice(scene(), "axial", { opacity: 0.5, window: [0, 200] }); // grey 100 → 128
  const [x, y] = view.toPixel([8, 5, 4]);
  const expected = OVERLAY_COLOURS.falsePositive.map((c) => Math.round(0.5 * 128 + 0.5 * c));
  assert.deepEqual(pixel(view.raster, x, y), expected);
});

Deno.test("RAS+ data shows anterior up and right on the right; a negative x axis is mirrored", () => {
  const ras = renderSlice(scene(), "axial", { opacity: 1 });
  const [x0, y0] = ras.toPixel([1, 1, 4]), [x1, y1] = ras.toPixel([10, 8, 4]);
  assert.ok(x1 > x0 && y1 < y0, "voxel (10, 8) is right of and above voxel (1, 1)");
  const las = [[-1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
  const mirrored = renderSlice(scene([1, 1, 1], las), "axial", { opacity: 1 });
  const [mx0] = mirrored.toPixel([1, 1, 4]), [mx1] = mirrored.toPixel([10, 8, 4]);
  assert.ok(mx1 < mx0);
  assert.deepEqual(pixel(mirrored.raster, ...mirrored.toPixel([1, 1, 4])), [0, 0, 0]);
});

Deno.test("anisotropic voxels keep their true aspect (nearest-neighbour resampling)", () => {
  const input = scene([1, 1, 2.5]);
  const iso = renderSlice(scene(), "coronal", { pixelsPerMm: 2, opacity: 1 });
  const aniso = renderSlice(input, "coronal", { pixelsPerMm: 2, opacity: 1 });
  // Coronal: x across, z up; z is 8 voxels × 2.5 mm × 2 px/mm = 40 px instead of 16.
  const height = (v: typeof iso) => v.toPixel([0, 5, 0])[1] - v.toPixel([0, 5, 7])[1];
  assert.equal(height(iso), 7 * 2);
  assert.equal(height(aniso), 7 * 5);
  assert.deepEqual(pixel(aniso.raster, ...aniso.toPixel([8, 5, 4])), [...OVERLAY_COLOURS.falsePositive]);
});

Deno.test("the three-plane panel is wider than any one slice and has the title strip on top", () => {
  const input = scene();
  const panel = renderSlices(input, { title: "case", pixelsPerMm: 10 });
  const one = renderSlice(input, "axial", { title: "case", pixelsPerMm: 10 });
  assert.ok(panel.width > one.raster.width);
  assert.deepEqual(pixel(panel, 0, 0), [20, 20, 24]); // strip background
});

Deno.test("mismatched grids are an error naming both shapes", () => {
  const input = scene();
  const small = makeVolume(new Uint8Array(8), [2, 2, 2]);
  assert.throws(
    () => renderSlice({ ...input, prediction: small }, "axial"),
    /prediction shape \[2,2,2\] differs from image shape \[12,10,8\]/,
  );
});

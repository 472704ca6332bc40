import assert from "node:assert/strict";
import { Rng } from "../../tensor/random.ts";
import { makeVolume, type Shape3 } from "../../data/volume.ts";
import { type Predictor, slidingWindowInference } from "../../data/inference.ts";
import { roiRegion, roiSlidingWindowInference } from "../../data/roi_inference.ts";
import type { RoiBox } from "../../data/crop_sampling.ts";

/** A pointwise "model": class 1 where the voxel is positive; counts its windows. */
function pointwise(calls: { n: number }): Predictor {
  return (x, [n, , wx, wy, wz]) => {
    calls.n += n;
    const v = wx * wy * wz, out = new Float32Array(n * 2 * v);
    for (let b = 0; b < n; b++) {
      for (let t = 0; t < v; t++) {
        const one = x[b * v + t] > 0 ? 1 : 0;
        out[(2 * b + 1) * v + t] = one;
        out[2 * b * v + t] = 1 - one;
      }
    }
    return Promise.resolve(out);
  };
}

Deno.test("ROI windows cover the box, each meets it, and outside them the scan is background", async () => {
  const rng = new Rng(11);
  for (let trial = 0; trial < 12; trial++) {
    const shape = [rng.int(10, 30), rng.int(10, 30), rng.int(8, 20)] as Shape3;
    const win = [rng.int(3, 9), rng.int(3, 9), rng.int(3, 9)] as Shape3;
    const start = shape.map((n) => rng.int(0, n - 2)) as Shape3;
    const end = start.map((s, a) => rng.int(s + 1, shape[a])) as Shape3;
    const roi: RoiBox = { start, end };
    const data = Float32Array.from({ length: shape[0] * shape[1] * shape[2] }, () => rng.uniform() - 0.5);
    const image = makeVolume(data, shape);
    const calls = { n: 0 };
    const overlap = trial % 2 ? 0.5 : 0;
    const r = await roiSlidingWindowInference(image, pointwise(calls), roi, { window: win, overlap });
    assert.equal(calls.n, r.windows.length);
    const [X, Y] = shape;
    const covered = new Uint8Array(data.length);
    for (const w of r.windows) {
      // Each window meets the ROI…
      assert.ok([0, 1, 2].every((a) => w[a] < end[a] && w[a] + win[a] > start[a]), `window [${w}] misses the ROI`);
      for (let k = 0; k < win[2]; k++) {
        for (let j = 0; j < win[1]; j++) {
          for (let i = 0; i < win[0]; i++) {
            const x = w[0] + i, y = w[1] + j, z = w[2] + k;
            if (x < X && y < Y && z < shape[2]) covered[x + X * (y + Y * z)] = 1;
          }
        }
      }
    }
    for (let z = 0; z < shape[2]; z++) {
      for (let y = 0; y < Y; y++) {
        for (let x = 0; x < X; x++) {
          const p = x + X * (y + Y * z),
            inRoi = x >= start[0] && x < end[0] && y >= start[1] && y < end[1] && z >= start[2] && z < end[2];
          // …together they cover it…
          if (inRoi) assert.equal(covered[p], 1, `trial ${trial}: ROI voxel (${x},${y},${z}) not covered`);
          // …covered voxels get the model's answer, the rest is background.
          assert.equal(r.labels.data[p], covered[p] && data[p] > 0 ? 1 : 0);
          if (!covered[p]) assert.equal(r.probabilities[p], 1);
        }
      }
    }
  }
});

Deno.test("a pointwise model gives the same labels inside the ROI as full sliding windows, with fewer windows", async () => {
  const shape: Shape3 = [40, 36, 30], rng = new Rng(3);
  const image = makeVolume(Float32Array.from({ length: 40 * 36 * 30 }, () => rng.uniform() - 0.5), shape);
  const full = { n: 0 }, part = { n: 0 }, roi: RoiBox = { start: [12, 10, 8], end: [20, 30, 14] };
  const a = await slidingWindowInference(image, pointwise(full), { window: 8 });
  const b = await roiSlidingWindowInference(image, pointwise(part), roi, { window: 8 });
  assert.ok(part.n < full.n / 3, `${part.n} vs ${full.n} windows`);
  for (let z = 8; z < 14; z++) {
    for (let y = 10; y < 30; y++) {
      for (let x = 12; x < 20; x++) {
        const p = x + 40 * (y + 36 * z);
        assert.equal(b.labels.data[p], a.labels.data[p]);
      }
    }
  }
  assert.deepEqual(b.labels.affine, image.affine);
  assert.deepEqual(roiRegion(shape, [8, 8, 8], { start: [0, 0, 0], end: [2, 2, 2] }), {
    start: [0, 0, 0],
    end: [8, 8, 8],
  });
});

import assert from "node:assert/strict";
import { Rng } from "../../tensor/random.ts";
import { makeVolume, type Shape3 } from "../../data/volume.ts";
import { randomCrop, randomCropStart } from "../../data/transforms.ts";
import { parseRoi, type RoiBox, roiFromLabels, sampleCropStart } from "../../data/crop_sampling.ts";

const SHAPE: Shape3 = [40, 30, 20], CROP: Shape3 = [8, 8, 8];

/** A label with one 3×3×3 foreground cube at `at`. */
function blobLabel(at: Shape3) {
  const [X, Y] = SHAPE, d = new Uint8Array(SHAPE[0] * SHAPE[1] * SHAPE[2]);
  for (let k = 0; k < 3; k++) {
    for (let j = 0; j < 3; j++) {
      for (let i = 0; i < 3; i++) {
        d[at[0] + i + X * (at[1] + j + Y * (at[2] + k))] = 1;
      }
    }
  }
  return makeVolume(d, SHAPE);
}

/** Does the crop at `start` hold a foreground voxel? Counted voxel by voxel. */
function cropHasForeground(label: ReturnType<typeof blobLabel>, start: Shape3): boolean {
  const [X, Y] = label.shape;
  for (let k = 0; k < CROP[2]; k++) {
    for (let j = 0; j < CROP[1]; j++) {
      for (let i = 0; i < CROP[0]; i++) {
        const x = start[0] + i, y = start[1] + j, z = start[2] + k;
        if (
          x >= 0 && y >= 0 && z >= 0 && x < X && y < Y && z < SHAPE[2] && label.data[x + X * (y + Y * z)]
        ) return true;
      }
    }
  }
  return false;
}

Deno.test("the positive-crop rate is p + (1 − p)·q, q counted over every uniform start, within 4 sigma", () => {
  const label = blobLabel([30, 4, 2]);
  // q: the exact fraction of uniform starts whose crop holds foreground, by enumeration.
  let hit = 0, all = 0;
  for (let z = 0; z <= SHAPE[2] - CROP[2]; z++) {
    for (let y = 0; y <= SHAPE[1] - CROP[1]; y++) {
      for (let x = 0; x <= SHAPE[0] - CROP[0]; x++) (all++, hit += cropHasForeground(label, [x, y, z]) ? 1 : 0);
    }
  }
  const q = hit / all;
  assert.ok(q > 0.02 && q < 0.2, `q = ${q}`);
  const draws = 4000;
  for (const p of [0, 0.3, 0.7, 1]) {
    const rng = new Rng(17 + p * 10);
    let positive = 0;
    for (let t = 0; t < draws; t++) {
      positive += cropHasForeground(label, sampleCropStart(SHAPE, CROP, rng, label, { posFraction: p })) ? 1 : 0;
    }
    const expected = p + (1 - p) * q, rate = positive / draws;
    const sigma = Math.sqrt(expected * (1 - expected) / draws);
    assert.ok(Math.abs(rate - expected) <= 4 * sigma + 1e-12, `p ${p}: rate ${rate}, expected ${expected} ± ${sigma}`);
  }
});

Deno.test("a foreground crop is centred on a foreground voxel where no border shifts it", () => {
  const label = blobLabel([15, 12, 8]), rng = new Rng(3);
  for (let t = 0; t < 200; t++) {
    const s = sampleCropStart(SHAPE, CROP, rng, label, { posFraction: 1 });
    const c = s.map((v) => v + 4);
    assert.equal(label.data[c[0] + 40 * (c[1] + 30 * c[2])], 1, `crop [${s}] centre [${c}]`);
  }
  // Near a border the crop is shifted back inside the volume.
  const edge = blobLabel([37, 0, 17]);
  for (let t = 0; t < 50; t++) {
    const s = sampleCropStart(SHAPE, CROP, rng, edge, { posFraction: 1 });
    assert.ok(s.every((v, a) => v >= 0 && v + CROP[a] <= SHAPE[a]), `[${s}]`);
    assert.ok(cropHasForeground(edge, s));
  }
});

Deno.test("posFraction 0 without ROI draws exactly as randomCropStart (uniform runs replay)", () => {
  const label = blobLabel([1, 1, 1]), a = new Rng(9), b = new Rng(9);
  for (let t = 0; t < 100; t++) {
    assert.deepEqual(sampleCropStart(SHAPE, CROP, a, label, {}), randomCropStart(SHAPE, CROP, b));
  }
  const image = makeVolume(new Float32Array(label.data.length), SHAPE);
  const x = randomCrop({ size: 8 })({ image, label }, new Rng(4));
  const y = randomCrop({ size: 8, posFraction: 0 })({ image, label }, new Rng(4));
  assert.deepEqual(x, y);
});

Deno.test("a volume no larger than the crop draws as the uniform sampler, whatever posFraction (phantoms replay)", () => {
  const label = makeVolume(new Uint8Array(6 * 8 * 8).fill(1), [6, 8, 8]), rng = new Rng(1), twin = new Rng(1);
  assert.deepEqual(sampleCropStart([6, 8, 8], [8, 8, 8], rng, label, { posFraction: 1 }), [-1, 0, 0]);
  assert.deepEqual(randomCropStart([6, 8, 8], [8, 8, 8], twin), [-1, 0, 0]);
  assert.equal(rng.next(), twin.next());
});

Deno.test("with an ROI uniform crops lie inside it, or contain it along axes where it is smaller", () => {
  const roi: RoiBox = { start: [5, 10, 2], end: [25, 14, 20] }, rng = new Rng(5);
  const seen = [new Set<number>(), new Set<number>(), new Set<number>()];
  for (let t = 0; t < 2000; t++) {
    const s = sampleCropStart(SHAPE, CROP, rng, null, { roi });
    assert.ok(s[0] >= 5 && s[0] + 8 <= 25, `x ${s[0]}`);
    assert.ok(s[1] <= 10 && s[1] + 8 >= 14, `y ${s[1]} must contain [10, 14)`);
    assert.ok(s[2] >= 2 && s[2] + 8 <= 20, `z ${s[2]}`);
    s.forEach((v, a) => seen[a].add(v));
  }
  assert.deepEqual([...seen[0]].sort((a, b) => a - b), Array.from({ length: 13 }, (_, i) => 5 + i));
  assert.deepEqual([...seen[1]].sort((a, b) => a - b), [6, 7, 8, 9, 10]);
  // Foreground outside the ROI is never a centre: the crops stay uniform inside it.
  const outside = blobLabel([30, 20, 10]);
  for (let t = 0; t < 100; t++) {
    const s = sampleCropStart(SHAPE, CROP, rng, outside, { posFraction: 1, roi });
    assert.ok(s[0] >= 5 && s[0] + 8 <= 25);
  }
});

Deno.test("roiFromLabels is the union bounding box by brute force, grown by the margin in mm per axis", () => {
  const shape: Shape3 = [12, 10, 9], rng = new Rng(2);
  const labels = [0, 1, 2].map(() => {
    const d = new Uint8Array(12 * 10 * 9);
    for (let t = 0; t < 3; t++) d[rng.int(0, d.length - 1)] = 1;
    return makeVolume(d, shape, { spacing: [1, 2, 3] });
  });
  const lo = [99, 99, 99], hi = [-1, -1, -1];
  for (const l of labels) {
    for (let z = 0; z < 9; z++) {
      for (let y = 0; y < 10; y++) {
        for (let x = 0; x < 12; x++) {
          if (!l.data[x + 12 * (y + 10 * z)]) continue;
          [x, y, z].forEach((v, a) => (lo[a] = Math.min(lo[a], v), hi[a] = Math.max(hi[a], v)));
        }
      }
    }
  }
  assert.deepEqual(roiFromLabels(labels, 0), { start: lo, end: hi.map((v) => v + 1) });
  // 4 mm is 4, 2 and 2 voxels (rounded up) at spacing [1, 2, 3], clipped to the grid.
  const r = roiFromLabels(labels, 4);
  assert.deepEqual(r.start, lo.map((v, a) => Math.max(0, v - [4, 2, 2][a])));
  assert.deepEqual(r.end, hi.map((v, a) => Math.min(shape[a], v + 1 + [4, 2, 2][a])));
  assert.throws(() => roiFromLabels([makeVolume(new Uint8Array(8), [2, 2, 2])]), /none of the 1 labels/);
});

Deno.test("parseRoi reads x0,y0,z0,x1,y1,z1 and names a bad value", () => {
  assert.deepEqual(parseRoi(" 1, 2,3,4,5,6"), { start: [1, 2, 3], end: [4, 5, 6] });
  assert.throws(() => parseRoi("4,2,3,4,5,6"), /x0 < x1/);
  assert.throws(() => parseRoi("1,2,3,4,5,x"), /"1,2,3,4,5,x"/);
  assert.throws(
    () => sampleCropStart([10, 10, 10], [4, 4, 4], new Rng(0), null, { roi: parseRoi("0,0,0,11,5,5") }),
    /inside the volume/,
  );
});

import assert from "node:assert/strict";
import { Rng } from "../../tensor/random.ts";
import { makePhantom } from "../../data/phantoms.ts";
import { makeVolume, type Shape3, type Volume } from "../../data/volume.ts";
import {
  compose,
  cropOrPad,
  flipVolume,
  randomCrop,
  randomCropStart,
  randomFlip,
  randomSliceIntensity,
  type Sample,
  trainingAugmentation,
  zScore,
} from "../../data/transforms.ts";

/** A float32 volume whose voxel value is its linear index, and a label marking odd indices. */
function indexed(shape: Shape3): Sample {
  const n = shape[0] * shape[1] * shape[2];
  const image = makeVolume(Float32Array.from({ length: n }, (_, i) => i), shape, { spacing: [1, 2, 3] });
  const label = makeVolume(Uint8Array.from({ length: n }, (_, i) => i % 2), shape, { spacing: [1, 2, 3] });
  return { image, label };
}

/** World position of voxel (i, j, k). */
function world(v: Volume, i: number, j: number, k: number): number[] {
  return v.affine.slice(0, 3).map((r) => r[0] * i + r[1] * j + r[2] * k + r[3]);
}

Deno.test("zScore gives mean 0 and std 1 over the voxels > 0 and leaves the background exactly 0", () => {
  const { image } = makePhantom({ task: "hippocampus", size: 24, seed: 3 });
  const out = zScore()({ image }, new Rng(0)).image.data;
  let n = 0, sum = 0, ss = 0;
  for (let i = 0; i < out.length; i++) {
    if (image.data[i] > 0) (n++, sum += out[i], ss += out[i] * out[i]);
    else assert.equal(out[i], image.data[i]);
  }
  assert.ok(n > 1000);
  assert.ok(Math.abs(sum / n) < 1e-5, `mean ${sum / n}`);
  assert.ok(Math.abs(Math.sqrt(ss / n - (sum / n) ** 2) - 1) < 1e-5);
  assert.equal(image.data.some((v) => v < 0), false, "input untouched");
});

Deno.test("zScore by hand: [0, 1, 3] → [0, −1, 1]; an empty foreground is an error", () => {
  const image = makeVolume(new Float32Array([0, 1, 3, 0]), [4, 1, 1]);
  assert.deepEqual([...zScore()({ image }, new Rng(0)).image.data], [0, -1, 1, 0]);
  const empty = makeVolume(new Float32Array(4), [4, 1, 1]);
  assert.throws(() => zScore()({ image: empty }, new Rng(0)), /no voxel above 0.*\[4,1,1\]/);
});

Deno.test("random crop offsets cover exactly the inclusive range [0, n − size] per axis", () => {
  const shape: Shape3 = [10, 7, 5], size: Shape3 = [6, 4, 5];
  const seen = [new Map<number, number>(), new Map<number, number>(), new Map<number, number>()];
  const sample = indexed(shape);
  for (let s = 0; s < 500; s++) {
    const out = randomCrop({ size })(sample, new Rng(s));
    const first = out.image.data[0];
    const offset = [first % 10, Math.floor(first / 10) % 7, Math.floor(first / 70)];
    offset.forEach((o, a) => seen[a].set(o, (seen[a].get(o) ?? 0) + 1));
    // Content is the sub-block at that offset, label at the same offset.
    const [x, y, z] = offset;
    assert.equal(out.image.data[5 + 6 * (3 + 4 * 4)], x + 5 + 10 * (y + 3 + 7 * (z + 4)));
    for (let i = 0; i < out.image.data.length; i++) assert.equal(out.label!.data[i], out.image.data[i] % 2);
    assert.deepEqual(world(out.image, 0, 0, 0), world(sample.image, x, y, z));
  }
  assert.deepEqual([...seen[0].keys()].sort(), [0, 1, 2, 3, 4]);
  assert.deepEqual([...seen[1].keys()].sort(), [0, 1, 2, 3]);
  assert.deepEqual([...seen[2].keys()], [0]);
  for (const count of seen[0].values()) assert.ok(count > 60 && count < 140, `x offset count ${count}`);
});

Deno.test("random 128³ crop starts of 182×218×182 span [0,54]×[0,90]×[0,54] (the authors' data/BraTS.py)", () => {
  const lo = [Infinity, Infinity, Infinity], hi = [-Infinity, -Infinity, -Infinity];
  const rng = new Rng(1000);
  for (let s = 0; s < 3000; s++) {
    randomCropStart([182, 218, 182], [128, 128, 128], rng).forEach((o, a) => {
      lo[a] = Math.min(lo[a], o);
      hi[a] = Math.max(hi[a], o);
      assert.ok(Number.isInteger(o));
    });
  }
  assert.deepEqual(lo, [0, 0, 0]);
  assert.deepEqual(hi, [54, 90, 54]);
});

Deno.test("random crop pads with zeros where the volume is smaller than the crop", () => {
  const sample = indexed([3, 5, 2]);
  const out = randomCrop({ size: [6, 5, 4] })(sample, new Rng(9));
  assert.deepEqual(out.image.shape, [6, 5, 4]);
  // x: 3 → 6 pads 1 before, 2 after; y fits exactly; z: 2 → 4 pads 1 before, 1 after.
  const at = (d: ArrayLike<number>, i: number, j: number, k: number) => d[i + 6 * (j + 5 * k)];
  for (let j = 0; j < 5; j++) {
    assert.deepEqual([0, 1, 2, 3, 4, 5].map((i) => at(out.image.data, i, j, 1)), [
      0,
      3 * j,
      3 * j + 1,
      3 * j + 2,
      0,
      0,
    ]);
    assert.deepEqual([0, 1, 2, 3, 4, 5].map((i) => at(out.image.data, i, j, 0)), [0, 0, 0, 0, 0, 0]);
  }
  for (let i = 0; i < out.image.data.length; i++) assert.equal(out.label!.data[i], out.image.data[i] % 2);
  assert.deepEqual(world(out.image, 1, 0, 1), world(sample.image, 0, 0, 0));
});

Deno.test("cropOrPad keeps world positions and fills outside voxels", () => {
  const { image } = indexed([4, 4, 4]);
  const out = cropOrPad(image, [2, -1, 3], [3, 3, 2], -5);
  assert.equal(out.data[0], -5); // y = −1 is outside
  assert.equal(out.data[0 + 3 * 1], 2 + 4 * (0 + 4 * 3));
  assert.equal(out.data[2 + 3 * 1], -5); // x = 4 is outside
  assert.deepEqual(world(out, 1, 2, 0), world(image, 3, 1, 3));
});

Deno.test("flipVolume is an involution, keeps world positions, and matches the index rule", () => {
  const { image } = indexed([4, 3, 2]);
  for (const axis of [0, 1, 2] as const) {
    const f = flipVolume(image, axis);
    const twice = flipVolume(f, axis);
    assert.deepEqual([...twice.data], [...image.data]);
    assert.deepEqual(twice.affine, image.affine);
    const ijk = [1, 2, 0], src = [...ijk];
    src[axis] = image.shape[axis] - 1 - ijk[axis];
    assert.equal(f.data[ijk[0] + 4 * (ijk[1] + 3 * ijk[2])], src[0] + 4 * (src[1] + 3 * src[2]));
    assert.deepEqual(world(f, ijk[0], ijk[1], ijk[2]), world(image, src[0], src[1], src[2]));
  }
});

Deno.test("randomFlip flips image and label together, each axis with p ≈ 0.5", () => {
  const sample = indexed([5, 4, 3]);
  const flips = [0, 0, 0];
  for (let s = 0; s < 300; s++) {
    const out = randomFlip()(sample, new Rng(s));
    for (let i = 0; i < out.image.data.length; i++) assert.equal(out.label!.data[i], out.image.data[i] % 2);
    const first = out.image.data[0];
    if (first % 5 !== 0) flips[0]++;
    if (Math.floor(first / 5) % 4 !== 0) flips[1]++;
    if (Math.floor(first / 20) !== 0) flips[2]++;
  }
  for (const f of flips) assert.ok(f > 110 && f < 190, `flip count ${f} of 300`);
  const none = randomFlip({ prob: 0 })(sample, new Rng(1));
  assert.deepEqual([...none.image.data], [...sample.image.data]);
});

Deno.test("per-coronal-slice intensity: one (a, b) per y index, all factors drawn before all shifts", () => {
  const shape: Shape3 = [3, 4, 2];
  const image = makeVolume(Float32Array.from({ length: 24 }, (_, i) => i % 3 === 0 ? 0 : 2), shape);
  const label = makeVolume(new Uint8Array(24).fill(1), shape);
  const out = randomSliceIntensity()({ image, label }, new Rng(11));
  const ref = new Rng(11);
  const a = [0, 1, 2, 3].map(() => ref.uniformIn(0.9, 1.1));
  const b = [0, 1, 2, 3].map(() => ref.uniformIn(-0.1, 0.1));
  for (let k = 0; k < 2; k++) {
    for (let j = 0; j < 4; j++) {
      for (let i = 0; i < 3; i++) {
        const p = i + 3 * (j + 4 * k);
        assert.ok(Math.abs(out.image.data[p] - (image.data[p] * a[j] + b[j])) < 1e-6);
      }
    }
  }
  assert.notEqual(out.image.data[0], 0, "background is shifted too");
  assert.equal(out.label, label);
  const alongZ = randomSliceIntensity({ axis: 2, scale: [1, 1], shift: [0.5, 0.5] })({ image }, new Rng(0));
  assert.deepEqual([...alongZ.image.data], [...image.data].map((v) => v + 0.5));
});

Deno.test("compose replays by seed, checks geometry, and every step can be switched off", () => {
  const { image, label } = makePhantom({ task: "hippocampus", size: 20, seed: 2 });
  const pipeline = compose(zScore(), trainingAugmentation({ crop: { size: [8, 12, 16] } }));
  const a = pipeline({ image, label }, new Rng(4)), b = pipeline({ image, label }, new Rng(4));
  assert.deepEqual(a, b);
  assert.deepEqual(a.image.shape, [8, 12, 16]);
  assert.notDeepEqual(pipeline({ image, label }, new Rng(5)).image.data, a.image.data);
  const off = trainingAugmentation({ crop: false, flip: false, intensity: false })({ image, label }, new Rng(0));
  assert.equal(off.image, image);
  const bad = makeVolume(new Uint8Array(8), [2, 2, 2]);
  assert.throws(
    () => pipeline({ image, label: bad }, new Rng(0)),
    /label shape \[2,2,2\] differs from image shape \[20,20,20\]/,
  );
});

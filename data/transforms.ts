/**
 * Preprocessing and training augmentation on {image, label} pairs
 * (paper §4.3; the authors' `data/preprocess.py`, `data/BraTS.py`). Every random choice comes from an
 * explicit {@link Rng}, so a pipeline replays bit for bit from its seed.
 *
 * Axes are those of {@link Volume}: `[x, y, z]`, x fastest. In the authors'
 * MNI-registered arrays, axis 1 (y, posterior→anterior) indexes the coronal
 * slices, which is the axis of the per-slice intensity augmentation (§4.3).
 * Images are single-channel.
 * @module
 */
import type { Rng } from "../tensor/random.ts";
import type { Shape3, Volume } from "./volume.ts";
import { type RoiBox, sampleCropStart } from "./crop_sampling.ts";

/** An image with an optional label map on the same grid. */
export interface Sample {
  /** The image, float32. */
  image: Volume<Float32Array>;
  /** The label map, uint8, same shape as the image. */
  label?: Volume<Uint8Array>;
}

/** One step of a pipeline: returns a new sample; never modifies its input. */
export type Transform = (sample: Sample, rng: Rng) => Sample;

function checkPair(sample: Sample, where: string): void {
  const { image, label } = sample;
  if (label && label.shape.some((n, i) => n !== image.shape[i])) {
    throw new RangeError(`${where}: label shape [${label.shape}] differs from image shape [${image.shape}]`);
  }
}

/**
 * Chains transforms left to right, all drawing from the one `rng` passed to
 * the result; checks that image and label keep one geometry.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compose, makeVolume, randomFlip, zScore } from "./mod.ts";
 * import { Rng } from "../tensor/random.ts";
 * const image = makeVolume(new Float32Array([0, 1, 2, 3]), [4, 1, 1]);
 * const out = compose(zScore(), randomFlip({ prob: 1, axes: [0] }))({ image }, new Rng(0));
 * assert.equal(out.image.data[3], 0);
 * ```
 */
export function compose(...transforms: Transform[]): Transform {
  return (sample, rng) => {
    checkPair(sample, "compose");
    for (const t of transforms) {
      sample = t(sample, rng);
      checkPair(sample, `compose: after ${t.name || "a transform"}`);
    }
    return sample;
  };
}

/** Options of {@link zScore}. */
export interface ZScoreOptions {
  /** Voxels strictly above this are normalised. Default 0 (the authors' `data/preprocess.py`). */
  threshold?: number;
}

/**
 * Z-score normalisation over the voxels > `threshold` (the brain after skull
 * stripping, the authors' `data/preprocess.py`): those become `(x − mean)/std` (population std); all
 * other voxels are left unchanged, so a zero background stays exactly 0.
 * Throws when no voxel is above the threshold.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeVolume, zScore } from "./mod.ts";
 * import { Rng } from "../tensor/random.ts";
 * const image = makeVolume(new Float32Array([0, 1, 3]), [3, 1, 1]);
 * assert.deepEqual([...zScore()({ image }, new Rng(0)).image.data], [0, -1, 1]);
 * ```
 */
export function zScore(options: ZScoreOptions = {}): Transform {
  const threshold = options.threshold ?? 0;
  return function zScore(sample) {
    const x = sample.image.data;
    let n = 0, sum = 0;
    for (let i = 0; i < x.length; i++) if (x[i] > threshold) (n++, sum += x[i]);
    if (n === 0) {
      throw new RangeError(`zScore: no voxel above ${threshold} in an image of shape [${sample.image.shape}]`);
    }
    const mean = sum / n;
    let ss = 0;
    for (let i = 0; i < x.length; i++) if (x[i] > threshold) ss += (x[i] - mean) ** 2;
    // A constant foreground has std 0; map it to 0 instead of NaN.
    const inv = ss > 0 ? 1 / Math.sqrt(ss / n) : 0;
    const out = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = x[i] > threshold ? (x[i] - mean) * inv : x[i];
    return { ...sample, image: { ...sample.image, data: out } };
  };
}

/**
 * The sub-grid `[start, start + size)` of a volume; parts outside the volume
 * (negative starts, or past the end) are filled with `fill`. The affine is
 * shifted so that every kept voxel keeps its world position.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cropOrPad, makeVolume } from "./mod.ts";
 * const v = makeVolume(new Float32Array([1, 2, 3]), [3, 1, 1]);
 * assert.deepEqual([...cropOrPad(v, [-1, 0, 0], [5, 1, 1]).data], [0, 1, 2, 3, 0]);
 * ```
 */
export function cropOrPad<T extends Volume>(volume: T, start: Shape3, size: Shape3, fill = 0): T {
  const [X, Y, Z] = volume.shape, [sx, sy, sz] = size;
  const src = volume.data;
  const out = new (src.constructor as new (n: number) => typeof src)(sx * sy * sz);
  if (fill !== 0) out.fill(fill);
  const x0 = Math.max(0, -start[0]), x1 = Math.min(sx, X - start[0]);
  for (let k = 0; k < sz; k++) {
    const zk = start[2] + k;
    if (zk < 0 || zk >= Z) continue;
    for (let j = 0; j < sy; j++) {
      const yj = start[1] + j;
      if (yj < 0 || yj >= Y || x1 <= x0) continue;
      const from = start[0] + x0 + X * (yj + Y * zk);
      out.set(src.subarray(from, from + x1 - x0), x0 + sx * (j + sy * k));
    }
  }
  const a = volume.affine;
  const affine = a.map((row, r) =>
    r === 3 ? [...row] : [row[0], row[1], row[2], row[3] + row[0] * start[0] + row[1] * start[1] + row[2] * start[2]]
  );
  return { ...volume, data: out, shape: [sx, sy, sz], affine };
}

/**
 * Reverses one axis (0 = x, 1 = y, 2 = z); an involution. The affine is
 * updated so voxels keep their world positions.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { flipVolume, makeVolume } from "./mod.ts";
 * const v = makeVolume(new Uint8Array([1, 2, 3, 4]), [2, 2, 1]);
 * assert.deepEqual([...flipVolume(v, 1).data], [3, 4, 1, 2]);
 * ```
 */
export function flipVolume<T extends Volume>(volume: T, axis: 0 | 1 | 2): T {
  const [X, Y, Z] = volume.shape, src = volume.data;
  const out = new (src.constructor as new (n: number) => typeof src)(src.length);
  for (let k = 0; k < Z; k++) {
    for (let j = 0; j < Y; j++) {
      const row = X * (j + Y * k);
      if (axis === 0) {
        for (let i = 0; i < X; i++) out[row + i] = src[row + X - 1 - i];
      } else {
        const from = axis === 1 ? X * (Y - 1 - j + Y * k) : X * (j + Y * (Z - 1 - k));
        out.set(src.subarray(from, from + X), row);
      }
    }
  }
  const n = volume.shape[axis];
  const affine = volume.affine.map((row, r) => {
    const copy = [...row];
    if (r < 3) (copy[3] += row[axis] * (n - 1), copy[axis] = -row[axis]);
    return copy;
  });
  return { ...volume, data: out, affine };
}

/** Options of {@link randomCrop}. */
export interface RandomCropOptions {
  /** Crop size; a number means a cube. Default 128 (paper §4.3; small configs use 32 or 64). */
  size?: number | Shape3;
  /**
   * Probability of a crop centred on a random foreground voxel of the label
   * (`sampleCropStart` in crop_sampling.ts). Default 0: uniform crops, the paper's.
   */
  posFraction?: number;
  /** Draw crops inside this voxel box (co-registered scans). Default none. */
  roi?: RoiBox | null;
}

/**
 * The crop start of {@link randomCrop} along each axis: uniform over the
 * inclusive range `[0, shape − size]` (paper §4.3; the authors' `data/BraTS.py`: [0,54]×[0,90]×[0,54] for
 * 182×218×182); where the volume is smaller than the crop, no draw and a
 * negative start that pads evenly (the extra voxel after).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { randomCropStart, Rng } from "./mod.ts";
 * const [x, y, z] = randomCropStart([182, 218, 100], [128, 128, 128], new Rng(0));
 * assert.ok(x >= 0 && x <= 54 && y >= 0 && y <= 90);
 * assert.equal(z, -14);
 * ```
 */
export function randomCropStart(shape: Shape3, size: Shape3, rng: Rng): Shape3 {
  return shape.map((n, a) => n >= size[a] ? rng.int(0, n - size[a]) : -Math.floor((size[a] - n) / 2)) as Shape3;
}

/**
 * Random crop of image and label at one offset (paper §4.3; the authors' `data/BraTS.py`), zero-padding
 * the axes where the volume is smaller than the crop (pad-if-smaller).
 * With `posFraction` or `roi` the offset is foreground-aware
 * (`sampleCropStart`, crop_sampling.ts).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeVolume, randomCrop } from "./mod.ts";
 * import { Rng } from "../tensor/random.ts";
 * const image = makeVolume(new Float32Array(6 * 6 * 6), [6, 6, 6]);
 * const label = makeVolume(new Uint8Array(6 * 6 * 6), [6, 6, 6]);
 * const out = randomCrop({ size: [4, 4, 8] })({ image, label }, new Rng(1));
 * assert.deepEqual(out.image.shape, [4, 4, 8]);
 * assert.deepEqual(out.label?.shape, [4, 4, 8]);
 * ```
 */
export function randomCrop(options: RandomCropOptions = {}): Transform {
  const s = options.size ?? 128;
  const size: Shape3 = typeof s === "number" ? [s, s, s] : [...s];
  if (!size.every((n) => Number.isInteger(n) && n > 0)) {
    throw new RangeError(`randomCrop: size [${size}] must be positive integers`);
  }
  const posFraction = options.posFraction ?? 0, roi = options.roi ?? null;
  if (!(posFraction >= 0 && posFraction <= 1)) {
    throw new RangeError(`randomCrop: posFraction ${posFraction} must be in [0, 1]`);
  }
  return function randomCrop(sample, rng) {
    const start = posFraction > 0 || roi
      ? sampleCropStart(sample.image.shape, size, rng, sample.label, { posFraction, roi })
      : randomCropStart(sample.image.shape, size, rng);
    const image = cropOrPad(sample.image, start, size);
    return sample.label ? { image, label: cropOrPad(sample.label, start, size) } : { image };
  };
}

/** Options of {@link randomFlip}. */
export interface RandomFlipOptions {
  /** Probability of flipping each axis. Default 0.5 (paper §4.3). */
  prob?: number;
  /** Axes that may flip, each drawn independently in this order. Default [0, 1, 2]. */
  axes?: (0 | 1 | 2)[];
}

/**
 * Flips image and label together along each axis independently with
 * probability `prob` (paper §4.3); one uniform draw per axis.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeVolume, randomFlip } from "./mod.ts";
 * import { Rng } from "../tensor/random.ts";
 * const image = makeVolume(new Float32Array([1, 2]), [2, 1, 1]);
 * const label = makeVolume(new Uint8Array([1, 0]), [2, 1, 1]);
 * const out = randomFlip({ prob: 1 })({ image, label }, new Rng(0));
 * assert.deepEqual([...out.image.data], [2, 1]);
 * assert.deepEqual([...out.label!.data], [0, 1]);
 * ```
 */
export function randomFlip(options: RandomFlipOptions = {}): Transform {
  const prob = options.prob ?? 0.5, axes = options.axes ?? [0, 1, 2];
  return function randomFlip(sample, rng) {
    let { image, label } = sample;
    for (const axis of axes) {
      if (rng.uniform() < prob) {
        image = flipVolume(image, axis);
        if (label) label = flipVolume(label, axis);
      }
    }
    return label ? { image, label } : { image };
  };
}

/** Options of {@link randomSliceIntensity}. */
export interface SliceIntensityOptions {
  /** Range of the multiplicative factor a. Default [0.9, 1.1]. */
  scale?: [number, number];
  /** Range of the additive shift b. Default [−0.1, 0.1]. */
  shift?: [number, number];
  /** Axis whose slices get their own (a, b). Default 1 (coronal, paper §4.3; the authors' `data/BraTS.py`). */
  axis?: 0 | 1 | 2;
}

/**
 * Intensity augmentation of the authors' `data/BraTS.py` (paper §4.3): `x ← x·a + b` with `a ~ U(scale)` and
 * `b ~ U(shift)` drawn independently for each index along `axis` (one pair
 * per coronal slice by default) and applied to every voxel of the slice,
 * background included. As in the authors' code, all factors are drawn
 * first, then all shifts. The label is unchanged.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeVolume, randomSliceIntensity } from "./mod.ts";
 * import { Rng } from "../tensor/random.ts";
 * const image = makeVolume(new Float32Array(8).fill(1), [2, 2, 2]);
 * const out = randomSliceIntensity()({ image }, new Rng(3)).image.data;
 * assert.equal(out[0], out[1]); // same coronal slice (y = 0), same (a, b)
 * assert.ok(out.every((v) => v >= 0.8 && v <= 1.2));
 * ```
 */
export function randomSliceIntensity(options: SliceIntensityOptions = {}): Transform {
  const [a0, a1] = options.scale ?? [0.9, 1.1], [b0, b1] = options.shift ?? [-0.1, 0.1];
  const axis = options.axis ?? 1;
  return function randomSliceIntensity(sample, rng) {
    const [X, Y, Z] = sample.image.shape, n = sample.image.shape[axis];
    const a = Array.from({ length: n }, () => rng.uniformIn(a0, a1));
    const b = Array.from({ length: n }, () => rng.uniformIn(b0, b1));
    const x = sample.image.data, out = new Float32Array(x.length);
    for (let k = 0, p = 0; k < Z; k++) {
      for (let j = 0; j < Y; j++) {
        for (let i = 0; i < X; i++, p++) {
          const s = axis === 0 ? i : axis === 1 ? j : k;
          out[p] = x[p] * a[s] + b[s];
        }
      }
    }
    return { ...sample, image: { ...sample.image, data: out } };
  };
}

/** Options of {@link trainingAugmentation}; `false` switches a step off. */
export interface AugmentationOptions {
  /** Random crop (paper §4.3; the authors' `data/BraTS.py`). Default `{ size: 128 }`. */
  crop?: RandomCropOptions | false;
  /** Random flips (paper §4.3). Default `{ prob: 0.5 }`. */
  flip?: RandomFlipOptions | false;
  /** Per-slice intensity scale and shift (paper §4.3; the authors' `data/BraTS.py`). Default on. */
  intensity?: SliceIntensityOptions | false;
}

/**
 * The training sampler of the paper's §4.3 in the order of the authors' `data/BraTS.py`: crop, flips,
 * per-coronal-slice intensity. Apply it to z-scored subjects (§3,
 * {@link zScore}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makePhantom, trainingAugmentation, zScore } from "./mod.ts";
 * import { Rng } from "../tensor/random.ts";
 * const { image, label } = makePhantom({ task: "hippocampus", size: 24, seed: 1 });
 * const pre = zScore()({ image, label }, new Rng(0));
 * const out = trainingAugmentation({ crop: { size: 16 } })(pre, new Rng(5));
 * assert.deepEqual(out.image.shape, [16, 16, 16]);
 * assert.deepEqual(trainingAugmentation({ crop: { size: 16 } })(pre, new Rng(5)), out);
 * ```
 */
export function trainingAugmentation(options: AugmentationOptions = {}): Transform {
  const steps: Transform[] = [];
  if (options.crop !== false) steps.push(randomCrop(options.crop ?? {}));
  if (options.flip !== false) steps.push(randomFlip(options.flip ?? {}));
  if (options.intensity !== false) steps.push(randomSliceIntensity(options.intensity ?? {}));
  return compose(...steps);
}

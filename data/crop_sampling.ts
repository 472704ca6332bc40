/**
 * Foreground-aware crop sampling and regions of interest (DESIGN.md "Data and
 * training": uniform crops, or a crop centred on a random foreground voxel
 * with probability p, plus an optional ROI for co-registered scans).
 *
 * The sampler is MONAI's `RandCropByPosNegLabeld` (pos/(pos+neg) = p) and
 * nnU-Net's foreground oversampling: with probability `posFraction` the crop
 * centre is a foreground voxel drawn uniformly, and the crop is shifted back
 * inside the volume where the centre is near a border; otherwise the crop
 * start is uniform, as {@link randomCropStart} draws it. Small crops of a
 * whole brain rarely see the hippocampus (0.23% of the voxels; issue 17);
 * the paper's 128³ crops always do, so paper mode keeps uniform crops.
 *
 * A {@link RoiBox} is a half-open voxel box `[start, end)` on the scans'
 * common grid (MONAI `SpatialCrop`'s `roi_start` / `roi_end`); it only makes
 * sense when every scan is registered to one template grid (the paper's MNI
 * pre-processing).
 * @module
 */
import type { Rng } from "../tensor/random.ts";
import type { Shape3, Volume } from "./volume.ts";

/** A voxel box `[start, end)` per axis (end exclusive), on a volume's grid. */
export interface RoiBox {
  /** First voxel `[x0, y0, z0]`. */
  start: Shape3;
  /** One past the last voxel `[x1, y1, z1]`. */
  end: Shape3;
}

/** Throws unless `roi` is a non-empty box inside `shape`; `where` names the caller. */
export function checkRoi(roi: RoiBox, shape: Shape3, where: string): void {
  const ok = [0, 1, 2].every((a) =>
    Number.isInteger(roi.start[a]) && Number.isInteger(roi.end[a]) && roi.start[a] >= 0 &&
    roi.start[a] < roi.end[a] && roi.end[a] <= shape[a]
  );
  if (!ok) {
    throw new RangeError(
      `${where}: ROI [${roi.start}]..[${roi.end}] (end exclusive) is not a non-empty box inside the volume [${shape}]`,
    );
  }
}

/**
 * Parses `x0,y0,z0,x1,y1,z1` (voxels, end exclusive) into a {@link RoiBox}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseRoi } from "./crop_sampling.ts";
 * assert.deepEqual(parseRoi("10,20,30,50,60,70"), { start: [10, 20, 30], end: [50, 60, 70] });
 * assert.throws(() => parseRoi("1,2,3"), /six integers/);
 * ```
 */
export function parseRoi(text: string): RoiBox {
  const v = text.split(",").map((x) => x.trim());
  const n = v.map(Number);
  if (v.length !== 6 || v.some((x) => !/^\d+$/.test(x)) || [0, 1, 2].some((a) => n[a] >= n[a + 3])) {
    throw new RangeError(
      `ROI "${text}" must be six integers x0,y0,z0,x1,y1,z1 (voxels, end exclusive) with x0 < x1, y0 < y1, z0 < z1`,
    );
  }
  return { start: [n[0], n[1], n[2]], end: [n[3], n[4], n[5]] };
}

/**
 * The union bounding box of the non-zero voxels of `labels` (all on one
 * grid), grown by `marginMm` on every side (converted with each axis'
 * spacing, rounded up) and clipped to the grid: `--roi auto`. Throws when
 * the shapes differ or no label has a foreground voxel.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeVolume, roiFromLabels } from "./mod.ts";
 * const a = new Uint8Array(10 * 10 * 10), b = new Uint8Array(10 * 10 * 10);
 * a[2 + 10 * (3 + 10 * 4)] = 1;
 * b[5 + 10 * (5 + 10 * 5)] = 1;
 * const labels = [a, b].map((d) => makeVolume(d, [10, 10, 10], { spacing: [2, 2, 2] }));
 * assert.deepEqual(roiFromLabels(labels, 2), { start: [1, 2, 3], end: [7, 7, 7] });
 * ```
 */
export function roiFromLabels(labels: readonly Volume[], marginMm = 0): RoiBox {
  if (labels.length === 0) throw new RangeError("roiFromLabels: no label given");
  if (!(marginMm >= 0)) throw new RangeError(`roiFromLabels: margin ${marginMm} mm must be >= 0`);
  const shape = labels[0].shape;
  const lo = [Infinity, Infinity, Infinity], hi = [-1, -1, -1];
  labels.forEach((l, n) => {
    if (l.shape.some((s, a) => s !== shape[a])) {
      throw new RangeError(
        `roiFromLabels: label ${n} has shape [${l.shape}], label 0 [${shape}]; --roi auto needs co-registered scans`,
      );
    }
    const [X, Y] = l.shape, d = l.data;
    for (let p = 0; p < d.length; p++) {
      if (!d[p]) continue;
      const x = p % X, y = Math.floor(p / X) % Y, z = Math.floor(p / (X * Y));
      if (x < lo[0]) lo[0] = x;
      if (x > hi[0]) hi[0] = x;
      if (y < lo[1]) lo[1] = y;
      if (y > hi[1]) hi[1] = y;
      if (z < lo[2]) lo[2] = z;
      if (z > hi[2]) hi[2] = z;
    }
  });
  if (hi[0] < 0) throw new RangeError(`roiFromLabels: none of the ${labels.length} labels has a foreground voxel`);
  const sp = labels[0].spacing;
  const m = sp.map((s) => Math.ceil(marginMm / s - 1e-9));
  return {
    start: lo.map((v, a) => Math.max(0, v - m[a])) as Shape3,
    end: hi.map((v, a) => Math.min(shape[a], v + 1 + m[a])) as Shape3,
  };
}

/** Options of {@link sampleCropStart}. */
export interface CropSamplingOptions {
  /** Probability of a crop centred on a foreground voxel, in [0, 1]. Default 0 (uniform crops). */
  posFraction?: number;
  /** Crops are drawn inside this box (or to contain it where it is smaller than the crop). */
  roi?: RoiBox | null;
}

// Foreground voxel indices per label array and ROI, computed once per subject.
const foregroundCache = new WeakMap<ArrayLike<number>, Map<string, Int32Array>>();

/**
 * The indices (x fastest) of the non-zero voxels of `label`, restricted to
 * `roi` when given; cached per label array.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { foregroundIndices, makeVolume } from "./mod.ts";
 * const label = makeVolume(new Uint8Array([0, 1, 0, 2]), [4, 1, 1]);
 * assert.deepEqual([...foregroundIndices(label)], [1, 3]);
 * assert.deepEqual([...foregroundIndices(label, { start: [2, 0, 0], end: [4, 1, 1] })], [3]);
 * ```
 */
export function foregroundIndices(label: Volume, roi?: RoiBox | null): Int32Array {
  const key = roi ? `${roi.start}/${roi.end}` : "";
  let byRoi = foregroundCache.get(label.data);
  if (!byRoi) foregroundCache.set(label.data, byRoi = new Map());
  const hit = byRoi.get(key);
  if (hit) return hit;
  const [X, Y] = label.shape, d = label.data, out: number[] = [];
  for (let p = 0; p < d.length; p++) {
    if (!d[p]) continue;
    if (roi) {
      const x = p % X, y = Math.floor(p / X) % Y, z = Math.floor(p / (X * Y));
      if (x < roi.start[0] || x >= roi.end[0] || y < roi.start[1] || y >= roi.end[1]) continue;
      if (z < roi.start[2] || z >= roi.end[2]) continue;
    }
    out.push(p);
  }
  const idx = Int32Array.from(out);
  byRoi.set(key, idx);
  return idx;
}

/** Where an axis of length `n` cannot hold the crop: pad evenly (as {@link randomCropStart}). */
const padStart = (n: number, size: number) => -Math.floor((size - n) / 2);

/**
 * The start of one training crop of `size` in a volume of `shape`.
 *
 * - With probability `posFraction` (one `rng.uniform()` draw, made only when
 *   `posFraction > 0`) and a label with foreground (inside the ROI): a
 *   foreground voxel is drawn uniformly, the crop is centred on it (centre
 *   index `⌊size/2⌋`) and shifted back inside the volume.
 * - Otherwise uniform: every start in `[0, shape − size]`, or, with an ROI,
 *   every start whose crop lies inside the ROI (whose crop contains the ROI
 *   along axes where the ROI is smaller than the crop), clipped to the volume.
 *
 * Without ROI and with `posFraction` 0 it draws exactly as `randomCropStart`,
 * so uniform runs replay as before; a volume no larger than the crop on
 * every axis has one possible start and draws as `randomCropStart` whatever
 * `posFraction`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeVolume, Rng, sampleCropStart } from "./mod.ts";
 * const label = makeVolume(new Uint8Array(32 * 32 * 32), [32, 32, 32]);
 * label.data[20 + 32 * (20 + 32 * 20)] = 1;
 * const start = sampleCropStart([32, 32, 32], [8, 8, 8], new Rng(0), label, { posFraction: 1 });
 * assert.deepEqual(start, [16, 16, 16]);
 * ```
 */
export function sampleCropStart(
  shape: Shape3,
  size: Shape3,
  rng: Rng,
  label?: Volume | null,
  options: CropSamplingOptions = {},
): Shape3 {
  const p = options.posFraction ?? 0, roi = options.roi ?? null;
  if (!(p >= 0 && p <= 1)) throw new RangeError(`sampleCropStart: posFraction ${p} must be in [0, 1]`);
  if (roi) checkRoi(roi, shape, "sampleCropStart");
  // A volume no larger than the crop has one start: drawn as the uniform sampler draws it (no foreground coin),
  // so such runs (phantoms as large as the crop) replay as uniform ones.
  if (shape.every((n, a) => n <= size[a])) {
    return shape.map((n, a) => (n === size[a] ? rng.int(0, 0) : padStart(n, size[a]))) as Shape3;
  }
  if (p > 0 && label && rng.uniform() < p) {
    const fg = foregroundIndices(label, roi);
    if (fg.length > 0) {
      const v = fg[rng.int(0, fg.length - 1)];
      const [X, Y] = shape;
      const centre = [v % X, Math.floor(v / X) % Y, Math.floor(v / (X * Y))];
      return shape.map((n, a) =>
        n >= size[a] ? Math.min(n - size[a], Math.max(0, centre[a] - Math.floor(size[a] / 2))) : padStart(n, size[a])
      ) as Shape3;
    }
  }
  return shape.map((n, a) => {
    if (n < size[a]) return padStart(n, size[a]);
    let lo = 0, hi = n - size[a];
    if (roi) {
      const inside = roi.end[a] - roi.start[a] >= size[a];
      lo = Math.min(hi, Math.max(0, inside ? roi.start[a] : roi.end[a] - size[a]));
      hi = Math.max(lo, Math.min(hi, inside ? roi.end[a] - size[a] : roi.start[a]));
    }
    return rng.int(lo, hi);
  }) as Shape3;
}

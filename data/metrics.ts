/**
 * Segmentation metrics on binary masks: Dice, Hausdorff distance (maximum and
 * percentile), average symmetric surface distance, and a per-subject
 * aggregate that keeps missed cases visible (paper §4.2).
 *
 * Masks are flat arrays in NIfTI order (x fastest); any nonzero voxel is
 * foreground. Surface distances follow MONAI's `HausdorffDistanceMetric`:
 * the surface of a mask is the mask minus its 6-neighbour erosion (voxels
 * outside the grid count as background), and each surface voxel's distance to
 * the other surface is read from an exact Euclidean distance transform.
 * @module
 */
import { type Shape3, type Spacing3, voxelCount } from "./volume.ts";

/** A flat binary mask: nonzero voxels are foreground. */
export type Mask = ArrayLike<number>;

function checkPair(a: Mask, b: Mask, where: string, shape?: Shape3): void {
  if (a.length !== b.length) {
    throw new RangeError(
      `${where}: masks differ in length (${a.length} vs ${b.length})`,
    );
  }
  if (shape && voxelCount(shape) !== a.length) {
    throw new RangeError(
      `${where}: shape [${shape}] has ${voxelCount(shape)} voxels, masks have ${a.length}`,
    );
  }
}

/**
 * Dice overlap 2|A∩B| / (|A| + |B|); 1 when both masks are empty (the
 * authors' script gives NaN there; both agree whenever a mask is
 * non-empty).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dice } from "./metrics.ts";
 * assert.equal(dice([1, 1, 0, 0], [1, 0, 1, 0]), 0.5);
 * ```
 */
export function dice(a: Mask, b: Mask): number {
  checkPair(a, b, "dice");
  let na = 0, nb = 0, both = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] !== 0, y = b[i] !== 0;
    if (x) na++;
    if (y) nb++;
    if (x && y) both++;
  }
  return na + nb === 0 ? 1 : (2 * both) / (na + nb);
}

/**
 * The surface of a mask: foreground voxels with at least one 6-neighbour
 * that is background or outside the grid (mask minus its 6-erosion).
 */
export function surfaceMask(mask: Mask, shape: Shape3): Uint8Array {
  const n = voxelCount(shape);
  if (mask.length !== n) {
    throw new RangeError(
      `surfaceMask: shape [${shape}] has ${n} voxels, mask has ${mask.length}`,
    );
  }
  const [nx, ny, nz] = shape, sxy = nx * ny;
  const out = new Uint8Array(n);
  for (let k = 0, i = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let x = 0; x < nx; x++, i++) {
        if (mask[i] === 0) continue;
        out[i] = x === 0 || x === nx - 1 || j === 0 || j === ny - 1 ||
            k === 0 || k === nz - 1 || mask[i - 1] === 0 ||
            mask[i + 1] === 0 || mask[i - nx] === 0 || mask[i + nx] === 0 ||
            mask[i - sxy] === 0 || mask[i + sxy] === 0
          ? 1
          : 0;
      }
    }
  }
  return out;
}

/**
 * Squared Euclidean distance (in mm²) from every voxel to the nearest
 * nonzero voxel of `features`, with anisotropic `spacing`; `Infinity`
 * everywhere when there is no feature. Exact, O(voxels): the separable
 * lower-envelope-of-parabolas algorithm of Felzenszwalb & Huttenlocher,
 * "Distance Transforms of Sampled Functions", Theory of Computing 8 (2012),
 * applied along x, then y, then z.
 */
export function edtSquared(
  features: Mask,
  shape: Shape3,
  spacing: Spacing3,
): Float64Array {
  const n = voxelCount(shape);
  if (features.length !== n) {
    throw new RangeError(
      `edtSquared: shape [${shape}] has ${n} voxels, features have ${features.length}`,
    );
  }
  const dist = new Float64Array(n);
  for (let i = 0; i < n; i++) dist[i] = features[i] !== 0 ? 0 : Infinity;
  const [nx, ny, nz] = shape;
  const longest = Math.max(nx, ny, nz);
  const f = new Float64Array(longest), d = new Float64Array(longest);
  const v = new Int32Array(longest), z = new Float64Array(longest + 1);
  const strides = [1, nx, nx * ny];
  for (let axis = 0; axis < 3; axis++) {
    const len = shape[axis], stride = strides[axis];
    const w2 = spacing[axis] * spacing[axis];
    // Every line along `axis` starts at a voxel whose `axis` coordinate is 0.
    const [o1, o2] = [0, 1, 2].filter((a) => a !== axis);
    for (let b = 0; b < shape[o2]; b++) {
      for (let a = 0; a < shape[o1]; a++) {
        const start = a * strides[o1] + b * strides[o2];
        for (let q = 0, i = start; q < len; q++, i += stride) f[q] = dist[i];
        if (lowerEnvelope(f, len, w2, d, v, z)) {
          for (let q = 0, i = start; q < len; q++, i += stride) dist[i] = d[q];
        }
      }
    }
  }
  return dist;
}

/**
 * One 1-D pass: d[q] = min_p w2·(q−p)² + f[p]. Returns false (leaving `d`
 * untouched) when the line has no finite sample, so it stays infinite.
 */
function lowerEnvelope(
  f: Float64Array,
  n: number,
  w2: number,
  d: Float64Array,
  v: Int32Array,
  z: Float64Array,
): boolean {
  let k = -1;
  for (let q = 0; q < n; q++) {
    const fq = f[q];
    if (fq === Infinity) continue;
    let s = -Infinity;
    while (k >= 0) {
      const p = v[k];
      s = (fq + w2 * q * q - (f[p] + w2 * p * p)) / (2 * w2 * (q - p));
      if (s <= z[k]) k--;
      else break;
    }
    k++;
    v[k] = q;
    z[k] = k === 0 ? -Infinity : s;
    z[k + 1] = Infinity;
  }
  if (k < 0) return false;
  for (let q = 0, j = 0; q < n; q++) {
    while (z[j + 1] < q) j++;
    const p = v[j];
    d[q] = w2 * (q - p) * (q - p) + f[p];
  }
  return true;
}

/**
 * Distances (mm) from each surface voxel of `a` to the nearest surface voxel
 * of `b`, in voxel order; both directions are returned. Work is restricted
 * to the bounding box of a ∪ b, which leaves every distance unchanged.
 * An empty mask yields an empty list; against an empty `b`, every distance
 * of `a` is Infinity.
 */
export function surfaceDistances(
  a: Mask,
  b: Mask,
  shape: Shape3,
  spacing: Spacing3,
): { aToB: Float64Array; bToA: Float64Array } {
  checkPair(a, b, "surfaceDistances", shape);
  const [nx, ny] = shape;
  const lo = [Infinity, Infinity, Infinity], hi = [-1, -1, -1];
  for (let i = 0; i < a.length; i++) {
    if (a[i] === 0 && b[i] === 0) continue;
    const c = [i % nx, Math.floor(i / nx) % ny, Math.floor(i / (nx * ny))];
    for (let t = 0; t < 3; t++) {
      if (c[t] < lo[t]) lo[t] = c[t];
      if (c[t] > hi[t]) hi[t] = c[t];
    }
  }
  if (hi[0] < 0) return { aToB: new Float64Array(0), bToA: new Float64Array(0) };
  const box: Shape3 = [hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1];
  const ma = new Uint8Array(voxelCount(box)), mb = new Uint8Array(ma.length);
  for (let k = 0, o = 0; k < box[2]; k++) {
    for (let j = 0; j < box[1]; j++) {
      let i = lo[0] + nx * (lo[1] + j + ny * (lo[2] + k));
      for (let x = 0; x < box[0]; x++, o++, i++) {
        ma[o] = a[i] !== 0 ? 1 : 0;
        mb[o] = b[i] !== 0 ? 1 : 0;
      }
    }
  }
  const sa = surfaceMask(ma, box), sb = surfaceMask(mb, box);
  const directed = (from: Uint8Array, to: Uint8Array): Float64Array => {
    const edt = edtSquared(to, box, spacing);
    const out: number[] = [];
    for (let i = 0; i < from.length; i++) {
      if (from[i]) out.push(Math.sqrt(edt[i]));
    }
    return Float64Array.from(out);
  };
  return { aToB: directed(sa, sb), bToA: directed(sb, sa) };
}

/**
 * The p-th percentile (0–100) with linear interpolation between order
 * statistics (NumPy's default); NaN for an empty list.
 */
export function percentile(values: ArrayLike<number>, p: number): number {
  if (!(p >= 0 && p <= 100)) {
    throw new RangeError(`percentile: p = ${p} is not in [0, 100]`);
  }
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const pos = (p / 100) * (sorted.length - 1);
  const i = Math.floor(pos), frac = pos - i;
  return frac === 0 ? sorted[i] : sorted[i] + (sorted[i + 1] - sorted[i]) * frac;
}

/** Options of {@link hausdorff}. */
export interface HausdorffOptions {
  /** Percentile of each directed distance set (100 = maximum). Default 100. */
  percentile?: number;
}

/** Result for the empty cases: 0 when both are empty, else Infinity. */
function emptyCase(d: { aToB: Float64Array; bToA: Float64Array }): number | null {
  const ea = d.aToB.length === 0, eb = d.bToA.length === 0;
  if (ea && eb) return 0;
  return ea || eb ? Infinity : null;
}

/**
 * Symmetric Hausdorff distance in mm: max of the two directed p-th
 * percentiles of surface distances (MONAI `HausdorffDistanceMetric`
 * definition). 0 when both masks are empty, Infinity when exactly one is.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hausdorff } from "./metrics.ts";
 * const a = [1, 0, 0, 0], b = [0, 0, 0, 1];
 * assert.equal(hausdorff(a, b, [4, 1, 1], [2, 1, 1]), 6);
 * ```
 */
export function hausdorff(
  a: Mask,
  b: Mask,
  shape: Shape3,
  spacing: Spacing3,
  options: HausdorffOptions = {},
): number {
  const d = surfaceDistances(a, b, shape, spacing);
  return fromDistances(d, options.percentile ?? 100);
}

function fromDistances(
  d: { aToB: Float64Array; bToA: Float64Array },
  p: number,
): number {
  return emptyCase(d) ??
    Math.max(percentile(d.aToB, p), percentile(d.bToA, p));
}

/** HD95: max of the two directed 95th percentiles (paper §4.2). */
export function hd95(a: Mask, b: Mask, shape: Shape3, spacing: Spacing3): number {
  return hausdorff(a, b, shape, spacing, { percentile: 95 });
}

/** Maximum Hausdorff distance (what the authors' `evaluation/hd95.py` reports). */
export function hdMax(a: Mask, b: Mask, shape: Shape3, spacing: Spacing3): number {
  return hausdorff(a, b, shape, spacing, { percentile: 100 });
}

/**
 * Average symmetric surface distance: the mean of the two directed mean
 * surface distances (MONAI `SurfaceDistanceMetric(symmetric=True)`).
 */
export function assd(a: Mask, b: Mask, shape: Shape3, spacing: Spacing3): number {
  return assdFrom(surfaceDistances(a, b, shape, spacing));
}

function assdFrom(d: { aToB: Float64Array; bToA: Float64Array }): number {
  const mean = (x: Float64Array) => x.reduce((s, v) => s + v, 0) / x.length;
  return emptyCase(d) ?? (mean(d.aToB) + mean(d.bToA)) / 2;
}

/** Per-subject metrics, as produced by {@link segmentationMetrics}. */
export interface SubjectMetrics {
  /** Subject identifier (used to list missed cases). */
  id?: string;
  /** Dice overlap in [0, 1]. */
  dice: number;
  /** Max of the directed 95th-percentile surface distances, mm. */
  hd95: number;
  /** Maximum symmetric Hausdorff distance, mm. */
  hdMax: number;
  /** Average symmetric surface distance, mm. */
  assd: number;
}

/**
 * Dice, HD95, maximum Hausdorff distance and ASSD of a prediction against a
 * ground truth, computing the distance transforms once.
 */
export function segmentationMetrics(
  prediction: Mask,
  truth: Mask,
  shape: Shape3,
  spacing: Spacing3,
  id?: string,
): SubjectMetrics {
  const d = surfaceDistances(prediction, truth, shape, spacing);
  const out: SubjectMetrics = {
    dice: dice(prediction, truth),
    hd95: fromDistances(d, 95),
    hdMax: fromDistances(d, 100),
    assd: assdFrom(d),
  };
  return id === undefined ? out : { id, ...out };
}

/** The metric names averaged by {@link aggregateMetrics}. */
export type MetricName = "dice" | "hd95" | "hdMax" | "assd";

/** Summary of per-subject metrics, see {@link aggregateMetrics}. */
export interface MetricSummary {
  /** Number of subjects. */
  n: number;
  /** Subjects with an infinite distance (an empty prediction or truth). */
  missed: number;
  /** Ids of the missed subjects (index as a string when no id was given). */
  missedIds: string[];
  /** Means: Dice over all subjects, distances over the non-missed ones. */
  mean: Record<MetricName, number>;
  /** Sample standard deviations over the same subjects as `mean`. */
  std: Record<MetricName, number>;
}

/**
 * Averages per-subject metrics. Dice is averaged over every subject (a missed
 * structure counts as 0); distances are averaged over subjects with finite
 * distances, and the others are counted in `missed` rather than dropped
 * silently. NaN values are rejected.
 */
export function aggregateMetrics(rows: readonly SubjectMetrics[]): MetricSummary {
  const names: MetricName[] = ["dice", "hd95", "hdMax", "assd"];
  const missedIds: string[] = [];
  const kept: SubjectMetrics[] = [];
  rows.forEach((r, i) => {
    for (const m of names) {
      if (Number.isNaN(r[m])) {
        throw new RangeError(
          `aggregateMetrics: subject ${r.id ?? i} has ${m} = NaN`,
        );
      }
    }
    if (names.some((m) => r[m] === Infinity)) missedIds.push(r.id ?? String(i));
    else kept.push(r);
  });
  const mean = {} as Record<MetricName, number>;
  const std = {} as Record<MetricName, number>;
  for (const m of names) {
    const xs = (m === "dice" ? rows : kept).map((r) => r[m]);
    const mu = xs.reduce((s, x) => s + x, 0) / xs.length;
    const ss = xs.reduce((s, x) => s + (x - mu) ** 2, 0);
    mean[m] = xs.length ? mu : NaN;
    std[m] = xs.length > 1 ? Math.sqrt(ss / (xs.length - 1)) : NaN;
  }
  return { n: rows.length, missed: missedIds.length, missedIds, mean, std };
}

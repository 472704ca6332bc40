/**
 * Figure-2-style slice overlays: axial, coronal and sagittal slices of the
 * MRI through the structure's centre (see {@link structureCentre}), with truth and prediction drawn as
 * overlap / false positive / false negative colours ({@link OVERLAY_COLOURS})
 * and a title strip with the Dice and HD95 (paper §4.2).
 *
 * Orientation: voxel axes are taken as the world axes up to sign, which holds
 * for MNI-registered and most scanner data (a permuted or strongly oblique
 * affine is drawn in voxel order). Each display axis is flipped so that world
 * coordinates grow rightwards and upwards; for RAS+ data that is the
 * neurological convention: axial and coronal show the subject's right on the
 * image's right, axial has anterior up, coronal and sagittal have superior
 * up, sagittal has anterior on the right. Voxels are resampled by nearest
 * neighbour to square pixels of `1 / pixelsPerMm` mm, so anisotropic spacing
 * keeps its true aspect.
 * @module
 */
import { type Mask, segmentationMetrics } from "../data/metrics.ts";
import { connectedComponents } from "../data/postprocess.ts";
import type { Shape3, Volume } from "../data/volume.ts";
import { hconcat, type Rgb } from "./draw.ts";
import { OVERLAY_COLOURS, type TitleInfo, withTitle } from "./legend.ts";
import { createRaster, type Raster } from "./png.ts";

/** A slice orientation. */
export type Plane = "axial" | "coronal" | "sagittal";

/** The three planes in display order. */
export const PLANES: readonly Plane[] = ["axial", "coronal", "sagittal"];

// [horizontal axis, vertical axis, fixed axis] of each plane, in voxel axes.
const AXES: Record<Plane, [number, number, number]> = {
  axial: [0, 1, 2],
  coronal: [0, 2, 1],
  sagittal: [1, 2, 0],
};
const AXIS_LETTER = ["x", "y", "z"];

/** An image with its truth and predicted label maps on one grid. */
export interface OverlayInput {
  /** The MRI (any voxel type). */
  image: Volume;
  /** Ground-truth label map; nonzero = structure. */
  truth: Volume;
  /** Predicted label map; nonzero = structure. */
  prediction: Volume;
}

/** Options of {@link renderSlice} and {@link renderSlices}. */
export interface SliceOptions {
  /** Voxel `[i, j, k]` the slices pass through; default {@link structureCentre}. */
  centre?: [number, number, number];
  /** Output pixels per mm (default 2). */
  pixelsPerMm?: number;
  /** Overlay opacity in [0, 1] (default 0.6; 1 paints the colours exactly). */
  opacity?: number;
  /** Grey window `[low, high]`; default {@link robustWindow} of the image. */
  window?: [number, number];
  /** First line of the title strip (the plane and slice are appended). */
  title?: string;
  /** Dice and HD95 to print; default computed with `segmentationMetrics`. */
  metrics?: { dice: number; hd95: number };
  /** Text magnification of the title strip; default the largest that fits. */
  textScale?: number;
}

/** One rendered slice and where its voxels landed. */
export interface SliceView {
  /** The picture, title strip included. */
  raster: Raster;
  /** Its plane. */
  plane: Plane;
  /** Index of the slice along the plane's fixed axis. */
  index: number;
  /** Pixel `[x, y]` (in `raster`) at the centre of voxel `[i, j, k]` of this slice. */
  toPixel(voxel: readonly number[]): [number, number];
}

function checkGrids(input: OverlayInput, where: string): Shape3 {
  const shape = input.image.shape;
  for (const name of ["truth", "prediction"] as const) {
    const s = input[name].shape;
    if (s.some((n, i) => n !== shape[i])) {
      throw new RangeError(`${where}: ${name} shape [${s}] differs from image shape [${shape}]`);
    }
  }
  return shape;
}

/**
 * The voxel nearest to the centre of mass of the largest 26-connected
 * component of truth ∪ prediction (the grid centre when both are empty).
 * The largest component, not the whole union, so that with a structure in two
 * parts (left and right hippocampus) every plane still cuts one of them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { structureCentre } from "./slices.ts";
 * const a = new Uint8Array(27), b = new Uint8Array(27);
 * a[0] = 1; a[1] = 1; b[2] = 1; // voxels (0..2, 0, 0)
 * b[26] = 1; // a smaller, separate part at (2, 2, 2)
 * assert.deepEqual(structureCentre(a, b, [3, 3, 3]), [1, 0, 0]);
 * ```
 */
export function structureCentre(truth: Mask, prediction: Mask, shape: Shape3): [number, number, number] {
  const union = new Uint8Array(truth.length);
  for (let v = 0; v < truth.length; v++) union[v] = truth[v] !== 0 || prediction[v] !== 0 ? 1 : 0;
  const { labels, sizes } = connectedComponents(union, shape, 26);
  const largest = sizes.reduce((best, s, c) => (s > sizes[best] ? c : best), 0);
  if (largest === 0) return shape.map((s) => Math.floor(s / 2)) as [number, number, number];
  const [nx, ny] = shape;
  let si = 0, sj = 0, sk = 0;
  for (let v = 0; v < labels.length; v++) {
    if (labels[v] !== largest) continue;
    si += v % nx, sj += Math.floor(v / nx) % ny, sk += Math.floor(v / (nx * ny));
  }
  const n = sizes[largest];
  return [Math.round(si / n), Math.round(sj / n), Math.round(sk / n)];
}

/**
 * A robust grey window: the `low` and `high` percentiles (default 1st and
 * 99th) of the image's nonzero voxels (all voxels when none is nonzero), on
 * an evenly strided sample of at most 2^20 voxels.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { robustWindow } from "./slices.ts";
 * const x = Float32Array.from({ length: 101 }, (_, i) => i); // 0 is background
 * assert.deepEqual(robustWindow(x), [2, 99]);
 * ```
 */
export function robustWindow(data: ArrayLike<number>, low = 1, high = 99): [number, number] {
  const step = Math.max(1, Math.ceil(data.length / (1 << 20)));
  const all: number[] = [], nonzero: number[] = [];
  for (let i = 0; i < data.length; i += step) {
    const x = data[i];
    if (!Number.isFinite(x)) continue;
    all.push(x);
    if (x !== 0) nonzero.push(x);
  }
  const values = Float64Array.from(nonzero.length ? nonzero : all).sort();
  if (values.length === 0) return [0, 1];
  const at = (p: number) => values[Math.min(values.length - 1, Math.round((p / 100) * (values.length - 1)))];
  const lo = at(low), hi = at(high);
  return [lo, hi > lo ? hi : lo + 1];
}

/** +1 when voxel axis `a` points towards growing world coordinates, else −1. */
function axisSign(affine: number[][], a: number): number {
  const col = [affine[0][a], affine[1][a], affine[2][a]];
  const dominant = col.reduce((best, v, i) => (Math.abs(v) > Math.abs(col[best]) ? i : best), 0);
  return col[dominant] < 0 ? -1 : 1;
}

const blend = (grey: number, c: Rgb, alpha: number, ch: number) => Math.round((1 - alpha) * grey + alpha * c[ch]);

/** The slice of one plane as an image without a title strip, and its voxel-to-pixel map. */
function drawPlane(
  input: OverlayInput,
  plane: Plane,
  centre: readonly number[],
  window: [number, number],
  ppm: number,
  opacity: number,
): { raster: Raster; toPixel: (voxel: readonly number[]) => [number, number] } {
  const { image, truth, prediction } = input;
  const shape = image.shape, sp = image.spacing;
  const [ah, av, af] = AXES[plane];
  const nh = shape[ah], nv = shape[av];
  const sh = axisSign(image.affine, ah), sv = axisSign(image.affine, av);
  const W = Math.max(1, Math.round(nh * sp[ah] * ppm)), H = Math.max(1, Math.round(nv * sp[av] * ppm));
  const strides = [1, shape[0], shape[0] * shape[1]];
  const base = centre[af] * strides[af];
  // Display position u (left to right) / w (top to bottom) to voxel index along ah / av.
  const hIndex = (u: number) => (sh > 0 ? u : nh - 1 - u);
  const vIndex = (w: number) => (sv > 0 ? nv - 1 - w : w);
  const out = createRaster(W, H);
  const [lo, hi] = window;
  for (let py = 0; py < H; py++) {
    const w = Math.min(nv - 1, Math.floor((py + 0.5) / (sp[av] * ppm)));
    const rowBase = base + vIndex(w) * strides[av];
    for (let px = 0; px < W; px++) {
      const u = Math.min(nh - 1, Math.floor((px + 0.5) / (sp[ah] * ppm)));
      const v = rowBase + hIndex(u) * strides[ah];
      const grey = Math.round(255 * Math.min(1, Math.max(0, (image.data[v] - lo) / (hi - lo))));
      const t = truth.data[v] !== 0, p = prediction.data[v] !== 0;
      const colour = t && p
        ? OVERLAY_COLOURS.overlap
        : p
        ? OVERLAY_COLOURS.falsePositive
        : t
        ? OVERLAY_COLOURS.falseNegative
        : null;
      const o = 3 * (py * W + px);
      for (let c = 0; c < 3; c++) out.data[o + c] = colour ? blend(grey, colour, opacity, c) : grey;
    }
  }
  const toPixel = (voxel: readonly number[]): [number, number] => {
    const u = sh > 0 ? voxel[ah] : nh - 1 - voxel[ah];
    const w = sv > 0 ? nv - 1 - voxel[av] : voxel[av];
    return [Math.floor((u + 0.5) * sp[ah] * ppm), Math.floor((w + 0.5) * sp[av] * ppm)];
  };
  return { raster: out, toPixel };
}

function resolve(input: OverlayInput, options: SliceOptions, where: string) {
  const shape = checkGrids(input, where);
  const centre = options.centre ?? structureCentre(input.truth.data, input.prediction.data, shape);
  if (centre.some((c, i) => !Number.isInteger(c) || c < 0 || c >= shape[i])) {
    throw new RangeError(`${where}: centre [${centre}] is outside the grid [${shape}]`);
  }
  const ppm = options.pixelsPerMm ?? 2;
  if (!(ppm > 0)) throw new RangeError(`${where}: pixelsPerMm ${ppm} must be positive`);
  const metrics = options.metrics ??
    segmentationMetrics(input.prediction.data, input.truth.data, shape, input.image.spacing);
  return {
    centre,
    ppm,
    opacity: options.opacity ?? 0.6,
    window: options.window ?? robustWindow(input.image.data),
    info: (suffix: string): TitleInfo => ({
      title: options.title ? `${options.title} · ${suffix}` : suffix,
      dice: metrics.dice,
      hd95: metrics.hd95,
    }),
  };
}

/**
 * One plane through the structure's centre with overlays and a title strip.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeVolume } from "../data/volume.ts";
 * import { pixel } from "./draw.ts";
 * import { OVERLAY_COLOURS } from "./legend.ts";
 * import { renderSlice } from "./slices.ts";
 * const image = makeVolume(new Float32Array(64).fill(1), [4, 4, 4]);
 * const truth = makeVolume(new Uint8Array(64), [4, 4, 4]);
 * truth.data[1 + 4 * (1 + 4 * 2)] = 1; // voxel (1, 1, 2)
 * const view = renderSlice({ image, truth, prediction: truth }, "axial", { opacity: 1 });
 * assert.equal(view.index, 2);
 * const [x, y] = view.toPixel([1, 1, 2]);
 * assert.deepEqual(pixel(view.raster, x, y), [...OVERLAY_COLOURS.overlap]);
 * ```
 */
export function renderSlice(input: OverlayInput, plane: Plane, options: SliceOptions = {}): SliceView {
  const r = resolve(input, options, "renderSlice");
  const af = AXES[plane][2];
  const { raster, toPixel } = drawPlane(input, plane, r.centre, r.window, r.ppm, r.opacity);
  const titled = withTitle(raster, r.info(`${plane} ${AXIS_LETTER[af]}=${r.centre[af]}`), options.textScale);
  return {
    raster: titled.raster,
    plane,
    index: r.centre[af],
    toPixel: (voxel) => {
      const [x, y] = toPixel(voxel);
      return [x + titled.x, y + titled.y];
    },
  };
}

/**
 * The three planes side by side (axial, coronal, sagittal) under one title
 * strip, as in the paper's Figure 2.
 */
export function renderSlices(input: OverlayInput, options: SliceOptions = {}): Raster {
  const r = resolve(input, options, "renderSlices");
  const parts = PLANES.map((p) => drawPlane(input, p, r.centre, r.window, r.ppm, r.opacity).raster);
  const panel = hconcat(parts, 4);
  const at = `centre [${r.centre.join(", ")}]`;
  return withTitle(panel, r.info(at), options.textScale).raster;
}

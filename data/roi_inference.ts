/**
 * Sliding-window inference restricted to a region of interest, for scans
 * registered to one template grid (issue 17: `lorapt predict` on a run
 * trained with `--roi`). Only the windows that meet the ROI run; every voxel
 * outside them is background.
 * @module
 */
import { checkRoi, type RoiBox } from "./crop_sampling.ts";
import {
  type Predictor,
  slidingWindowInference,
  type SlidingWindowOptions,
  type SlidingWindowResult,
} from "./inference.ts";
import { cropOrPad } from "./transforms.ts";
import type { Shape3, Volume } from "./volume.ts";

/**
 * The part of a volume of `shape` that the windows of an ROI run on: the ROI
 * grown evenly to at least one `window` along each axis (as far as the
 * volume allows), clipped to the volume.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { roiRegion } from "./mod.ts";
 * const r = roiRegion([100, 100, 100], [32, 32, 32], { start: [40, 0, 10], end: [50, 80, 90] });
 * assert.deepEqual(r, { start: [29, 0, 10], end: [61, 80, 90] });
 * ```
 */
export function roiRegion(shape: Shape3, window: Shape3, roi: RoiBox): RoiBox {
  checkRoi(roi, shape, "roiRegion");
  const start = [0, 0, 0] as Shape3, end = [0, 0, 0] as Shape3;
  for (let a = 0; a < 3; a++) {
    const n = shape[a], w = Math.min(window[a], n);
    let s = roi.start[a], e = roi.end[a];
    if (e - s < w) {
      s -= Math.floor((w - (e - s)) / 2);
      s = Math.max(0, Math.min(n - w, s));
      e = s + w;
    }
    start[a] = s;
    end[a] = e;
  }
  return { start, end };
}

/**
 * {@link slidingWindowInference} over the windows that meet `roi` only: the
 * windows are laid out on {@link roiRegion} (the ROI grown to one window where
 * smaller), so together they cover the ROI, and each of them meets it. Voxels
 * outside the region get background (class 0 probability 1, label 0). The
 * result is on the full grid; `windows` are starts in full-volume voxels.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeVolume, roiSlidingWindowInference } from "./mod.ts";
 * const one = (x: Float32Array, [n, , wx, wy, wz]: number[]) => {
 *   const v = wx * wy * wz, out = new Float32Array(n * 2 * v);
 *   out.fill(1, v); // class 1 everywhere in the window
 *   return Promise.resolve(out);
 * };
 * const image = makeVolume(new Float32Array(8), [8, 1, 1]);
 * const r = await roiSlidingWindowInference(image, one, { start: [3, 0, 0], end: [5, 1, 1] }, { window: [2, 1, 1] });
 * assert.deepEqual([...r.labels.data], [0, 0, 0, 1, 1, 0, 0, 0]);
 * assert.deepEqual(r.windows, [[3, 0, 0]]);
 * ```
 */
export async function roiSlidingWindowInference(
  volume: Volume | readonly Volume[],
  predictor: Predictor | Predictor[],
  roi: RoiBox,
  options: SlidingWindowOptions = {},
): Promise<SlidingWindowResult> {
  const channels = Array.isArray(volume) ? volume as readonly Volume[] : [volume as Volume];
  if (channels.length === 0) throw new RangeError("roiSlidingWindowInference: no input channel given");
  const first = channels[0], [X, Y, Z] = first.shape, N = X * Y * Z;
  const w = options.window ?? 128;
  const win: Shape3 = typeof w === "number" ? [w, w, w] : [...w];
  const region = roiRegion(first.shape, win, roi);
  const size = region.end.map((e, a) => e - region.start[a]) as Shape3;
  const crops = channels.map((c) => cropOrPad(c, region.start, size));
  const r = await slidingWindowInference(crops, predictor, options);
  const classes = r.classes, [sx, sy, sz] = size, M = sx * sy * sz;
  const probabilities = new Float32Array(classes * N);
  probabilities.fill(1, 0, N);
  const labels = new Uint8Array(N);
  for (let k = 0; k < sz; k++) {
    for (let j = 0; j < sy; j++) {
      const to = region.start[0] + X * (region.start[1] + j + Y * (region.start[2] + k)), from = sx * (j + sy * k);
      labels.set(r.labels.data.subarray(from, from + sx), to);
      for (let c = 0; c < classes; c++) {
        probabilities.set(r.probabilities.subarray(c * M + from, c * M + from + sx), c * N + to);
      }
    }
  }
  return {
    probabilities,
    classes,
    labels: {
      shape: [...first.shape] as Shape3,
      affine: first.affine.map((row) => [...row]),
      spacing: [...first.spacing],
      data: labels,
      datatype: "uint8",
    },
    windows: r.windows.map((s) => s.map((v, a) => v + region.start[a]) as Shape3),
  };
}

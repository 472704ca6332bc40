/**
 * Sliding-window inference over a whole volume with any model behind an
 * async callback (paper §4.3; the MONAI name
 * `sliding_window_inference`).
 *
 * Two array layouts meet here, and the axes mean the same in both:
 * - {@link Volume} order: `[x, y, z]`, **x fastest** (NIfTI order). The
 *   returned probabilities are `[classes, x, y, z]` in this order: class `c`
 *   of voxel `(i, j, k)` is at `c·N + i + X·(j + Y·k)`, `N = X·Y·Z`.
 * - Tensor order (what the predictor sees): row-major `[n, c, x, y, z]`,
 *   **z fastest**, as in the authors' PyTorch tensors `[B, C, H, W, D]` built
 *   from nibabel `(x, y, z)` arrays: dim 2 is x, dim 3 is y, dim 4 is z.
 *   Element `(b, ch, i, j, k)` is at `(((b·C + ch)·wx + i)·wy + j)·wz + k`.
 * {@link toTensorOrder} and {@link fromTensorOrder} convert one volume.
 *
 * Several co-registered volumes (e.g. the BraTS sequences T1, T1ce, T2,
 * FLAIR) are the channels `ch` of one input: pass them as an array.
 * @module
 */
import { sameGrid, type Shape3, type Volume } from "./volume.ts";
import { fromArray } from "../tensor/ops/creation.ts";
import { tidy } from "../tensor/scope.ts";
import type { Tensor } from "../tensor/tensor.ts";

/** Shape of a window batch: `[n, channels, x, y, z]`, row-major, z fastest. */
export type BatchShape = [number, number, number, number, number];

/**
 * A model as a callback: takes a window batch `[n, channels, wx, wy, wz]`
 * (tensor order; `channels` = the number of input volumes) and resolves to
 * class probabilities `[n, classes, wx, wy, wz]` in the same order. It must
 * not keep `batch`, which is reused.
 */
export type Predictor = (batch: Float32Array, shape: BatchShape) => Promise<Float32Array>;

/**
 * A {@link Predictor} that runs a model: each window batch becomes a
 * `[n, channels, wx, wy, wz]` tensor on the current backend, goes through
 * `model.forward` inside `tidy`, and its output (the class probabilities, as
 * UNETR returns them) is read back and freed. The model should be in eval
 * mode (dropout off) for deterministic predictions.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { concat, makeVolume, modelPredictor, slidingWindowInference, softmax, type Tensor } from "../mod.ts";
 * // A "model" whose class-1 logit is 10 × the image, class 0's is 0.
 * const model = { forward: (x: Tensor) => softmax(concat([x.mul(0), x.mul(10)], 1), 1) };
 * const image = makeVolume(new Float32Array([-1, 2, -3, 4]), [4, 1, 1]);
 * const r = await slidingWindowInference(image, modelPredictor(model), { window: [2, 1, 1] });
 * assert.deepEqual([...r.labels.data], [0, 1, 0, 1]);
 * ```
 */
export function modelPredictor(model: { forward(x: Tensor): Tensor }): Predictor {
  return async (batch, shape) => {
    // fromArray may keep the array on the CPU backend, and slidingWindowInference reuses `batch`.
    const y = tidy(() => model.forward(fromArray(batch.slice(), shape)));
    try {
      return (await y.data()) as Float32Array;
    } finally {
      y.dispose();
    }
  };
}

/** Options of {@link slidingWindowInference}. */
export interface SlidingWindowOptions {
  /** Window size; a number means a cube. Default 128 (paper §4.3; the authors' `test.py`). */
  window?: number | Shape3;
  /**
   * Fraction of a window shared with its neighbour, in [0, 1): the stride is
   * ⌊w·(1 − overlap)⌋. Default 0 (paper §4.3; the authors' `test.py`: stride = window, last window
   * shifted back to end at the border).
   */
  overlap?: number;
  /** Windows per predictor call; memory is bounded by this. Default 1. */
  batch?: number;
  /**
   * Apply a softmax over classes to each member's averaged probabilities, as
   * the authors' `test.py` does before ensembling. Default false.
   */
  secondSoftmax?: boolean;
}

/** What {@link slidingWindowInference} returns. */
export interface SlidingWindowResult {
  /** Averaged (ensembled) probabilities `[classes, x, y, z]`, x fastest. */
  probabilities: Float32Array;
  /** Number of classes the predictors returned. */
  classes: number;
  /** The argmax label map on the input's grid (ties go to the lower class). */
  labels: Volume<Uint8Array>;
  /** Window starts `[x, y, z]`, x varying fastest. */
  windows: Shape3[];
}

/**
 * Window starts along one axis (paper §4.3; the authors' `test.py`): `0, s, 2s, …` with stride
 * `s = max(1, ⌊window·(1 − overlap)⌋)`, as many as needed to reach the end,
 * each clipped to `size − window`; `[0]` when the axis is not longer than the
 * window (the window is then zero-padded).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { windowStarts } from "./inference.ts";
 * assert.deepEqual(windowStarts(182, 128), [0, 54]);
 * assert.deepEqual(windowStarts(218, 128), [0, 90]);
 * assert.deepEqual(windowStarts(10, 4, 0.5), [0, 2, 4, 6]);
 * ```
 */
export function windowStarts(size: number, window: number, overlap = 0): number[] {
  if (!(overlap >= 0 && overlap < 1)) throw new RangeError(`windowStarts: overlap ${overlap} must be in [0, 1)`);
  if (!Number.isInteger(window) || window < 1) throw new RangeError(`windowStarts: window ${window} must be >= 1`);
  if (size <= window) return [0];
  const stride = Math.max(1, Math.floor(window * (1 - overlap)));
  const count = Math.ceil((size - window) / stride) + 1;
  return Array.from({ length: count }, (_, i) => Math.min(i * stride, size - window));
}

/**
 * All window starts `[x, y, z]` of a volume: the product of the per-axis
 * {@link windowStarts}, x varying fastest.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { windowPositions } from "./inference.ts";
 * assert.equal(windowPositions([182, 218, 182], [128, 128, 128]).length, 8);
 * ```
 */
export function windowPositions(shape: Shape3, window: Shape3, overlap = 0): Shape3[] {
  const [sx, sy, sz] = shape.map((n, a) => windowStarts(n, window[a], overlap));
  const out: Shape3[] = [];
  for (const z of sz) for (const y of sy) for (const x of sx) out.push([x, y, z]);
  return out;
}

/**
 * Copies a volume from Volume order (x fastest) to tensor order (row-major
 * `[x, y, z]`, z fastest).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fromTensorOrder, toTensorOrder } from "./inference.ts";
 * const v = new Float32Array([0, 1, 2, 3, 4, 5]); // shape [3, 2, 1]
 * assert.deepEqual([...toTensorOrder(v, [3, 2, 1])], [0, 3, 1, 4, 2, 5]);
 * assert.deepEqual([...fromTensorOrder(toTensorOrder(v, [3, 2, 1]), [3, 2, 1])], [...v]);
 * ```
 */
export function toTensorOrder(data: ArrayLike<number>, shape: Shape3): Float32Array {
  const [X, Y, Z] = shape, out = new Float32Array(X * Y * Z);
  for (let i = 0, t = 0; i < X; i++) {
    for (let j = 0; j < Y; j++) for (let k = 0; k < Z; k++) out[t++] = data[i + X * (j + Y * k)];
  }
  return out;
}

/** The inverse of {@link toTensorOrder}: tensor order (z fastest) to Volume order (x fastest). */
export function fromTensorOrder(data: ArrayLike<number>, shape: Shape3): Float32Array {
  const [X, Y, Z] = shape, out = new Float32Array(X * Y * Z);
  for (let i = 0, t = 0; i < X; i++) {
    for (let j = 0; j < Y; j++) for (let k = 0; k < Z; k++) out[i + X * (j + Y * k)] = data[t++];
  }
  return out;
}

/** How many windows cover each index of an axis. */
function coverage(size: number, starts: number[], window: number): Uint16Array {
  const c = new Uint16Array(size);
  for (const s of starts) for (let i = s; i < Math.min(size, s + window); i++) c[i]++;
  return c;
}

/** The input channels, checked to share one grid: same shape, affine and spacing (within 1e-3 mm). */
function checkChannels(volume: Volume | readonly Volume[]): readonly Volume[] {
  const channels = Array.isArray(volume) ? volume as readonly Volume[] : [volume as Volume];
  if (channels.length === 0) throw new RangeError("slidingWindowInference: no input channel given");
  const [first] = channels, tol = 1e-3;
  channels.forEach((v, c) => {
    const n = v.shape[0] * v.shape[1] * v.shape[2];
    if (v.data.length !== n) {
      throw new RangeError(
        `slidingWindowInference: channel ${c} has shape [${v.shape}] (${n} voxels) but ${v.data.length} values`,
      );
    }
    if (v.shape.some((s, a) => s !== first.shape[a])) {
      throw new RangeError(
        `slidingWindowInference: channel ${c} has shape [${v.shape}], channel 0 has shape [${first.shape}]; ` +
          "channels must be co-registered on one grid",
      );
    }
    const spacingOff = v.spacing.some((x, i) => Math.abs(x - first.spacing[i]) > tol);
    if (!sameGrid(v, first, tol) || spacingOff) {
      throw new RangeError(
        `slidingWindowInference: channel ${c} (shape [${v.shape}], affine ${JSON.stringify(v.affine.slice(0, 3))}, ` +
          `spacing [${v.spacing}]) is not on the grid of channel 0 (shape [${first.shape}], affine ` +
          `${JSON.stringify(first.affine.slice(0, 3))}, spacing [${first.spacing}]; tolerance ${tol} mm)`,
      );
    }
  });
  return channels;
}

/** One predictor's window-averaged probabilities, `[classes, x, y, z]`. */
async function slide(
  channels: readonly Volume[],
  predictor: Predictor,
  win: Shape3,
  overlap: number,
  batch: number,
  member: number,
): Promise<{ probs: Float32Array; classes: number }> {
  const shape3 = channels[0].shape, [X, Y, Z] = shape3, N = X * Y * Z, C = channels.length;
  const [wx, wy, wz] = win, wv = wx * wy * wz;
  const positions = windowPositions(shape3, win, overlap);
  const input = new Float32Array(Math.min(batch, positions.length) * C * wv);
  let probs: Float32Array | null = null, classes = 0;
  for (let b0 = 0; b0 < positions.length; b0 += batch) {
    const group = positions.slice(b0, b0 + batch), n = group.length;
    const view = input.subarray(0, n * C * wv);
    view.fill(0);
    group.forEach(([x0, y0, z0], b) => {
      for (let ch = 0; ch < C; ch++) {
        const src = channels[ch].data;
        for (let i = 0; i < wx && x0 + i < X; i++) {
          for (let j = 0; j < wy && y0 + j < Y; j++) {
            const t = (b * C + ch) * wv + (i * wy + j) * wz, v = x0 + i + X * (y0 + j + Y * z0);
            for (let k = 0; k < wz && z0 + k < Z; k++) view[t + k] = src[v + X * Y * k];
          }
        }
      }
    });
    const shape: BatchShape = [n, C, wx, wy, wz];
    const out = await predictor(view, shape);
    const c = out.length / (n * wv);
    if (!Number.isInteger(c) || c < 1 || (classes && c !== classes)) {
      throw new RangeError(
        `slidingWindowInference: predictor ${member} returned ${out.length} values for a batch [${shape}]; ` +
          `expected [${n}, ${classes || "classes"}, ${wx}, ${wy}, ${wz}]`,
      );
    }
    if (!probs) (classes = c, probs = new Float32Array(classes * N));
    group.forEach(([x0, y0, z0], b) => {
      for (let ch = 0; ch < classes; ch++) {
        for (let i = 0; i < wx && x0 + i < X; i++) {
          for (let j = 0; j < wy && y0 + j < Y; j++) {
            const t = ((b * classes + ch) * wx + i) * wy * wz + j * wz;
            const v = ch * N + x0 + i + X * (y0 + j + Y * z0);
            for (let k = 0; k < wz && z0 + k < Z; k++) probs![v + X * Y * k] += out[t + k];
          }
        }
      }
    });
  }
  // Windows form a grid, so the per-voxel window count is a product of per-axis counts.
  const [cx, cy, cz] = shape3.map((s, a) => coverage(s, windowStarts(s, win[a], overlap), win[a]));
  for (let k = 0, p = 0; k < Z; k++) {
    for (let j = 0; j < Y; j++) {
      for (let i = 0; i < X; i++, p++) {
        const inv = 1 / (cx[i] * cy[j] * cz[k]);
        for (let ch = 0; ch < classes; ch++) probs![ch * N + p] *= inv;
      }
    }
  }
  return { probs: probs!, classes };
}

function softmaxOverClasses(probs: Float32Array, classes: number, n: number): void {
  for (let p = 0; p < n; p++) {
    let max = -Infinity, sum = 0;
    for (let c = 0; c < classes; c++) max = Math.max(max, probs[c * n + p]);
    for (let c = 0; c < classes; c++) sum += probs[c * n + p] = Math.exp(probs[c * n + p] - max);
    for (let c = 0; c < classes; c++) probs[c * n + p] /= sum;
  }
}

/**
 * Runs `predictor` over a volume in windows (paper §4.3; the authors' `test.py`) and averages the
 * class probabilities where windows overlap (sum / per-voxel window count).
 * With several predictors (checkpoints) it returns their ensemble: each
 * member's averaged map (softmaxed again when `secondSoftmax`), then the mean
 * over members, then the argmax. For the authors' pipeline pass the
 * checkpoints of epochs 999–996 and `secondSoftmax: true`.
 *
 * `volume` is one image (the predictor sees 1 channel) or an array of
 * co-registered images, channel `ch` of the window batch being `volume[ch]`
 * (e.g. BraTS T1, T1ce, T2, FLAIR for a model with in_channels 4). Channels
 * must share shape, affine and spacing (within 1e-3 mm); an error names the
 * channel that does not. Parts of a window outside a volume smaller than the
 * window are zero. Besides the output, memory holds one window batch
 * `[batch, channels, ...window]` and, for an ensemble, one more
 * `[classes, x, y, z]` map. The labels are on channel 0's grid.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeVolume, slidingWindowInference } from "./mod.ts";
 * // A "model" that predicts class 1 where the image is positive.
 * const model = (x: Float32Array, [n, , wx, wy, wz]: number[]) => {
 *   const v = wx * wy * wz, out = new Float32Array(n * 2 * v);
 *   for (let b = 0; b < n; b++) {
 *     for (let t = 0; t < v; t++) {
 *       out[(2 * b + 1) * v + t] = x[b * v + t] > 0 ? 1 : 0;
 *       out[2 * b * v + t] = 1 - out[(2 * b + 1) * v + t];
 *     }
 *   }
 *   return Promise.resolve(out);
 * };
 * const image = makeVolume(new Float32Array([0, 2, 0, 3, 1, 0]), [6, 1, 1]);
 * const r = await slidingWindowInference(image, model, { window: [4, 1, 1], batch: 2 });
 * assert.deepEqual([...r.labels.data], [0, 1, 0, 1, 1, 0]);
 * assert.deepEqual(r.windows, [[0, 0, 0], [2, 0, 0]]);
 *
 * // Two channels: class 1 where channel 1 is brighter than channel 0.
 * const brighter = (x: Float32Array, [n, c, wx, wy, wz]: number[]) => {
 *   const v = wx * wy * wz, out = new Float32Array(n * 2 * v);
 *   for (let b = 0; b < n; b++) {
 *     for (let t = 0; t < v; t++) {
 *       const one = x[(b * c + 1) * v + t] > x[b * c * v + t] ? 1 : 0;
 *       (out[(2 * b + 1) * v + t] = one, out[2 * b * v + t] = 1 - one);
 *     }
 *   }
 *   return Promise.resolve(out);
 * };
 * const t2 = makeVolume(new Float32Array([1, 1, 1, 1, 1, 1]), [6, 1, 1]);
 * const r2 = await slidingWindowInference([image, t2], brighter, { window: [4, 1, 1] });
 * assert.deepEqual([...r2.labels.data], [1, 0, 1, 0, 0, 1]);
 * ```
 */
export async function slidingWindowInference(
  volume: Volume | readonly Volume[],
  predictor: Predictor | Predictor[],
  options: SlidingWindowOptions = {},
): Promise<SlidingWindowResult> {
  const w = options.window ?? 128;
  const win: Shape3 = typeof w === "number" ? [w, w, w] : [...w];
  const overlap = options.overlap ?? 0, batch = options.batch ?? 1;
  if (!Number.isInteger(batch) || batch < 1) {
    throw new RangeError(`slidingWindowInference: batch ${batch} must be >= 1`);
  }
  const members = Array.isArray(predictor) ? predictor : [predictor];
  if (members.length === 0) throw new RangeError("slidingWindowInference: no predictor given");
  const channels = checkChannels(volume), [first] = channels;
  const windows = windowPositions(first.shape, win, overlap);
  const N = first.data.length;
  let mean: Float32Array | null = null, classes = 0;
  for (let m = 0; m < members.length; m++) {
    const r = await slide(channels, members[m], win, overlap, batch, m);
    if (options.secondSoftmax) softmaxOverClasses(r.probs, r.classes, N);
    if (!mean) {
      (mean = r.probs, classes = r.classes);
    } else if (r.classes !== classes) {
      throw new RangeError(
        `slidingWindowInference: predictor ${m} gives ${r.classes} classes, predictor 0 gives ${classes}`,
      );
    } else {
      for (let i = 0; i < mean.length; i++) mean[i] += r.probs[i];
    }
  }
  if (members.length > 1) { for (let i = 0; i < mean!.length; i++) mean![i] /= members.length; }
  const labels = new Uint8Array(N);
  for (let p = 0; p < N; p++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (mean![c * N + p] > mean![best * N + p]) best = c;
    labels[p] = best;
  }
  const geometry = { shape: [...first.shape] as Shape3, affine: first.affine.map((r) => [...r]) };
  return {
    probabilities: mean!,
    classes,
    labels: { ...geometry, spacing: [...first.spacing], data: labels, datatype: "uint8" },
    windows,
  };
}

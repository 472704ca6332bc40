import assert from "node:assert/strict";
import { Rng } from "../../tensor/random.ts";
import { makeVolume, type Shape3 } from "../../data/volume.ts";
import {
  type BatchShape,
  fromTensorOrder,
  type Predictor,
  slidingWindowInference,
  toTensorOrder,
  windowPositions,
  windowStarts,
} from "../../data/inference.ts";
import { assertClose } from "../helpers.ts";

function randomVolume(shape: Shape3, seed: number) {
  const rng = new Rng(seed);
  const n = shape[0] * shape[1] * shape[2];
  return makeVolume(Float32Array.from({ length: n }, () => rng.uniformIn(-1, 1)), shape, { spacing: [1, 1.5, 2] });
}

/** Returns its input as a 1-class "probability" map. */
const identity: Predictor = (batch) => Promise.resolve(Float32Array.from(batch));

Deno.test("window positions of 182×218×182 with 128³ windows are those of the authors' test.py", () => {
  assert.deepEqual(windowStarts(182, 128), [0, 54]);
  assert.deepEqual(windowStarts(218, 128), [0, 90]);
  const expected: Shape3[] = [];
  for (const z of [0, 54]) for (const y of [0, 90]) for (const x of [0, 54]) expected.push([x, y, z]);
  assert.deepEqual(windowPositions([182, 218, 182], [128, 128, 128]), expected);
});

Deno.test("window starts: stride from overlap, last window shifted to the end, short axes get one", () => {
  assert.deepEqual(windowStarts(256, 128), [0, 128]);
  assert.deepEqual(windowStarts(300, 128), [0, 128, 172]);
  assert.deepEqual(windowStarts(182, 128, 0.5), [0, 54]);
  assert.deepEqual(windowStarts(200, 128, 0.75), [0, 32, 64, 72]);
  assert.deepEqual(windowStarts(128, 128), [0]);
  assert.deepEqual(windowStarts(100, 128), [0]);
  assert.throws(() => windowStarts(10, 4, 1), /overlap 1 must be in \[0, 1\)/);
});

Deno.test("tensor order is row-major [x, y, z] (z fastest) and round-trips", () => {
  const v = randomVolume([4, 3, 5], 1);
  const t = toTensorOrder(v.data, [4, 3, 5]);
  assert.equal(t[(2 * 3 + 1) * 5 + 4], v.data[2 + 4 * (1 + 3 * 4)]);
  assert.deepEqual(fromTensorOrder(t, [4, 3, 5]), v.data);
});

Deno.test("a predictor sees each window in tensor order [n, 1, wx, wy, wz]", async () => {
  const v = randomVolume([9, 7, 6], 2);
  const seen: BatchShape[] = [];
  const check: Predictor = (batch, shape) => {
    seen.push(shape);
    const [, , wx, wy, wz] = shape;
    // The single window covering the whole volume is exactly the tensor-order volume.
    assert.deepEqual(batch, toTensorOrder(v.data, [wx, wy, wz]));
    return Promise.resolve(Float32Array.from(batch));
  };
  await slidingWindowInference(v, check, { window: [9, 7, 6] });
  assert.deepEqual(seen, [[1, 1, 9, 7, 6]]);
});

Deno.test("an identity predictor reproduces the input (overlaps, batches, padding)", async () => {
  for (
    const [shape, window, overlap, batch] of [
      [[20, 17, 13], [8, 8, 8], 0.5, 3],
      [[20, 17, 13], [8, 6, 13], 0, 4],
      [[5, 6, 7], [8, 8, 8], 0, 1],
    ] as [Shape3, Shape3, number, number][]
  ) {
    const v = randomVolume(shape, 3);
    const r = await slidingWindowInference(v, identity, { window, overlap, batch });
    assert.equal(r.classes, 1);
    assertClose(r.probabilities, v.data, { atol: 1e-6, what: `shape [${shape}] window [${window}]` });
  }
});

Deno.test("overlaps are averaged: constant-per-window predictor on a 5×5 grid of four 3×3 windows", async () => {
  let next = 1;
  const shapes: number[] = [];
  // Window number w (1-based, in call order) predicts the constant w for class 0.
  const constant: Predictor = (_batch, [n, , wx, wy, wz]) => {
    shapes.push(n);
    const out = new Float32Array(n * wx * wy * wz);
    for (let b = 0; b < n; b++) out.fill(next++, b * wx * wy * wz, (b + 1) * wx * wy * wz);
    return Promise.resolve(out);
  };
  const v = makeVolume(new Float32Array(25), [5, 5, 1]);
  const r = await slidingWindowInference(v, constant, { window: [3, 3, 1], batch: 3 });
  assert.deepEqual(r.windows, [[0, 0, 0], [2, 0, 0], [0, 2, 0], [2, 2, 0]]);
  assert.deepEqual(shapes, [3, 1], "at most `batch` windows per call");
  // Windows 1 (0,0), 2 (2,0), 3 (0,2), 4 (2,2); column x = 2 and row y = 2 are shared.
  const expected = [
    [1, 1, 1.5, 2, 2],
    [1, 1, 1.5, 2, 2],
    [2, 2, 2.5, 3, 3],
    [3, 3, 3.5, 4, 4],
    [3, 3, 3.5, 4, 4],
  ].flat();
  assertClose(r.probabilities, expected, { atol: 1e-6 });
});

Deno.test("labels are the argmax over classes and keep the input grid", async () => {
  // Class 1 where the input is positive, with a soft margin.
  const twoClass: Predictor = (batch, [n, , wx, wy, wz]) => {
    const v = wx * wy * wz, out = new Float32Array(n * 2 * v);
    for (let b = 0; b < n; b++) {
      for (let t = 0; t < v; t++) {
        const p1 = 1 / (1 + Math.exp(-10 * batch[b * v + t]));
        out[(2 * b + 1) * v + t] = p1;
        out[2 * b * v + t] = 1 - p1;
      }
    }
    return Promise.resolve(out);
  };
  const v = randomVolume([11, 9, 10], 4);
  const r = await slidingWindowInference(v, twoClass, { window: 6, overlap: 0.25, batch: 2 });
  assert.equal(r.classes, 2);
  assert.deepEqual([...r.labels.data], [...v.data].map((x) => x > 0 ? 1 : 0));
  assert.deepEqual(r.labels.affine, v.affine);
  assert.deepEqual(r.labels.spacing, [1, 1.5, 2]);
  assert.equal(r.labels.datatype, "uint8");
});

Deno.test("ensembles average members; secondSoftmax applies test.py's double softmax first", async () => {
  const constant = (p0: number, p1: number): Predictor => (_b, [n, , wx, wy, wz]) => {
    const v = wx * wy * wz, out = new Float32Array(n * 2 * v);
    for (let b = 0; b < n; b++) {
      (out.fill(p0, 2 * b * v, (2 * b + 1) * v), out.fill(p1, (2 * b + 1) * v, (2 * b + 2) * v));
    }
    return Promise.resolve(out);
  };
  const v = makeVolume(new Float32Array(27), [3, 3, 3]);
  const members = [constant(0.2, 0.8), constant(0.6, 0.4)];
  const plain = await slidingWindowInference(v, members, { window: 2 });
  assertClose(plain.probabilities, [...Array(27).fill(0.4), ...Array(27).fill(0.6)], { atol: 1e-6 });
  // softmax([0.2, 0.8]) = [σ(−0.6), σ(0.6)], softmax([0.6, 0.4]) = [σ(0.2), σ(−0.2)].
  const sig = (x: number) => 1 / (1 + Math.exp(-x));
  const q0 = (sig(-0.6) + sig(0.2)) / 2; // 0.45205
  const double = await slidingWindowInference(v, members, { window: 2, secondSoftmax: true });
  assertClose(double.probabilities, [...Array(27).fill(q0), ...Array(27).fill(1 - q0)], { atol: 1e-6 });
  assert.ok(double.labels.data.every((x) => x === 1));
});

Deno.test("a predictor returning the wrong size is an error naming the shapes", async () => {
  const bad: Predictor = (b) => Promise.resolve(new Float32Array(b.length + 1));
  await assert.rejects(
    slidingWindowInference(randomVolume([4, 4, 4], 5), bad, { window: 4 }),
    /predictor 0 returned 65 values for a batch \[1,1,4,4,4\]/,
  );
  const two: Predictor = (b) => Promise.resolve(new Float32Array(2 * b.length));
  await assert.rejects(
    slidingWindowInference(randomVolume([4, 4, 4], 5), [identity, two], { window: 4 }),
    /predictor 1 gives 2 classes, predictor 0 gives 1/,
  );
});

/** Two classes from two channels: class 1 exactly where channel 1 > channel 0. */
const brighter: Predictor = (batch, [n, c, wx, wy, wz]) => {
  assert.equal(c, 2, "the predictor sees both channels");
  const v = wx * wy * wz, out = new Float32Array(n * 2 * v);
  for (let b = 0; b < n; b++) {
    for (let t = 0; t < v; t++) {
      const one = batch[(b * c + 1) * v + t] > batch[b * c * v + t] ? 1 : 0;
      (out[(2 * b + 1) * v + t] = one, out[2 * b * v + t] = 1 - one);
    }
  }
  return Promise.resolve(out);
};

Deno.test("several channels: windows are [n, C, wx, wy, wz], channel ch = volume ch, in tensor order", async () => {
  const a = randomVolume([9, 7, 6], 6), b = randomVolume([9, 7, 6], 7), c = randomVolume([9, 7, 6], 8);
  const seen: BatchShape[] = [];
  const check: Predictor = (batch, shape) => {
    seen.push(shape);
    const v = 9 * 7 * 6;
    [a, b, c].forEach((x, ch) =>
      assert.deepEqual(batch.subarray(ch * v, (ch + 1) * v), toTensorOrder(x.data, x.shape))
    );
    return Promise.resolve(batch.slice(0, v));
  };
  const r = await slidingWindowInference([a, b, c], check, { window: [9, 7, 6] });
  assert.deepEqual(seen, [[1, 3, 9, 7, 6]]);
  assertClose(r.probabilities, a.data, { atol: 0 });
});

Deno.test("two channels by hand: a model predicting class 1 where channel 1 > channel 0 (overlaps, batches, padding)", async () => {
  for (
    const [shape, window, overlap, batch] of [
      [[11, 9, 10], [6, 6, 6], 0.25, 2],
      [[20, 17, 13], [8, 6, 13], 0, 4],
      [[5, 6, 7], [8, 8, 8], 0, 1],
    ] as [Shape3, Shape3, number, number][]
  ) {
    const c0 = randomVolume(shape, 9), c1 = randomVolume(shape, 10);
    const r = await slidingWindowInference([c0, c1], brighter, { window, overlap, batch });
    const want = Array.from(c0.data, (x, i) => c1.data[i] > x ? 1 : 0);
    assert.equal(r.classes, 2);
    assert.deepEqual([...r.labels.data], want, `shape [${shape}] window [${window}]`);
    // Every window agrees, so the averaged probabilities are the 0/1 maps themselves.
    assertClose(r.probabilities, [...want.map((x) => 1 - x), ...want], { atol: 1e-6 });
    assert.deepEqual(r.labels.affine, c0.affine);
    assert.deepEqual(r.labels.spacing, c0.spacing);
  }
  // Swapping the channels flips every voxel where they differ.
  const c0 = randomVolume([6, 5, 4], 11), c1 = randomVolume([6, 5, 4], 12);
  const ab = await slidingWindowInference([c0, c1], brighter, { window: 4 });
  const ba = await slidingWindowInference([c1, c0], brighter, { window: 4 });
  assert.deepEqual([...ab.labels.data], [...ba.labels.data].map((x) => 1 - x));
});

Deno.test("one channel as a volume or as a 1-element array gives the same result and [n, 1, ...] windows", async () => {
  const v = randomVolume([11, 9, 10], 13);
  const shapes: BatchShape[] = [];
  const twoClass: Predictor = (batch, shape) => {
    shapes.push(shape);
    const [n, , wx, wy, wz] = shape, w = wx * wy * wz, out = new Float32Array(n * 2 * w);
    for (let b = 0; b < n; b++) {
      for (let t = 0; t < w; t++) (out[(2 * b + 1) * w + t] = batch[b * w + t], out[2 * b * w + t] = -batch[b * w + t]);
    }
    return Promise.resolve(out);
  };
  const options = { window: 6, overlap: 0.5, batch: 3 };
  const plain = await slidingWindowInference(v, twoClass, options);
  const listed = await slidingWindowInference([v], twoClass, options);
  assert.deepEqual(listed.probabilities, plain.probabilities);
  assert.deepEqual(listed.labels, plain.labels);
  assert.deepEqual(listed.windows, plain.windows);
  assert.ok(shapes.every((s) => s[1] === 1));
  assert.deepEqual([...plain.labels.data], [...v.data].map((x) => x > 0 ? 1 : 0));
});

Deno.test("channels on different grids are an error naming the channel and both shapes", async () => {
  const a = randomVolume([4, 4, 4], 14), b = randomVolume([4, 4, 4], 15);
  await assert.rejects(
    slidingWindowInference([a, b, randomVolume([4, 4, 5], 16)], brighter, { window: 4 }),
    /^RangeError: slidingWindowInference: channel 2 has shape \[4,4,5\], channel 0 has shape \[4,4,4\]/,
  );
  const moved = makeVolume(b.data, [4, 4, 4], { affine: [[1, 0, 0, 5], [0, 1.5, 0, 0], [0, 0, 2, 0], [0, 0, 0, 1]] });
  await assert.rejects(
    slidingWindowInference([a, moved], brighter, { window: 4 }),
    /channel 1 \(shape \[4,4,4\], affine \[\[1,0,0,5\].*\) is not on the grid of channel 0 \(shape \[4,4,4\], affine \[\[1,0,0,0\]/,
  );
  await assert.rejects(slidingWindowInference([], brighter, { window: 4 }), /no input channel given/);
});

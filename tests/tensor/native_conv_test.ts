/**
 * The native backend's convolutions (tensor/native/conv.ts: pointwise GEMM,
 * shifted GEMMs on a padded grid, im2col / col2im in chunks) against the CPU
 * reference kernels of tensor/cpu/conv.ts, which accumulate in float64 and
 * round once. Forward values and the gradients through each op, whose VJPs
 * compose conv3d, convTranspose3d and conv3dWeightGrad, so every case runs
 * all three on both backends.
 *
 * Tolerance: |native − cpu| ≤ 1e-4 + 1e-4·|cpu| elementwise (float32 GEMM
 * accumulation against float64 accumulation rounded to float32).
 */
import assert from "node:assert/strict";
import {
  conv3d,
  conv3dWeightGrad,
  convTranspose3d,
  fromArray,
  gradients,
  Rng,
  type Tensor,
  type Triple,
} from "../../mod.ts";
import { type Backend, backendByName } from "../../tensor/backend.ts";
import { initNative } from "../../tensor/native/backend.ts";
import { blasStatus } from "../../tensor/native/blas.ts";
import { type NativeConvTuning, releaseNativeConvScratch, setNativeConvTuning } from "../../tensor/native/conv.ts";
import { assertClose } from "../helpers.ts";

const TOL = { atol: 1e-4, rtol: 1e-4 };
const native = initNative();
const cpu = backendByName("cpu");
// Without --allow-ffi or a BLAS the native backend does not exist: the tests below are reported as ignored, with why.
if (!native) console.warn(`native_conv_test: native backend unavailable (${blasStatus().reason}); tests ignored`);

/** A test that needs the native backend. */
function nativeTest(name: string, fn: () => void | Promise<void>): void {
  Deno.test({ name, ignore: native === null, fn });
}

interface Case {
  name: string;
  x: number[];
  w: number[];
  stride?: number | Triple;
  padding?: number | Triple;
  dilation?: number | Triple;
  groups?: number;
  /** Set for convTranspose3d cases. */
  outputPadding?: number | Triple;
  transposed?: boolean;
  /** Compare the forward value only (the op's VJP rejects this geometry on every backend). */
  forwardOnly?: boolean;
}

const CONV_CASES: Case[] = [
  {
    name: "1→3 channels, 3³ pad 1, 5×7×9, batch 2 (one input channel)",
    x: [2, 1, 5, 7, 9],
    w: [3, 1, 3, 3, 3],
    padding: 1,
  },
  { name: "17→17, 3³ pad 1, 5×7×9, batch 2 (shifted)", x: [2, 17, 5, 7, 9], w: [17, 17, 3, 3, 3], padding: 1 },
  { name: "17→3, 1³ (pointwise)", x: [2, 17, 5, 7, 9], w: [3, 17, 1, 1, 1] },
  { name: "3→5, 1³ stride 2 (im2col subsampling)", x: [1, 3, 5, 7, 9], w: [5, 3, 1, 1, 1], stride: 2 },
  {
    name: "16→8, 3³ pad 1, groups 2 (shifted, 8 per group)",
    x: [2, 16, 5, 7, 9],
    w: [8, 8, 3, 3, 3],
    padding: 1,
    groups: 2,
  },
  { name: "3→4, 3³ stride 2 pad 1 (im2col)", x: [2, 3, 5, 7, 9], w: [4, 3, 3, 3, 3], stride: 2, padding: 1 },
  { name: "9→6, 3³ dilation 2 pad 2 (shifted)", x: [1, 9, 5, 7, 9], w: [6, 9, 3, 3, 3], dilation: 2, padding: 2 },
  { name: "2→4, 2³ stride 2 (UNETR down-conv shape)", x: [2, 2, 6, 8, 4], w: [4, 2, 2, 2, 2], stride: 2 },
  { name: "17→5, 5³ pad 2 (shifted)", x: [1, 17, 5, 7, 9], w: [5, 17, 5, 5, 5], padding: 2 },
  {
    name: "8→8, 3×1×2 kernel, padding [1,0,1] (shifted, non-cubic)",
    x: [2, 8, 5, 7, 9],
    w: [8, 8, 3, 1, 2],
    padding: [1, 0, 1],
  },
  { name: "8→3, 3³ pad 0 (shifted, valid)", x: [1, 8, 5, 7, 9], w: [3, 8, 3, 3, 3] },
  {
    name: "6→6, 3³ groups 3, stride 2, dilation 2, pad 1 (im2col grouped)",
    x: [2, 6, 7, 9, 5],
    w: [6, 2, 3, 3, 3],
    stride: 2,
    dilation: 2,
    padding: 1,
    groups: 3,
  },
  {
    name: "17→4, 3³ stride [1,2,1] pad [0,1,2] (im2col, mixed strides)",
    x: [1, 17, 5, 7, 9],
    w: [4, 17, 3, 3, 3],
    stride: [1, 2, 1],
    padding: [0, 1, 2],
  },
];

const TRANSPOSED_CASES: Case[] = [
  {
    name: "4→3, 2³ stride 2 (UNETR upsampling, col2im)",
    x: [2, 4, 3, 4, 5],
    w: [4, 3, 2, 2, 2],
    stride: 2,
    transposed: true,
  },
  {
    name: "3→2, 3³ stride 3 (stride = kernel, 3 taps per row)",
    x: [1, 3, 2, 3, 4],
    w: [3, 2, 3, 3, 3],
    stride: 3,
    transposed: true,
  },
  {
    name: "2→3, 2³ stride 2 output padding 1 (stride = kernel)",
    x: [2, 2, 3, 4, 5],
    w: [2, 3, 2, 2, 2],
    stride: 2,
    outputPadding: 1,
    transposed: true,
  },
  {
    name: "4→3, kernel [1,2,3] stride [1,2,3] (stride = kernel per axis)",
    x: [1, 4, 3, 4, 5],
    w: [4, 3, 1, 2, 3],
    stride: [1, 2, 3],
    transposed: true,
  },
  {
    name: "17→8, 3³ pad 1 stride 1 (flipped conv, shifted)",
    x: [2, 17, 5, 7, 9],
    w: [17, 8, 3, 3, 3],
    padding: 1,
    transposed: true,
  },
  {
    name: "6→4, 3³ stride 2 pad 1 output padding 1 (col2im)",
    x: [2, 6, 3, 4, 5],
    w: [6, 4, 3, 3, 3],
    stride: 2,
    padding: 1,
    outputPadding: 1,
    transposed: true,
  },
  {
    name: "16→8, groups 2, 3³ dilation 2 pad 1 (flipped, stride 1)",
    x: [1, 16, 5, 7, 9],
    w: [16, 4, 3, 3, 3],
    dilation: 2,
    padding: 1,
    groups: 2,
    transposed: true,
  },
  // Output padding at stride 1 (allowed below the dilation): conv3d of the output does not return to the input's
  // extent, so conv3dWeightGrad in the VJP rejects it (on the CPU reference too); the forward is compared.
  {
    name: "16→8, groups 2, 3³ dilation 2 pad 1 output padding 1 (flipped, stride 1)",
    x: [1, 16, 5, 7, 9],
    w: [16, 4, 3, 3, 3],
    dilation: 2,
    padding: 1,
    outputPadding: 1,
    groups: 2,
    transposed: true,
    forwardOnly: true,
  },
  {
    name: "9→2, 3³ pad 3 (flipped conv with negative padding: crops)",
    x: [1, 9, 5, 7, 9],
    w: [9, 2, 3, 3, 3],
    padding: 3,
    transposed: true,
  },
  {
    name: "3→17, 5³ stride 2 pad 2 output padding [1,0,1] (col2im)",
    x: [2, 3, 3, 4, 5],
    w: [3, 17, 5, 5, 5],
    stride: 2,
    padding: 2,
    outputPadding: [1, 0, 1],
    transposed: true,
  },
  { name: "1→1, 1³ stride 1 (flipped pointwise)", x: [2, 1, 5, 7, 9], w: [1, 1, 1, 1, 1], transposed: true },
];

function rand(shape: readonly number[], rng: Rng): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: n }, () => rng.uniformIn(-1, 1));
}

function run(
  c: Case,
  b: Backend,
  xs: Float32Array,
  ws: Float32Array,
  seed: (shape: readonly number[]) => Float32Array,
) {
  const x = fromArray(xs, c.x, b), w = fromArray(ws, c.w, b);
  x.requiresGrad = true;
  w.requiresGrad = true;
  const opts = { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups };
  const y: Tensor = c.transposed
    ? convTranspose3d(x, w, null, { ...opts, outputPadding: c.outputPadding })
    : conv3d(x, w, null, opts);
  if (c.forwardOnly) return { y, gx: null, gw: null };
  const [gx, gw] = gradients(y, [x, w], { seed: fromArray(seed(y.shape), y.shape, b) });
  return { y, gx, gw };
}

async function compare(c: Case, seedValue: number): Promise<void> {
  assert.ok(native, "native backend: no BLAS found");
  const rng = new Rng(seedValue);
  const xs = rand(c.x, rng), ws = rand(c.w, rng);
  const seeds = new Map<string, Float32Array>();
  const seed = (shape: readonly number[]) => {
    const k = shape.join();
    if (!seeds.has(k)) seeds.set(k, rand(shape, rng));
    return seeds.get(k)!;
  };
  const ref = run(c, cpu, xs, ws, seed), got = run(c, native, xs, ws, seed);
  assert.deepEqual([...got.y.shape], [...ref.y.shape], c.name);
  assert.equal(got.y.backend, "native");
  assertClose(await got.y.data(), await ref.y.data(), { ...TOL, what: `${c.name}: y` });
  if (c.forwardOnly) return;
  assertClose(await got.gx!.data(), await ref.gx!.data(), { ...TOL, what: `${c.name}: dx` });
  assertClose(await got.gw!.data(), await ref.gw!.data(), { ...TOL, what: `${c.name}: dw` });
}

/** Runs `fn` with the chunk sizes lowered, restoring them afterwards. */
async function withTuning(t: Partial<NativeConvTuning>, fn: () => Promise<void>): Promise<void> {
  const previous = setNativeConvTuning(t);
  try {
    await fn();
  } finally {
    setNativeConvTuning(previous);
  }
}

nativeTest(
  "native conv3d forward, dx and dw match the CPU reference (odd shapes, groups, stride, dilation)",
  async () => {
    for (const [i, c] of CONV_CASES.entries()) await compare(c, 100 + i);
  },
);

nativeTest(
  "native convTranspose3d forward, dx and dw match the CPU reference (stride 1 and 2, output padding)",
  async () => {
    for (const [i, c] of TRANSPOSED_CASES.entries()) await compare(c, 200 + i);
  },
);

nativeTest("native convolutions give the same results when every chunk loop runs many times", async () => {
  // 4 KiB buffers 16-column GEMM chunks and 64-byte column blocks: the 17-channel shifted cases split into one-plane slabs and 2-row GEMM
  // chunks, im2col and col2im into one-row blocks, so every loop over slabs and chunks runs more than once.
  await withTuning({ maxTempBytes: 4096, gemmColumns: 16, colBlockBytes: 64 }, async () => {
    for (const [i, c] of [...CONV_CASES, ...TRANSPOSED_CASES].entries()) await compare(c, 300 + i);
  });
});

nativeTest("native conv3d on 16-channel volumes matches the CPU reference with 64 KiB chunks", async () => {
  // Padded planes of 15·16 floats: a 64 KiB bound gives depth slabs of 2 output planes, and 256-column GEMM chunks
  // split each slab's 446 columns in two, so both loops run more than once. At depth 5 the slabs are 2, 2, 1 planes
  // deep, so the slab layout changes within an item and again at the next item of the batch.
  await withTuning({ maxTempBytes: 65536, gemmColumns: 256 }, async () => {
    await compare({ name: "16→16, 3³ pad 1, 12×13×14", x: [1, 16, 12, 13, 14], w: [16, 16, 3, 3, 3], padding: 1 }, 400);
    await compare(
      { name: "16→4, 3³ pad 1, 2×16×5×13×14", x: [2, 16, 5, 13, 14], w: [4, 16, 3, 3, 3], padding: 1 },
      401,
    );
  });
});

nativeTest("native conv3d in float64 takes the CPU reference kernel", async () => {
  assert.ok(native, "native backend: no BLAS found");
  const rng = new Rng(5);
  const xs = Float64Array.from(rand([1, 8, 4, 5, 6], rng)), ws = Float64Array.from(rand([2, 8, 3, 3, 3], rng));
  const got = conv3d(fromArray(xs, [1, 8, 4, 5, 6], native), fromArray(ws, [2, 8, 3, 3, 3], native), null, {
    padding: 1,
  });
  const ref = conv3d(fromArray(xs, [1, 8, 4, 5, 6], cpu), fromArray(ws, [2, 8, 3, 3, 3], cpu), null, { padding: 1 });
  assert.equal(got.dtype, "float64");
  assert.deepEqual(await got.data(), await ref.data());
});

nativeTest("conv3dWeightGrad on native equals the CPU reference directly, strided and grouped", async () => {
  const rng = new Rng(6);
  const xs = rand([2, 6, 7, 8, 9], rng), gs = rand([2, 4, 4, 4, 5], rng);
  const geo = { stride: 2, padding: 1, groups: 2 };
  const got = conv3dWeightGrad(fromArray(xs, [2, 6, 7, 8, 9], native!), fromArray(gs, [2, 4, 4, 4, 5], native!), [
    3,
    3,
    3,
  ], geo);
  const ref = conv3dWeightGrad(
    fromArray(xs, [2, 6, 7, 8, 9], cpu),
    fromArray(gs, [2, 4, 4, 4, 5], cpu),
    [3, 3, 3],
    geo,
  );
  assert.deepEqual([...got.shape], [4, 3, 3, 3, 3]);
  assertClose(await got.data(), await ref.data(), { ...TOL, what: "conv3dWeightGrad" });
});

Deno.test("setNativeConvTuning names a bad option or value", () => {
  assert.throws(() => setNativeConvTuning({ maxTempBytes: 0 }), /maxTempBytes must be a positive integer, got 0/);
  assert.throws(() => setNativeConvTuning({ chunk: 4 } as Partial<NativeConvTuning>), /unknown option chunk/);
});

nativeTest("native convolutions with im2col forced for stride 1 match the CPU reference", async () => {
  // The im2col path is the one for strided convs; forcing it on the stride-1 cases covers its padding, dilation and
  // non-cubic kernels too (bench/native_conv.ts times this variant).
  await withTuning({ shiftMinChannels: 2 ** 30 }, async () => {
    for (const [i, c] of [...CONV_CASES, ...TRANSPOSED_CASES].entries()) await compare(c, 500 + i);
  });
  await withTuning({ shiftMinChannels: 2 ** 30, maxTempBytes: 4096, colBlockBytes: 64 }, async () => {
    for (const [i, c] of CONV_CASES.entries()) await compare(c, 600 + i);
  });
});

nativeTest("releaseNativeConvScratch drops the kept buffers and the next conv gives the same values", async () => {
  const c: Case = { name: "17→5, 3³ pad 1 after a release", x: [1, 17, 5, 7, 9], w: [5, 17, 3, 3, 3], padding: 1 };
  await compare(c, 700);
  releaseNativeConvScratch();
  await compare(c, 700);
});

/** UNETR's convolutional blocks against their definitions (MONAI 1.3.0 `dynunet_block.py`, `unetr_block.py`), written with tensor ops. */
import assert from "node:assert/strict";
import { concat, conv3d, convTranspose3d, instanceNorm3d, leakyRelu, Rng, type Tensor } from "../../mod.ts";
import {
  Convolution,
  convOutputPadding,
  convPadding,
  UnetOutBlock,
  UnetrBasicBlock,
  UnetResBlock,
  UnetrPrUpBlock,
  UnetrUpBlock,
} from "../../models/mod.ts";
import { assertClose, uniform } from "../helpers.ts";

const rng = () => new Rng(31);
const shapes = (m: { namedParameters(): [string, Tensor][] }) =>
  m.namedParameters().map(([n, t]) => `${n}${JSON.stringify(t.shape)}`);

/** MONAI 1.3.0 `UnetResBlock`: h = lrelu(IN(conv3(x))); h = IN(conv3(h)); r = x or IN(conv1x1(x)); y = lrelu(h + r). */
function resBlockByHand(b: UnetResBlock, x: Tensor): Tensor {
  const w = (n: string) => b.getParameter(`${n}.conv.weight`);
  let h = leakyRelu(instanceNorm3d(conv3d(x, w("conv1"), null, { padding: 1 })), 0.01);
  h = instanceNorm3d(conv3d(h, w("conv2"), null, { padding: 1 }));
  const r = b.downsample ? instanceNorm3d(conv3d(x, w("conv3"))) : x;
  return leakyRelu(h.add(r), 0.01);
}

Deno.test("MONAI padding: k3 s1 → 1, k1 → 0, transposed k2 s2 → padding 0, output padding 0", () => {
  assert.deepEqual(convPadding(3, 1), [1, 1, 1]);
  assert.deepEqual(convPadding(1, 1), [0, 0, 0]);
  assert.deepEqual(convPadding(2, 2), [0, 0, 0]);
  assert.deepEqual(convOutputPadding(2, 2, [0, 0, 0]), [0, 0, 0]);
  assert.throws(() => convPadding(1, 3), /stride \[3,3,3\] exceeds kernel/);
});

Deno.test("Convolution wraps a bias-free conv named `conv` (hence `.conv.weight`)", () => {
  assert.deepEqual(shapes(new Convolution(4, 8, { materialize: false })), ["conv.weight[8,4,3,3,3]"]);
  assert.deepEqual(shapes(new Convolution(4, 8, { kernelSize: 2, stride: 2, transposed: true, materialize: false })), [
    "conv.weight[4,8,2,2,2]",
  ]);
});

Deno.test("UnetResBlock with a channel change: 1×1 conv3 + norm3 on the residual, equals the written-out block", async () => {
  const b = new UnetResBlock(2, 3, 3, 1, { rng: rng() });
  assert.ok(b.downsample);
  assert.deepEqual(shapes(b), [
    "conv1.conv.weight[3,2,3,3,3]",
    "conv2.conv.weight[3,3,3,3,3]",
    "conv3.conv.weight[3,2,1,1,1]",
  ]);
  assert.deepEqual(b.namedChildren().map(([n]) => n), ["conv1", "conv2", "lrelu", "norm1", "norm2", "conv3", "norm3"]);
  const x = uniform([2, 2, 4, 3, 5], rng());
  assertClose(await b.forward(x).data(), await resBlockByHand(b, x).data(), { atol: 1e-5 });
});

Deno.test("UnetResBlock with equal channels keeps the identity residual", async () => {
  const b = new UnetResBlock(3, 3, 3, 1, { rng: rng() });
  assert.ok(!b.downsample);
  assert.equal(b.namedParameters().length, 2);
  const x = uniform([1, 3, 4, 4, 4], rng());
  assertClose(await b.forward(x).data(), await resBlockByHand(b, x).data(), { atol: 1e-5 });
});

Deno.test("UnetrBasicBlock is one UnetResBlock named `layer`", async () => {
  const b = new UnetrBasicBlock(1, 4, 3, 1, { rng: rng() });
  assert.deepEqual(shapes(b), [
    "layer.conv1.conv.weight[4,1,3,3,3]",
    "layer.conv2.conv.weight[4,4,3,3,3]",
    "layer.conv3.conv.weight[4,1,1,1,1]",
  ]);
  const x = uniform([1, 1, 4, 4, 4], rng());
  const inner = b.getSubmodule("layer") as UnetResBlock;
  assertClose(await b.forward(x).data(), await resBlockByHand(inner, x).data(), { atol: 1e-5 });
});

Deno.test("UnetrPrUpBlock: transp_conv_init, then blocks.{i} = [ConvT k2 s2, UnetResBlock], each doubling", async () => {
  const b = new UnetrPrUpBlock(6, 4, 2, 3, 1, 2, { rng: rng() });
  assert.deepEqual(shapes(b), [
    "transp_conv_init.conv.weight[6,4,2,2,2]",
    "blocks.0.0.conv.weight[4,4,2,2,2]",
    "blocks.0.1.conv1.conv.weight[4,4,3,3,3]",
    "blocks.0.1.conv2.conv.weight[4,4,3,3,3]",
    "blocks.1.0.conv.weight[4,4,2,2,2]",
    "blocks.1.1.conv1.conv.weight[4,4,3,3,3]",
    "blocks.1.1.conv2.conv.weight[4,4,3,3,3]",
  ]);
  const x = uniform([1, 6, 2, 1, 1], rng());
  let h = convTranspose3d(x, b.getParameter("transp_conv_init.conv.weight"), null, { stride: 2 });
  for (const i of [0, 1]) {
    h = convTranspose3d(h, b.getParameter(`blocks.${i}.0.conv.weight`), null, { stride: 2 });
    h = resBlockByHand(b.getSubmodule(`blocks.${i}.1`) as UnetResBlock, h);
  }
  const y = b.forward(x);
  assert.deepEqual([...y.shape], [1, 4, 16, 8, 8]);
  assertClose(await y.data(), await h.data(), { atol: 1e-5 });
  assert.equal(new UnetrPrUpBlock(6, 4, 0, 3, 1, 2, { materialize: false }).namedParameters().length, 1);
});

Deno.test("UnetrUpBlock: ConvT k2 s2, concat [upsampled, skip] on channels, UnetResBlock(2C → C)", async () => {
  const b = new UnetrUpBlock(6, 3, 3, 2, { rng: rng() });
  assert.deepEqual(shapes(b), [
    "transp_conv.conv.weight[6,3,2,2,2]",
    "conv_block.conv1.conv.weight[3,6,3,3,3]",
    "conv_block.conv2.conv.weight[3,3,3,3,3]",
    "conv_block.conv3.conv.weight[3,6,1,1,1]",
  ]);
  const x = uniform([1, 6, 2, 2, 1], rng()), skip = uniform([1, 3, 4, 4, 2], rng());
  const up = convTranspose3d(x, b.getParameter("transp_conv.conv.weight"), null, { stride: 2 });
  const expected = resBlockByHand(b.getSubmodule("conv_block") as UnetResBlock, concat([up, skip], 1));
  assertClose(await b.forward(x, skip).data(), await expected.data(), { atol: 1e-5 });
  assert.throws(() => b.forward(x, uniform([1, 3, 4, 4, 4], rng())), /does not fit skip \[1,3,4,4,4\]/);
});

Deno.test("UnetOutBlock: a 1×1 conv with bias named out.conv.conv", async () => {
  const b = new UnetOutBlock(4, 2, { rng: rng() });
  assert.deepEqual(shapes(b), ["conv.conv.weight[2,4,1,1,1]", "conv.conv.bias[2]"]);
  const x = uniform([1, 4, 2, 2, 2], rng());
  const expected = conv3d(x, b.getParameter("conv.conv.weight"), b.getParameter("conv.conv.bias"));
  assertClose(await b.forward(x).data(), await expected.data(), { atol: 1e-6 });
});

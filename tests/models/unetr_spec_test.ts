/**
 * UNETR against MONAI 1.3.0's `UNETR` as the paper uses it (§3.1, §4.3): its
 * state-dict table, per-module counts and forward shape flow. The reference configuration
 * is built shape-only; every count is computed from the constructed modules.
 */
import assert from "node:assert/strict";
import { randn, Rng, tidy } from "../../mod.ts";
import { createUnetr, isMeta, metaTensor, skipLayers, type UNETR, UNETR_CONFIGS } from "../../models/mod.ts";

/** MONAI 1.3.0's state dict, per transformer block, in registration order. */
const BLOCK_TABLE: [string, number[]][] = [
  ["mlp.linear1.weight", [3072, 768]],
  ["mlp.linear1.bias", [3072]],
  ["mlp.linear2.weight", [768, 3072]],
  ["mlp.linear2.bias", [768]],
  ["norm1.weight", [768]],
  ["norm1.bias", [768]],
  ["attn.out_proj.weight", [768, 768]],
  ["attn.out_proj.bias", [768]],
  ["attn.qkv.weight", [2304, 768]],
  ["norm2.weight", [768]],
  ["norm2.bias", [768]],
];

/** MONAI 1.3.0's state dict, the other tensors, in state-dict order around the blocks. */
const HEAD: [string, number[]][] = [
  ["vit.patch_embedding.position_embeddings", [1, 512, 768]],
  ["vit.patch_embedding.patch_embeddings.weight", [768, 1, 16, 16, 16]],
  ["vit.patch_embedding.patch_embeddings.bias", [768]],
];
const TAIL: [string, number[]][] = [
  ["vit.norm.weight", [768]],
  ["vit.norm.bias", [768]],
  ["encoder1.layer.conv1.conv.weight", [16, 1, 3, 3, 3]],
  ["encoder1.layer.conv2.conv.weight", [16, 16, 3, 3, 3]],
  ["encoder1.layer.conv3.conv.weight", [16, 1, 1, 1, 1]],
  ["encoder2.transp_conv_init.conv.weight", [768, 32, 2, 2, 2]],
  ...[0, 1].flatMap((i): [string, number[]][] => [
    [`encoder2.blocks.${i}.0.conv.weight`, [32, 32, 2, 2, 2]],
    [`encoder2.blocks.${i}.1.conv1.conv.weight`, [32, 32, 3, 3, 3]],
    [`encoder2.blocks.${i}.1.conv2.conv.weight`, [32, 32, 3, 3, 3]],
  ]),
  ["encoder3.transp_conv_init.conv.weight", [768, 64, 2, 2, 2]],
  ["encoder3.blocks.0.0.conv.weight", [64, 64, 2, 2, 2]],
  ["encoder3.blocks.0.1.conv1.conv.weight", [64, 64, 3, 3, 3]],
  ["encoder3.blocks.0.1.conv2.conv.weight", [64, 64, 3, 3, 3]],
  ["encoder4.transp_conv_init.conv.weight", [768, 128, 2, 2, 2]],
  ["decoder5.transp_conv.conv.weight", [768, 128, 2, 2, 2]],
  ["decoder5.conv_block.conv1.conv.weight", [128, 256, 3, 3, 3]],
  ["decoder5.conv_block.conv2.conv.weight", [128, 128, 3, 3, 3]],
  ["decoder5.conv_block.conv3.conv.weight", [128, 256, 1, 1, 1]],
  ["decoder4.transp_conv.conv.weight", [128, 64, 2, 2, 2]],
  ["decoder4.conv_block.conv1.conv.weight", [64, 128, 3, 3, 3]],
  ["decoder4.conv_block.conv2.conv.weight", [64, 64, 3, 3, 3]],
  ["decoder4.conv_block.conv3.conv.weight", [64, 128, 1, 1, 1]],
  ["decoder3.transp_conv.conv.weight", [64, 32, 2, 2, 2]],
  ["decoder3.conv_block.conv1.conv.weight", [32, 64, 3, 3, 3]],
  ["decoder3.conv_block.conv2.conv.weight", [32, 32, 3, 3, 3]],
  ["decoder3.conv_block.conv3.conv.weight", [32, 64, 1, 1, 1]],
  ["decoder2.transp_conv.conv.weight", [32, 16, 2, 2, 2]],
  ["decoder2.conv_block.conv1.conv.weight", [16, 32, 3, 3, 3]],
  ["decoder2.conv_block.conv2.conv.weight", [16, 16, 3, 3, 3]],
  ["decoder2.conv_block.conv3.conv.weight", [16, 32, 1, 1, 1]],
  ["out.conv.conv.weight", [2, 16, 1, 1, 1]],
  ["out.conv.conv.bias", [2]],
];

const SPEC_STATE_DICT: [string, number[]][] = [
  ...HEAD,
  ...Array.from({ length: 12 }, (_, i) => BLOCK_TABLE.map(([n, s]): [string, number[]] => [`vit.blocks.${i}.${n}`, s]))
    .flat(),
  ...TAIL,
];

const reference = () => createUnetr("unetr-base", { materialize: false });
const countUnder = (m: UNETR, prefix: string) =>
  m.namedParameters().filter(([n]) => n.startsWith(prefix)).reduce((a, [, t]) => a + t.size, 0);

Deno.test("reference UNETR has exactly MONAI 1.3.0's state dict: 170 tensors, names, order, shapes", () => {
  const model = reference();
  const got = model.namedParameters().map(([n, t]) => [n, [...t.shape]]);
  assert.equal(got.length, 170);
  assert.deepEqual(got, SPEC_STATE_DICT);
  assert.ok(model.parameters().every(isMeta), "shape-only construction allocates nothing");
  assert.deepEqual([...model.stateDict().keys()], SPEC_STATE_DICT.map(([n]) => n));
});

Deno.test("reference UNETR parameter counts per module equal MONAI 1.3.0's (total 93,011,170)", () => {
  const model = reference();
  const table: [string, number][] = [
    ["vit.patch_embedding", 3_539_712],
    ["vit.blocks.", 85_026_816],
    ["vit.norm", 1_536],
    ["vit.", 88_568_064],
    ["encoder1.", 7_360],
    ["encoder2.", 323_584],
    ["encoder3.", 647_168],
    ["encoder4.", 786_432],
    ["decoder5.", 2_146_304],
    ["decoder4.", 405_504],
    ["decoder3.", 101_376],
    ["decoder2.", 25_344],
    ["out.", 34],
  ];
  for (const [prefix, spec] of table) assert.equal(countUnder(model, prefix), spec, prefix);
  for (let i = 0; i < 12; i++) assert.equal(countUnder(model, `vit.blocks.${i}.`), 7_085_568, `block ${i}`);
  assert.equal(model.getSubmodule("vit.blocks.0").numParameters(), 7_085_568);
  const decoders = ["decoder5", "decoder4", "decoder3", "decoder2"].reduce((a, n) => a + countUnder(model, `${n}.`), 0);
  assert.equal(decoders, 2_678_528);
  const encoders = [1, 2, 3, 4].reduce((a, i) => a + countUnder(model, `encoder${i}.`), 0);
  assert.equal(encoders, 1_764_544);
  assert.equal(model.numParameters(), 93_011_170);
  // Transformer linear weights by type (MONAI 1.3.0's shapes).
  const byType = (suffix: string) =>
    model.namedParameters().filter(([n]) => n.startsWith("vit.blocks.") && n.endsWith(suffix))
      .reduce((a, [, t]) => a + t.size, 0);
  assert.equal(byType("attn.qkv.weight"), 21_233_664);
  assert.equal(byType("attn.out_proj.weight"), 7_077_888);
  assert.equal(byType("attn.out_proj.bias"), 9_216);
  assert.equal(byType("mlp.linear1.weight"), 28_311_552);
  assert.equal(byType("mlp.linear1.bias"), 36_864);
  assert.equal(byType("mlp.linear2.weight"), 28_311_552);
  assert.equal(byType("mlp.linear2.bias"), 9_216);
});

/** The shape flow of MONAI 1.3.0's `UNETR.forward` for image side S, feature size f, width d, tokens N = (S/16)³. */
function expectedFlow(b: number, s: number, f: number, d: number, classes: number): Record<string, number[]> {
  const n = (s / 16) ** 3, c = (k: number, div: number) => [b, k, s / div, s / div, s / div];
  return {
    tokens: [b, n, d],
    x: [b, n, d],
    enc1: c(f, 1),
    enc2: c(2 * f, 2),
    enc3: c(4 * f, 4),
    enc4: c(8 * f, 8),
    dec3: c(8 * f, 8),
    dec2: c(4 * f, 4),
    dec1: c(2 * f, 2),
    dec0: c(f, 1),
    logits: c(classes, 1),
    output: c(classes, 1),
  };
}

Deno.test("reference UNETR shape flow at 128³ equals MONAI 1.3.0's (shape-only trace)", () => {
  const model = reference().eval();
  const feats = model.forwardFeatures(metaTensor([2, 1, 128, 128, 128]));
  assert.equal(feats.hiddenStates.length, 12);
  for (const h of feats.hiddenStates) assert.deepEqual([...h.shape], [2, 512, 768]);
  const spec = expectedFlow(2, 128, 16, 768, 2);
  assert.deepEqual(spec.enc2, [2, 32, 64, 64, 64]); // the literal shapes at 128³
  assert.deepEqual(spec.dec3, [2, 128, 16, 16, 16]);
  for (const [k, shape] of Object.entries(spec)) {
    assert.deepEqual([...(feats as unknown as Record<string, { shape: number[] }>)[k].shape], shape, k);
  }
  assert.deepEqual(skipLayers(12), [3, 6, 9]);
  assert.deepEqual([...model.projFeat(feats.x).shape], [2, 768, 8, 8, 8]);
});

Deno.test("unetr-tiny runs at 32³ with MONAI 1.3.0's shape flow, and the output is a channel softmax", async () => {
  const model = createUnetr("unetr-tiny", { seed: 1 }).eval();
  const c = model.config;
  assert.equal(c.hiddenSize, 48);
  assert.equal(c.numLayers, 12);
  const x = randn([1, 1, 32, 32, 32], { rng: new Rng(2) });
  const feats = tidy(() => model.forwardFeatures(x));
  const spec = expectedFlow(1, 32, c.featureSize, 48, 2);
  for (const [k, shape] of Object.entries(spec)) {
    assert.deepEqual([...(feats as unknown as Record<string, { shape: number[] }>)[k].shape], shape, k);
  }
  const p = await feats.output.data();
  const v = 32 ** 3;
  for (let i = 0; i < v; i += 997) assert.ok(Math.abs(p[i] + p[v + i] - 1) < 1e-5, `voxel ${i} sums to 1`);
  // The logits variant returns the same logits, unnormalised.
  const logitsModel = createUnetr({ base: "unetr-tiny", outputSoftmax: false }, { materialize: false });
  assert.equal(logitsModel.config.outputSoftmax, false);
  logitsModel.loadStateDict(model.stateDict());
  const logits = await tidy(() => logitsModel.eval().forward(x)).data();
  const ref = await feats.logits.data();
  assert.deepEqual(logits, ref);
});

Deno.test("named configurations: unetr-small and unetr-tiny keep 12 layers; counts follow the config", () => {
  const small = createUnetr("unetr-small", { materialize: false });
  assert.deepEqual(
    [
      small.config.imgSize,
      small.config.hiddenSize,
      small.config.mlpDim,
      small.config.numHeads,
      small.config.featureSize,
    ],
    [64, 96, 384, 4, 8],
  );
  assert.equal(small.config.numLayers, 12);
  assert.equal(small.getSubmodule("vit.blocks").namedChildren().length, 12);
  // A block of width d and MLP m holds 4d² + 2dm + 6d + m parameters: the state-dict table generalised.
  const blockCount = (d: number, m: number) => 4 * d * d + 2 * d * m + 6 * d + m;
  assert.equal(blockCount(768, 3072), 7_085_568);
  assert.equal(small.getSubmodule("vit.blocks.5").numParameters(), blockCount(96, 384));
  assert.equal(UNETR_CONFIGS["unetr-tiny"].numLayers, 12);
  assert.throws(() => createUnetr({ base: "unetr-tiny", patchSize: 8 }), /patch size \[8,8,8\] must be 16/);
  assert.throws(() => createUnetr({ base: "unetr-tiny", imgSize: 40 }), /multiple of 16/);
  assert.throws(() => createUnetr({ base: "unetr-tiny", numHeads: 5 }), /not divisible by 5 heads/);
  assert.throws(() => createUnetr("unetr-huge" as "unetr-base"), /unknown configuration "unetr-huge"/);
  assert.throws(() => small.forward(metaTensor([1, 1, 32, 32, 32])), /expects input \[B,1,64,64,64\]/);
});

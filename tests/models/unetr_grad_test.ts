/**
 * End-to-end gradient check of a UNETR: reverse mode against central finite
 * differences in float64, on a few elements of parameters in every module
 * type and of the input. `unetr-tiny`'s layout (12 layers, softmax output)
 * with channels and extent shrunk so ~100 forward passes stay cheap.
 */
import assert from "node:assert/strict";
import { checkGrad, gradients, matmul, Rng, slice, type Tensor, tensor, tidy } from "../../mod.ts";
import { createUnetr, type UNETR } from "../../models/mod.ts";

const CHECKED = [
  "vit.patch_embedding.position_embeddings", // PatchEmbeddingBlock
  "vit.patch_embedding.patch_embeddings.weight", // Conv3d with bias
  "vit.patch_embedding.patch_embeddings.bias",
  "vit.blocks.0.attn.qkv.weight", // SABlock, Linear without bias
  "vit.blocks.0.attn.out_proj.weight",
  "vit.blocks.0.attn.out_proj.bias",
  "vit.blocks.3.mlp.linear1.weight", // MLPBlock, GELU
  "vit.blocks.3.mlp.linear1.bias",
  "vit.blocks.11.mlp.linear2.weight",
  "vit.blocks.6.norm1.weight", // LayerNorm
  "vit.blocks.9.norm2.bias",
  "vit.norm.weight",
  "encoder1.layer.conv1.conv.weight", // UnetrBasicBlock / UnetResBlock, InstanceNorm3d, LeakyReLU
  "encoder1.layer.conv3.conv.weight",
  "encoder2.transp_conv_init.conv.weight", // UnetrPrUpBlock, ConvTranspose3d
  "encoder2.blocks.1.0.conv.weight",
  "encoder2.blocks.0.1.conv2.conv.weight",
  "encoder3.blocks.0.1.conv1.conv.weight",
  "encoder4.transp_conv_init.conv.weight",
  "decoder5.transp_conv.conv.weight", // UnetrUpBlock
  "decoder5.conv_block.conv3.conv.weight",
  "decoder4.conv_block.conv1.conv.weight",
  "decoder3.conv_block.conv2.conv.weight",
  "decoder2.conv_block.conv1.conv.weight",
  "out.conv.conv.weight", // UnetOutBlock
  "out.conv.conv.bias",
];

/** `unetr-tiny` with 12 layers and the softmax output, shrunk: 32×16×16 input (2 tokens), d 8, f 2. */
function smallModel(): UNETR {
  return createUnetr(
    { base: "unetr-tiny", imgSize: [32, 16, 16], hiddenSize: 8, mlpDim: 16, numHeads: 2, featureSize: 2 },
    { seed: 7, dtype: "float64" },
  ).eval();
}

/** `base` with the elements at `idx` replaced by `v` (differentiable in `v`): base + (v − v0)·E. */
function substitute(base: Tensor, idx: number[], v: Tensor, v0: Tensor): Tensor {
  const e = new Float64Array(idx.length * base.size);
  idx.forEach((j, r) => (e[r * base.size + j] = 1));
  const delta = matmul(v.sub(v0).reshape([1, idx.length]), tensor(e, [idx.length, base.size]));
  return base.reshape([1, base.size]).add(delta).reshape([...base.shape]);
}

Deno.test({
  name:
    "UNETR end to end: reverse-mode gradients of parameters in every module type and of the input match finite differences",
  sanitizeResources: false,
  fn: async () => {
    const model = smallModel();
    const rng = new Rng(3);
    const x = tensor(Float64Array.from({ length: 32 * 16 * 16 }, () => rng.normal()), [1, 1, 32, 16, 16]);
    const targets: [string, Tensor][] = [...CHECKED.map((n): [string, Tensor] => [n, model.getParameter(n)]), [
      "input",
      x,
    ]];
    const picks = await Promise.all(targets.map(async ([name, t]) => {
      const i = rng.int(0, t.size - 1), j = (i + 1 + rng.int(0, t.size - 2)) % t.size;
      const idx = t.size === 1 ? [0] : [i, j];
      const data = await t.data();
      return { name, base: t, idx, v0: tensor(Float64Array.from(idx, (k) => data[k])) };
    }));
    const f = (...vs: Tensor[]) => {
      const subs = new Map<string, Tensor>();
      let input = x;
      picks.forEach((p, i) => {
        const t = substitute(p.base, p.idx, vs[i], p.v0);
        if (p.name === "input") input = t;
        else subs.set(p.name, t);
      });
      // A 4×4×4 window of the output: every parameter still reaches it, and the projected sum stays
      // small enough that float64 rounding does not swamp the finite differences.
      return slice(model.withParameters(subs, () => model.forward(input)), [0, 0, 14, 6, 6], [1, 2, 18, 10, 10]);
    };
    const report = await checkGrad(f, picks.map((p) => p.v0), { atol: 2e-7, rtol: 1e-5 });
    assert.ok(report.ok);
    assert.equal(report.checked, picks.reduce((n, p) => n + p.idx.length, 0));
  },
});

Deno.test("unetr-tiny: every one of its 170 parameter tensors receives a finite, non-zero gradient", async () => {
  const model = createUnetr("unetr-tiny", { seed: 5 }).eval();
  const params = model.parameters();
  assert.equal(params.length, 170);
  const rng = new Rng(9);
  const x = tensor(Float32Array.from({ length: 32 ** 3 }, () => rng.normal()), [1, 1, 32, 32, 32]);
  // A weighted sum: a plain sum of softmax probabilities is constant (1 per voxel).
  const w = tensor(Float32Array.from({ length: 2 * 32 ** 3 }, () => rng.uniform()), [1, 2, 32, 32, 32]);
  const norms = tidy(() => {
    const loss = model.forward(x).mul(w).sum();
    return gradients(loss, params).map((g) => g.abs().max());
  });
  const values = await Promise.all(norms.map((t) => t.item()));
  const names = model.namedParameters().map(([n]) => n);
  values.forEach((v, i) => assert.ok(Number.isFinite(v) && v > 0, `${names[i]}: max |grad| = ${v}`));
});

/** The ViT layers against their definitions (MONAI 1.3.0 `SABlock`, `MLPBlock`, `TransformerBlock`) written out with loops. */
import assert from "node:assert/strict";
import { gelu, layerNorm, Rng, type Tensor, tensor } from "../../mod.ts";
import { MLPBlock, SABlock, TransformerBlock, ViT } from "../../models/mod.ts";
import { assertClose, uniform } from "../helpers.ts";

const rng = () => new Rng(21);

/** x @ Wᵀ + b for row-major data: x [rows, in], W [out, in]. */
function affine(
  x: ArrayLike<number>,
  rows: number,
  w: ArrayLike<number>,
  out: number,
  inF: number,
  b?: ArrayLike<number>,
) {
  const y = new Float64Array(rows * out);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < out; o++) {
      let s = b ? b[o] : 0;
      for (let k = 0; k < inF; k++) s += x[r * inF + k] * w[o * inF + k];
      y[r * out + o] = s;
    }
  }
  return y;
}

/** Self-attention with an explicit loop over heads, qkv feature t·d + h·dh + j (MONAI 1.3.0 `SABlock`). */
async function attentionLoop(attn: SABlock, x: Tensor): Promise<Float64Array> {
  const [b, n, d] = x.shape, heads = attn.numHeads, dh = d / heads;
  const xd = await x.data();
  const wqkv = await attn.getParameter("qkv.weight").data();
  const wo = await attn.getParameter("out_proj.weight").data(), bo = await attn.getParameter("out_proj.bias").data();
  const out = new Float64Array(b * n * d);
  for (let s = 0; s < b; s++) {
    const qkv = affine(xd.subarray(s * n * d, (s + 1) * n * d), n, wqkv, 3 * d, d); // [n, 3d]
    const at = (t: number, h: number, tok: number, j: number) => qkv[tok * 3 * d + t * d + h * dh + j];
    const merged = new Float64Array(n * d);
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < n; i++) {
        const scores = Array.from({ length: n }, (_, m) => {
          let dot = 0;
          for (let j = 0; j < dh; j++) dot += at(0, h, i, j) * at(1, h, m, j);
          return dot / Math.sqrt(dh); // dh^-1/2, not d^-1/2
        });
        const mx = Math.max(...scores), e = scores.map((v) => Math.exp(v - mx)), z = e.reduce((a, v) => a + v, 0);
        for (let j = 0; j < dh; j++) {
          let acc = 0;
          for (let m = 0; m < n; m++) acc += (e[m] / z) * at(2, h, m, j);
          merged[i * d + h * dh + j] = acc; // heads concatenated head-major
        }
      }
    }
    out.set(affine(merged, n, wo, d, d, bo), s * n * d);
  }
  return out;
}

Deno.test("SABlock equals attention written as a loop over heads; fused bias-free qkv, out_proj first", async () => {
  const attn = new SABlock(6, 3, { rng: rng(), dropoutRate: 0.1 }).eval();
  assert.deepEqual(attn.namedParameters().map(([n, t]) => `${n}${JSON.stringify(t.shape)}`), [
    "out_proj.weight[6,6]",
    "out_proj.bias[6]",
    "qkv.weight[18,6]",
  ]);
  assert.equal(attn.scale, 2 ** -0.5);
  const x = uniform([2, 4, 6], rng(), -2, 2);
  assertClose(await attn.forward(x).data(), await attentionLoop(attn, x), { atol: 1e-5 });
});

Deno.test("SABlock heads are independent: changing head 1's q rows leaves head 0's output features unchanged", async () => {
  const attn = new SABlock(4, 2, { rng: rng() }).eval();
  const x = uniform([1, 3, 4], rng());
  // Without out_proj mixing: make it the identity and compare merged features per head.
  attn.loadStateDict({
    "out_proj.weight": tensor([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]),
    "out_proj.bias": tensor([0, 0, 0, 0]),
    "qkv.weight": attn.getParameter("qkv.weight"),
  });
  const before = await attn.forward(x).data();
  const w = Array.from(await attn.getParameter("qkv.weight").data());
  for (let j = 0; j < 2; j++) for (let k = 0; k < 4; k++) w[(1 * 2 + j) * 4 + k] *= 3; // q rows of head 1
  attn.setParameter("qkv.weight", tensor(w, [12, 4]));
  const after = await attn.forward(x).data();
  for (let t = 0; t < 3; t++) {
    assertClose([after[t * 4], after[t * 4 + 1]], [before[t * 4], before[t * 4 + 1]], { atol: 1e-6 });
  }
  assert.notDeepEqual(Array.from(after), Array.from(before));
});

Deno.test("MLPBlock: linear2(GELU(linear1(x))), names linear1 then linear2", async () => {
  const mlp = new MLPBlock(4, 8, { rng: rng() }).eval();
  assert.deepEqual(mlp.namedParameters().map(([n]) => n), [
    "linear1.weight",
    "linear1.bias",
    "linear2.weight",
    "linear2.bias",
  ]);
  const x = uniform([3, 4], rng());
  const p = async (n: string) => await mlp.getParameter(n).data();
  const h = affine(await x.data(), 3, await p("linear1.weight"), 8, 4, await p("linear1.bias"));
  const g = await gelu(tensor(h, [3, 8], { dtype: "float64" })).data();
  const expected = affine(g, 3, await p("linear2.weight"), 4, 8, await p("linear2.bias"));
  assertClose(await mlp.forward(x).data(), expected, { atol: 1e-5 });
});

Deno.test("TransformerBlock is pre-norm: x + attn(norm1(x)), then + mlp(norm2(·)); spec registration order", async () => {
  const blk = new TransformerBlock(6, 12, 2, { rng: rng() }).eval();
  assert.deepEqual(blk.namedChildren().map(([n]) => n), ["mlp", "norm1", "attn", "norm2"]);
  blk.loadStateDict({ ...Object.fromEntries(blk.stateDict()), "norm1.weight": uniform([6], rng(), 0.5, 1.5) });
  const x = uniform([2, 5, 6], rng());
  const attn = blk.getSubmodule("attn") as SABlock, mlp = blk.getSubmodule("mlp") as MLPBlock;
  const ln = (t: Tensor, n: string) =>
    layerNorm(t, [6], blk.getParameter(`${n}.weight`), blk.getParameter(`${n}.bias`));
  const h = x.add(attn.forward(ln(x, "norm1")));
  const expected = h.add(mlp.forward(ln(h, "norm2")));
  assertClose(await blk.forward(x).data(), await expected.data(), { atol: 1e-6 });
});

Deno.test("ViT returns every block's output before the final norm, and norm(last) as x", async () => {
  const vit = new ViT(
    { inChannels: 1, imgSize: [32, 16, 16], patchSize: 16, hiddenSize: 8, mlpDim: 16, numLayers: 3, numHeads: 2 },
    { rng: rng() },
  ).eval();
  assert.deepEqual(vit.namedChildren().map(([n]) => n), ["patch_embedding", "blocks", "norm"]);
  const x = uniform([1, 1, 32, 16, 16], rng());
  const f = vit.forwardFeatures(x);
  assert.equal(f.hiddenStates.length, 3);
  assert.deepEqual([...f.tokens.shape], [1, 2, 8]);
  const blocks = [0, 1, 2].map((i) => vit.getSubmodule(`blocks.${i}`) as TransformerBlock);
  let h = f.tokens;
  for (let i = 0; i < 3; i++) {
    h = blocks[i].forward(h);
    assertClose(await f.hiddenStates[i].data(), await h.data(), { atol: 1e-6 });
  }
  const normed = layerNorm(h, [8], vit.getParameter("norm.weight"), vit.getParameter("norm.bias"));
  assertClose(await f.x.data(), await normed.data(), { atol: 1e-6 });
});

/** Each basic layer against its definition written out with loops. */
import assert from "node:assert/strict";
import { Rng, tensor } from "../../mod.ts";
import {
  Conv3d,
  ConvTranspose3d,
  Dropout,
  GELU,
  InstanceNorm3d,
  LayerNorm,
  LeakyReLU,
  Linear,
  PatchEmbeddingBlock,
} from "../../models/mod.ts";
import { assertClose, strides, uniform } from "../helpers.ts";

const rng = () => new Rng(11);

Deno.test("Linear: y[i,o] = Σ_k x[i,k]·W[o,k] + b[o], weight [out,in], init within ±1/√in", async () => {
  const fc = new Linear(5, 3, { rng: rng() });
  const x = uniform([4, 5], rng());
  const [xd, w, b] = [await x.data(), await fc.weight.data(), await fc.bias!.data()];
  const expected: number[] = [];
  for (let i = 0; i < 4; i++) {
    for (let o = 0; o < 3; o++) {
      let s = b[o];
      for (let k = 0; k < 5; k++) s += xd[i * 5 + k] * w[o * 5 + k];
      expected.push(s);
    }
  }
  assertClose(await fc.forward(x).data(), expected);
  const big = new Linear(64, 256, { rng: rng() });
  const wd = await big.weight.data(), bound = 1 / 8;
  assert.ok(wd.every((v) => Math.abs(v) <= bound) && wd.some((v) => Math.abs(v) > 0.95 * bound));
  assert.equal(new Linear(3, 3, { bias: false }).bias, null);
});

Deno.test("LayerNorm: (x − mean)/√(var + 1e-5)·w + b over the last axis, init w=1 b=0", async () => {
  const ln = new LayerNorm(6);
  assert.deepEqual(Array.from(await ln.getParameter("weight").data()), [1, 1, 1, 1, 1, 1]);
  assert.deepEqual(Array.from(await ln.getParameter("bias").data()), [0, 0, 0, 0, 0, 0]);
  ln.loadStateDict({ weight: tensor([1, 2, 3, 4, 5, 6]), bias: tensor([0, 0, 0, 1, 1, 1]) });
  const x = uniform([2, 3, 6], rng(), -3, 3);
  const xd = await x.data(), w = [1, 2, 3, 4, 5, 6], b = [0, 0, 0, 1, 1, 1];
  const expected: number[] = [];
  for (let r = 0; r < 6; r++) {
    const row = Array.from(xd.slice(r * 6, r * 6 + 6));
    const mu = row.reduce((a, v) => a + v, 0) / 6;
    const v = row.reduce((a, x) => a + (x - mu) ** 2, 0) / 6;
    row.forEach((x, i) => expected.push(((x - mu) / Math.sqrt(v + 1e-5)) * w[i] + b[i]));
  }
  assertClose(await ln.forward(x).data(), expected, { atol: 1e-5 });
});

Deno.test("GELU is the exact erf form; LeakyReLU has slope 0.01", async () => {
  assertClose(await new GELU().forward(tensor([-1, 0, 1, 2])).data(), [
    -0.15865525393145707,
    0,
    0.8413447460685429,
    1.9544997361036416,
  ]);
  assertClose(await new LeakyReLU().forward(tensor([-2, 3])).data(), [-0.02, 3]);
});

Deno.test("Dropout: seeded, zero or scaled by 1/(1−p) in training, identity in eval", async () => {
  const x = uniform([10000], rng(), 1, 2);
  const a = await new Dropout(0.25, { dropoutRng: new Rng(5) }).forward(x).data();
  const b = await new Dropout(0.25, { dropoutRng: new Rng(5) }).forward(x).data();
  assert.deepEqual(a, b, "same seed, same mask");
  const xd = await x.data();
  let zeros = 0;
  a.forEach((v, i) => {
    if (v === 0) zeros++;
    else assert.ok(Math.abs(v - xd[i] / 0.75) < 1e-5);
  });
  assert.ok(Math.abs(zeros / 10000 - 0.25) < 0.02, `dropped fraction ${zeros / 10000}`);
  const d = new Dropout(0.25).eval();
  assert.equal(d.forward(x), x);
});

/** Conv3d written out: cross-correlation with zero padding. */
function convLoop(x: Float32Array, xs: number[], w: Float32Array, ws: number[], pad: number, stride: number): number[] {
  const [n, c, d, h, wd] = xs, [o, , k] = ws;
  const od = Math.floor((d + 2 * pad - k) / stride) + 1, oh = Math.floor((h + 2 * pad - k) / stride) + 1;
  const ow = Math.floor((wd + 2 * pad - k) / stride) + 1;
  const sx = strides(xs), sw = strides(ws), out: number[] = [];
  for (let b = 0; b < n; b++) {
    for (let oc = 0; oc < o; oc++) {
      for (let z = 0; z < od; z++) {
        for (let y = 0; y < oh; y++) {
          for (let q = 0; q < ow; q++) {
            let s = 0;
            for (let ic = 0; ic < c; ic++) {
              for (let a = 0; a < k; a++) {
                for (let bb = 0; bb < k; bb++) {
                  for (let cc = 0; cc < k; cc++) {
                    const zi = z * stride + a - pad, yi = y * stride + bb - pad, qi = q * stride + cc - pad;
                    if (zi < 0 || yi < 0 || qi < 0 || zi >= d || yi >= h || qi >= wd) continue;
                    s += x[b * sx[0] + ic * sx[1] + zi * sx[2] + yi * sx[3] + qi] *
                      w[oc * sw[0] + ic * sw[1] + a * sw[2] + bb * sw[3] + cc];
                  }
                }
              }
            }
            out.push(s);
          }
        }
      }
    }
  }
  return out;
}

Deno.test("Conv3d k3 pad 1 matches the written-out cross-correlation; bound uses in·k³", async () => {
  const conv = new Conv3d(2, 3, 3, { padding: 1, bias: false, rng: rng() });
  assert.deepEqual([...conv.weight.shape], [3, 2, 3, 3, 3]);
  const x = uniform([1, 2, 4, 3, 5], rng());
  const expected = convLoop(
    await x.data() as Float32Array,
    [1, 2, 4, 3, 5],
    await conv.weight.data() as Float32Array,
    [3, 2, 3, 3, 3],
    1,
    1,
  );
  const y = conv.forward(x);
  assert.deepEqual([...y.shape], [1, 3, 4, 3, 5]);
  assertClose(await y.data(), expected, { atol: 1e-5 });
  const wd = await conv.weight.data();
  assert.ok(wd.every((v) => Math.abs(v) <= 1 / Math.sqrt(54)));
});

Deno.test("ConvTranspose3d k2 s2 by hand: each input voxel writes its own 2×2×2 block", async () => {
  const up = new ConvTranspose3d(1, 1, 2, { stride: 2, bias: false });
  up.setParameter("weight", tensor([1, 2, 3, 4, 5, 6, 7, 8], [1, 1, 2, 2, 2]));
  const y = up.forward(tensor([1, 2], [1, 1, 1, 1, 2]));
  assert.deepEqual([...y.shape], [1, 1, 2, 2, 4]);
  // y[a,b,2k+c] = x[k]·w[a,b,c]
  assert.deepEqual(Array.from(await y.data()), [1, 2, 2, 4, 3, 4, 6, 8, 5, 6, 10, 12, 7, 8, 14, 16]);
});

Deno.test("ConvTranspose3d k2 s2 with channels: y[o,2i+a,2j+b,2k+c] = Σ_ci x[ci,i,j,k]·w[ci,o,a,b,c] + bias", async () => {
  const up = new ConvTranspose3d(3, 2, 2, { stride: 2, rng: rng() });
  assert.deepEqual([...up.weight.shape], [3, 2, 2, 2, 2]);
  const x = uniform([1, 3, 2, 3, 2], rng());
  const [xd, w, bias] = [await x.data(), await up.weight.data(), await up.bias!.data()];
  const sx = strides([1, 3, 2, 3, 2]), sw = strides([3, 2, 2, 2, 2]), sy = strides([1, 2, 4, 6, 4]);
  const expected = new Float64Array(2 * 4 * 6 * 4);
  for (let o = 0; o < 2; o++) {
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 3; j++) {
        for (let k = 0; k < 2; k++) {
          for (let a = 0; a < 2; a++) {
            for (let b = 0; b < 2; b++) {
              for (let c = 0; c < 2; c++) {
                let s = bias[o];
                for (let ci = 0; ci < 3; ci++) {
                  s += xd[ci * sx[1] + i * sx[2] + j * sx[3] + k] *
                    w[ci * sw[0] + o * sw[1] + a * sw[2] + b * sw[3] + c];
                }
                expected[o * sy[1] + (2 * i + a) * sy[2] + (2 * j + b) * sy[3] + 2 * k + c] = s;
              }
            }
          }
        }
      }
    }
  }
  assertClose(await up.forward(x).data(), expected, { atol: 1e-5 });
  // PyTorch's init takes fanIn from weight axis 1 (out·k³ = 256 here), not from in·k³.
  const wide = await new ConvTranspose3d(768, 32, 2, { stride: 2, rng: rng() }).weight.data();
  const bound = 1 / Math.sqrt(32 * 8);
  assert.ok(wide.every((v) => Math.abs(v) <= bound) && wide.some((v) => Math.abs(v) > 0.95 * bound));
});

Deno.test("InstanceNorm3d: each (sample, channel) volume gets mean 0 and variance v/(v+eps); no parameters", async () => {
  const norm = new InstanceNorm3d(3);
  assert.equal(norm.numParameters(), 0);
  const x = uniform([2, 3, 3, 4, 2], rng(), -2, 5);
  const xd = await x.data(), y = await norm.forward(x).data(), vol = 24;
  for (let nc = 0; nc < 6; nc++) {
    const xs = Array.from(xd.slice(nc * vol, (nc + 1) * vol)), ys = Array.from(y.slice(nc * vol, (nc + 1) * vol));
    const mx = xs.reduce((a, v) => a + v, 0) / vol, vx = xs.reduce((a, v) => a + (v - mx) ** 2, 0) / vol;
    const my = ys.reduce((a, v) => a + v, 0) / vol, vy = ys.reduce((a, v) => a + (v - my) ** 2, 0) / vol;
    assert.ok(Math.abs(my) < 1e-5, `mean of volume ${nc}: ${my}`);
    assert.ok(Math.abs(vy - vx / (vx + 1e-5)) < 1e-4, `variance of volume ${nc}: ${vy}`);
    assertClose(ys, xs.map((v) => (v - mx) / Math.sqrt(vx + 1e-5)), { atol: 1e-5 });
  }
  assert.deepEqual(await norm.eval().forward(x).data(), y, "no running statistics: eval equals train");
  assert.throws(() => norm.forward(uniform([1, 2, 2, 2, 2], rng())), /expects \[N,3,D,H,W\]/);
});

Deno.test("PatchEmbeddingBlock: token t = g2·g3·i + g3·j + k is the patch conv at grid cell (i,j,k) plus its position", async () => {
  const pe = new PatchEmbeddingBlock(2, [4, 2, 6], 2, 8, 2, { rng: rng() }).eval();
  assert.deepEqual(pe.namedParameters().map(([n, t]) => `${n}${JSON.stringify(t.shape)}`), [
    "position_embeddings[1,6,8]",
    "patch_embeddings.weight[8,2,2,2,2]",
    "patch_embeddings.bias[8]",
  ]);
  const x = uniform([1, 2, 4, 2, 6], rng());
  const [xd, w, b, pos] = await Promise.all(
    [
      x,
      pe.getParameter("patch_embeddings.weight"),
      pe.getParameter("patch_embeddings.bias"),
      pe.getParameter("position_embeddings"),
    ]
      .map((t) => t.data()),
  );
  const sx = strides([1, 2, 4, 2, 6]), y = await pe.forward(x).data();
  for (let i = 0; i < 2; i++) {
    for (let k = 0; k < 3; k++) {
      const t = 3 * i + k; // g2 = 1, g3 = 3, j = 0
      for (let o = 0; o < 8; o++) {
        let s = b[o] + pos[t * 8 + o];
        for (let c = 0; c < 2; c++) {
          for (let a = 0; a < 8; a++) {
            const [dz, dy, dx] = [a >> 2, (a >> 1) & 1, a & 1];
            s += xd[c * sx[1] + (2 * i + dz) * sx[2] + dy * sx[3] + 2 * k + dx] * w[o * 16 + c * 8 + a];
          }
        }
        assert.ok(Math.abs(y[t * 8 + o] - s) < 1e-5, `token ${t} feature ${o}`);
      }
    }
  }
  const std = new PatchEmbeddingBlock(1, 64, 16, 768, 12, { rng: rng() }).getParameter("position_embeddings");
  const pd = Array.from(await std.data()), sd = Math.sqrt(pd.reduce((a, v) => a + v * v, 0) / pd.length);
  assert.ok(Math.abs(sd - 0.02) < 0.001, `position embedding std ${sd}`);
});

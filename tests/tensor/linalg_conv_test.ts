/**
 * matmul, conv3d and convTranspose3d against their definitions written as
 * nested loops, on random shapes including odd sizes.
 */
import assert from "node:assert/strict";
import { conv3d, convTranspose3d, matmul, mul, Rng, ShapeError, sum, tensor, type Triple } from "../../mod.ts";
import { assertClose, uniform } from "../helpers.ts";

Deno.test("matmul equals Σ_k a[b,i,k]·b[b,k,j] with broadcast batch axes", async () => {
  const rng = new Rng(7);
  for (const [batchA, batchB, m, k, n] of [[[1], [3], 5, 7, 3], [[2, 1], [4], 1, 17, 33], [[], [], 9, 1, 4]] as const) {
    const a = uniform([...batchA, m, k], rng), b = uniform([...batchB, k, n], rng);
    const A = await a.data(), B = await b.data();
    const c = matmul(a, b);
    const batch = c.shape.slice(0, -2);
    const nb = batch.reduce((p, q) => p * q, 1);
    // Batch offset of an operand: its own index per axis, 0 where it has extent 1 (broadcast).
    const offset = (t: number, own: readonly number[]) => {
      let off = 0, mult = 1, rem = t;
      for (let ax = batch.length - 1; ax >= 0; ax--) {
        const idx = rem % batch[ax];
        rem = Math.floor(rem / batch[ax]);
        const j = ax - (batch.length - own.length);
        if (j >= 0) {
          off += (own[j] === 1 ? 0 : idx) * mult;
          mult *= own[j];
        }
      }
      return off;
    };
    const expected: number[] = [];
    for (let t = 0; t < nb; t++) {
      const ta = offset(t, batchA), tb = offset(t, batchB);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) s += A[ta * m * k + i * k + p] * B[tb * k * n + p * n + j];
          expected.push(s);
        }
      }
    }
    assertClose(await c.data(), expected, { atol: 1e-5, what: `matmul ${c.shape}` });
  }
});

Deno.test("matmul treats 1-D operands as vectors and names mismatched shapes", async () => {
  assert.equal(await matmul(tensor([1, 2]), tensor([3, 4])).item(), 11);
  assert.deepEqual([...matmul(tensor([[1, 2], [3, 4]]), tensor([1, 1])).shape], [2]);
  assert.throws(
    () => matmul(tensor(new Float32Array(6), [2, 3]), tensor(new Float32Array(20), [4, 5])),
    (e: Error) => e instanceof ShapeError && e.message === "matmul: [2,3] @ [4,5]: inner dimensions 3 and 4 differ",
  );
});

interface Geo {
  s: number[];
  p: number[];
  d: number[];
  g: number;
}

/** y[n,o,z,y,x] = Σ_c Σ_k w[o,c,k] x[n, g·Cg+c, z·s−p+kd·d, …], zero outside. */
function convRef(X: ArrayLike<number>, xs: number[], Wt: ArrayLike<number>, ws: number[], { s, p, d, g }: Geo) {
  const [N, C, D, H, W] = xs, [O, Cg, KD, KH, KW] = ws;
  const out = [0, 1, 2].map((i) => Math.floor((xs[2 + i] + 2 * p[i] - d[i] * (ws[2 + i] - 1) - 1) / s[i]) + 1);
  const y: number[] = [];
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      const grp = Math.floor(o / (O / g));
      for (let z = 0; z < out[0]; z++) {
        for (let yy = 0; yy < out[1]; yy++) {
          for (let xx = 0; xx < out[2]; xx++) {
            let acc = 0;
            for (let c = 0; c < Cg; c++) {
              for (let a = 0; a < KD; a++) {
                for (let b = 0; b < KH; b++) {
                  for (let e = 0; e < KW; e++) {
                    const iz = z * s[0] - p[0] + a * d[0],
                      iy = yy * s[1] - p[1] + b * d[1],
                      ix = xx * s[2] - p[2] + e * d[2];
                    if (iz < 0 || iy < 0 || ix < 0 || iz >= D || iy >= H || ix >= W) continue;
                    const ci = grp * Cg + c;
                    acc += Wt[(((o * Cg + c) * KD + a) * KH + b) * KW + e] *
                      X[(((n * C + ci) * D + iz) * H + iy) * W + ix];
                  }
                }
              }
            }
            y.push(acc);
          }
        }
      }
    }
  }
  return { y, shape: [N, O, ...out] };
}

/** Scatter definition: out[n, g·Og+o, i·s−p+k·d] += x[n,c,i]·w[c,o,k]. */
function convTRef(X: ArrayLike<number>, xs: number[], Wt: ArrayLike<number>, ws: number[], geo: Geo, op: number[]) {
  const [N, C, D, H, W] = xs, [, Og, KD, KH, KW] = ws;
  const { s, p, d, g } = geo;
  const out = [0, 1, 2].map((i) => (xs[2 + i] - 1) * s[i] - 2 * p[i] + d[i] * (ws[2 + i] - 1) + op[i] + 1);
  const O = Og * g;
  const y = new Float64Array(N * O * out[0] * out[1] * out[2]);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const grp = Math.floor(c / (C / g));
      for (let o = 0; o < Og; o++) {
        for (let iz = 0; iz < D; iz++) {
          for (let iy = 0; iy < H; iy++) {
            for (let ix = 0; ix < W; ix++) {
              for (let a = 0; a < KD; a++) {
                for (let b = 0; b < KH; b++) {
                  for (let e = 0; e < KW; e++) {
                    const z = iz * s[0] - p[0] + a * d[0],
                      yy = iy * s[1] - p[1] + b * d[1],
                      xx = ix * s[2] - p[2] + e * d[2];
                    if (z < 0 || yy < 0 || xx < 0 || z >= out[0] || yy >= out[1] || xx >= out[2]) continue;
                    const oc = grp * Og + o;
                    y[(((n * O + oc) * out[0] + z) * out[1] + yy) * out[2] + xx] +=
                      X[(((n * C + c) * D + iz) * H + iy) * W + ix] * Wt[(((c * Og + o) * KD + a) * KH + b) * KW + e];
                  }
                }
              }
            }
          }
        }
      }
    }
  }
  return { y: [...y], shape: [N, O, ...out] };
}

const CASES: { x: number[]; w: number[]; geo: Geo; op?: number[] }[] = [
  { x: [1, 1, 5, 5, 5], w: [2, 1, 3, 3, 3], geo: { s: [1, 1, 1], p: [1, 1, 1], d: [1, 1, 1], g: 1 } },
  { x: [2, 3, 7, 6, 5], w: [4, 3, 3, 2, 3], geo: { s: [2, 1, 3], p: [1, 0, 2], d: [1, 1, 1], g: 1 } },
  { x: [1, 4, 9, 7, 8], w: [6, 2, 3, 3, 2], geo: { s: [2, 2, 1], p: [2, 1, 0], d: [2, 1, 3], g: 2 } },
  { x: [1, 2, 4, 3, 5], w: [3, 2, 2, 2, 2], geo: { s: [2, 2, 2], p: [0, 0, 0], d: [1, 1, 1], g: 1 }, op: [1, 0, 1] },
  { x: [1, 17, 1, 3, 3], w: [1, 17, 1, 1, 1], geo: { s: [1, 1, 1], p: [0, 0, 0], d: [1, 1, 1], g: 1 } },
];

Deno.test("conv3d equals its nested-loop definition (stride, padding, dilation, groups)", async () => {
  const rng = new Rng(21);
  for (const { x: xs, w: ws, geo } of CASES) {
    const x = uniform(xs, rng), w = uniform(ws, rng);
    const ref = convRef(await x.data(), xs, await w.data(), ws, geo);
    const y = conv3d(x, w, null, {
      stride: geo.s as Triple,
      padding: geo.p as Triple,
      dilation: geo.d as Triple,
      groups: geo.g,
    });
    assert.deepEqual([...y.shape], ref.shape);
    assertClose(await y.data(), ref.y, { atol: 1e-5, what: `conv3d ${xs}` });
  }
});

Deno.test("convTranspose3d equals its scatter definition (stride, padding, output padding, groups)", async () => {
  const rng = new Rng(22);
  for (const { x: xs, w: ws, geo, op = [0, 0, 0] } of CASES) {
    // convTranspose weight layout is [Cin, Cout/groups, k…]
    const wt = [xs[1], 3, ...ws.slice(2)];
    const x = uniform(xs, rng), w = uniform(wt, rng);
    const outPad = op.map((v, i) => Math.min(v, Math.max(geo.s[i], geo.d[i]) - 1));
    const ref = convTRef(await x.data(), xs, await w.data(), wt, geo, outPad);
    const y = convTranspose3d(x, w, null, {
      stride: geo.s as Triple,
      padding: geo.p as Triple,
      dilation: geo.d as Triple,
      groups: geo.g,
      outputPadding: outPad as Triple,
    });
    assert.deepEqual([...y.shape], ref.shape);
    assertClose(await y.data(), ref.y, { atol: 1e-5, what: `convTranspose3d ${xs}` });
  }
});

Deno.test("convTranspose3d is the adjoint of conv3d: ⟨conv(x,w), y⟩ = ⟨x, convT(y,w)⟩", async () => {
  const rng = new Rng(23);
  const opts = { stride: 2, padding: 1, groups: 2 } as const;
  const x = uniform([2, 4, 7, 6, 5], rng, -1, 1), w = uniform([6, 2, 3, 3, 3], rng);
  const cx = conv3d(x, w, null, opts);
  const y = uniform([...cx.shape], rng);
  const lhs = await sum(mul(cx, y)).item();
  const back = convTranspose3d(y, w, null, { ...opts, outputPadding: [0, 1, 0] });
  assert.deepEqual([...back.shape], [...x.shape]);
  const rhs = await sum(mul(x, back)).item();
  assertClose([lhs], [rhs], { rtol: 1e-4 });
});

Deno.test("conv errors name the op, weight and input shapes", () => {
  const x = uniform([2, 4, 8, 8, 8], new Rng(1));
  assert.throws(
    () => conv3d(x, uniform([16, 1, 3, 3, 3], new Rng(2))),
    (e: Error) => e.message === "conv3d: weight [16,1,3,3,3] expects 1 input channel, got input [2,4,8,8,8] (groups 1)",
  );
  assert.throws(() => conv3d(uniform([1, 1, 2, 2, 2], new Rng(3)), uniform([1, 1, 3, 3, 3], new Rng(4))), /too small/);
  assert.throws(() => conv3d(x, uniform([4, 4, 1, 1, 1], new Rng(5)), uniform([3], new Rng(6))), /bias \[3\]/);
});

Deno.test("conv3d adds a per-channel bias", async () => {
  const x = tensor(new Float32Array(8).fill(1), [1, 1, 2, 2, 2]);
  const w = tensor(new Float32Array(2).fill(2), [2, 1, 1, 1, 1]);
  const y = await conv3d(x, w, tensor([10, -10])).data();
  assert.deepEqual([...y], [...new Array(8).fill(12), ...new Array(8).fill(-8)]);
});

import assert from "node:assert/strict";
import {
  bcirc,
  checkGrad,
  cmatmul,
  fdiag,
  fft3,
  fold,
  isOrthogonal,
  Rng,
  ShapeError,
  type Tensor,
  tensor,
  tidentity,
  tprod,
  tprodCirculant,
  ttranspose,
  unfold,
} from "../../mod.ts";
import { assertClose } from "../helpers.ts";

function rand64(shape: number[], rng: Rng): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(Float64Array.from({ length: n }, () => rng.uniformIn(-1, 1)), shape);
}

/** (A*B)_l = Σ_m A_{(l−m) mod n3} B_m: the circular convolution of slice sequences, spelled out. */
async function tprodByConvolution(a: Tensor, b: Tensor): Promise<Float64Array> {
  const [n1, n2, n] = a.shape, l = b.shape[1];
  const A = await a.data(), B = await b.data(), C = new Float64Array(n1 * l * n);
  for (let s = 0; s < n; s++) {
    for (let m = 0; m < n; m++) {
      const sa = (s - m + n) % n;
      for (let i = 0; i < n1; i++) {
        for (let j = 0; j < l; j++) {
          for (let p = 0; p < n2; p++) C[(i * l + j) * n + s] += A[(i * n2 + p) * n + sa] * B[(p * l + j) * n + m];
        }
      }
    }
  }
  return C;
}

Deno.test("tprod equals the block-circulant definition on random sizes, odd n3 included", async () => {
  const rng = new Rng(10);
  for (let trial = 0; trial < 12; trial++) {
    const n1 = rng.int(1, 6), n2 = rng.int(1, 6), l = rng.int(1, 6), n = rng.int(1, 10);
    const a = rand64([n1, n2, n], rng), b = rand64([n2, l, n], rng);
    const fast = await tprod(a, b).data();
    assert.deepEqual(tprod(a, b).shape, [n1, l, n]);
    assertClose(fast, await tprodCirculant(a, b).data(), { atol: 1e-12, what: `[${n1},${n2},${n}]*[${n2},${l},${n}]` });
    assertClose(fast, await tprodByConvolution(a, b), { atol: 1e-12, what: "circular convolution" });
  }
});

Deno.test("the DFT block-diagonalizes circ(A): (A*B)^_k = Â_k·B̂_k", async () => {
  const rng = new Rng(11);
  const a = rand64([3, 4, 5], rng), b = rand64([4, 2, 5], rng);
  const perSlice = cmatmul(fft3(a).permute([2, 0, 1, 3]), fft3(b).permute([2, 0, 1, 3])).permute([1, 2, 0, 3]);
  assertClose(await fft3(tprod(a, b)).data(), await perSlice.data(), { atol: 1e-12 });
});

Deno.test("t-transpose reverses slices 1..n3−1 and (A*B)ᵀ = Bᵀ*Aᵀ", async () => {
  const rng = new Rng(12);
  for (const n of [1, 2, 5, 6]) {
    const a = rand64([3, 4, n], rng), b = rand64([4, 2, n], rng);
    const at = await ttranspose(a).array() as number[][][], A = await a.array() as number[][][];
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 4; j++) for (let l = 0; l < n; l++) assert.equal(at[j][i][l], A[i][j][(n - l) % n]);
    }
    const lhs = await ttranspose(tprod(a, b)).data(), rhs = await tprod(ttranspose(b), ttranspose(a)).data();
    assertClose(lhs, rhs, { atol: 1e-12, what: `n3=${n}` });
    assertClose(await ttranspose(ttranspose(a)).data(), await a.data(), { atol: 0 });
  }
});

Deno.test("the identity tensor: I*A = A*I = A", async () => {
  const rng = new Rng(13);
  for (const n of [1, 3, 4, 7]) {
    const a = rand64([3, 5, n], rng);
    const left = tprod(tidentity(3, n, { dtype: "float64" }), a),
      right = tprod(a, tidentity(5, n, { dtype: "float64" }));
    assertClose(await left.data(), await a.data(), { atol: 1e-13 });
    assertClose(await right.data(), await a.data(), { atol: 1e-13 });
  }
});

Deno.test("bcirc, unfold and fold follow their definitions", async () => {
  const rng = new Rng(14);
  const a = rand64([2, 3, 4], rng), A = await a.array() as number[][][];
  const m = await bcirc(a).array() as number[][];
  for (let bi = 0; bi < 4; bi++) {
    for (let bj = 0; bj < 4; bj++) {
      for (let i = 0; i < 2; i++) {
        for (let j = 0; j < 3; j++) assert.equal(m[bi * 2 + i][bj * 3 + j], A[i][j][(bi - bj + 4) % 4]);
      }
    }
  }
  assertClose(await fold(unfold(a), 4).data(), await a.data(), { atol: 0 });
});

Deno.test("fdiag places tubes on the diagonal and pads to a rectangular shape", async () => {
  const s = fdiag(tensor([[1, 2], [3, 4]]), [3, 2]);
  assert.deepEqual(await s.array(), [[[1, 2], [0, 0]], [[0, 0], [3, 4]], [[0, 0], [0, 0]]]);
  assert.throws(() => fdiag(tensor([[1, 2], [3, 4]]), [1, 2]), /fdiag: 2 tubes do not fit a 1×2/);
});

Deno.test("isOrthogonal accepts orthogonal tensors and rejects others", async () => {
  // A slice shift P (P_1 = I) is orthogonal; so is a t-product of orthogonal tensors.
  const n = 4, p = new Float64Array(2 * 2 * n);
  p[(0 * 2 + 0) * n + 1] = 1;
  p[(1 * 2 + 1) * n + 1] = 1;
  const shift = tensor(p, [2, 2, n]);
  assert.ok(await isOrthogonal(shift, 1e-12));
  assert.ok(await isOrthogonal(tprod(shift, shift), 1e-12));
  assert.ok(!(await isOrthogonal(tensor(p.map((x) => 2 * x), [2, 2, n]))));
});

Deno.test("talgebra functions name the op and the shapes on bad input", () => {
  const a = tensor(new Float64Array(24), [2, 3, 4]);
  assert.throws(() => tprod(a, a), /tprod: \[2,3,4\] \* \[2,3,4\]: needs \[n1,n2,n3\] \* \[n2,l,n3\]/);
  assert.throws(() => ttranspose(tensor([1, 2])), ShapeError);
  assert.throws(() => tprodCirculant(a, tensor(new Float64Array(9), [3, 1, 3])), /tube lengths 4 and 3/);
});

Deno.test("composite gradients: complex matmul and the block-circulant t-product", async () => {
  const rng = new Rng(15);
  await checkGrad(cmatmul, [rand64([2, 2, 3, 2], rng), rand64([3, 2, 2], rng)]);
  await checkGrad(tprodCirculant, [rand64([2, 2, 3], rng), rand64([2, 1, 3], rng)]);
});

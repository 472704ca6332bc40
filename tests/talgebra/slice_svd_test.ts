import assert from "node:assert/strict";
import { Rng } from "../../mod.ts";
import {
  cadjoint,
  cmatmulDense,
  type ComplexMatrix,
  type ComplexSvd,
  crandn,
  czeros,
} from "../../tensor/talgebra/complex_matrix.ts";
import { jacobiSvd } from "../../tensor/talgebra/svd_jacobi.ts";
import { SvdConvergenceError, type TopRResult, topRSvd } from "../../tensor/talgebra/svd_topr.ts";
import { flat, rebuild, relFrob } from "./complex_helpers.ts";

function maxAbs(a: ComplexMatrix, b: ComplexMatrix): number {
  let e = 0;
  for (let i = 0; i < a.re.length; i++) e = Math.max(e, Math.abs(a.re[i] - b.re[i]), Math.abs(a.im[i] - b.im[i]));
  return e;
}

function eye(n: number): ComplexMatrix {
  const m = czeros(n, n);
  for (let i = 0; i < n; i++) m.re[i * n + i] = 1;
  return m;
}

/** A rank-`rank` matrix with singular values decaying from 1, plus Gaussian noise of size `noise`. */
function lowRankPlusNoise(m: number, n: number, rank: number, noise: number, rng: Rng, real = false): ComplexMatrix {
  const x = crandn(m, rank, rng), y = crandn(rank, n, rng), e = crandn(m, n, rng);
  if (real) { for (const z of [x, y, e]) z.im.fill(0); }
  for (let c = 0; c < rank; c++) {
    for (let i = 0; i < m; i++) (x.re[i * rank + c] *= 0.8 ** c, x.im[i * rank + c] *= 0.8 ** c);
  }
  const a = cmatmulDense(x, y);
  for (let i = 0; i < a.re.length; i++) (a.re[i] += noise * e.re[i], a.im[i] += noise * e.im[i]);
  return a;
}

/** Largest ‖(I − P_b)·a_c‖ over the columns c of a (k of them): 0 when span(a) ⊆ span(b). */
function subspaceGap(a: ComplexMatrix, b: ComplexMatrix, k: number): number {
  const bk = czeros(b.rows, k), ak = czeros(a.rows, k);
  for (let i = 0; i < a.rows; i++) {
    for (let c = 0; c < k; c++) {
      (bk.re[i * k + c] = b.re[i * b.cols + c], bk.im[i * k + c] = b.im[i * b.cols + c]);
      (ak.re[i * k + c] = a.re[i * a.cols + c], ak.im[i * k + c] = a.im[i * a.cols + c]);
    }
  }
  const proj = cmatmulDense(bk, cmatmulDense(cadjoint(bk), ak));
  let worst = 0;
  for (let c = 0; c < k; c++) {
    let s = 0;
    for (let i = 0; i < a.rows; i++) {
      s += (ak.re[i * k + c] - proj.re[i * k + c]) ** 2 + (ak.im[i * k + c] - proj.im[i * k + c]) ** 2;
    }
    worst = Math.max(worst, Math.sqrt(s));
  }
  return worst;
}

Deno.test("Jacobi SVD: A = U·Σ·Vᴴ with unitary U, V and descending σ, thin and full, tall and wide", () => {
  const rng = new Rng(20);
  for (const [m, n] of [[7, 4], [4, 7], [5, 5], [1, 3], [3, 1]]) {
    for (const full of [false, true]) {
      const a = crandn(m, n, rng), svd = jacobiSvd(a, { full });
      assert.ok(maxAbs(rebuild(svd), a) < 1e-13, `reconstruction ${m}×${n}`);
      assert.equal(svd.u.cols, full ? m : Math.min(m, n));
      assert.equal(svd.v.cols, full ? n : Math.min(m, n));
      assert.ok(maxAbs(cmatmulDense(cadjoint(svd.u), svd.u), eye(svd.u.cols)) < 1e-13, "UᴴU = I");
      assert.ok(maxAbs(cmatmulDense(cadjoint(svd.v), svd.v), eye(svd.v.cols)) < 1e-13, "VᴴV = I");
      for (let i = 1; i < svd.s.length; i++) assert.ok(svd.s[i] <= svd.s[i - 1]);
    }
  }
});

Deno.test("Jacobi SVD: singular values are the square roots of the eigenvalues of AᴴA (trace and Frobenius checks)", () => {
  const rng = new Rng(21);
  const a = crandn(6, 4, rng), s = jacobiSvd(a).s;
  let fro = 0;
  for (let i = 0; i < a.re.length; i++) fro += a.re[i] ** 2 + a.im[i] ** 2;
  assert.ok(Math.abs(s.reduce((x, y) => x + y * y, 0) - fro) < 1e-12 * fro, "Σσ² = ‖A‖²_F");
  const g = cmatmulDense(cadjoint(a), a), g2 = cmatmulDense(g, g);
  let tr2 = 0;
  for (let i = 0; i < 4; i++) tr2 += g2.re[i * 4 + i];
  assert.ok(Math.abs(s.reduce((x, y) => x + y ** 4, 0) - tr2) < 1e-11 * tr2, "Σσ⁴ = tr((AᴴA)²)");
});

Deno.test("Jacobi SVD of a rank-deficient matrix completes U and V to unitary bases", () => {
  const rng = new Rng(22);
  const a = cmatmulDense(crandn(7, 2, rng), crandn(2, 5, rng));
  const svd = jacobiSvd(a, { full: true });
  assert.ok(svd.s[2] < 1e-13 * svd.s[0], `σ_3 = ${svd.s[2]}`);
  assert.ok(maxAbs(rebuild(svd), a) < 1e-13);
  assert.ok(maxAbs(cmatmulDense(cadjoint(svd.u), svd.u), eye(7)) < 1e-13);
  assert.ok(maxAbs(cmatmulDense(cadjoint(svd.v), svd.v), eye(5)) < 1e-13);
});

Deno.test("Jacobi SVD keeps a real matrix real, with the largest entry of each u positive", () => {
  const rng = new Rng(23);
  const a = crandn(5, 4, rng);
  a.im.fill(0);
  const svd = jacobiSvd(a, { full: true });
  assert.ok(svd.u.im.every((x) => x === 0) && svd.v.im.every((x) => x === 0));
  for (let c = 0; c < 5; c++) {
    let at = 0;
    for (let i = 0; i < 5; i++) if (Math.abs(svd.u.re[i * 5 + c]) > Math.abs(svd.u.re[at * 5 + c])) at = i;
    assert.ok(svd.u.re[at * 5 + c] > 0);
  }
});

Deno.test("the top-r method agrees with Jacobi on the leading r singular values (rel 1e-5) and subspaces", () => {
  const rng = new Rng(24);
  for (const [m, n] of [[160, 120], [90, 200]]) {
    const a = lowRankPlusNoise(m, n, 8, 0.02, rng);
    const ref = jacobiSvd(a);
    for (const r of [1, 2, 5, 8]) {
      const top = topRSvd(a, r, { seed: r });
      for (let i = 0; i < r; i++) {
        assert.ok(Math.abs(top.s[i] - ref.s[i]) <= 1e-5 * ref.s[i], `σ_${i + 1}: ${top.s[i]} vs ${ref.s[i]}`);
      }
      assert.ok(subspaceGap(top.u, ref.u, r) < 1e-5, `left subspace r=${r}: ${subspaceGap(top.u, ref.u, r)}`);
      assert.ok(subspaceGap(top.v, ref.v, r) < 1e-5, `right subspace r=${r}`);
      // Same phase convention: with distinct σ the vectors themselves agree.
      assert.ok(maxAbs(rebuild(top), rebuild(ref, r)) < 1e-6 * ref.s[0], `rank-${r} part`);
    }
  }
});

Deno.test("the top-r method on an exactly rank-3 matrix asked for r = 5 returns orthonormal factors", () => {
  const rng = new Rng(25);
  const a = cmatmulDense(crandn(40, 3, rng), crandn(3, 30, rng));
  const top = topRSvd(a, 5);
  assert.ok(top.s[3] < 1e-10 * top.s[0] && top.s[4] < 1e-10 * top.s[0]);
  assert.ok(maxAbs(rebuild(top), a) < 1e-12 * top.s[0]);
  assert.ok(maxAbs(cmatmulDense(cadjoint(top.u), top.u), eye(5)) < 1e-12);
  assert.ok(maxAbs(cmatmulDense(cadjoint(top.v), top.v), eye(5)) < 1e-12);
});

Deno.test("the top-r method with real = true keeps a real matrix's factors real", () => {
  const rng = new Rng(26);
  const a = lowRankPlusNoise(50, 40, 4, 0.01, rng, true);
  const top = topRSvd(a, 3, { real: true });
  assert.ok(top.u.im.every((x) => x === 0) && top.v.im.every((x) => x === 0));
  const ref = jacobiSvd(a);
  assert.ok(maxAbs(rebuild(top), rebuild(ref, 3)) < 1e-6 * ref.s[0]);
});

/** Largest of ‖A·v_i − σ_i·u_i‖ and ‖Aᴴ·u_i − σ_i·v_i‖ over the returned triplets, by dense products. */
function worstResidual(a: ComplexMatrix, top: ComplexSvd): number {
  const av = cmatmulDense(a, top.v), ahu = cmatmulDense(cadjoint(a), top.u), r = top.s.length;
  let worst = 0;
  for (let c = 0; c < r; c++) {
    let e1 = 0, e2 = 0;
    for (let i = 0; i < a.rows; i++) {
      const o = i * r + c;
      e1 += (av.re[o] - top.s[c] * top.u.re[o]) ** 2 + (av.im[o] - top.s[c] * top.u.im[o]) ** 2;
    }
    for (let i = 0; i < a.cols; i++) {
      const o = i * r + c;
      e2 += (ahu.re[o] - top.s[c] * top.v.re[o]) ** 2 + (ahu.im[o] - top.s[c] * top.v.im[o]) ** 2;
    }
    worst = Math.max(worst, Math.sqrt(e1), Math.sqrt(e2));
  }
  return worst;
}

/** U·diag(s)·Vᴴ with Haar-like unitary U (m×k), V (n×k) from the Jacobi SVD of a random matrix. */
function withSpectrum(m: number, n: number, s: number[], rng: Rng, real: boolean): ComplexMatrix {
  const basis = jacobiSvd(flat(m, n, rng, real)), k = s.length;
  const scaled: ComplexSvd = { s: Float64Array.from(s), u: basis.u, v: basis.v };
  return rebuild(scaled, k);
}

function checkOrthonormal(top: TopRResult, label: string): void {
  const r = top.s.length;
  assert.ok(maxAbs(cmatmulDense(cadjoint(top.u), top.u), eye(r)) < 1e-12, `${label}: Uᴴ·U = I`);
  assert.ok(maxAbs(cmatmulDense(cadjoint(top.v), top.v), eye(r)) < 1e-12, `${label}: Vᴴ·V = I`);
}

Deno.test("Krylov top-r on flat spectra (σ₁/σ₂ ≈ 1.05, like a seeded UNETR): principal part within 1e-4 of Jacobi, real and complex", () => {
  const rng = new Rng(27);
  for (const [m, n, real] of [[180, 150, false], [150, 180, true], [160, 160, false]] as const) {
    const a = flat(m, n, rng, real), ref = jacobiSvd(a);
    assert.ok(ref.s[0] / ref.s[1] < 1.1, `σ₁/σ₂ = ${ref.s[0] / ref.s[1]}`);
    for (const r of [1, 2, 6]) {
      const label = `${m}×${n} ${real ? "real" : "complex"} r=${r}`;
      const top = topRSvd(a, r, { real, seed: r });
      const err = relFrob(rebuild(top), rebuild(ref, r));
      assert.ok(err < 1e-4, `${label}: principal parts differ by ${err}`);
      assert.ok(worstResidual(a, top) <= 1e-8 * ref.s[0] * (1 + 1e-6), `${label}: residual ${worstResidual(a, top)}`);
      assert.ok(top.residual <= 1e-8, `${label}: reported residual ${top.residual}`);
      checkOrthonormal(top, label);
      for (let i = 0; i < r; i++) assert.ok(Math.abs(top.s[i] - ref.s[i]) <= 1e-10 * ref.s[0], `${label}: σ_${i + 1}`);
      if (real) assert.ok(top.u.im.every((x) => x === 0) && top.v.im.every((x) => x === 0), `${label}: real factors`);
    }
  }
});

Deno.test("Krylov top-r at a repeated singular value: unique principal part when r covers the cluster, optimal error when it splits it", () => {
  const rng = new Rng(28);
  for (const real of [false, true]) {
    const s = [3, 2, 2, 2, ...Array.from({ length: 86 }, (_, i) => 1.5 * 0.97 ** i)];
    const a = withSpectrum(130, 110, s, rng, real), ref = jacobiSvd(a);
    // r = 4 takes the whole cluster {2, 2, 2}: the vectors are not unique, the principal part is.
    const top = topRSvd(a, 4, { real });
    assert.ok(relFrob(rebuild(top), rebuild(ref, 4)) < 1e-8, `real=${real}: r=4 principal part`);
    checkOrthonormal(top, `real=${real} r=4`);
    // r = 2 splits the cluster: any unit vector of the σ = 2 subspace will do; the error is still optimal.
    const two = topRSvd(a, 2, { real });
    assert.ok(Math.abs(two.s[0] - 3) < 1e-10 && Math.abs(two.s[1] - 2) < 1e-10, `σ = ${two.s}`);
    assert.ok(worstResidual(a, two) <= 1e-8 * 3 * (1 + 1e-6));
    checkOrthonormal(two, `real=${real} r=2`);
    const back = rebuild(two);
    let err = 0;
    for (let i = 0; i < a.re.length; i++) err += (a.re[i] - back.re[i]) ** 2 + (a.im[i] - back.im[i]) ** 2;
    const optimal = s.slice(2).reduce((acc, x) => acc + x * x, 0);
    assert.ok(Math.abs(err - optimal) < 1e-8 * optimal, `‖A − A_2‖² = ${err}, optimal ${optimal}`);
  }
});

Deno.test("Krylov top-r beyond the rank (150×120 of rank 3, r = 5) and of a zero matrix returns orthonormal factors", () => {
  const rng = new Rng(29);
  const a = cmatmulDense(crandn(150, 3, rng), crandn(3, 120, rng));
  const top = topRSvd(a, 5);
  assert.ok(top.s[3] < 1e-10 * top.s[0] && top.s[4] < 1e-10 * top.s[0]);
  assert.ok(maxAbs(rebuild(top), a) < 1e-12 * top.s[0]);
  assert.ok(worstResidual(a, top) < 1e-10 * top.s[0]);
  checkOrthonormal(top, "rank 3");
  const zero = topRSvd(czeros(100, 90), 2);
  assert.deepEqual([...zero.s], [0, 0]);
  checkOrthonormal(zero, "zero");
});

Deno.test("Krylov top-r: the plain-loop products give the same triplets as the BLAS ones", () => {
  const rng = new Rng(30);
  const a = flat(120, 100, rng, false);
  const viaLoops = topRSvd(a, 2, { blas: false }), viaBlas = topRSvd(a, 2);
  assert.ok(relFrob(rebuild(viaLoops), rebuild(viaBlas)) < 1e-7);
  assert.ok(worstResidual(a, viaLoops) <= 1e-8 * viaLoops.s[0] * (1 + 1e-6));
});

Deno.test("Krylov top-r throws SvdConvergenceError instead of returning unconverged factors", () => {
  const rng = new Rng(31);
  const a = flat(200, 180, rng, false);
  assert.throws(
    () => topRSvd(a, 1, { maxRestarts: 1, tol: 1e-12 }),
    (e: unknown) =>
      e instanceof SvdConvergenceError && e.residual > 1e-12 &&
      /topRSvd: 200×180 matrix, r = 1: residual .* after 1 restarts \(tol 1e-12\)/.test(e.message),
  );
  assert.throws(() => topRSvd(a, 0), /topRSvd: r must be an integer in \[1, 180\] for a 200×180 matrix, got 0/);
});

Deno.test("Krylov top-r converges for every size around the basis limit (min(m, n) from 60 to 82)", () => {
  const rng = new Rng(32);
  for (const n of [60, 66, 70, 72, 73, 80, 82]) {
    for (const r of [1, 3]) {
      const a = flat(n + 15, n, rng, n % 2 === 0), real = n % 2 === 0;
      const top = topRSvd(a, r, { real }), ref = jacobiSvd(a);
      assert.ok(relFrob(rebuild(top), rebuild(ref, r)) < 1e-6, `${n + 15}×${n} r=${r}`);
      assert.ok(worstResidual(a, top) <= 1e-8 * ref.s[0] * (1 + 1e-6), `${n + 15}×${n} r=${r}: residual`);
    }
  }
});

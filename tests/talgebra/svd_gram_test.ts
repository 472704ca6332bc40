import assert from "node:assert/strict";
import { Rng, tensor, tsvdTruncate } from "../../mod.ts";
import { blasStatus, dsyevr, lapack, type LapackApi, lapackAvailable, zheevr } from "../../tensor/native/blas.ts";
import { cadjoint, cmatmulDense, type ComplexMatrix, czeros } from "../../tensor/talgebra/complex_matrix.ts";
import { jacobiSvd } from "../../tensor/talgebra/svd_jacobi.ts";
import { sliceTopR } from "../../tensor/talgebra/svd_gram.ts";
import { rfftSlices, rfftSlicesBlas } from "../../tensor/talgebra/tubes.ts";
import { flat, rebuild, relFrob } from "./complex_helpers.ts";

/** max |XᴴX − I| by dense loops. */
function orthoError(x: ComplexMatrix): number {
  const g = cmatmulDense(cadjoint(x), x);
  let e = 0;
  for (let i = 0; i < x.cols; i++) {
    for (let j = 0; j < x.cols; j++) {
      e = Math.max(e, Math.hypot(g.re[i * x.cols + j] - (i === j ? 1 : 0), g.im[i * x.cols + j]));
    }
  }
  return e;
}

/** On a machine with OpenBLAS the LAPACK path must be there, so the tests below cannot pass on the fallback alone. */
const haveLapack = lapackAvailable();
Deno.test("OpenBLAS exports the LAPACK eigensolvers the Gram path uses", () => {
  const lib = blasStatus().library;
  if (lib && /openblas/i.test(lib)) assert.ok(haveLapack, `${lib} loaded but zheevr_/dsyevr_ were not found`);
  assert.equal(lapack() !== null, haveLapack);
});

Deno.test({
  name: "zheevr on the hand-computed 2×2 Hermitian [[2, i], [−i, 2]]: eigenvalues 1 and 3, top vector ∝ (1, −i)",
  ignore: !haveLapack,
  fn() {
    // Column-major, lower triangle: a11 = 2, a21 = −i, a22 = 2; the upper entry a12 is not referenced (garbage).
    const a = Float64Array.from([2, 0, 0, -1, 999, 999, 2, 0]);
    const all = zheevr(2, a.slice(), 1, 2);
    assert.equal(all.info, 0);
    assert.ok(Math.abs(all.w[0] - 1) < 1e-14 && Math.abs(all.w[1] - 3) < 1e-14, `eigenvalues ${all.w}`);
    const top = zheevr(2, a.slice(), 2, 2);
    assert.equal(top.w.length, 1);
    assert.ok(Math.abs(top.w[0] - 3) < 1e-14);
    const [z0r, z0i, z1r, z1i] = top.z;
    assert.ok(
      Math.abs(Math.hypot(z0r, z0i) - Math.SQRT1_2) < 1e-14 && Math.abs(Math.hypot(z1r, z1i) - Math.SQRT1_2) < 1e-14,
    );
    // z1 / z0 = −i: z1 = −i·z0, i.e. (z1r, z1i) = (z0i, −z0r).
    assert.ok(Math.abs(z1r - z0i) < 1e-14 && Math.abs(z1i + z0r) < 1e-14, `vector ${top.z}`);
    // The same matrix stored as its upper triangle read column-major is the conjugate: top vector ∝ (1, +i).
    const conj = zheevr(2, Float64Array.from([2, 0, 0, 1, 999, 999, 2, 0]), 2, 2);
    assert.ok(Math.abs(conj.z[2] + conj.z[1]) < 1e-14 && Math.abs(conj.z[3] - conj.z[0]) < 1e-14);
    const sym = dsyevr(2, Float64Array.from([2, 1, 999, 2]), 1, 2);
    assert.equal(sym.info, 0);
    assert.ok(Math.abs(sym.w[0] - 1) < 1e-14 && Math.abs(sym.w[1] - 3) < 1e-14);
    assert.ok(Math.abs(Math.abs(sym.z[2]) - Math.SQRT1_2) < 1e-14 && Math.abs(sym.z[2] - sym.z[3]) < 1e-14);
    assert.ok(Math.abs(sym.z[0] + sym.z[1]) < 1e-14);
    assert.throws(() => zheevr(2, a.slice(), 2, 3), /zheevr: need 1 ≤ il ≤ iu ≤ n/);
  },
});

Deno.test({
  name:
    "Gram paths (Lanczos on G, zheevr/dsyevr) on flat spectra (σ₁/σ₂ < 1.1): Jacobi's principal parts to 1e-4, tall and wide, real and complex, r = 1, 2, 6",
  ignore: !haveLapack,
  fn() {
    const rng = new Rng(41);
    for (const [m, n, real] of [[150, 110, false], [110, 150, false], [150, 110, true], [110, 150, true]] as const) {
      const a = flat(m, n, rng, real), ref = jacobiSvd(a);
      assert.ok(ref.s[0] / ref.s[1] < 1.1, `σ₁/σ₂ = ${ref.s[0] / ref.s[1]}`);
      for (const [r, gramMaxIter] of [[1, 300], [2, 300], [6, 300], [1, 0], [2, 0], [6, 0]]) {
        const label = `${m}×${n} ${real ? "real" : "complex"} r=${r} gramMaxIter=${gramMaxIter}`;
        const top = sliceTopR(a, r, { real, gramMaxIter });
        // gramMaxIter 0 skips the Lanczos-on-G path, so zheevr/dsyevr is tested on its own; r ≥ 2 always uses it.
        const want = gramMaxIter && r === 1 ? "gram-lanczos" : "lapack";
        assert.equal(top.path, want, `${label}: fell back (${top.fallback})`);
        const err = relFrob(rebuild(top), rebuild(ref, r));
        assert.ok(err < 1e-4, `${label}: principal parts differ by ${err}`);
        assert.ok(top.residual <= 1e-8, `${label}: residual ${top.residual}`);
        for (let i = 0; i < r; i++) {
          assert.ok(Math.abs(top.s[i] - ref.s[i]) <= 1e-10 * ref.s[0], `${label}: σ_${i + 1}`);
        }
        assert.ok(orthoError(top.u) < 1e-12 && orthoError(top.v) < 1e-12, `${label}: orthonormal U, V`);
        if (real) assert.ok(top.u.im.every((x) => x === 0) && top.v.im.every((x) => x === 0), `${label}: real`);
      }
    }
  },
});

Deno.test("without LAPACK (injected null) the slice solver falls back to Lanczos with the same triplets", () => {
  const rng = new Rng(42), a = flat(120, 90, rng, false), ref = jacobiSvd(a);
  const top = sliceTopR(a, 2, { lapack: null });
  assert.equal(top.path, "lanczos");
  assert.match(top.fallback!, /no LAPACK/);
  assert.ok(relFrob(rebuild(top), rebuild(ref, 2)) < 1e-4);
});

Deno.test({
  name:
    "a LAPACK result that fails the residual check (injected wrong eigenvector, failing INFO) falls back to Lanczos",
  ignore: !haveLapack,
  fn() {
    const sys = lapack()!, rng = new Rng(43), a = flat(120, 90, rng, false), ref = jacobiSvd(a);
    const wrongVector: LapackApi = {
      ...sys,
      zheevr(n, g, il, iu) {
        const e = sys.zheevr(n, g, il, iu);
        for (let i = 0; i < e.z.length; i++) e.z[i] += 1e-3 * Math.sin(i); // not an eigenvector any more
        return e;
      },
    };
    const top = sliceTopR(a, 1, { lapack: wrongVector, gramMaxIter: 0 });
    assert.equal(top.path, "lanczos");
    assert.match(top.fallback!, /residual .* above tol/);
    assert.ok(relFrob(rebuild(top), rebuild(ref, 1)) < 1e-4);
    const failing: LapackApi = { ...sys, zheevr: (n, g, il, iu) => ({ ...sys.zheevr(n, g, il, iu), info: 3 }) };
    const second = sliceTopR(a, 1, { lapack: failing, gramMaxIter: 0 });
    assert.equal(second.path, "lanczos");
    assert.match(second.fallback!, /zheevr INFO 3/);
  },
});

Deno.test({
  name:
    "Lanczos on G (r = 1; r = 2 on zheevr) on nearly flat spectra (σ₁/σ₂ < 1.1) matches Jacobi to 1e-4; capped, it falls back to zheevr",
  ignore: !haveLapack,
  fn() {
    const rng = new Rng(46);
    for (const [m, n, real] of [[260, 200, false], [200, 260, false], [260, 200, true], [200, 260, true]] as const) {
      const a = flat(m, n, rng, real), ref = jacobiSvd(a), ratio = ref.s[0] / ref.s[1];
      assert.ok(ratio < 1.1, `σ₁/σ₂ = ${ratio}`);
      for (const r of [1, 2]) {
        const label = `${m}×${n} ${real ? "real" : "complex"} r=${r} (σ₁/σ₂ = ${ratio.toFixed(4)})`;
        const top = sliceTopR(a, r, { real });
        assert.equal(top.path, r === 1 ? "gram-lanczos" : "lapack", `${label}: fell back (${top.fallback})`);
        assert.ok(relFrob(rebuild(top), rebuild(ref, r)) < 1e-4, `${label}: principal parts`);
        assert.ok(top.residual <= 1e-8, `${label}: residual ${top.residual}`);
        // Three steps cannot converge on a flat spectrum: zheevr/dsyevr takes over, with the reason recorded.
        const capped = sliceTopR(a, r, { real, gramMaxIter: 3 });
        assert.equal(capped.path, "lapack", label);
        if (r === 1) assert.match(capped.fallback!, /Gram-Lanczos: no convergence in 3 steps/);
        assert.ok(relFrob(rebuild(capped), rebuild(ref, r)) < 1e-4, `${label}: capped principal parts`);
      }
    }
    // Both Gram paths failing (capped Lanczos, zheevr INFO 3) ends on Lanczos on A, with both reasons.
    const sys = lapack()!, a = flat(120, 90, rng, false), ref = jacobiSvd(a);
    const failing: LapackApi = { ...sys, zheevr: (n, g, il, iu) => ({ ...sys.zheevr(n, g, il, iu), info: 3 }) };
    const last = sliceTopR(a, 1, { lapack: failing, gramMaxIter: 3 });
    assert.equal(last.path, "lanczos");
    assert.match(last.fallback!, /no convergence in 3 steps; zheevr INFO 3/);
    assert.ok(relFrob(rebuild(last), rebuild(ref, 1)) < 1e-4);
    assert.throws(() => sliceTopR(a, 1, { gramMaxIter: -1 }), /gramMaxIter must be a non-negative integer, got -1/);
  },
});

Deno.test({
  name: "a repeated top singular value (3, 2, 2, 2, …): r = 4 stays on zheevr and finds all three 2s; r = 1 on Lanczos",
  ignore: !haveLapack,
  fn() {
    // Single-vector Lanczos finds one copy of a repeated eigenvalue (it returned 3, 2, 2, 1.5 here when allowed for
    // r = 4), which is why the Gram-Lanczos path is kept to r = 1.
    const rng = new Rng(47), m = 130, n = 110;
    for (const real of [false, true]) {
      const basis = jacobiSvd(flat(m, n, rng, real));
      const s = Float64Array.from({ length: n }, (_, i) => i === 0 ? 3 : i < 4 ? 2 : 1.5 * 0.97 ** (i - 4));
      const a = rebuild({ s, u: basis.u, v: basis.v });
      const four = sliceTopR(a, 4, { real });
      assert.equal(four.path, "lapack");
      assert.ok([3, 2, 2, 2].every((x, i) => Math.abs(four.s[i] - x) < 1e-10), `σ = ${four.s}`);
      const one = sliceTopR(a, 1, { real });
      assert.equal(one.path, "gram-lanczos");
      assert.ok(Math.abs(one.s[0] - 3) < 1e-10 && one.residual <= 1e-8, `σ₁ = ${one.s[0]}`);
    }
  },
});

Deno.test({
  name: "a zero slice (σ₁ = 0) goes to Lanczos and still comes back with orthonormal factors",
  ignore: !haveLapack,
  fn() {
    const top = sliceTopR(czeros(100, 80), 2, {});
    assert.equal(top.path, "lanczos");
    assert.match(top.fallback!, /σ_1 = 0/);
    assert.ok(orthoError(top.u) < 1e-12 && orthoError(top.v) < 1e-12);
    assert.deepEqual([...top.s], [0, 0]);
  },
});

Deno.test({
  name: "the BLAS DFT of the tubes equals the FFT (rfftSlicesBlas vs rfftSlices, n3 = 12 and 7)",
  ignore: !blasStatus().library,
  fn() {
    const rng = new Rng(44);
    for (const n of [12, 7]) {
      const tubes = 300, x = new Float64Array(tubes * n).map(() => rng.normal());
      const fft = rfftSlices(x, tubes, n), dft = rfftSlicesBlas(x, tubes, n)!;
      assert.equal(dft.re.length, fft.re.length);
      for (let k = 0; k < fft.re.length; k++) {
        for (let t = 0; t < tubes; t++) {
          assert.ok(Math.abs(dft.re[k][t] - fft.re[k][t]) < 1e-12 && Math.abs(dft.im[k][t] - fft.im[k][t]) < 1e-12);
        }
      }
    }
  },
});

Deno.test('tsvdTruncate with method "lapack" matches Jacobi\'s principal part on a flat-spectrum tensor', async () => {
  const rng = new Rng(45), [n1, n2, n3] = [90, 70, 4];
  const data = new Float64Array(n1 * n2 * n3).map(() => rng.normal() / Math.sqrt(n2));
  const w = tensor(data, [n1, n2, n3], { dtype: "float64" });
  const ours = await tsvdTruncate(w, 2, { method: "lapack", parts: true });
  const ref = await tsvdTruncate(w, 2, { method: "jacobi", parts: true });
  const p = await ours.principal.data(), q = await ref.principal.data();
  let num = 0, den = 0;
  for (let i = 0; i < p.length; i++) (num += (p[i] - q[i]) ** 2, den += q[i] ** 2);
  assert.ok(Math.sqrt(num / den) < 1e-4, `principal parts differ by ${Math.sqrt(num / den)}`);
});

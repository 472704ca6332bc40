import assert from "node:assert/strict";
import { Rng } from "../../tensor/random.ts";
import { diagonalAffine, makeVolume, type Shape3 } from "../../data/volume.ts";
import {
  bsplineField,
  deformedPositions,
  invertAffine,
  MAX_BSPLINE_FRACTION,
  randomDeformation,
  resampleToGrid,
} from "../../data/resample.ts";

/** det of the central-difference Jacobian of world positions `p` (3 per voxel) at every interior voxel. */
function jacobianDets(p: Float32Array, [X, Y, Z]: Shape3): number[] {
  const at = (i: number, j: number, k: number, c: number) => p[3 * (i + X * (j + Y * k)) + c];
  const dets: number[] = [];
  for (let k = 1; k < Z - 1; k++) {
    for (let j = 1; j < Y - 1; j++) {
      for (let i = 1; i < X - 1; i++) {
        const J = [0, 1, 2].map((c) => [
          (at(i + 1, j, k, c) - at(i - 1, j, k, c)) / 2,
          (at(i, j + 1, k, c) - at(i, j - 1, k, c)) / 2,
          (at(i, j, k + 1, c) - at(i, j, k - 1, c)) / 2,
        ]);
        dets.push(
          J[0][0] * (J[1][1] * J[2][2] - J[1][2] * J[2][1]) - J[0][1] * (J[1][0] * J[2][2] - J[1][2] * J[2][0]) +
            J[0][2] * (J[1][0] * J[2][1] - J[1][1] * J[2][0]),
        );
      }
    }
  }
  return dets;
}

Deno.test("deformations at the no-fold limit have a positive Jacobian everywhere (finite differences)", () => {
  // LAS grid (det G < 0, as MNI152): the sign to keep is that of det G.
  const grid = {
    shape: [30, 28, 26] as Shape3,
    affine: [[-1.5, 0, 0, 20], [0, 1.5, 0, -20], [0, 0, 1.5, -18], [0, 0, 0, 1]],
  };
  const detG = -(1.5 ** 3);
  for (const seed of [1, 2, 3, 4]) {
    const def = randomDeformation(grid, new Rng(seed), {
      controlSpacingMm: 10,
      displacementMm: MAX_BSPLINE_FRACTION * 10,
      rotationDeg: 10,
      scale: 0.1,
    });
    const p = deformedPositions(grid, def), id = deformedPositions(grid, null);
    let moved = 0;
    for (let v = 0; v < p.length; v += 3) {
      moved = Math.max(moved, Math.hypot(p[v] - id[v], p[v + 1] - id[v + 1], p[v + 2] - id[v + 2]));
    }
    assert.ok(moved > 1, `seed ${seed}: the deformation moves voxels (max ${moved} mm)`);
    const rel = jacobianDets(p, grid.shape).map((d) => d / detG);
    const min = Math.min(...rel);
    assert.ok(min > 0, `seed ${seed}: min det J / det G = ${min}`);
  }
  // The same check does flag a folded map (the reference can fail).
  // Mirror x beyond i = 15 (a fold at that plane): x(i) ← 2·x(15) − x(i).
  const folded = deformedPositions(grid, null), x15 = -1.5 * 15 + 20;
  for (let v = 0; v < folded.length; v += 3) if ((v / 3) % 30 > 15) folded[v] = 2 * x15 - folded[v];
  assert.ok(Math.min(...jacobianDets(folded, grid.shape).map((d) => d / detG)) < 0);
});

Deno.test("randomDeformation refuses displacements that could fold", () => {
  const grid = { shape: [8, 8, 8] as Shape3, affine: diagonalAffine([1, 1, 1]) };
  assert.throws(
    () => randomDeformation(grid, new Rng(0), { controlSpacingMm: 10, displacementMm: 4.01 }),
    /could fold/,
  );
  assert.doesNotThrow(() => randomDeformation(grid, new Rng(0), { controlSpacingMm: 10, displacementMm: 4 }));
});

Deno.test("bsplineField equals the direct tensor-product sum of cubic B-spline weights", () => {
  const B = (
    u: number,
  ) => [(1 - u) ** 3 / 6, (3 * u ** 3 - 6 * u ** 2 + 4) / 6, (-3 * u ** 3 + 3 * u ** 2 + 3 * u + 1) / 6, u ** 3 / 6];
  const shape: Shape3 = [7, 6, 5], sp: Shape3 = [2.5, 3, 2];
  const cs = shape.map((n, a) => Math.floor((n - 1) / sp[a]) + 4) as Shape3;
  const rng = new Rng(8), coef = Float32Array.from({ length: cs[0] * cs[1] * cs[2] }, () => rng.normal());
  const f = bsplineField(shape, cs, sp, coef);
  for (let k = 0; k < 5; k++) {
    for (let j = 0; j < 6; j++) {
      for (let i = 0; i < 7; i++) {
        const t = [i / sp[0], j / sp[1], k / sp[2]], c = t.map(Math.floor), w = t.map((v, a) => B(v - c[a]));
        let s = 0;
        for (let a = 0; a < 4; a++) {
          for (let b = 0; b < 4; b++) {
            for (let d = 0; d < 4; d++) {
              s += w[0][a] * w[1][b] * w[2][d] * coef[c[0] + a + cs[0] * (c[1] + b + cs[1] * (c[2] + d))];
            }
          }
        }
        assert.ok(Math.abs(f[i + 7 * (j + 6 * k)] - s) < 1e-5, `(${i},${j},${k}): ${f[i + 7 * (j + 6 * k)]} vs ${s}`);
      }
    }
  }
});

/** An ellipsoid label (radii in mm) centred at world `c` on a grid, and its volume in mm³. */
function ellipsoid(shape: Shape3, affine: number[][], c: number[], r: number[]) {
  const [X, Y, Z] = shape, d = new Uint8Array(X * Y * Z);
  for (let k = 0; k < Z; k++) {
    for (let j = 0; j < Y; j++) {
      for (let i = 0; i < X; i++) {
        const w = affine.slice(0, 3).map((row) => row[0] * i + row[1] * j + row[2] * k + row[3]);
        if (w.reduce((s, v, a) => s + ((v - c[a]) / r[a]) ** 2, 0) <= 1) d[i + X * (j + Y * k)] = 1;
      }
    }
  }
  return makeVolume(d, shape, { affine });
}
const mm3 = (v: { data: ArrayLike<number>; spacing: number[] }) => {
  let n = 0;
  for (let i = 0; i < v.data.length; i++) n += v.data[i] ? 1 : 0;
  return n * v.spacing[0] * v.spacing[1] * v.spacing[2];
};

Deno.test("labels survive nearest-neighbour resampling with their volume within 1%", () => {
  // A 2 mm atlas-like source (LAS, as AICHAmc) to 1 mm grids: aligned, shifted by a fraction of a voxel, and 1.25 mm.
  const src = ellipsoid([40, 40, 40], [[-2, 0, 0, 40], [0, 2, 0, -40], [0, 0, 2, -40], [0, 0, 0, 1]], [0, 0, 0], [
    24,
    18,
    14,
  ]);
  const v0 = mm3(src);
  for (const [sp, shift] of [[1, 0], [1, 0.37], [1.25, 0.2]]) {
    const n = Math.round(80 / sp);
    const grid = {
      shape: [n, n, n] as Shape3,
      affine: [[-sp, 0, 0, 40 - shift], [0, sp, 0, -40 + shift], [0, 0, sp, -40 + shift / 2], [0, 0, 0, 1]],
    };
    const out = resampleToGrid(src, grid, "nearest");
    const v = mm3(out);
    assert.ok(Math.abs(v - v0) / v0 < 0.01, `spacing ${sp}, shift ${shift}: ${v} vs ${v0} mm³`);
  }
});

Deno.test("trilinear resampling reproduces a linear function of world position exactly", () => {
  const affine = [[1, 0, 0, -5], [0, 2, 0, -8], [0, 0, 1.5, 1], [0, 0, 0, 1]], shape: Shape3 = [12, 10, 9];
  const f = (w: number[]) => 3 * w[0] - 2 * w[1] + 0.5 * w[2] + 7;
  const data = new Float32Array(12 * 10 * 9);
  for (let k = 0; k < 9; k++) {
    for (let j = 0; j < 10; j++) {
      for (let i = 0; i < 12; i++) {
        data[i + 12 * (j + 10 * k)] = f(affine.slice(0, 3).map((r) => r[0] * i + r[1] * j + r[2] * k + r[3]));
      }
    }
  }
  const src = makeVolume(data, shape, { affine });
  const grid = {
    shape: [6, 6, 6] as Shape3,
    affine: [[0.9, 0.2, 0, -3], [-0.2, 0.9, 0, -4], [0, 0, 1.1, 3], [0, 0, 0, 1]],
  };
  const out = resampleToGrid(src, grid, "linear");
  for (let k = 0; k < 6; k++) {
    for (let j = 0; j < 6; j++) {
      for (let i = 0; i < 6; i++) {
        const w = grid.affine.slice(0, 3).map((r) => r[0] * i + r[1] * j + r[2] * k + r[3]);
        assert.ok(Math.abs(out.data[i + 6 * (j + 6 * k)] - f(w)) < 1e-3, `(${i},${j},${k})`);
      }
    }
  }
  const inv = invertAffine(affine);
  const back = affine.map((r) => [0, 1, 2, 3].map((j) => r.reduce((s, v, m) => s + v * inv[m][j], 0)));
  back.forEach((r, i) => r.forEach((v, j) => assert.ok(Math.abs(v - (i === j ? 1 : 0)) < 1e-12)));
});

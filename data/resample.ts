/**
 * Resampling between grids through world coordinates, and smooth random
 * deformations without folding, for the real-brain generator (issue 17,
 * `data/real_brain.ts`).
 *
 * A deformation maps a voxel index `q` of the output grid `G` to the world
 * point `φ(q) = M·(G·(q + d(q)) − c) + c + t`: first a cubic B-spline
 * free-form displacement `d` (in voxels, on a control lattice), then an
 * affine `M`, `t` about the grid centre `c`. The Jacobian is
 * `M·G₃·(I + ∇d)`, so `det > 0` wherever `det(I + ∇d) > 0` (and `det M > 0`).
 * For a uniform cubic B-spline that holds when every control-point
 * displacement is below `δ/K` per axis, δ the control spacing and
 * K ≈ 2.48 (Choi and Lee 2000; the "0.4 δ" bound of Rueckert et al. 2006):
 * {@link randomDeformation} refuses larger amplitudes.
 * @module
 */
import type { Rng } from "../tensor/random.ts";
import type { Shape3, Volume } from "./volume.ts";

/** A voxel grid: shape and voxel-to-world affine. */
export interface Grid {
  /** Grid size `[x, y, z]`. */
  shape: Shape3;
  /** Voxel-to-world transform, 4×4 row-major. */
  affine: number[][];
}

/** The FSL MNI152 1 mm grid the paper's scans are registered to: 182×218×182, LAS. */
export const MNI152_1MM: Readonly<Grid> = Object.freeze({
  shape: [182, 218, 182] as Shape3,
  affine: [[-1, 0, 0, 90], [0, 1, 0, -126], [0, 0, 1, -72], [0, 0, 0, 1]],
});

/** The largest control-point displacement, as a fraction of the control spacing, that cannot fold. */
export const MAX_BSPLINE_FRACTION = 0.4;

/** The inverse of an affine 4×4 (rotation/scale part inverted by cofactors). */
export function invertAffine(a: number[][]): number[][] {
  const [[a0, a1, a2], [b0, b1, b2], [c0, c1, c2]] = a;
  const det = a0 * (b1 * c2 - b2 * c1) - a1 * (b0 * c2 - b2 * c0) + a2 * (b0 * c1 - b1 * c0);
  if (!Number.isFinite(det) || Math.abs(det) < 1e-12) {
    throw new RangeError(`invertAffine: the affine ${JSON.stringify(a.slice(0, 3))} is singular`);
  }
  const r = [
    [(b1 * c2 - b2 * c1) / det, (a2 * c1 - a1 * c2) / det, (a1 * b2 - a2 * b1) / det],
    [(b2 * c0 - b0 * c2) / det, (a0 * c2 - a2 * c0) / det, (a2 * b0 - a0 * b2) / det],
    [(b0 * c1 - b1 * c0) / det, (a1 * c0 - a0 * c1) / det, (a0 * b1 - a1 * b0) / det],
  ];
  const t = [a[0][3], a[1][3], a[2][3]];
  return [
    ...r.map((row) => [...row, -(row[0] * t[0] + row[1] * t[1] + row[2] * t[2])]),
    [0, 0, 0, 1],
  ];
}

const mul = (a: number[][], b: number[][]): number[][] =>
  a.map((row) => [0, 1, 2, 3].map((j) => row[0] * b[0][j] + row[1] * b[1][j] + row[2] * b[2][j] + row[3] * b[3][j]));

/** A random deformation drawn by {@link randomDeformation}. */
export interface Deformation {
  /** World-to-world affine applied after the displacement (4×4). */
  affine: number[][];
  /** Control lattice size `[x, y, z]`. */
  controlShape: Shape3;
  /** Control spacing in output voxels. */
  controlSpacing: Shape3;
  /** Control-point displacements in output voxels, one array per axis (x fastest). */
  coefficients: [Float32Array, Float32Array, Float32Array];
}

/** Options of {@link randomDeformation}. */
export interface DeformationOptions {
  /** Largest rotation about each axis, degrees. Default 6. */
  rotationDeg?: number;
  /** Largest relative scale change per axis. Default 0.06. */
  scale?: number;
  /** Largest translation per axis, mm. Default 4. */
  translationMm?: number;
  /** B-spline control spacing, mm. Default 20. */
  controlSpacingMm?: number;
  /** Largest control-point displacement, mm (at most 0.4 × the control spacing). Default 3. */
  displacementMm?: number;
}

/** The lattice size covering `n` voxels at spacing `s` (cells −1 … ⌊(n−1)/s⌋ + 2). */
const latticeSize = (n: number, s: number) => Math.floor((n - 1) / s) + 4;

/**
 * Draws an affine (rotations, per-axis scales, translation, uniform within
 * the limits) about the centre of `grid` and a B-spline displacement with
 * control points every `controlSpacingMm`, each displacement uniform in
 * ±`displacementMm`. Throws when the displacement could fold.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { diagonalAffine, randomDeformation, Rng } from "./mod.ts";
 * const d = randomDeformation({ shape: [20, 20, 20], affine: diagonalAffine([2, 2, 2]) }, new Rng(1));
 * assert.deepEqual(d.controlSpacing, [10, 10, 10]);
 * assert.throws(
 *   () => randomDeformation({ shape: [8, 8, 8], affine: diagonalAffine([1, 1, 1]) }, new Rng(1), { displacementMm: 9 }),
 *   /fold/,
 * );
 * ```
 */
export function randomDeformation(grid: Grid, rng: Rng, options: DeformationOptions = {}): Deformation {
  const rot = (options.rotationDeg ?? 6) * Math.PI / 180, sc = options.scale ?? 0.06;
  const tr = options.translationMm ?? 4, spacingMm = options.controlSpacingMm ?? 20;
  const amp = options.displacementMm ?? 3;
  if (!(spacingMm > 0) || !(amp >= 0)) {
    throw new RangeError(`randomDeformation: control spacing ${spacingMm} mm and displacement ${amp} mm`);
  }
  if (amp > MAX_BSPLINE_FRACTION * spacingMm) {
    throw new RangeError(
      `randomDeformation: displacement ${amp} mm exceeds ${MAX_BSPLINE_FRACTION} × the control spacing ` +
        `${spacingMm} mm, which could fold the grid`,
    );
  }
  if (!(sc >= 0 && sc < 0.5)) throw new RangeError(`randomDeformation: scale ${sc} must be in [0, 0.5)`);
  const [rx, ry, rz] = [0, 1, 2].map(() => rng.uniformIn(-rot, rot));
  const [sx, sy, sz] = [0, 1, 2].map(() => 1 + rng.uniformIn(-sc, sc));
  const t = [0, 1, 2].map(() => rng.uniformIn(-tr, tr));
  const Rx = [[1, 0, 0, 0], [0, Math.cos(rx), -Math.sin(rx), 0], [0, Math.sin(rx), Math.cos(rx), 0], [0, 0, 0, 1]];
  const Ry = [[Math.cos(ry), 0, Math.sin(ry), 0], [0, 1, 0, 0], [-Math.sin(ry), 0, Math.cos(ry), 0], [0, 0, 0, 1]];
  const Rz = [[Math.cos(rz), -Math.sin(rz), 0, 0], [Math.sin(rz), Math.cos(rz), 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
  const S = [[sx, 0, 0, 0], [0, sy, 0, 0], [0, 0, sz, 0], [0, 0, 0, 1]];
  const centre = [0, 1, 2].map((r) =>
    grid.affine[r].slice(0, 3).reduce((acc, g, c) => acc + g * (grid.shape[c] - 1) / 2, grid.affine[r][3])
  );
  const toCentre = [[1, 0, 0, -centre[0]], [0, 1, 0, -centre[1]], [0, 0, 1, -centre[2]], [0, 0, 0, 1]];
  const back = [[1, 0, 0, centre[0] + t[0]], [0, 1, 0, centre[1] + t[1]], [0, 0, 1, centre[2] + t[2]], [0, 0, 0, 1]];
  const affine = mul(back, mul(Rz, mul(Ry, mul(Rx, mul(S, toCentre)))));
  const voxel = [0, 1, 2].map((c) => Math.hypot(grid.affine[0][c], grid.affine[1][c], grid.affine[2][c]));
  const controlSpacing = voxel.map((v) => spacingMm / v) as Shape3;
  const controlShape = grid.shape.map((n, a) => latticeSize(n, controlSpacing[a])) as Shape3;
  const m = controlShape[0] * controlShape[1] * controlShape[2];
  // In voxel units the bound is the same fraction of the (voxel) control spacing.
  const coefficients = [0, 1, 2].map((a) => {
    const c = new Float32Array(m), lim = amp / voxel[a];
    for (let i = 0; i < m; i++) c[i] = rng.uniformIn(-lim, lim);
    return c;
  }) as [Float32Array, Float32Array, Float32Array];
  return { affine, controlShape, controlSpacing, coefficients };
}

/** Per index of an axis: its first control index and the four cubic B-spline weights. */
function basis(n: number, s: number): { cell: Int32Array; w: Float64Array } {
  const cell = new Int32Array(n), w = new Float64Array(4 * n);
  for (let i = 0; i < n; i++) {
    const t = i / s, c = Math.floor(t), u = t - c;
    cell[i] = c; // control indices c … c + 3 (lattice offset by one cell)
    w[4 * i] = (1 - u) ** 3 / 6;
    w[4 * i + 1] = (3 * u ** 3 - 6 * u ** 2 + 4) / 6;
    w[4 * i + 2] = (-3 * u ** 3 + 3 * u ** 2 + 3 * u + 1) / 6;
    w[4 * i + 3] = u ** 3 / 6;
  }
  return { cell, w };
}

/**
 * Evaluates a cubic B-spline with control values `coef` (lattice
 * `controlShape`, spacing `controlSpacing` voxels, x fastest) at every voxel
 * of `shape`, separably (x, then y, then z).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bsplineField } from "./mod.ts";
 * // Constant control values reproduce the constant (the basis sums to 1).
 * const f = bsplineField([5, 4, 3], [6, 5, 5], [2, 2, 2], new Float32Array(150).fill(2.5));
 * assert.ok(f.every((v) => Math.abs(v - 2.5) < 1e-6));
 * ```
 */
export function bsplineField(
  shape: Shape3,
  controlShape: Shape3,
  controlSpacing: Shape3,
  coef: Float32Array,
): Float32Array {
  const [X, Y, Z] = shape, [cx, cy, cz] = controlShape;
  if (coef.length !== cx * cy * cz) {
    throw new RangeError(`bsplineField: ${coef.length} coefficients for a lattice [${controlShape}]`);
  }
  shape.forEach((n, a) => {
    if (latticeSize(n, controlSpacing[a]) > controlShape[a]) {
      throw new RangeError(
        `bsplineField: lattice [${controlShape}] at spacing [${controlSpacing}] is short of [${shape}]`,
      );
    }
  });
  const bx = basis(X, controlSpacing[0]), by = basis(Y, controlSpacing[1]), bz = basis(Z, controlSpacing[2]);
  const t1 = new Float64Array(X * cy * cz);
  for (let r = 0; r < cy * cz; r++) {
    for (let i = 0; i < X; i++) {
      const c0 = bx.cell[i] + cx * r;
      let s = 0;
      for (let q = 0; q < 4; q++) s += bx.w[4 * i + q] * coef[c0 + q];
      t1[i + X * r] = s;
    }
  }
  const t2 = new Float64Array(X * Y * cz);
  for (let k = 0; k < cz; k++) {
    for (let j = 0; j < Y; j++) {
      const out = X * (j + Y * k);
      for (let q = 0; q < 4; q++) {
        const wq = by.w[4 * j + q], from = X * (by.cell[j] + q + cy * k);
        for (let i = 0; i < X; i++) t2[out + i] += wq * t1[from + i];
      }
    }
  }
  const f = new Float32Array(X * Y * Z);
  for (let k = 0; k < Z; k++) {
    for (let q = 0; q < 4; q++) {
      const wq = bz.w[4 * k + q], from = X * Y * (bz.cell[k] + q), out = X * Y * k;
      for (let p = 0; p < X * Y; p++) f[out + p] += wq * t2[from + p];
    }
  }
  return f;
}

/**
 * The displaced voxel indices `q + d(q)` of every voxel of `grid` (3 values
 * per voxel, x fastest), before the affine: the input of {@link sampleVolume}.
 */
export function displacedIndices(grid: Grid, def: Deformation): Float32Array {
  const [X, Y, Z] = grid.shape, n = X * Y * Z;
  const d = def.coefficients.map((c) => bsplineField(grid.shape, def.controlShape, def.controlSpacing, c));
  const out = new Float32Array(3 * n);
  for (let k = 0, p = 0; k < Z; k++) {
    for (let j = 0; j < Y; j++) {
      for (let i = 0; i < X; i++, p++) {
        out[3 * p] = i + d[0][p];
        out[3 * p + 1] = j + d[1][p];
        out[3 * p + 2] = k + d[2][p];
      }
    }
  }
  return out;
}

/** The identity's {@link displacedIndices}: every voxel's own index. */
export function gridIndices(shape: Shape3): Float32Array {
  const [X, Y, Z] = shape, out = new Float32Array(3 * X * Y * Z);
  for (let k = 0, p = 0; k < Z; k++) {
    for (let j = 0; j < Y; j++) {
      for (let i = 0; i < X; i++, p++) (out[3 * p] = i, out[3 * p + 1] = j, out[3 * p + 2] = k);
    }
  }
  return out;
}

/**
 * World positions `φ(q)` (mm, 3 per voxel) of a deformation on `grid`:
 * `worldAffine · G · (q + d(q))` where `worldAffine` is the deformation's
 * affine (identity when `def` is null).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { deformedPositions, diagonalAffine } from "./mod.ts";
 * const p = deformedPositions({ shape: [2, 1, 1], affine: diagonalAffine([2, 1, 1], [10, 0, 0]) }, null);
 * assert.deepEqual([...p], [10, 0, 0, 12, 0, 0]);
 * ```
 */
export function deformedPositions(grid: Grid, def: Deformation | null): Float32Array {
  const q = def ? displacedIndices(grid, def) : gridIndices(grid.shape);
  const m = def ? mul(def.affine, grid.affine) : grid.affine;
  const out = new Float32Array(q.length);
  for (let p = 0; p < q.length; p += 3) {
    const x = q[p], y = q[p + 1], z = q[p + 2];
    for (let r = 0; r < 3; r++) out[p + r] = m[r][0] * x + m[r][1] * y + m[r][2] * z + m[r][3];
  }
  return out;
}

/**
 * Samples `src` at the points `toSource · (q, 1)` for each index triple `q`
 * of `indices` (3 per output voxel), where `toSource` is the 4×4 from output
 * indices to `src` voxel indices: trilinear (`"linear"`, float32 out) or
 * nearest neighbour (`"nearest"`, same type as `src`). Points outside `src`
 * read 0 (linear: each missing neighbour counts as 0).
 */
export function sampleVolume(
  src: Volume,
  indices: Float32Array,
  toSource: number[][],
  mode: "linear" | "nearest",
): Float32Array | Volume["data"] {
  const [X, Y, Z] = src.shape, d = src.data, n = indices.length / 3;
  const m = toSource;
  if (mode === "nearest") {
    const out = new (d.constructor as new (n: number) => typeof d)(n);
    for (let p = 0; p < n; p++) {
      const x = indices[3 * p], y = indices[3 * p + 1], z = indices[3 * p + 2];
      const i = Math.round(m[0][0] * x + m[0][1] * y + m[0][2] * z + m[0][3]);
      const j = Math.round(m[1][0] * x + m[1][1] * y + m[1][2] * z + m[1][3]);
      const k = Math.round(m[2][0] * x + m[2][1] * y + m[2][2] * z + m[2][3]);
      if (i >= 0 && i < X && j >= 0 && j < Y && k >= 0 && k < Z) out[p] = d[i + X * (j + Y * k)];
    }
    return out;
  }
  const out = new Float32Array(n);
  const at = (i: number, j: number, k: number) =>
    i >= 0 && i < X && j >= 0 && j < Y && k >= 0 && k < Z ? d[i + X * (j + Y * k)] : 0;
  for (let p = 0; p < n; p++) {
    const x = indices[3 * p], y = indices[3 * p + 1], z = indices[3 * p + 2];
    const u = m[0][0] * x + m[0][1] * y + m[0][2] * z + m[0][3];
    const v = m[1][0] * x + m[1][1] * y + m[1][2] * z + m[1][3];
    const w = m[2][0] * x + m[2][1] * y + m[2][2] * z + m[2][3];
    if (u <= -1 || v <= -1 || w <= -1 || u >= X || v >= Y || w >= Z) continue;
    const i = Math.floor(u), j = Math.floor(v), k = Math.floor(w);
    const fu = u - i, fv = v - j, fw = w - k;
    const inside = i >= 0 && j >= 0 && k >= 0 && i + 1 < X && j + 1 < Y && k + 1 < Z;
    if (inside) {
      const b = i + X * (j + Y * k), sx = 1, sy = X, sz = X * Y;
      const c00 = d[b] + fu * (d[b + sx] - d[b]);
      const c10 = d[b + sy] + fu * (d[b + sy + sx] - d[b + sy]);
      const c01 = d[b + sz] + fu * (d[b + sz + sx] - d[b + sz]);
      const c11 = d[b + sz + sy] + fu * (d[b + sz + sy + sx] - d[b + sz + sy]);
      const c0 = c00 + fv * (c10 - c00), c1 = c01 + fv * (c11 - c01);
      out[p] = c0 + fw * (c1 - c0);
    } else {
      let s = 0;
      for (let c = 0; c < 8; c++) {
        const di = c & 1, dj = (c >> 1) & 1, dk = c >> 2;
        s += (di ? fu : 1 - fu) * (dj ? fv : 1 - fv) * (dk ? fw : 1 - fw) * at(i + di, j + dj, k + dk);
      }
      out[p] = s;
    }
  }
  return out;
}

/**
 * The 4×4 from output voxel indices (after displacement) to `src` voxel
 * indices: `src.affine⁻¹ · worldAffine · grid.affine`.
 */
export function indexToSource(grid: Grid, src: Volume, def: Deformation | null): number[][] {
  const world = def ? mul(def.affine, grid.affine) : grid.affine;
  return mul(invertAffine(src.affine), world);
}

/**
 * Resamples `src` onto `grid` through world coordinates (the two affines):
 * trilinear for images, nearest neighbour for labels. Outside `src` is 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { diagonalAffine, makeVolume, resampleToGrid } from "./mod.ts";
 * const src = makeVolume(new Uint8Array([0, 5]), [2, 1, 1], { spacing: [2, 1, 1] });
 * const out = resampleToGrid(src, { shape: [4, 1, 1], affine: diagonalAffine([1, 1, 1]) }, "nearest");
 * assert.deepEqual([...out.data], [0, 5, 5, 0]);
 * ```
 */
export function resampleToGrid(
  src: Volume,
  grid: Grid,
  mode: "linear" | "nearest",
  def: Deformation | null = null,
): Volume {
  const idx = def ? displacedIndices(grid, def) : gridIndices(grid.shape);
  const data = sampleVolume(src, idx, indexToSource(grid, src, def), mode);
  const spacing = [0, 1, 2].map((c) => Math.hypot(grid.affine[0][c], grid.affine[1][c], grid.affine[2][c]));
  return {
    data,
    shape: [...grid.shape],
    affine: grid.affine.map((r) => [...r]),
    spacing: spacing as [number, number, number],
    datatype: mode === "linear" ? "float32" : src.datatype,
  };
}

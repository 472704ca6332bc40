/**
 * The in-memory image type of the data pipeline: a 3-D voxel array with its
 * grid geometry, in NIfTI conventions (as nibabel loads it: array
 * axis order = NIfTI x, y, z; x varies fastest in memory).
 * @module
 */

/** The voxel types the pipeline reads and writes (NIfTI-1 codes in nifti.ts). */
export type Datatype =
  | "uint8"
  | "int8"
  | "int16"
  | "uint16"
  | "int32"
  | "float32"
  | "float64";

/** A typed array holding voxels of one {@link Datatype}. */
export type VoxelArray =
  | Uint8Array
  | Int8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Float32Array
  | Float64Array;

/** A grid size `[x, y, z]` in voxels (NIfTI order, x fastest in memory). */
export type Shape3 = [number, number, number];

/** Voxel sizes `[sx, sy, sz]` in mm. */
export type Spacing3 = [number, number, number];

/**
 * A 3-D image or label map. Voxel `(i, j, k)` is `data[i + x*(j + y*k)]` for
 * `shape = [x, y, z]`; `affine` (4×4, row-major) maps `(i, j, k, 1)` to world
 * millimetres; `spacing` is the voxel size in mm.
 */
export interface Volume<T extends VoxelArray = VoxelArray> {
  /** Voxel values, x fastest. */
  data: T;
  /** Grid size `[x, y, z]`. */
  shape: Shape3;
  /** Voxel-to-world transform, 4×4 row-major, last row `[0, 0, 0, 1]`. */
  affine: number[][];
  /** Voxel size in mm. */
  spacing: Spacing3;
  /** The voxel type of `data`. */
  datatype: Datatype;
}

const CONSTRUCTORS = {
  uint8: Uint8Array,
  int8: Int8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  float32: Float32Array,
  float64: Float64Array,
} as const;

/** The {@link Datatype} of a typed array; throws for other array types. */
export function datatypeOf(data: VoxelArray): Datatype {
  for (const [name, ctor] of Object.entries(CONSTRUCTORS)) {
    if (data instanceof ctor) return name as Datatype;
  }
  throw new TypeError(
    `datatypeOf: unsupported array type ${(data as object).constructor?.name}`,
  );
}

/** A new zero-filled typed array of the given {@link Datatype}. */
export function allocate(datatype: Datatype, length: number): VoxelArray {
  const ctor = CONSTRUCTORS[datatype];
  if (!ctor) throw new TypeError(`allocate: unsupported datatype ${datatype}`);
  return new ctor(length);
}

/**
 * Number of voxels in a grid; throws unless every size is a positive integer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { voxelCount } from "./volume.ts";
 * assert.equal(voxelCount([2, 3, 4]), 24);
 * ```
 */
export function voxelCount(shape: readonly number[]): number {
  if (
    shape.length !== 3 || !shape.every((n) => Number.isInteger(n) && n > 0)
  ) {
    throw new RangeError(
      `voxelCount: shape [${shape}] is not three positive integers`,
    );
  }
  return shape[0] * shape[1] * shape[2];
}

/** A diagonal affine with the given spacing and an optional origin. */
export function diagonalAffine(
  spacing: Spacing3,
  origin: [number, number, number] = [0, 0, 0],
): number[][] {
  return [
    [spacing[0], 0, 0, origin[0]],
    [0, spacing[1], 0, origin[1]],
    [0, 0, spacing[2], origin[2]],
    [0, 0, 0, 1],
  ];
}

/** Voxel sizes implied by an affine: the lengths of its first three columns. */
export function spacingFromAffine(affine: number[][]): Spacing3 {
  const col = (c: number) => Math.hypot(affine[0][c], affine[1][c], affine[2][c]);
  return [col(0), col(1), col(2)];
}

/** Options of {@link makeVolume}. */
export interface MakeVolumeOptions {
  /** Voxel-to-world transform; default: diagonal from `spacing`. */
  affine?: number[][];
  /** Voxel size in mm; default: from `affine`, or 1 mm. */
  spacing?: Spacing3;
}

/**
 * Wraps a typed array as a {@link Volume}, checking that its length matches
 * the shape.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeVolume } from "./volume.ts";
 * const v = makeVolume(new Uint8Array(8), [2, 2, 2], { spacing: [1, 1, 2] });
 * assert.equal(v.affine[2][2], 2);
 * assert.equal(v.datatype, "uint8");
 * ```
 */
export function makeVolume<T extends VoxelArray>(
  data: T,
  shape: Shape3,
  options: MakeVolumeOptions = {},
): Volume<T> {
  const n = voxelCount(shape);
  if (data.length !== n) {
    throw new RangeError(
      `makeVolume: shape [${shape}] needs ${n} voxels, data has ${data.length}`,
    );
  }
  const spacing: Spacing3 = options.spacing ??
    (options.affine ? spacingFromAffine(options.affine) : [1, 1, 1]);
  const affine = options.affine?.map((r) => [...r]) ?? diagonalAffine(spacing);
  checkAffine(affine, "makeVolume");
  return {
    data,
    shape: [...shape],
    affine,
    spacing: [...spacing],
    datatype: datatypeOf(data),
  };
}

/** Throws unless `affine` is a finite 4×4 matrix with last row [0,0,0,1]. */
export function checkAffine(affine: number[][], where: string): void {
  const ok = affine.length === 4 &&
    affine.every((r) => r.length === 4 && r.every(Number.isFinite)) &&
    affine[3][0] === 0 && affine[3][1] === 0 && affine[3][2] === 0 &&
    affine[3][3] === 1;
  if (!ok) {
    throw new RangeError(
      `${where}: affine ${JSON.stringify(affine)} is not a finite 4x4 matrix ` +
        `with last row [0,0,0,1]`,
    );
  }
}

/**
 * True when two volumes share a grid: the same shape and affines equal within
 * `tol` (mm) element-wise.
 */
export function sameGrid(a: Volume, b: Volume, tol = 1e-3): boolean {
  if (a.shape.some((n, i) => n !== b.shape[i])) return false;
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) {
      if (Math.abs(a.affine[r][c] - b.affine[r][c]) > tol) return false;
    }
  }
  return true;
}

/** Number of nonzero voxels (the foreground size of a mask). */
export function countNonzero(data: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < data.length; i++) if (data[i] !== 0) n++;
  return n;
}

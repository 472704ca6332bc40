/**
 * Surfaces of binary masks: marching cubes with each cube split into six
 * tetrahedra (the Kuhn / Freudenthal decomposition around the cube's main
 * diagonal, the same in every cube, so neighbouring cubes cut their shared
 * faces along the same diagonal). Marching tetrahedra needs no 256-case table
 * and has no ambiguous cases: each tetrahedron contributes 0, 1 or 2
 * triangles, and the result is a closed, consistently oriented (outward)
 * surface with no cracks. Vertices sit at the midpoints of lattice edges
 * that join an inside and an outside voxel centre (the 0.5 iso-level of the
 * 0/1 mask). Voxels outside the grid count as outside, so the surface is
 * closed even where the mask touches the border.
 * @module
 */
import type { Shape3, Spacing3 } from "../data/volume.ts";

/** A triangle mesh: `positions` xyz per vertex (mm), `triangles` three vertex indices each. */
export interface Mesh {
  /** Vertex coordinates `[x0, y0, z0, x1, …]` in mm: voxel index × spacing. */
  positions: Float32Array;
  /** Vertex indices, three per triangle, counter-clockwise seen from outside. */
  triangles: Uint32Array;
}

// The six tetrahedra of a cube: corner bit masks (x = 1, y = 2, z = 4) along the
// monotone paths 000 → e_a → e_a + e_b → 111 for every axis order (a, b, c).
const TETS: number[][] = [[1, 2], [1, 4], [2, 1], [2, 4], [4, 1], [4, 2]].map(([a, b]) => [0, a, a | b, 7]);

/**
 * The surface of a binary mask (nonzero = inside) on a grid `shape` with
 * voxel size `spacing`; see the module notes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { marchingCubes, meshTopology, surfaceVolume } from "./marching_cubes.ts";
 * const mask = new Uint8Array(27);
 * mask[13] = 1; // the centre voxel of a 3×3×3 grid
 * const mesh = marchingCubes(mask, [3, 3, 3], [1, 1, 1]);
 * assert.equal(meshTopology(mesh).closed, true);
 * assert.ok(surfaceVolume(mesh) > 0 && surfaceVolume(mesh) < 1);
 * ```
 */
export function marchingCubes(mask: ArrayLike<number>, shape: Shape3, spacing: Spacing3 = [1, 1, 1]): Mesh {
  const [nx, ny, nz] = shape;
  if (mask.length !== nx * ny * nz) {
    throw new RangeError(`marchingCubes: shape [${shape}] needs ${nx * ny * nz} voxels, mask has ${mask.length}`);
  }
  // Bounding box of the mask; cubes from lo - 1 to hi cover every crossing.
  const lo = [nx, ny, nz], hi = [-1, -1, -1];
  for (let v = 0; v < mask.length; v++) {
    if (mask[v] === 0) continue;
    const p = [v % nx, Math.floor(v / nx) % ny, Math.floor(v / (nx * ny))];
    for (let a = 0; a < 3; a++) lo[a] = Math.min(lo[a], p[a]), hi[a] = Math.max(hi[a], p[a]);
  }
  const positions: number[] = [], triangles: number[] = [];
  if (hi[0] < 0) return { positions: new Float32Array(0), triangles: new Uint32Array(0) };

  const inside = (i: number, j: number, k: number) =>
    i >= 0 && j >= 0 && k >= 0 && i < nx && j < ny && k < nz && mask[i + nx * (j + ny * k)] !== 0;
  // Padded lattice index of a point, for edge keys.
  const px = nx + 2, py = ny + 2;
  const vertexOf = new Map<number, number>();
  const corner = [[0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]];
  const state = new Array<boolean>(8);
  const midpoint = (a: number[], b: number[]): number => {
    const [lo, hi] = a[0] + a[1] + a[2] <= b[0] + b[1] + b[2] ? [a, b] : [b, a];
    const code = (hi[0] - lo[0]) | ((hi[1] - lo[1]) << 1) | ((hi[2] - lo[2]) << 2);
    const key = ((lo[0] + 1) + px * ((lo[1] + 1) + py * (lo[2] + 1))) * 8 + code;
    let id = vertexOf.get(key);
    if (id === undefined) {
      id = positions.length / 3;
      for (let c = 0; c < 3; c++) positions.push(((a[c] + b[c]) / 2) * spacing[c]);
      vertexOf.set(key, id);
    }
    return id;
  };
  const emit = (ids: number[], into: number[][], out: number[][]) => {
    // Orient the (planar) polygon so its normal points from the inside corners to the outside ones.
    const p = ids.map((id) => [0, 1, 2].map((c) => positions[3 * id + c]));
    const e1 = [0, 1, 2].map((c) => p[1][c] - p[0][c]), e2 = [0, 1, 2].map((c) => p[2][c] - p[0][c]);
    const n = [e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2], e1[0] * e2[1] - e1[1] * e2[0]];
    const mean = (q: number[][], c: number) => (q.reduce((s, x) => s + x[c], 0) / q.length) * spacing[c];
    const dot = [0, 1, 2].reduce((s, c) => s + n[c] * (mean(out, c) - mean(into, c)), 0);
    const order = dot >= 0 ? ids : [...ids].reverse();
    for (let t = 1; t + 1 < order.length; t++) triangles.push(order[0], order[t], order[t + 1]);
  };

  for (let k = lo[2] - 1; k <= hi[2]; k++) {
    for (let j = lo[1] - 1; j <= hi[1]; j++) {
      for (let i = lo[0] - 1; i <= hi[0]; i++) {
        let count = 0;
        for (let b = 0; b < 8; b++) {
          const c = corner[b];
          c[0] = i + (b & 1), c[1] = j + ((b >> 1) & 1), c[2] = k + ((b >> 2) & 1);
          state[b] = inside(c[0], c[1], c[2]);
          if (state[b]) count++;
        }
        if (count === 0 || count === 8) continue;
        for (const tet of TETS) {
          const into = tet.filter((b) => state[b]).map((b) => corner[b]);
          const out = tet.filter((b) => !state[b]).map((b) => corner[b]);
          if (into.length === 0 || out.length === 0) continue;
          if (into.length === 2) {
            // Two in, two out: the four crossings form a parallelogram (Varignon).
            const [a, b] = into, [c, d] = out;
            emit([midpoint(a, c), midpoint(a, d), midpoint(b, d), midpoint(b, c)], into, out);
          } else {
            const [apex, others] = into.length === 1 ? [into[0], out] : [out[0], into];
            emit(others.map((o) => midpoint(apex, o)), into, out);
          }
        }
      }
    }
  }
  return { positions: Float32Array.from(positions), triangles: Uint32Array.from(triangles) };
}

/**
 * Enclosed volume (mm³) of a closed, outward-oriented mesh by the divergence
 * theorem: the sum over triangles of `p0 · (p1 × p2) / 6`.
 */
export function surfaceVolume(mesh: Mesh): number {
  const { positions: p, triangles: t } = mesh;
  let sum = 0;
  for (let f = 0; f < t.length; f += 3) {
    const a = 3 * t[f], b = 3 * t[f + 1], c = 3 * t[f + 2];
    sum += p[a] * (p[b + 1] * p[c + 2] - p[b + 2] * p[c + 1]) +
      p[a + 1] * (p[b + 2] * p[c] - p[b] * p[c + 2]) +
      p[a + 2] * (p[b] * p[c + 1] - p[b + 1] * p[c]);
  }
  return sum / 6;
}

/** Total triangle area (mm²). */
export function surfaceArea(mesh: Mesh): number {
  const { positions: p, triangles: t } = mesh;
  let sum = 0;
  for (let f = 0; f < t.length; f += 3) {
    const [a, b, c] = [3 * t[f], 3 * t[f + 1], 3 * t[f + 2]];
    const u = [p[b] - p[a], p[b + 1] - p[a + 1], p[b + 2] - p[a + 2]];
    const v = [p[c] - p[a], p[c + 1] - p[a + 1], p[c + 2] - p[a + 2]];
    sum += Math.hypot(u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]) / 2;
  }
  return sum;
}

/** Edge statistics of a mesh, see {@link meshTopology}. */
export interface MeshTopology {
  /** Number of distinct undirected edges. */
  edges: number;
  /** Edges used by exactly one triangle (holes). */
  boundaryEdges: number;
  /** Edges used by three or more triangles. */
  nonManifoldEdges: number;
  /** Directed edges used twice (neighbours wound inconsistently). */
  inconsistentEdges: number;
  /** True when every edge is shared by exactly two triangles, traversed once each way. */
  closed: boolean;
}

/** Counts how the triangles share their edges (closedness and consistent winding). */
export function meshTopology(mesh: Mesh): MeshTopology {
  const t = mesh.triangles, nv = mesh.positions.length / 3;
  const undirected = new Map<number, number>(), directed = new Map<number, number>();
  for (let f = 0; f < t.length; f += 3) {
    for (let e = 0; e < 3; e++) {
      const a = t[f + e], b = t[f + ((e + 1) % 3)];
      const key = Math.min(a, b) * nv + Math.max(a, b);
      undirected.set(key, (undirected.get(key) ?? 0) + 1);
      directed.set(a * nv + b, (directed.get(a * nv + b) ?? 0) + 1);
    }
  }
  let boundaryEdges = 0, nonManifoldEdges = 0, inconsistentEdges = 0;
  for (const n of undirected.values()) {
    if (n === 1) boundaryEdges++;
    else if (n > 2) nonManifoldEdges++;
  }
  for (const n of directed.values()) if (n > 1) inconsistentEdges++;
  return {
    edges: undirected.size,
    boundaryEdges,
    nonManifoldEdges,
    inconsistentEdges,
    closed: boundaryEdges === 0 && nonManifoldEdges === 0 && inconsistentEdges === 0,
  };
}

/**
 * Taubin λ|μ smoothing (Taubin 1995, "A signal processing approach to fair
 * surface design"): alternating shrink and inflate Laplacian steps that
 * remove the staircase of a voxel surface with little loss of volume. Returns
 * a new mesh with the same triangles.
 */
export function smoothMesh(mesh: Mesh, iterations = 10, lambda = 0.5, mu = -0.53): Mesh {
  const nv = mesh.positions.length / 3, t = mesh.triangles;
  const neighbours: Set<number>[] = Array.from({ length: nv }, () => new Set());
  for (let f = 0; f < t.length; f += 3) {
    for (let e = 0; e < 3; e++) neighbours[t[f + e]].add(t[f + ((e + 1) % 3)]).add(t[f + ((e + 2) % 3)]);
  }
  let p = Float32Array.from(mesh.positions);
  for (let it = 0; it < 2 * iterations; it++) {
    const w = it % 2 === 0 ? lambda : mu, next = new Float32Array(p.length);
    for (let v = 0; v < nv; v++) {
      const nb = neighbours[v];
      for (let c = 0; c < 3; c++) {
        let mean = 0;
        for (const u of nb) mean += p[3 * u + c];
        mean = nb.size ? mean / nb.size : p[3 * v + c];
        next[3 * v + c] = p[3 * v + c] + w * (mean - p[3 * v + c]);
      }
    }
    p = next;
  }
  return { positions: p, triangles: t };
}

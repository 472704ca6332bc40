import assert from "node:assert/strict";
import { Rng } from "../../tensor/random.ts";
import { connectedComponents, type Connectivity, removeSmallComponents } from "../../data/postprocess.ts";
import type { Shape3 } from "../../data/volume.ts";

function maskOf(shape: Shape3, inside: (x: number, y: number, z: number) => boolean): Uint8Array {
  const [nx, ny, nz] = shape;
  const m = new Uint8Array(nx * ny * nz);
  for (let z = 0, i = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++, i++) m[i] = inside(x, y, z) ? 1 : 0;
    }
  }
  return m;
}
const box = (lo: number[], hi: number[]) => (x: number, y: number, z: number) =>
  x >= lo[0] && x < hi[0] && y >= lo[1] && y < hi[1] && z >= lo[2] && z < hi[2];
const sum = (m: Uint8Array) => m.reduce((s, v) => s + v, 0);

/** Reference labelling: propagate the minimum voxel index until nothing changes. */
function referenceLabels(mask: Uint8Array, shape: Shape3, conn: Connectivity): Int32Array {
  const [nx, ny, nz] = shape;
  const lab = new Int32Array(mask.length).map((_, i) => (mask[i] ? i + 1 : 0));
  for (let changed = true; changed;) {
    changed = false;
    for (let i = 0; i < mask.length; i++) {
      if (!mask[i]) continue;
      const x = i % nx, y = Math.floor(i / nx) % ny, z = Math.floor(i / (nx * ny));
      for (let dz = -1; dz <= 1; dz++) {
        for (let dy = -1; dy <= 1; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            const order = Math.abs(dx) + Math.abs(dy) + Math.abs(dz);
            if (order === 0 || (conn === 6 && order > 1) || (conn === 18 && order > 2)) continue;
            const X = x + dx, Y = y + dy, Z = z + dz;
            if (X < 0 || Y < 0 || Z < 0 || X >= nx || Y >= ny || Z >= nz) continue;
            const j = X + nx * (Y + ny * Z);
            if (mask[j] && lab[j] < lab[i]) {
              lab[i] = lab[j];
              changed = true;
            }
          }
        }
      }
    }
  }
  return lab;
}

Deno.test("connectivity 6/18/26: edge neighbours join at 18, corner neighbours at 26", () => {
  const shape: Shape3 = [3, 3, 3];
  const edge = maskOf(shape, (x, y, z) => z === 0 && ((x === 0 && y === 0) || (x === 1 && y === 1)));
  const corner = maskOf(shape, (x, y, z) => (x === 0 && y === 0 && z === 0) || (x === 1 && y === 1 && z === 1));
  assert.deepEqual(connectedComponents(edge, shape, 6).sizes, [0, 1, 1]);
  assert.deepEqual(connectedComponents(edge, shape, 18).sizes, [0, 2]);
  assert.deepEqual(connectedComponents(corner, shape, 18).sizes, [0, 1, 1]);
  assert.deepEqual(connectedComponents(corner, shape, 26).sizes, [0, 2]);
});

Deno.test("components do not wrap around the end of a row", () => {
  const shape: Shape3 = [4, 3, 2];
  const m = new Uint8Array(24);
  m[3] = 1; // (3,0,0)
  m[4] = 1; // (0,1,0), next in memory but not a neighbour
  assert.deepEqual(connectedComponents(m, shape, 26).sizes, [0, 1, 1]);
});

Deno.test("connectedComponents matches label propagation on random masks", () => {
  const rng = new Rng(11);
  const shape: Shape3 = [10, 9, 8];
  for (const conn of [6, 18, 26] as Connectivity[]) {
    const m = maskOf(shape, () => rng.uniform() < 0.3);
    const { labels, sizes } = connectedComponents(m, shape, conn);
    const ref = referenceLabels(m, shape, conn);
    const pairs = new Map<number, number>();
    for (let i = 0; i < m.length; i++) {
      assert.equal(labels[i] === 0, ref[i] === 0);
      if (!m[i]) continue;
      const seen = pairs.get(labels[i]);
      if (seen === undefined) pairs.set(labels[i], ref[i]);
      else assert.equal(seen, ref[i], `voxel ${i} (connectivity ${conn})`);
    }
    assert.equal(new Set(pairs.values()).size, pairs.size); // a bijection
    assert.equal(sizes.reduce((s, x) => s + x, 0), sum(m));
  }
});

Deno.test("removeSmallComponents keeps 1000-voxel components and removes 999-voxel ones by default", () => {
  const shape: Shape3 = [40, 40, 30];
  const big = box([0, 0, 0], [10, 10, 10]); // 10·10·10 = 1000 voxels: kept
  const sheet = box([0, 12, 20], [37, 39, 21]); // 37·27·1 = 999 voxels: removed
  const bar = box([20, 0, 0], [21, 2, 30]); // 1·2·30 = 60 voxels: removed
  const slab = box([25, 0, 0], [40, 10, 7]); // 15·10·7 = 1050 voxels: kept
  const m = maskOf(shape, (x, y, z) => big(x, y, z) || sheet(x, y, z) || bar(x, y, z) || slab(x, y, z));
  assert.deepEqual(connectedComponents(m, shape).sizes.slice(1).sort((a, b) => a - b), [60, 999, 1000, 1050]);
  const kept = removeSmallComponents(m, shape);
  assert.deepEqual(kept, maskOf(shape, (x, y, z) => big(x, y, z) || slab(x, y, z)));
  assert.equal(sum(removeSmallComponents(m, shape, { minVoxels: 999 })), 1000 + 999 + 1050);
});

Deno.test("two 800-voxel blocks touching along an edge survive only with 18-connectivity", () => {
  const shape: Shape3 = [20, 20, 10];
  const m = maskOf(shape, (x, y, z) => z < 8 && ((x < 10 && y < 10) || (x >= 10 && y >= 10)));
  assert.equal(sum(m), 1600);
  assert.equal(sum(removeSmallComponents(m, shape)), 0);
  assert.equal(sum(removeSmallComponents(m, shape, { connectivity: 18 })), 1600);
  assert.equal(sum(removeSmallComponents(m, shape, { connectivity: 26 })), 1600);
});

Deno.test("removeSmallComponents with minMm3 uses the voxel volume", () => {
  const shape: Shape3 = [12, 12, 6];
  const m = maskOf(shape, (x, y, z) =>
    box([0, 0, 0], [5, 5, 5])(x, y, z) || // 125 voxels · 8 mm³ = 1000 mm³: kept
    box([7, 0, 0], [11, 12, 1])(x, y, z) // 4·12·1 = 48 voxels = 384 mm³: removed
  );
  const kept = removeSmallComponents(m, shape, { minMm3: 1000, spacing: [2, 2, 2] });
  assert.equal(sum(kept), 125);
  assert.throws(() => removeSmallComponents(m, shape, { minMm3: 1000 }), /minMm3 needs spacing/);
  assert.throws(() => removeSmallComponents(m, [12, 12, 5]), /shape \[12,12,5\] has 720 voxels, mask has 864/);
  assert.throws(() => connectedComponents(m, shape, 8 as Connectivity), /connectivity 8/);
});

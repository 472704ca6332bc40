import assert from "node:assert/strict";
import { Rng } from "../../tensor/random.ts";
import {
  aggregateMetrics,
  assd,
  dice,
  edtSquared,
  hausdorff,
  hd95,
  hdMax,
  percentile,
  segmentationMetrics,
  surfaceDistances,
  surfaceMask,
} from "../../data/metrics.ts";
import type { Shape3, Spacing3 } from "../../data/volume.ts";

/** A mask of the voxels for which `inside(x, y, z)` holds. */
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

function coords(shape: Shape3, mask: Uint8Array): number[][] {
  const out: number[][] = [];
  mask.forEach((v, i) => {
    if (v) out.push([i % shape[0], Math.floor(i / shape[0]) % shape[1], Math.floor(i / (shape[0] * shape[1]))]);
  });
  return out;
}

const dist2 = (p: number[], q: number[], s: Spacing3) =>
  ((p[0] - q[0]) * s[0]) ** 2 + ((p[1] - q[1]) * s[1]) ** 2 + ((p[2] - q[2]) * s[2]) ** 2;

/** Brute-force directed surface distances: every pair of surface voxels. */
function bruteDirected(from: number[][], to: number[][], s: Spacing3): number[] {
  return from.map((p) => Math.sqrt(Math.min(...to.map((q) => dist2(p, q, s)))));
}

const cube = (lo: number[], side: number) => (x: number, y: number, z: number) =>
  x >= lo[0] && x < lo[0] + side && y >= lo[1] && y < lo[1] + side && z >= lo[2] && z < lo[2] + side;

Deno.test("dice is 2|A∩B|/(|A|+|B|), 1 for two empty masks, 0 for disjoint ones", () => {
  assert.equal(dice([1, 1, 1, 0], [0, 1, 1, 1]), 2 * 2 / 6);
  assert.equal(dice([0, 0], [0, 0]), 1);
  assert.equal(dice([1, 0], [0, 5]), 0);
  assert.throws(() => dice([1], [1, 0]), /differ in length \(1 vs 2\)/);
});

Deno.test("surfaceMask is the mask minus its 6-erosion; the grid border counts as outside", () => {
  const shape: Shape3 = [5, 5, 5];
  const s = surfaceMask(maskOf(shape, cube([1, 1, 1], 3)), shape);
  assert.equal(s.reduce((a, b) => a + b, 0), 26);
  assert.equal(s[2 + 5 * (2 + 5 * 2)], 0); // the centre is interior
  const full = surfaceMask(new Uint8Array(27).fill(1), [3, 3, 3]);
  assert.equal(full.reduce((a, b) => a + b, 0), 26);
  assert.equal(full[13], 0);
});

Deno.test("edtSquared equals brute force on random masks with anisotropic spacing", () => {
  const rng = new Rng(7);
  const shapes: Shape3[] = [[7, 5, 6], [1, 9, 4], [6, 1, 1], [4, 4, 4]];
  for (const [t, shape] of shapes.entries()) {
    const spacing: Spacing3 = [rng.uniformIn(0.3, 3), rng.uniformIn(0.3, 3), rng.uniformIn(0.3, 3)];
    const density = [0.1, 0.02, 0.3, 0][t];
    const f = maskOf(shape, () => rng.uniform() < density);
    const feats = coords(shape, f);
    const all = coords(shape, new Uint8Array(f.length).fill(1));
    const edt = edtSquared(f, shape, spacing);
    all.forEach((p, i) => {
      const want = feats.length ? Math.min(...feats.map((q) => dist2(p, q, spacing))) : Infinity;
      assert.ok(
        want === edt[i] || Math.abs(want - edt[i]) < 1e-9 * Math.max(1, want),
        `shape [${shape}] voxel [${p}]: ${edt[i]} vs brute force ${want}`,
      );
    });
  }
});

Deno.test("two cubes offset by 3 voxels: hdMax 3, hd95 3, median 1.5, assd 1.5 (hand-counted)", () => {
  // Directed distances from each 4³ cube's 56 surface voxels: 16 at 0, 12 at 1, 12 at 2, 16 at 3.
  const shape: Shape3 = [12, 10, 10];
  const a = maskOf(shape, cube([2, 2, 2], 4));
  const b = maskOf(shape, cube([5, 2, 2], 4));
  assert.equal(hdMax(a, b, shape, [1, 1, 1]), 3);
  assert.equal(hd95(a, b, shape, [1, 1, 1]), 3);
  assert.equal(hausdorff(a, b, shape, [1, 1, 1], { percentile: 50 }), 1.5);
  assert.equal(assd(a, b, shape, [1, 1, 1]), 84 / 56);
  assert.equal(hdMax(a, b, shape, [2, 1, 1]), 6);
  assert.equal(assd(a, b, shape, [2, 1, 1]), 2 * 84 / 56);
  // Along y with spacing 2.5 mm: 3 voxels = 7.5 mm.
  const c = maskOf(shape, cube([2, 5, 2], 4));
  assert.equal(hdMax(a, c, shape, [1, 2.5, 1]), 7.5);
});

Deno.test("single-voxel masks: the distance is the anisotropic Euclidean norm", () => {
  const shape: Shape3 = [6, 6, 6];
  const a = maskOf(shape, (x, y, z) => x === 0 && y === 0 && z === 0);
  const b = maskOf(shape, (x, y, z) => x === 3 && y === 4 && z === 0);
  assert.equal(hdMax(a, b, shape, [1, 1, 1]), 5);
  assert.equal(hd95(a, b, shape, [2, 0.5, 3]), Math.sqrt(40));
  assert.equal(assd(a, b, shape, [1, 1, 1]), 5);
  assert.equal(hdMax(a, a, shape, [1, 1, 1]), 0);
});

Deno.test("a sphere against the same sphere shifted by t voxels has hdMax t·spacing", () => {
  // Every a ∈ ∂A has a + t ∈ ∂B (so d ≤ t), and the pole of A on the side
  // away from the shift is exactly t from the nearest voxel of B.
  const shape: Shape3 = [24, 22, 20];
  const ball = (c: number[], r: number) => (x: number, y: number, z: number) =>
    (x - c[0]) ** 2 + (y - c[1]) ** 2 + (z - c[2]) ** 2 <= r * r;
  const a = maskOf(shape, ball([10, 10, 10], 6));
  for (const [shift, spacing] of [[[3, 0, 0], [1, 1, 1]], [[0, 2, 0], [0.7, 1.8, 1.1]]] as [number[], Spacing3][]) {
    const b = maskOf(shape, ball([10 + shift[0], 10 + shift[1], 10 + shift[2]], 6));
    const t = Math.hypot(shift[0] * spacing[0], shift[1] * spacing[1], shift[2] * spacing[2]);
    assert.ok(Math.abs(hdMax(a, b, shape, spacing) - t) < 1e-12);
    // hd95 and assd against brute force over surface pairs.
    const sa = coords(shape, surfaceMask(a, shape)), sb = coords(shape, surfaceMask(b, shape));
    const ab = bruteDirected(sa, sb, spacing), ba = bruteDirected(sb, sa, spacing);
    const want95 = Math.max(percentile(ab, 95), percentile(ba, 95));
    assert.ok(Math.abs(hd95(a, b, shape, spacing) - want95) < 1e-12);
    assert.ok(want95 > 0 && want95 <= t);
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    assert.ok(Math.abs(assd(a, b, shape, spacing) - (mean(ab) + mean(ba)) / 2) < 1e-12);
  }
});

Deno.test("surface distances equal brute force on random blobs", () => {
  const rng = new Rng(3);
  const shape: Shape3 = [9, 8, 7];
  for (let trial = 0; trial < 5; trial++) {
    const a = maskOf(shape, () => rng.uniform() < 0.4);
    const b = maskOf(shape, () => rng.uniform() < 0.2);
    const spacing: Spacing3 = [rng.uniformIn(0.5, 2), rng.uniformIn(0.5, 2), rng.uniformIn(0.5, 2)];
    const d = surfaceDistances(a, b, shape, spacing);
    const sa = coords(shape, surfaceMask(a, shape)), sb = coords(shape, surfaceMask(b, shape));
    const ab = bruteDirected(sa, sb, spacing), ba = bruteDirected(sb, sa, spacing);
    ab.forEach((x, i) => assert.ok(Math.abs(x - d.aToB[i]) < 1e-12));
    ba.forEach((x, i) => assert.ok(Math.abs(x - d.bToA[i]) < 1e-12));
  }
});

Deno.test("empty masks: both empty gives 0, one empty gives Infinity", () => {
  const shape: Shape3 = [4, 4, 4];
  const empty = new Uint8Array(64), one = maskOf(shape, (x, y, z) => x + y + z === 3);
  assert.equal(hd95(empty, empty, shape, [1, 1, 1]), 0);
  assert.equal(assd(empty, empty, shape, [1, 1, 1]), 0);
  assert.equal(hd95(empty, one, shape, [1, 1, 1]), Infinity);
  assert.equal(hdMax(one, empty, shape, [1, 1, 1]), Infinity);
  assert.equal(assd(empty, one, shape, [1, 1, 1]), Infinity);
  const m = segmentationMetrics(empty, one, shape, [1, 1, 1], "s1");
  assert.deepEqual(m, { id: "s1", dice: 0, hd95: Infinity, hdMax: Infinity, assd: Infinity });
  assert.throws(() => hd95(one, one, [4, 4, 3], [1, 1, 1]), /shape \[4,4,3\] has 48 voxels, masks have 64/);
});

Deno.test("percentile interpolates linearly between order statistics", () => {
  assert.equal(percentile([3, 1, 2, 4], 50), 2.5);
  assert.equal(percentile([10, 0], 95), 9.5);
  assert.equal(percentile([7], 95), 7);
  assert.ok(Number.isNaN(percentile([], 50)));
  assert.throws(() => percentile([1], 101), /p = 101/);
});

Deno.test("aggregateMetrics counts missed subjects instead of dropping them", () => {
  const rows = [
    { id: "a", dice: 0.8, hd95: 2, hdMax: 4, assd: 1 },
    { id: "b", dice: 0.6, hd95: 4, hdMax: 8, assd: 3 },
    { id: "c", dice: 0, hd95: Infinity, hdMax: Infinity, assd: Infinity },
  ];
  const s = aggregateMetrics(rows);
  assert.equal(s.n, 3);
  assert.equal(s.missed, 1);
  assert.deepEqual(s.missedIds, ["c"]);
  assert.ok(Math.abs(s.mean.dice - 1.4 / 3) < 1e-15);
  assert.equal(s.mean.hd95, 3);
  assert.equal(s.mean.hdMax, 6);
  assert.equal(s.mean.assd, 2);
  assert.equal(s.std.hd95, Math.SQRT2);
  assert.throws(() => aggregateMetrics([{ ...rows[0], dice: NaN }]), /subject a has dice = NaN/);
  assert.ok(Number.isNaN(aggregateMetrics([rows[2]]).mean.hd95));
});

import assert from "node:assert/strict";
import { makePhantom } from "../../data/phantoms.ts";
import type { Shape3, Spacing3 } from "../../data/volume.ts";
import { marchingCubes, meshTopology, smoothMesh, surfaceArea, surfaceVolume } from "../../viz/marching_cubes.ts";

/** A ball of radius `r` mm centred off-grid, on voxels of size `spacing`; returns the mask and its voxel count. */
function ball(n: number, r: number, spacing: Spacing3): { mask: Uint8Array; shape: Shape3; voxels: number } {
  const mask = new Uint8Array(n * n * n);
  let voxels = 0;
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < n; i++) {
        const x = (i - n / 2 + 0.3) * spacing[0],
          y = (j - n / 2 - 0.2) * spacing[1],
          z = (k - n / 2 + 0.1) * spacing[2];
        if (x * x + y * y + z * z <= r * r) mask[i + n * (j + n * k)] = 1, voxels++;
      }
    }
  }
  return { mask, shape: [n, n, n], voxels };
}

Deno.test("a sphere's surface is closed and encloses its voxel volume within 5%", () => {
  for (const [r, spacing] of [[4, [1, 1, 1]], [10, [1, 1, 1]], [10, [0.8, 1, 1.6]]] as [number, Spacing3][]) {
    const { mask, shape, voxels } = ball(32, r, spacing);
    const mesh = marchingCubes(mask, shape, spacing);
    const topo = meshTopology(mesh);
    assert.equal(topo.boundaryEdges, 0, `r=${r}: holes`);
    assert.equal(topo.nonManifoldEdges, 0, `r=${r}: edges shared by 3+ triangles`);
    assert.equal(topo.inconsistentEdges, 0, `r=${r}: inconsistent winding`);
    assert.ok(topo.closed);
    assert.equal(topo.edges * 2, mesh.triangles.length, "every edge is shared by exactly two triangles");
    const voxelVolume = voxels * spacing[0] * spacing[1] * spacing[2];
    const ratio = surfaceVolume(mesh) / voxelVolume;
    assert.ok(Math.abs(ratio - 1) < 0.05, `r=${r} spacing ${spacing}: mesh/voxel volume ${ratio}`);
  }
});

Deno.test("the sphere surface has Euler characteristic 2 and an area near 4πr²", () => {
  const { mask, shape } = ball(32, 10, [1, 1, 1]);
  const mesh = marchingCubes(mask, shape);
  const v = mesh.positions.length / 3, f = mesh.triangles.length / 3, e = meshTopology(mesh).edges;
  assert.equal(v - e + f, 2);
  // A voxel surface is bumpy: its area exceeds the sphere's, but not by much after smoothing.
  const area = surfaceArea(smoothMesh(mesh, 10));
  assert.ok(area > 0.95 * 4 * Math.PI * 100 && area < 1.2 * 4 * Math.PI * 100, `area ${area}`);
});

Deno.test("triangles wind counter-clockwise seen from outside (positive enclosed volume)", () => {
  const mask = new Uint8Array(27);
  mask[13] = 1;
  const mesh = marchingCubes(mask, [3, 3, 3]);
  assert.ok(surfaceVolume(mesh) > 0);
  // Every face normal points away from the voxel centre (1, 1, 1).
  const p = mesh.positions, t = mesh.triangles;
  for (let f = 0; f < t.length; f += 3) {
    const [a, b, c] = [0, 1, 2].map((q) => [p[3 * t[f + q]], p[3 * t[f + q] + 1], p[3 * t[f + q] + 2]]);
    const u = [b[0] - a[0], b[1] - a[1], b[2] - a[2]], w = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
    const n = [u[1] * w[2] - u[2] * w[1], u[2] * w[0] - u[0] * w[2], u[0] * w[1] - u[1] * w[0]];
    assert.ok(n[0] * (a[0] - 1) + n[1] * (a[1] - 1) + n[2] * (a[2] - 1) > 0);
  }
});

Deno.test("masks touching the border, with several parts or a hole still give closed surfaces", () => {
  const full = marchingCubes(new Uint8Array(27).fill(1), [3, 3, 3]);
  assert.ok(meshTopology(full).closed);
  const shell = new Uint8Array(125).fill(1);
  shell[62] = 0; // a cavity in the middle of a 5³ block
  const hollow = marchingCubes(shell, [5, 5, 5]);
  assert.ok(meshTopology(hollow).closed);
  assert.ok(surfaceVolume(hollow) < surfaceVolume(marchingCubes(new Uint8Array(125).fill(1), [5, 5, 5])));
  const { label } = makePhantom({ task: "hippocampus", size: 40, seed: 2 });
  const hippo = marchingCubes(label.data, label.shape, label.spacing);
  assert.ok(hippo.triangles.length > 0 && meshTopology(hippo).closed);
});

Deno.test("an empty mask has an empty mesh, and a wrong length is an error", () => {
  const mesh = marchingCubes(new Uint8Array(8), [2, 2, 2]);
  assert.equal(mesh.triangles.length, 0);
  assert.equal(surfaceVolume(mesh), 0);
  assert.throws(() => marchingCubes(new Uint8Array(7), [2, 2, 2]), /shape \[2,2,2\] needs 8 voxels, mask has 7/);
});

Deno.test("Taubin smoothing keeps the triangles and nearly the volume", () => {
  const { mask, shape } = ball(28, 8, [1, 1, 1]);
  const mesh = marchingCubes(mask, shape);
  const smooth = smoothMesh(mesh, 10);
  assert.equal(smooth.triangles, mesh.triangles);
  assert.ok(Math.abs(surfaceVolume(smooth) / surfaceVolume(mesh) - 1) < 0.03);
});

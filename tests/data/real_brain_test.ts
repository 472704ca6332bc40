import assert from "node:assert/strict";
import { Rng } from "../../tensor/random.ts";
import { makeVolume, type Shape3 } from "../../data/volume.ts";
import { loadDataset } from "../../data/datasets.ts";
import { readNifti } from "../../data/nifti.ts";
import {
  loadRealBrainTemplate,
  makeRealBrainDataset,
  makeRealBrainSubject,
  MissingTemplateError,
  MRICRON_TEMPLATES,
  type RealBrainTemplate,
} from "../../data/real_brain.ts";
import type { Grid } from "../../data/resample.ts";

/** A 2 mm synthetic "template": an ellipsoidal brain (T1 brighter inside a core) and two atlas structures. */
function syntheticTemplate(): RealBrainTemplate {
  const n = 40, shape: Shape3 = [n, n, n], N = n ** 3;
  const affine = [[-2, 0, 0, 40], [0, 2, 0, -40], [0, 0, 2, -40], [0, 0, 0, 1]];
  const t1 = new Float32Array(N), brain = new Float32Array(N), atlas = new Uint8Array(N);
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < n; i++) {
        const p = i + n * (j + n * k), x = 40 - 2 * i, y = -40 + 2 * j, z = -40 + 2 * k;
        const r = Math.hypot(x / 34, y / 36, z / 30);
        t1[p] = r < 1.1 ? 60 + 100 * (1 - r) : 5; // a skull-ish rim outside the brain
        if (r < 1) brain[p] = 1;
        if (Math.hypot((x - 12) / 7, (y + 4) / 10, (z + 6) / 5) < 1) atlas[p] = 159;
        if (Math.hypot((x + 12) / 7, (y + 4) / 10, (z + 6) / 5) < 1) atlas[p] = 160;
        if (Math.hypot(x / 6, (y - 20) / 6, z / 6) < 1) atlas[p] = 3; // not the target
      }
    }
  }
  return {
    t1: makeVolume(t1, shape, { affine }),
    brain: makeVolume(brain, shape, { affine }),
    atlas: makeVolume(atlas, shape, { affine }),
    atlasLabels: [159, 160],
    source: "synthetic",
  };
}

/** A 2.5 mm grid over the template's field of view. */
const GRID: Grid = {
  shape: [32, 32, 32],
  affine: [[-2.5, 0, 0, 40], [0, 2.5, 0, -40], [0, 0, 2.5, -40], [0, 0, 0, 1]],
};

Deno.test("a subject without deformation keeps the label volume within 1% and the background exactly 0", () => {
  const t = syntheticTemplate();
  let atlasMm3 = 0;
  for (const v of t.atlas.data) atlasMm3 += v === 159 || v === 160 ? 8 : 0;
  const grid: Grid = { shape: [80, 80, 80], affine: [[-1, 0, 0, 40], [0, 1, 0, -40], [0, 0, 1, -40], [0, 0, 0, 1]] };
  const s = makeRealBrainSubject(t, new Rng(1), { grid, deformation: false });
  let n = 0;
  for (const v of s.label.data) n += v;
  assert.ok(Math.abs(n - atlasMm3) / atlasMm3 < 0.01, `${n} vs ${atlasMm3} mm³`);
  // Background (outside the brain mask and the label) is exactly 0; inside every voxel is >= 1.
  const X = 80;
  for (let k = 0; k < 80; k += 3) {
    for (let j = 0; j < 80; j += 3) {
      for (let i = 0; i < 80; i += 3) {
        const p = i + X * (j + X * k), x = 40 - i, y = -40 + j, z = -40 + k;
        const r = Math.hypot(x / 34, y / 36, z / 30);
        if (r > 1.05) assert.equal(s.image.data[p], 0, `(${i},${j},${k}) r ${r}`);
        if (r < 0.95) assert.ok(s.image.data[p] >= 1);
        if (s.label.data[p]) assert.ok(s.image.data[p] >= 1);
      }
    }
  }
});

Deno.test("the data set is written in both layouts, deterministic per seed, with distinct subjects", async () => {
  const t = syntheticTemplate(), dir = await Deno.makeTempDir();
  try {
    const seen: string[] = [];
    const a = await makeRealBrainDataset({
      out: `${dir}/a`,
      n: 3,
      seed: 5,
      grid: GRID,
      template: t,
      onProgress: (p) => seen.push(p.id),
    });
    assert.deepEqual(seen, ["sub1", "sub2", "sub3"]);
    await makeRealBrainDataset({ out: `${dir}/b`, n: 2, seed: 5, grid: GRID, template: t });
    const authors = await loadDataset(a.root);
    assert.equal(authors.layout, "authors");
    assert.deepEqual(authors.subjects.map((x) => x.id), ["sub1", "sub2", "sub3"]);
    assert.deepEqual(authors.lists?.train, ["sub1", "sub2"]);
    assert.deepEqual(authors.lists?.test, ["sub3"]);
    const msd = await loadDataset(a.msd);
    assert.equal(msd.layout, "msd");
    assert.equal(msd.subjects.length, 3);
    const bytes = (p: string) => Deno.readFile(p);
    // Same seed: the same files (the first subjects do not depend on n); the MSD files are the same scans.
    assert.deepEqual(await bytes(`${dir}/a/sub2/sub2_img.nii.gz`), await bytes(`${dir}/b/sub2/sub2_img.nii.gz`));
    assert.deepEqual(await bytes(`${dir}/a/sub1/sub1_mask.nii.gz`), await bytes(msd.subjects[0].labelPath!));
    const s1 = await readNifti(`${dir}/a/sub1/sub1_img.nii.gz`), s2 = await readNifti(`${dir}/a/sub2/sub2_img.nii.gz`);
    assert.deepEqual(s1.shape, [32, 32, 32]);
    assert.deepEqual(s1.affine, GRID.affine);
    assert.notDeepEqual(s1.data, s2.data);
    const record = JSON.parse(await Deno.readTextFile(`${dir}/a/real_brain.json`));
    assert.equal(record.seed, 5);
    assert.equal(record.subjects.length, 3);
    const names = [];
    for await (const e of Deno.readDir(`${dir}/a/sub1`)) names.push(e.name);
    assert.deepEqual(names.sort(), ["sub1_img.nii.gz", "sub1_mask.nii.gz"]); // no temp file left
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the tumour task labels synthetic lesions and lists every subject for pre-training", async () => {
  const t = syntheticTemplate(), dir = await Deno.makeTempDir();
  try {
    const grid: Grid = {
      shape: [64, 64, 64],
      affine: [[-1.25, 0, 0, 40], [0, 1.25, 0, -40], [0, 0, 1.25, -40], [0, 0, 0, 1]],
    };
    const r = await makeRealBrainDataset({ out: dir, n: 2, seed: 1, task: "tumour", grid, template: t });
    const ds = await loadDataset(dir);
    assert.deepEqual(ds.lists?.train, ["sub1", "sub2"]);
    for (const id of r.subjects) {
      const img = await readNifti(`${dir}/${id}/${id}_img.nii.gz`),
        lab = await readNifti(`${dir}/${id}/${id}_mask.nii.gz`);
      let n = 0;
      for (let p = 0; p < lab.data.length; p++) {
        if (!lab.data[p]) continue;
        n++;
        assert.ok(img.data[p] >= 1, "lesion voxels lie in the brain");
      }
      assert.ok(n * 1.25 ** 3 > 2000, `${id}: lesion ${n} voxels`);
    }
    // The hippocampus labels are gone: the label is the tumour.
    const rec = r.record.subjects as { lesions: unknown[] }[];
    assert.ok(rec.every((s) => s.lesions.length >= 1));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a missing template names the file and apt-get install mricron-data", async () => {
  await assert.rejects(
    () => loadRealBrainTemplate("/no/such/templates"),
    (e: Error) =>
      e instanceof MissingTemplateError && /\/no\/such\/templates\/ch2\.nii\.gz/.test(e.message) &&
      /apt-get install mricron-data/.test(e.message),
  );
});

const installed = await Deno.stat(`${MRICRON_TEMPLATES}/AICHAmc.nii.gz`).then(() => true, () => false);

Deno.test({
  name: "on the installed templates a coarse subject has hippocampus in both hemispheres",
  ignore: !installed,
  fn: async () => {
    const t = await loadRealBrainTemplate();
    const grid: Grid = { shape: [46, 55, 46], affine: [[-4, 0, 0, 90], [0, 4, 0, -126], [0, 0, 4, -72], [0, 0, 0, 1]] };
    const s = makeRealBrainSubject(t, new Rng(0), { grid });
    let left = 0, right = 0;
    for (let p = 0; p < s.label.data.length; p++) {
      if (!s.label.data[p]) continue;
      const x = 90 - 4 * (p % 46); // world x (LAS grid): left hemisphere is x < 0
      if (x < 0) left++;
      else right++;
    }
    assert.ok(left > 20 && right > 20, `left ${left}, right ${right} voxels of 64 mm³`);
  },
});

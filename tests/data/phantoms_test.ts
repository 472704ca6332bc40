import assert from "node:assert/strict";
import { makePhantom, TEMPLATE_SHAPE } from "../../data/phantoms.ts";
import { makePhantomDataset } from "../../data/phantom_dataset.ts";
import { readNifti } from "../../data/nifti.ts";
import { connectedComponents } from "../../data/postprocess.ts";

function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

/** Best Dice of any intensity window [lo, hi] used as a classifier (200-bin histogram). */
function bestWindowDice(img: Float32Array, lab: Uint8Array): number {
  let mx = 0;
  for (const v of img) mx = Math.max(mx, v);
  const B = 200, hl = new Float64Array(B), hn = new Float64Array(B);
  let total = 0;
  img.forEach((v, i) => {
    if (v <= 0) return;
    const b = Math.min(B - 1, Math.floor((v / mx) * B));
    if (lab[i]) {
      hl[b]++;
      total++;
    } else hn[b]++;
  });
  let best = 0;
  for (let i = 0; i < B; i++) {
    let tp = 0, fp = 0;
    for (let j = i; j < B; j++) {
      tp += hl[j];
      fp += hn[j];
      best = Math.max(best, (2 * tp) / (tp + fp + total));
    }
  }
  return best;
}

Deno.test("makePhantom is deterministic by seed", () => {
  const a = makePhantom({ task: "hippocampus", size: 32, seed: 5 });
  const b = makePhantom({ task: "hippocampus", size: 32, seed: 5 });
  const c = makePhantom({ task: "hippocampus", size: 32, seed: 6 });
  assert.deepEqual(a.image.data, b.image.data);
  assert.deepEqual(a.label.data, b.label.data);
  assert.notDeepEqual(a.image.data, c.image.data);
  const t1 = makePhantom({ task: "tumour", size: [20, 24, 20], seed: 9 });
  const t2 = makePhantom({ task: "tumour", size: [20, 24, 20], seed: 9 });
  assert.deepEqual(t1.label.data, t2.label.data);
});

Deno.test("a hippocampus phantom: skull-stripped brain, two elongated labelled structures inside it", () => {
  const p = makePhantom({ task: "hippocampus", size: [48, 56, 48], seed: 2 });
  assert.deepEqual(p.image.shape, [48, 56, 48]);
  assert.equal(p.image.datatype, "float32");
  assert.equal(p.label.datatype, "uint8");
  assert.deepEqual(p.image.spacing, [1, 1, 1]);
  const img = p.image.data, lab = p.label.data, n = img.length;
  const brain = img.filter((v) => v > 0).length;
  assert.ok(brain > 0.12 * n && brain < 0.3 * n, `brain fraction ${brain / n}`); // MNI: ~1.2–1.8 of 7.2 M voxels
  assert.equal(img[0], 0); // corner: background is exactly 0
  for (let i = 0; i < n; i++) {
    assert.ok(img[i] >= 0);
    if (lab[i]) assert.ok(img[i] > 0, "label inside the brain");
  }
  const { sizes } = connectedComponents(lab, p.label.shape, 6);
  assert.equal(sizes.length - 1, 2);
  assert.equal(p.structures.length, 2);
  assert.equal(sum(lab), sizes[1] + sizes[2]);
  // Each component is elongated along y (anterior–posterior) and its tail
  // (posterior end) rises: the z centroid of the posterior third is higher.
  const { labels } = connectedComponents(lab, p.label.shape, 6);
  const [nx, ny] = p.label.shape;
  for (const c of [1, 2]) {
    const pts: number[][] = [];
    labels.forEach((l, i) => {
      if (l === c) pts.push([i % nx, Math.floor(i / nx) % ny, Math.floor(i / (nx * ny))]);
    });
    const extent = [0, 1, 2].map((a) => Math.max(...pts.map((p) => p[a])) - Math.min(...pts.map((p) => p[a])) + 1);
    assert.ok(extent[1] > 1.5 * extent[0] && extent[1] > 1.5 * extent[2], `extent [${extent}]`);
    const ys = pts.map((p) => p[1]), y0 = Math.min(...ys), y1 = Math.max(...ys);
    const meanZ = (sel: number[][]) => sel.reduce((s, p) => s + p[2], 0) / sel.length;
    const back = pts.filter((p) => p[1] < y0 + (y1 - y0) / 3), front = pts.filter((p) => p[1] > y1 - (y1 - y0) / 3);
    assert.ok(meanZ(back) > meanZ(front), "the tail rises");
  }
});

Deno.test("hippocampi are 3.0–4.5 cm³ at the default 182×218×182 size, in MNI geometry", () => {
  const p = makePhantom({ task: "hippocampus", seed: 11 });
  assert.deepEqual(p.image.shape, TEMPLATE_SHAPE);
  assert.deepEqual(p.image.affine, [[-1, 0, 0, 90], [0, 1, 0, -126], [0, 0, 1, -72], [0, 0, 0, 1]]);
  for (const s of p.structures) {
    assert.ok(s.templateMm3 >= 3000 && s.templateMm3 <= 4500, `${s.name}: ${s.templateMm3} mm³`);
  }
  assert.equal(sum(p.label.data), p.structures[0].templateMm3 + p.structures[1].templateMm3);
  // Intensity overlaps grey matter: no intensity window segments it.
  assert.ok(bestWindowDice(p.image.data, p.label.data) < 0.15);
});

Deno.test("hippocampus intensity cannot be thresholded at small sizes either", () => {
  for (const seed of [1, 2, 3]) {
    const p = makePhantom({ task: "hippocampus", size: 64, seed });
    assert.ok(bestWindowDice(p.image.data, p.label.data) < 0.15, `seed ${seed}`);
  }
});

Deno.test("a tumour phantom labels 1–3 blobs inside the brain", () => {
  const counts = new Set<number>();
  for (let seed = 0; seed < 8; seed++) {
    const p = makePhantom({ task: "tumour", size: 32, seed });
    assert.ok(p.structures.length >= 1 && p.structures.length <= 3);
    assert.ok(p.structures.every((s) => s.name.startsWith("tumour")));
    counts.add(p.structures.length);
    const lab = p.label.data;
    assert.ok(sum(lab) > 0);
    lab.forEach((v, i) => v && assert.ok(p.image.data[i] > 0));
  }
  assert.ok(counts.size >= 2, `blob counts seen: ${[...counts]}`);
});

Deno.test("makePhantom rejects bad sizes and tasks", () => {
  assert.throws(() => makePhantom({ task: "hippocampus", size: 4 }), /size \[4,4,4\]/);
  assert.throws(() => makePhantom({ task: "liver" as "tumour", size: 16 }), /unknown task "liver"/);
});

Deno.test("makePhantomDataset writes the authors' layout with a seeded split", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lorapt-phantoms-" });
  try {
    const ds = await makePhantomDataset({ task: "hippocampus", n: 8, size: 16, seed: 3, dir });
    assert.deepEqual(ds.subjects.map((s) => s.id), ["sub1", "sub2", "sub3", "sub4", "sub5", "sub6", "sub7", "sub8"]);
    const { train, valid, test } = ds.split!;
    assert.equal(train.length, 5);
    assert.equal(valid.length, 1);
    assert.equal(test.length, 2);
    assert.deepEqual([...train, ...valid, ...test].sort(), ds.subjects.map((s) => s.id).sort());
    for (const [name, ids] of Object.entries(ds.split!)) {
      assert.equal(await Deno.readTextFile(`${dir}/${name}.txt`), ids.map((id) => `${id}\n`).join(""));
    }
    const img = await readNifti(`${dir}/sub3/sub3_img.nii.gz`);
    const mask = await readNifti(`${dir}/sub3/sub3_mask.nii.gz`);
    assert.deepEqual(img.shape, [16, 16, 16]);
    assert.equal(img.datatype, "float32");
    assert.equal(mask.datatype, "uint8");
    assert.ok(mask.data.every((v) => v === 0 || v === 1));
    assert.deepEqual(img.affine, mask.affine);
    // MNI-like: x flipped, origin at the same fraction of the grid as MNI (90,126,72)/(182,218,182).
    assert.deepEqual(img.affine, [[-1, 0, 0, 8], [0, 1, 0, -9], [0, 0, 1, -6], [0, 0, 0, 1]]);
    const again = await makePhantomDataset({ task: "hippocampus", n: 8, size: 16, seed: 3, dir: `${dir}/again` });
    assert.deepEqual(again.split, ds.split);
    assert.deepEqual((await readNifti(`${dir}/again/sub3/sub3_img.nii.gz`)).data, img.data);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("makePhantomDataset writes the MSD layout with dataset.json", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lorapt-phantoms-" });
  try {
    const ds = await makePhantomDataset({ task: "tumour", n: 2, size: 16, seed: 1, dir, layout: "msd" });
    const json = JSON.parse(await Deno.readTextFile(`${dir}/dataset.json`));
    assert.equal(json.numTraining, 2);
    assert.equal(json.tensorImageSize, "3D");
    assert.deepEqual(json.labels, { "0": "background", "1": "tumour" });
    assert.deepEqual(json.training, [
      { image: "./imagesTr/tumour_001.nii.gz", label: "./labelsTr/tumour_001.nii.gz" },
      { image: "./imagesTr/tumour_002.nii.gz", label: "./labelsTr/tumour_002.nii.gz" },
    ]);
    assert.equal(ds.split, undefined);
    for (const s of ds.subjects) {
      assert.deepEqual((await readNifti(s.label)).shape, [16, 16, 16]);
      assert.deepEqual((await readNifti(s.image)).shape, [16, 16, 16]);
    }
    await assert.rejects(makePhantomDataset({ task: "tumour", n: 0, dir }), /n = 0/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

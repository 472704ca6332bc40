import assert from "node:assert/strict";
import { makePhantom } from "../../data/phantoms.ts";
import { makePhantomDataset } from "../../data/phantom_dataset.ts";
import { writeNifti } from "../../data/nifti.ts";
import { makeVolume } from "../../data/volume.ts";
import {
  checkLabel,
  fewShotSplit,
  loadDataset,
  loadSubject,
  parseLabelMap,
  type Subject,
  writeSplit,
} from "../../data/datasets.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "lorapt-datasets-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => `sub${i + 1}`);

Deno.test("loadDataset reads the authors' layout with its train/valid/test lists", async () => {
  await withTempDir(async (dir) => {
    const made = await makePhantomDataset({ task: "hippocampus", n: 5, dir, size: 10, seed: 3, nTrain: 2 });
    const ds = await loadDataset(dir);
    assert.equal(ds.layout, "authors");
    assert.deepEqual(ds.subjects, made.subjects.map((s) => ({ id: s.id, imagePath: s.image, labelPath: s.label })));
    assert.deepEqual(ds.lists, made.split);
    // Natural order: sub10 after sub9, not after sub1.
    await Deno.mkdir(`${dir}/sub10`);
    await Deno.copyFile(made.subjects[0].image, `${dir}/sub10/sub10_img.nii.gz`);
    assert.deepEqual((await loadDataset(dir)).subjects.map((s) => s.id), [...ids(5), "sub10"]);
    assert.equal((await loadDataset(dir)).subjects[5].labelPath, undefined);
  });
});

Deno.test("loadDataset names the missing file of a listed subject", async () => {
  await withTempDir(async (dir) => {
    const made = await makePhantomDataset({ task: "hippocampus", n: 4, dir, size: 10, nTrain: 1 });
    const [trainId] = made.split!.train;
    await Deno.remove(`${dir}/${trainId}/${trainId}_mask.nii.gz`);
    await assert.rejects(loadDataset(dir), new RegExp(`train.txt.*${trainId}/${trainId}_mask.nii.gz does not exist`));
    await Deno.remove(`${dir}/${trainId}`, { recursive: true });
    await assert.rejects(loadDataset(dir), new RegExp(`${trainId}/${trainId}_img.nii.gz does not exist`));
    await assert.rejects(loadDataset(`${dir}/nowhere`), /nowhere not found/);
  });
});

Deno.test("loadDataset reads the MSD layout, with imagesTs as unannotated subjects", async () => {
  await withTempDir(async (dir) => {
    await makePhantomDataset({ task: "tumour", n: 2, dir, size: 10, layout: "msd" });
    const json = JSON.parse(await Deno.readTextFile(`${dir}/dataset.json`));
    await Deno.mkdir(`${dir}/imagesTs`);
    await Deno.copyFile(`${dir}/imagesTr/tumour_001.nii.gz`, `${dir}/imagesTs/tumour_101.nii.gz`);
    json.test = ["./imagesTs/tumour_101.nii.gz"];
    await Deno.writeTextFile(`${dir}/dataset.json`, JSON.stringify(json));
    const ds = await loadDataset(dir);
    assert.equal(ds.layout, "msd");
    assert.deepEqual(ds.subjects, [
      {
        id: "tumour_001",
        imagePath: `${dir}/imagesTr/tumour_001.nii.gz`,
        labelPath: `${dir}/labelsTr/tumour_001.nii.gz`,
      },
      {
        id: "tumour_002",
        imagePath: `${dir}/imagesTr/tumour_002.nii.gz`,
        labelPath: `${dir}/labelsTr/tumour_002.nii.gz`,
      },
      { id: "tumour_101", imagePath: `${dir}/imagesTs/tumour_101.nii.gz` },
    ]);
    const test = await loadSubject(ds.subjects[2]);
    assert.equal(test.label, undefined);
    await Deno.remove(`${dir}/labelsTr/tumour_002.nii.gz`);
    await assert.rejects(loadDataset(dir), /lists label .*labelsTr\/tumour_002.nii.gz, which does not exist/);
  });
});

Deno.test("fewShotSplit is deterministic by seed and independent of input order", () => {
  const all = ids(15);
  for (const nTrain of [5, 10]) {
    const a = fewShotSplit(all, { nTrain, seed: 1000 });
    assert.deepEqual(fewShotSplit([...all].reverse(), { nTrain, seed: 1000 }), a);
    assert.equal(a.seed, 1000);
    assert.equal(a.train.length, nTrain);
    assert.deepEqual([...a.train, ...a.test].sort(), [...all].sort(), "all others are test");
    assert.equal(a.train.filter((id) => a.test.includes(id)).length, 0);
    assert.deepEqual(a.valid, []);
  }
  const draws = new Set([1, 2, 3, 4, 5].map((seed) => fewShotSplit(all, { seed }).train.join()));
  assert.ok(draws.size >= 4, "different seeds draw different subjects");
  assert.deepEqual(fewShotSplit(all, { nTrain: 3, seed: 2 }).train, fewShotSplit(all, { nTrain: 3, seed: 2 }).train);
});

Deno.test("explicit lists override the seed; bad ids and overlaps are errors", () => {
  const all: Subject[] = ids(8).map((id) => ({ id, imagePath: `${id}.nii.gz` }));
  const a = fewShotSplit(all, { train: ["sub8", "sub2"], seed: 1 });
  assert.deepEqual(a, {
    seed: null,
    train: ["sub2", "sub8"],
    valid: [],
    test: ["sub1", "sub3", "sub4", "sub5", "sub6", "sub7"],
  });
  assert.deepEqual(fewShotSplit(all, { train: ["sub8", "sub2"], seed: 99 }), a);
  const b = fewShotSplit(all, { train: ["sub1"], test: ["sub3", "sub4"], valid: ["sub4"] });
  assert.deepEqual([b.train, b.valid, b.test], [["sub1"], ["sub4"], ["sub3", "sub4"]]);
  assert.throws(() => fewShotSplit(all, { train: ["sub9"] }), /train ids \[sub9\] are not subjects/);
  assert.throws(
    () => fewShotSplit(all, { train: ["sub1"], test: ["sub1", "sub2"] }),
    /\[sub1\] are in both train and test/,
  );
  assert.throws(() => fewShotSplit(all, { nTrain: 8 }), /nTrain 8 must be in 1\.\.7/);
});

Deno.test("writeSplit writes the split as JSON next to the results", async () => {
  await withTempDir(async (dir) => {
    const split = fewShotSplit(ids(6), { nTrain: 5, seed: 4 });
    const path = await writeSplit(`${dir}/results/run1`, split, { dataset: "/data/eadc", nTrain: 5 });
    assert.equal(path, `${dir}/results/run1/split.json`);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(path)), { dataset: "/data/eadc", nTrain: 5, ...split });
  });
});

Deno.test("loadSubject: a grid mismatch names both files (shape, or affine beyond 1e-3)", async () => {
  await withTempDir(async (dir) => {
    const { image, label } = makePhantom({ task: "hippocampus", size: 24, seed: 1 });
    const imagePath = `${dir}/img.nii.gz`, labelPath = `${dir}/mask.nii.gz`;
    await writeNifti(imagePath, image);
    const subject = { id: "s1", imagePath, labelPath };
    // Shape differs.
    await writeNifti(labelPath, makeVolume(label.data.slice(0, 24 * 24 * 23), [24, 24, 23]));
    await assert.rejects(loadSubject(subject), (e: Error) => {
      assert.match(e.message, /img\.nii\.gz.*\[24,24,24\].*mask\.nii\.gz.*\[24,24,23\].*not on the same grid/);
      return true;
    });
    // Affine differs by 0.01 mm in the origin: error; by 1e-4 mm: accepted.
    const shifted = (d: number) => label.affine.map((r, i) => i === 0 ? [r[0], r[1], r[2], r[3] + d] : [...r]);
    await writeNifti(labelPath, makeVolume(label.data, [24, 24, 24], { affine: shifted(0.01) }));
    await assert.rejects(loadSubject(subject), new RegExp(`${imagePath}.*${labelPath}.*not on the same grid`));
    await writeNifti(labelPath, makeVolume(label.data, [24, 24, 24], { affine: shifted(1e-4) }));
    const ok = await loadSubject(subject);
    assert.deepEqual(ok.label!.data, label.data);
    assert.ok(ok.image.data instanceof Float32Array);
  });
});

Deno.test("loadSubject: label values outside {0,1} name the file and values; a label map merges them", async () => {
  await withTempDir(async (dir) => {
    const imagePath = `${dir}/img.nii`, labelPath = `${dir}/aal.nii.gz`;
    await writeNifti(imagePath, makeVolume(Int16Array.from({ length: 64 }, (_, i) => i), [4, 4, 4]));
    const aal = Int16Array.from({ length: 64 }, (_, i) => [0, 37, 38, 5][i % 4]);
    await writeNifti(labelPath, makeVolume(aal, [4, 4, 4]));
    const subject = { id: "aal", imagePath, labelPath };
    await assert.rejects(
      loadSubject(subject),
      new RegExp(
        `${labelPath}: label values outside \\{0, 1\\}: 5 \\(16 voxels\\), 37 \\(16 voxels\\), 38 \\(16 voxels\\)`,
      ),
    );
    const s = await loadSubject(subject, { labelMap: parseLabelMap("37,38:1") });
    assert.deepEqual([...s.label!.data.slice(0, 8)], [0, 1, 1, 0, 0, 1, 1, 0]);
    assert.equal(s.image.datatype, "float32");
    assert.equal(s.image.data[63], 63);
    await assert.rejects(loadSubject(subject, { labelMap: { 37: 2 } }), /after the label map: 2 \(16 voxels\)/);
    await assert.rejects(
      loadSubject({ ...subject, labelPath: `${dir}/missing.nii.gz` }),
      new RegExp(`label file ${dir}/missing.nii.gz does not exist`),
    );
  });
});

Deno.test("checkLabel accepts float {0,1} labels and parseLabelMap rejects malformed text", () => {
  const v = makeVolume(new Float32Array([0, 1, 1, 0]), [2, 2, 1]);
  const out = checkLabel(v, "x.nii");
  assert.deepEqual([...out.data], [0, 1, 1, 0]);
  assert.equal(out.datatype, "uint8");
  assert.throws(
    () => checkLabel(makeVolume(new Float32Array([0.5, 1]), [2, 1, 1]), "y.nii"),
    /y\.nii.*0\.5 \(1 voxels\)/,
  );
  assert.deepEqual(parseLabelMap("1:1; 2,4:1"), { 1: 1, 2: 1, 4: 1 });
  assert.throws(() => parseLabelMap("37-38"), /"37-38" is not/);
});

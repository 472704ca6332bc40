import assert from "node:assert/strict";
import {
  bratsChannel,
  bratsSplit,
  loadBrats,
  loadBratsSubject,
  parseBratsModalities,
  writeBratsSplit,
} from "../../data/brats.ts";
import { makeBratsPhantomDataset } from "../../data/brats_phantoms.ts";
import { readNifti, writeNifti } from "../../data/nifti.ts";
import { makePhantom } from "../../data/phantoms.ts";
import { Rng } from "../../tensor/random.ts";

const SIZE = 24;
const ALL = ["t1", "t1ce", "t2", "flair"] as const;

/** A fresh miniature BraTS folder of 3 phantom subjects (24³, all four modalities). */
async function withBrats(fn: (dir: string, ids: string[]) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "lorapt-brats-" });
  try {
    await fn(dir, await makeBratsPhantomDataset({ dir, n: 3, size: SIZE, seed: 5 }));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const file = (dir: string, id: string, m: string) => `${dir}/${id}/${id}_${m}.nii.gz`;
const values = (a: ArrayLike<number>) => [...new Set(Array.from(a))].sort((x, y) => x - y);

Deno.test("makeBratsPhantomDataset writes the BraTS layout: four int16 sequences and a 1/2/4 seg from the phantom", async () => {
  await withBrats(async (dir, ids) => {
    assert.deepEqual(ids, ["BraTS2021_00000", "BraTS2021_00001", "BraTS2021_00002"]);
    const seeds = new Rng(5);
    const labels = new Set<number>();
    for (const id of ids) {
      const phantom = makePhantom({ task: "tumour", size: SIZE, seed: seeds.next() });
      const seg = await readNifti(file(dir, id, "seg"));
      values(seg.data).forEach((v) => labels.add(v));
      // Merged, the shells are exactly the phantom's tumour label.
      assert.deepEqual(Array.from(seg.data, (v) => v > 0 ? 1 : 0), Array.from(phantom.label.data));
      const images = await Promise.all(ALL.map((m) => readNifti(file(dir, id, m))));
      for (const img of images) {
        assert.equal(img.datatype, "int16");
        assert.deepEqual(img.shape, [SIZE, SIZE, SIZE]);
        // Same brain mask in every sequence: background 0, brain >= 1.
        assert.ok(img.data.every((v, i) => (v > 0) === (phantom.image.data[i] > 0)));
      }
      // Different contrasts: no two sequences are equal.
      for (let a = 0; a < 4; a++) {
        for (let b = a + 1; b < 4; b++) assert.notDeepEqual(images[a].data, images[b].data);
      }
    }
    assert.deepEqual(values([...labels]), [0, 1, 2, 4], "NCR, ED and ET all occur");
    // Deterministic by seed.
    const again = await Deno.makeTempDir({ prefix: "lorapt-brats-" });
    try {
      await makeBratsPhantomDataset({ dir: again, n: 1, size: SIZE, seed: 5 });
      const [x, y] = [file(dir, ids[0], "flair"), file(again, ids[0], "flair")];
      assert.deepEqual((await readNifti(x)).data, (await readNifti(y)).data);
    } finally {
      await Deno.remove(again, { recursive: true });
    }
  });
});

Deno.test("loadBrats finds subjects in natural order with T1ce by default and merged labels", async () => {
  await withBrats(async (dir, ids) => {
    const ds = await loadBrats(dir);
    assert.deepEqual(ds.modalities, ["t1ce"]);
    assert.equal(ds.mergeLabels, true);
    assert.equal(ds.classes, 2);
    assert.equal(ds.lists, undefined);
    assert.deepEqual(ds.subjects.map((s) => s.id), ids);
    assert.deepEqual(ds.subjects[0].images, Object.fromEntries(ALL.map((m) => [m, file(dir, ids[0], m)])));
    assert.equal(ds.subjects[0].segPath, file(dir, ids[0], "seg"));
    // Natural order, `.nii` accepted, folders without BraTS files ignored.
    await Deno.mkdir(`${dir}/notes`);
    for (const id of ["BraTS2021_10", "BraTS2021_9"]) {
      await Deno.mkdir(`${dir}/${id}`);
      for (const m of ["t1ce", "seg"]) {
        await writeNifti(`${dir}/${id}/${id}_${m}.nii`, await readNifti(file(dir, ids[0], m)));
      }
    }
    const more = await loadBrats(dir);
    assert.deepEqual(more.subjects.map((s) => s.id), [...ids, "BraTS2021_9", "BraTS2021_10"]);
    assert.equal(more.subjects[4].images.t1ce, `${dir}/BraTS2021_10/BraTS2021_10_t1ce.nii`);
    assert.equal(more.subjects[4].images.flair, undefined);
  });
});

Deno.test("loadBratsSubject gives 1 channel by default and 4 with all modalities, z-scored over the brain", async () => {
  await withBrats(async (dir) => {
    const [subject] = (await loadBrats(dir)).subjects;
    const seg = await readNifti(subject.segPath);
    const one = await loadBratsSubject(subject);
    const n = SIZE ** 3;
    assert.equal(one.channels, 1);
    assert.equal(one.image.length, n);
    assert.deepEqual(values(one.label.data), [0, 1]);
    assert.deepEqual(Array.from(one.label.data), Array.from(seg.data, (v) => v > 0 ? 1 : 0));
    const four = await loadBratsSubject(subject, { modalities: ["flair", "t1", "t1ce", "t2"] });
    assert.equal(four.channels, 4);
    assert.deepEqual(four.modalities, ["flair", "t1", "t1ce", "t2"]);
    assert.equal(four.image.length, 4 * n);
    assert.deepEqual(bratsChannel(four, 2).data, one.image, "channels follow the order given");
    for (const [c, m] of four.modalities.entries()) {
      const raw = await readNifti(subject.images[m]!);
      const ch = bratsChannel(four, c).data;
      const brain = ch.filter((_, i) => raw.data[i] > 0);
      const mean = brain.reduce((s, v) => s + v, 0) / brain.length;
      const sd = Math.sqrt(brain.reduce((s, v) => s + (v - mean) ** 2, 0) / brain.length);
      assert.ok(Math.abs(mean) < 1e-4 && Math.abs(sd - 1) < 1e-4, `${m}: mean ${mean} sd ${sd}`);
      assert.ok(ch.every((v, i) => raw.data[i] > 0 || v === 0), `${m}: background stays 0`);
    }
    assert.equal(bratsChannel(four, 0).shape, four.label.shape);
    assert.throws(() => bratsChannel(four, 4), /BraTS2021_00000 has channels 0\.\.3, not 4/);
  });
});

Deno.test("mergeLabels false keeps NCR, ED and ET as the contiguous classes 1, 2, 3", async () => {
  await withBrats(async (dir) => {
    const ds = await loadBrats(dir, { mergeLabels: false });
    assert.equal(ds.classes, 4);
    const s = await loadBratsSubject(ds.subjects[1], { mergeLabels: ds.mergeLabels });
    const seg = await readNifti(ds.subjects[1].segPath);
    assert.deepEqual(Array.from(s.label.data), Array.from(seg.data, (v) => [0, 1, 2, -1, 3][v]));
    assert.deepEqual(values(s.label.data), [0, 1, 2, 3]);
  });
});

Deno.test("a label value outside 0, 1, 2, 4 is an error naming the file and the value", async () => {
  await withBrats(async (dir, ids) => {
    const path = file(dir, ids[0], "seg");
    const seg = await readNifti(path);
    seg.data[seg.data.indexOf(2)] = 3;
    await writeNifti(path, seg);
    const [subject] = (await loadBrats(dir)).subjects;
    await assert.rejects(
      loadBratsSubject(subject),
      (e: Error) => e.message.includes(path) && /3 \(1 voxels\)/.test(e.message),
    );
  });
});

Deno.test("a missing modality file fails naming the subject and the file", async () => {
  await withBrats(async (dir, ids) => {
    await Deno.remove(file(dir, ids[1], "flair"));
    await loadBrats(dir); // T1ce only: flair is not needed
    await assert.rejects(
      loadBrats(dir, { modalities: ["t1ce", "flair"] }),
      (e: Error) => e.message.includes(`subject ${ids[1]}`) && e.message.includes(file(dir, ids[1], "flair")),
    );
    await Deno.remove(file(dir, ids[2], "seg"));
    await assert.rejects(loadBrats(dir), new RegExp(`${ids[2]} has no segmentation file: .*${ids[2]}_seg\\.nii\\.gz`));
    await assert.rejects(loadBrats(`${dir}/nowhere`), /nowhere not found/);
    assert.throws(() => parseBratsModalities("t1ce,dwi"), /dwi.*t1, t1ce, t2, flair/);
  });
});

Deno.test("a modality on another grid fails naming both files", async () => {
  await withBrats(async (dir, ids) => {
    const t2 = file(dir, ids[0], "t2");
    const other = makePhantom({ task: "tumour", size: [SIZE, SIZE, SIZE - 2], seed: 1 });
    await writeNifti(t2, other.image);
    const [subject] = (await loadBrats(dir, { modalities: [...ALL] })).subjects;
    await assert.rejects(loadBratsSubject(subject), (e: Error) => {
      assert.ok(e.message.includes(file(dir, ids[0], "t1")) && e.message.includes(t2), e.message);
      return /not on the same grid/.test(e.message);
    });
    await loadBratsSubject(subject, { modalities: ["t1ce"] }); // the other files are fine
    const { t1: _, ...noT1 } = subject.images;
    await assert.rejects(loadBratsSubject({ ...subject, images: noT1 }), /BraTS2021_00000: loadBrats found no t1 file/);
    // An affine that differs beyond the tolerance is a mismatch too.
    const seg = await readNifti(subject.segPath);
    seg.affine[0][3] += 0.5;
    await writeNifti(subject.segPath, seg);
    await assert.rejects(loadBratsSubject(subject, { modalities: ["t1ce"] }), /t1ce\.nii\.gz .* and .*_seg\.nii\.gz/);
  });
});

Deno.test("bratsSplit draws 1000/125/126 by seed, scales to other sizes and follows explicit lists", () => {
  const ids = Array.from({ length: 1251 }, (_, i) => `BraTS2021_${String(i * 2).padStart(5, "0")}`);
  const a = bratsSplit(ids, { seed: 3 });
  assert.deepEqual([a.train.length, a.valid.length, a.test.length], [1000, 125, 126]);
  assert.equal(a.seed, 3);
  assert.deepEqual(new Set([...a.train, ...a.valid, ...a.test]).size, 1251);
  assert.deepEqual(bratsSplit([...ids].reverse(), { seed: 3 }), a, "independent of input order");
  assert.notDeepEqual(bratsSplit(ids, { seed: 4 }).train, a.train);
  // Other sizes: the same proportions, at least one valid and one test subject.
  const three = ids.slice(0, 3);
  const small = bratsSplit(three, { seed: 1 });
  assert.deepEqual([small.train.length, small.valid.length, small.test.length], [1, 1, 1]);
  assert.deepEqual(bratsSplit(three, { seed: 1 }), small);
  const hundred = bratsSplit(ids.slice(0, 100));
  assert.deepEqual([hundred.train.length, hundred.valid.length, hundred.test.length], [80, 10, 10]);
  // Explicit counts: test is the rest; counts that do not add up are errors.
  const two = bratsSplit(three, { train: 2, valid: 0, seed: 1 });
  assert.deepEqual([two.train.length, two.valid.length, two.test.length], [2, 0, 1]);
  assert.throws(() => bratsSplit(three, { train: 1000 }), /train 1000 \+ valid 125 \+ test -1122 does not split 3/);
  // Explicit lists override the draw; the test list defaults to the rest.
  const lists = { train: [three[2], three[0]], valid: [three[1]] };
  assert.deepEqual(bratsSplit(three, { seed: 9, lists }), {
    seed: null,
    train: [three[0], three[2]],
    valid: [three[1]],
    test: [],
  });
  assert.throws(() => bratsSplit(three, { lists: { train: ["BraTS2021_99999"] } }), /train ids \[BraTS2021_99999\]/);
  assert.throws(() => bratsSplit(three, { lists: { train: [three[0]], test: [three[0]] } }), /test ids.*another list/);
});

Deno.test("loadBrats reads train/valid/test lists and writeBratsSplit records the split next to the run", async () => {
  await withBrats(async (dir, ids) => {
    await Deno.writeTextFile(`${dir}/train.txt`, `${ids[2]}\n${ids[0]}\n`);
    await Deno.writeTextFile(`${dir}/valid.txt`, `${ids[1]}\n`);
    const ds = await loadBrats(dir, { modalities: ["t2", "t1ce"] });
    assert.deepEqual(ds.lists, { train: [ids[2], ids[0]], valid: [ids[1]] });
    const split = bratsSplit(ds.subjects.map((s) => s.id), { lists: ds.lists });
    const run = `${dir}/run`;
    const path = await writeBratsSplit(run, split, ds);
    assert.equal(path, `${run}/split.json`);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(path)), {
      dataset: "brats",
      root: dir,
      modalities: ["t2", "t1ce"],
      mergeLabels: true,
      seed: null,
      train: [ids[0], ids[2]],
      valid: [ids[1]],
      test: [],
    });
    await Deno.writeTextFile(`${dir}/test.txt`, "BraTS2021_77777\n");
    await assert.rejects(loadBrats(dir), /test\.txt names \[BraTS2021_77777\]/);
  });
});

/**
 * `lorapt predict` with a run pre-trained on four BraTS modalities (issue 10):
 * BraTS folders and subject folders as input, the run's channel order and
 * per-channel z-scores, the first modality's grid, three-class labels written
 * as the BraTS values 1, 2, 4, `--subjects test` from the run's split.json,
 * and one-line errors (exit 2) for a missing modality and a single image.
 */
import assert from "node:assert/strict";
import {
  type BatchShape,
  loadBrats,
  loadBratsSubject,
  makeBratsPhantomDataset,
  readNifti,
  Rng,
  slidingWindowInference,
  type Volume,
  zScore,
} from "../../data/mod.ts";
import { fromArray, tidy } from "../../tensor/mod.ts";
import { loadCheckpoint } from "../../train/mod.ts";
import { PRETRAIN, runPretrain } from "../../cli/train_cmd.ts";
import { PREDICT, runPredict } from "../../cli/predict_cmd.ts";
import { runCommand } from "../../cli/run.ts";
import type { CommandSpec, FlagValues } from "../../cli/args.ts";
import { unetrFromRecord } from "../../cli/model_io.ts";

const ALL = "t1,t1ce,t2,flair";
const TINY = ["--model", "unetr-tiny", "--img-size", "16", "--epochs", "1", "--batch-size", "1", "--val-every", "0"];
const QUIET = ["--quiet", "--backend", "cpu"];

async function cli(
  spec: CommandSpec,
  fn: (v: FlagValues) => Promise<unknown>,
  args: string[],
): Promise<{ code: number; err: string[] }> {
  const err: string[] = [];
  const code = await runCommand(spec, fn, args, { log: () => {}, error: (m) => err.push(m) });
  return { code, err };
}

const predict = (args: string[]) => cli(PREDICT, runPredict, [...args, ...QUIET]);
const file = (data: string, id: string, m: string) => `${data}/${id}/${id}_${m}.nii.gz`;
const values = (a: ArrayLike<number>) => [...new Set(Array.from(a))].sort((x, y) => x - y);

/**
 * What predict must write without post-processing, computed here from the
 * files: each modality in the run's order z-scored over its voxels > 0, the
 * run's one checkpoint over 16³ windows, argmax, then `classValues`.
 */
async function expectedLabels(run: string, data: string, id: string, classValues: number[]): Promise<number[]> {
  const config = JSON.parse(await Deno.readTextFile(`${run}/config.json`));
  const channels: Volume[] = [];
  for (const m of config.brats.modalities) {
    const v = await readNifti(file(data, id, m));
    const f32: Volume<Float32Array> = { ...v, data: Float32Array.from(v.data), datatype: "float32" };
    channels.push(zScore()({ image: f32 }, new Rng(0)).image);
  }
  // The same preprocessing as the training data.
  const ds = await loadBrats(data, { modalities: config.brats.modalities, mergeLabels: config.brats.mergeLabels });
  const trained = await loadBratsSubject(ds.subjects.find((s) => s.id === id)!);
  assert.deepEqual(trained.image, Float32Array.from(channels.flatMap((c) => [...c.data])));
  const model = unetrFromRecord(config.model, run);
  model.loadStateDict(await loadCheckpoint(`${run}/model_epoch_0.safetensors`));
  model.eval();
  const predictor = async (batch: Float32Array, shape: BatchShape) => {
    const y = tidy(() => model.forward(fromArray(batch.slice(), shape)));
    const out = await y.data();
    y.dispose();
    return out as Float32Array;
  };
  const r = await slidingWindowInference(channels, predictor, { window: 16 });
  return Array.from(r.labels.data, (c) => classValues[c]);
}

Deno.test({
  name: "lorapt predict on a four-modality BraTS run: label maps on the t1 grid, BraTS values, the run's channels",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "lorapt-predict-brats-" });
    try {
      const data = `${dir}/BraTS2021`;
      const ids = await makeBratsPhantomDataset({ dir: data, n: 3, size: [24, 20, 18], seed: 4 });
      const three = `${dir}/run-three`, merged = `${dir}/run-merged`;
      for (const [run, extra] of [[three, ["--three-class"]], [merged, []]] as const) {
        const args = ["--data", data, "--out", run, "--modalities", ALL, ...extra, ...TINY, ...QUIET];
        const r = await cli(PRETRAIN, runPretrain, args);
        assert.equal(r.code, 0, r.err.join("\n"));
      }

      // Three classes: every subject of the folder, NCR/ED/ET written back as 1/2/4.
      const out = `${dir}/pred-three`;
      const r = await predict(["--run", three, "--input", data, "--out", out, "--min-mm3", "0"]);
      assert.equal(r.code, 0, r.err.join("\n"));
      const seen = new Set<number>();
      for (const id of ids) {
        const p = await readNifti(`${out}/${id}.nii.gz`);
        const t1 = await readNifti(file(data, id, "t1"));
        assert.deepEqual(p.shape, [24, 20, 18]);
        assert.deepEqual(p.shape, t1.shape);
        assert.deepEqual(p.affine, t1.affine);
        assert.deepEqual(p.spacing, t1.spacing);
        values(p.data).forEach((x) => seen.add(x));
        assert.deepEqual(Array.from(p.data), await expectedLabels(three, data, id, [0, 1, 2, 4]), id);
      }
      assert.ok([...seen].every((x) => [0, 1, 2, 4].includes(x)), `values ${[...seen]}`);
      assert.ok(seen.size > 2, `the untrained model predicts several classes, got ${[...seen]}`);

      // Merged labels: 0/1 only; --subjects test writes the split's test subjects and no other.
      const split = JSON.parse(await Deno.readTextFile(`${merged}/split.json`));
      const outTest = `${dir}/pred-test`;
      const rt = await predict(["--run", merged, "--input", `${data}/`, "--out", outTest, "--subjects", "test"]);
      assert.equal(rt.code, 0, rt.err.join("\n"));
      assert.deepEqual(
        [...Deno.readDirSync(outTest)].map((e) => e.name),
        split.test.map((id: string) => `${id}.nii.gz`),
      );
      const pm = await readNifti(`${outTest}/${split.test[0]}.nii.gz`);
      assert.ok(pm.data.every((x) => x === 0 || x === 1));

      // One subject folder is a scan too, and gives the same labels as the whole folder.
      const outOne = `${dir}/pred-one`;
      const ro = await predict(["--run", three, "--input", `${data}/${ids[1]}`, "--out", outOne, "--min-mm3", "0"]);
      assert.equal(ro.code, 0, ro.err.join("\n"));
      assert.deepEqual(
        (await readNifti(`${outOne}/${ids[1]}.nii.gz`)).data,
        (await readNifti(`${out}/${ids[1]}.nii.gz`)).data,
      );

      // A missing modality: exit 2 before anything is written, naming the subject and the file.
      await Deno.remove(file(data, ids[2], "flair"));
      const outMissing = `${dir}/pred-missing`;
      const rm = await predict(["--run", three, "--input", data, "--out", outMissing]);
      assert.equal(rm.code, 2);
      assert.equal(rm.err.length, 1);
      assert.match(
        rm.err[0],
        new RegExp(`^lorapt predict: --input .*: subject ${ids[2]} has no flair file: .*${ids[2]}_flair\\.nii\\.gz`),
      );
      assert.match(rm.err[0], /needs t1, t1ce, t2, flair$/);
      assert.equal(await Deno.stat(outMissing).then(() => true, () => false), false);

      // One NIfTI image, or a folder of them, into a 4-channel run: exit 2 saying what the run needs.
      const rs = await predict(["--run", three, "--input", file(data, ids[0], "t1ce"), "--out", `${dir}/p`]);
      assert.equal(rs.code, 2);
      assert.match(rs.err[0], /^lorapt predict: --input .*_t1ce\.nii\.gz is one image, but run .* was trained on/);
      assert.match(rs.err[0], /4 channels \(t1, t1ce, t2, flair\): give a BraTS folder/);
      const plain = `${dir}/plain`;
      await Deno.mkdir(plain);
      await Deno.copyFile(file(data, ids[0], "t1ce"), `${plain}/scan.nii.gz`);
      const rf = await predict(["--run", three, "--input", plain, "--out", `${dir}/p`]);
      assert.equal(rf.code, 2);
      assert.match(rf.err[0], /holds no BraTS subject, but run .* was trained on 4 channels \(t1, t1ce, t2, flair\)/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "lorapt predict on a T1ce-only BraTS run takes a BraTS folder or the T1ce images themselves, with equal labels",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "lorapt-predict-brats-" });
    try {
      const data = `${dir}/BraTS2021`;
      const ids = await makeBratsPhantomDataset({ dir: data, n: 3, size: [20, 18, 16], seed: 2 });
      const run = `${dir}/run`;
      const r = await cli(PRETRAIN, runPretrain, ["--data", data, "--out", run, "--three-class", ...TINY, ...QUIET]);
      assert.equal(r.code, 0, r.err.join("\n"));
      const rb = await predict(["--run", run, "--input", data, "--out", `${dir}/a`, "--min-mm3", "0"]);
      assert.equal(rb.code, 0, rb.err.join("\n"));
      // Only T1ce is needed: the other sequences may be missing.
      await Deno.remove(file(data, ids[0], "flair"));
      const rf = await predict([
        "--run",
        run,
        "--input",
        file(data, ids[0], "t1ce"),
        "--out",
        `${dir}/b`,
        "--min-mm3",
        "0",
      ]);
      assert.equal(rf.code, 0, rf.err.join("\n"));
      const a = await readNifti(`${dir}/a/${ids[0]}.nii.gz`);
      const b = await readNifti(`${dir}/b/${ids[0]}_t1ce.nii.gz`);
      assert.deepEqual(b.data, a.data);
      assert.deepEqual(Array.from(a.data), await expectedLabels(run, data, ids[0], [0, 1, 2, 4]));
      assert.deepEqual(a.affine, (await readNifti(file(data, ids[0], "t1ce"))).affine);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

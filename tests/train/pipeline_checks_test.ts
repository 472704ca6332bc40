/**
 * The input checks as options of the library calls (README "What lorapt
 * refuses, and why", "In code"): finetune's run folder rules, model check and
 * voxel bound, predict's NaN policy, its check of every scan before the first
 * result, and its ensemble of the run's listed checkpoints only.
 */
import assert from "node:assert/strict";
import { makePhantomDataset, makeVolume, readNifti, writeNifti } from "../../mod.ts";
import {
  finetune,
  type FinetuneOptions,
  InputError,
  MODEL_KEY,
  predict,
  saveCheckpoint,
  TrainInputError,
} from "../../train/mod.ts";
import { tinyUnetr } from "./tiny.ts";

const root = await Deno.makeTempDir({ prefix: "lorapt-pipeline-checks-" });
globalThis.addEventListener("unload", () => {
  try {
    Deno.removeSync(root, { recursive: true });
  } catch { /* already gone */ }
});
const data = `${root}/data`;
await makePhantomDataset({ task: "hippocampus", n: 3, dir: data, size: 16 });
const pretrained = `${root}/pre.safetensors`;
await saveCheckpoint(pretrained, tinyUnetr(0), { metadata: { [MODEL_KEY]: JSON.stringify(tinyUnetr(0).config) } });
const options = (out: string, more: Partial<FinetuneOptions> = {}): FinetuneOptions => ({
  data,
  pretrained,
  out,
  trainSize: 2,
  config: { epochs: 1, batchSize: 1, ensemble: 1 },
  ...more,
});
const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

Deno.test({
  name: "finetune: a model other than the weights' one, too many voxels, and a folder holding a run are InputErrors",
  sanitizeResources: false,
  fn: async () => {
    await assert.rejects(
      finetune(options(`${root}/a`, { model: "unetr-small" })),
      (e) => e instanceof InputError && e.option === "model" && /hiddenSize 16, not 96/.test(e.message),
    );
    await assert.rejects(
      finetune(options(`${root}/a`, { maxVoxels: 4000 })),
      (e) => e instanceof InputError && /give 4096 voxels, more than the bound of 4000/.test(e.message),
    );
    const out = `${root}/run-a`;
    await finetune(options(out));
    const before = names(out);
    assert.ok(before.includes("split.json") && before.includes("model_epoch_0.safetensors"), `${before}`);
    await assert.rejects(
      finetune(options(out)),
      (e) =>
        e instanceof TrainInputError && e instanceof InputError && e.option === null &&
        /holds an earlier run/.test(e.message),
    );
    assert.deepEqual(names(out), before);
    const again = await finetune(options(out, { overwrite: true }));
    assert.equal(again.result.epochsDone, 1);
  },
});

Deno.test({
  name:
    "predict: a NaN scan anywhere in the list fails before the first result unless nan is zero, which equals zeroing it by hand",
  sanitizeResources: false,
  fn: async () => {
    const out = `${root}/run-p`;
    const run = await finetune(options(out));
    const good = `${data}/${run.split.test[0]}/${run.split.test[0]}_img.nii.gz`;
    const image = await readNifti(good);
    const withNan = Float32Array.from(image.data);
    withNan[7] = NaN;
    const nanScan = `${root}/nan.nii.gz`;
    await writeNifti(nanScan, makeVolume(withNan, image.shape, { spacing: image.spacing }));
    const zeroed = withNan.map((x) => (Number.isNaN(x) ? 0 : x));
    const zeroScan = `${root}/zeroed.nii.gz`;
    await writeNifti(zeroScan, makeVolume(zeroed, image.shape, { spacing: image.spacing }));

    let handedOut = 0;
    await assert.rejects(
      predict(out, [good, nanScan], { minMm3: 0, onScan: () => void handedOut++ }),
      (e) => e instanceof InputError && e.option === "input" && /nan\.nii\.gz.*1 voxel is NaN or Inf/.test(e.message),
    );
    assert.equal(handedOut, 0, "no result before every scan is checked");
    const [, viaPolicy] = await predict(out, [good, nanScan], { minMm3: 0, nan: "zero" });
    const [byHand] = await predict(out, [zeroScan], { minMm3: 0 });
    assert.deepEqual([...viaPolicy.labels.data], [...byHand.labels.data]);
    // Not vacuous: the map holds both classes (seeded run: 3298 of 4096 voxels foreground).
    assert.ok(byHand.foreground > 0 && byHand.foreground < byHand.labels.data.length, `${byHand.foreground}`);

    await assert.rejects(
      predict(out, [good], { ensemble: 2 }),
      (e) => e instanceof InputError && e.option === "ensemble" && /keeps 1 epoch checkpoint/.test(e.message),
    );
    await assert.rejects(
      predict(out, [good], { checkpoint: `${root}/weights.pth` }),
      (e) => e instanceof InputError && e.option === "checkpoint" && /takes a \.safetensors checkpoint/.test(e.message),
    );
  },
});

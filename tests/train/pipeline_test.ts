/** The pipeline as library calls: loadCheckpoint, predict's shape-only run model, evaluate, InputError. */
import assert from "node:assert/strict";
import { makeVolume, randn, Rng } from "../../mod.ts";
import { createUnetr, isMeta } from "../../models/mod.ts";
import {
  evaluate,
  InputError,
  loadCheckpoint,
  openRun,
  prepareMethod,
  readCheckpoint,
  train,
} from "../../train/mod.ts";
import { phantomSamples, TINY } from "./tiny.ts";

const FIXTURES = new URL("../fixtures/pth/", import.meta.url).pathname;

Deno.test("loadCheckpoint: a lorapt checkpoint's model tensors, its optimizer state left out", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const model = createUnetr(TINY, { seed: 1 });
    const prepared = await prepareMethod(model, { method: "full" });
    // Two steps, so that the file carries optimizer state next to the weights.
    await train({
      model,
      trainable: prepared.trainable,
      samples: phantomSamples(1, 16),
      config: { epochs: 2, batchSize: 1, crop: [16, 16, 16], ensemble: 1, checkpointEvery: 1 },
      outDir: dir,
      progress: false,
    });
    const withOptimizer = await readCheckpoint(`${dir}/resume.safetensors`);
    assert.ok(withOptimizer.optimizer && withOptimizer.optimizer.tensors.size > 0);
    const weights = await loadCheckpoint(`${dir}/resume.safetensors`);
    assert.deepEqual([...weights.keys()].sort(), model.namedParameters().map(([n]) => n).sort());
    for (const [n, p] of model.namedParameters()) {
      assert.deepEqual([...(await weights.get(n)!.data())], [...(await p.data())], n);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadCheckpoint: a .pth holding an integer tensor, or another extension, is an InputError naming it", async () => {
  // The authors' layout fixture holds norm.num_batches_tracked (int64), which no float state dict can take.
  await assert.rejects(
    loadCheckpoint(`${FIXTURES}authors.pth`),
    (e) => e instanceof InputError && e.option === "checkpoint" && /num_batches_tracked: dtype I64/.test(e.message),
  );
  await assert.rejects(
    loadCheckpoint(`${FIXTURES}expected.json`),
    (e) => e instanceof InputError && /expected\.json: expected a \.safetensors or \.pth/.test(e.message),
  );
});

for (const method of ["pissa", "lora-pt"]) {
  Deno.test({
    name:
      `predict's ${method} run model is built shape-only, and once loaded equals a materialised, adapted, loaded one`,
    sanitizeResources: false,
    fn: async () => {
      const dir = await Deno.makeTempDir();
      try {
        // A short real run, so that the factors and residuals differ from any initialisation.
        const base = createUnetr(TINY, { seed: 3 });
        const prepared = await prepareMethod(base, { method, rank: 2 });
        await train({
          model: prepared.model,
          trainable: prepared.trainable,
          samples: phantomSamples(1, 16),
          config: { epochs: 1, batchSize: 1, crop: [16, 16, 16], ensemble: 1, checkpointEvery: 0 },
          outDir: dir,
          runInfo: { method, rank: 2, model: base.config },
          progress: false,
        });
        const run = await openRun(dir);
        // Nothing was materialised: no random weights, no initial (t-)SVD.
        assert.ok(run.model.namedParameters().every(([, t]) => isMeta(t)));
        const weights = await loadCheckpoint(`${dir}/model_last.safetensors`);
        run.model.loadStateDict(weights);
        // The reference: what predict built before, a seeded materialised UNETR adapted (with its SVDs), then loaded.
        const old = await prepareMethod(createUnetr(TINY, { seed: 9 }), { method, rank: 2 });
        old.model.loadStateDict(weights);
        run.model.eval();
        old.model.eval();
        const x = randn([1, 1, 16, 16, 16], { rng: new Rng(4) });
        const [a, b] = await Promise.all([run.model.forward(x).data(), old.model.forward(x).data()]);
        assert.deepEqual([...a], [...b]);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

Deno.test("evaluate: Dice and HD95 against a hand-computed case; another grid or a non-binary truth is an InputError", () => {
  // Truth: voxels 0 and 1 of a 4×1×1 row; prediction: voxels 1 and 2. Dice = 2·1 / (2 + 2).
  const truth = makeVolume(new Uint8Array([1, 1, 0, 0]), [4, 1, 1]);
  const pred = makeVolume(new Uint8Array([0, 1, 1, 0]), [4, 1, 1]);
  const m = evaluate(pred, truth, { id: "a" });
  assert.equal(m.dice, 0.5);
  assert.equal(m.id, "a");
  // Prediction label 2 is not foreground (label 1, as the authors score).
  assert.equal(evaluate(makeVolume(new Uint8Array([2, 2, 0, 0]), [4, 1, 1]), truth).dice, 0);
  assert.throws(
    () => evaluate(makeVolume(new Uint8Array(8), [8, 1, 1]), truth, { names: ["p.nii.gz", "t.nii.gz"] }),
    (e) =>
      e instanceof InputError && /p\.nii\.gz \(shape \[8,1,1\]\) and t\.nii\.gz \(shape \[4,1,1\]\)/.test(e.message),
  );
  const labels = makeVolume(new Uint8Array([0, 5, 5, 0]), [4, 1, 1]);
  assert.throws(() => evaluate(pred, labels), (e) => e instanceof InputError && e.option === "truth");
  assert.equal(evaluate(pred, labels, { labelMap: { 5: 1 } }).dice, 1);
});

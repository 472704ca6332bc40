/**
 * The training step's memory estimate (train/memory.ts) and its check: a run
 * whose estimate exceeds the memory is refused before anything is
 * allocated or written, unless `force`.
 */
import assert from "node:assert/strict";
import { createUnetr } from "../../models/mod.ts";
import { estimateStepMemory, train, TrainInputError } from "../../train/mod.ts";
import { phantomSamples, tinyUnetr } from "./tiny.ts";

Deno.test("estimateStepMemory: unetr-tiny at 32³, batch 1, AMSGrad, every parameter trained, by hand", () => {
  const model = createUnetr({ base: "unetr-tiny" }, { seed: 0 });
  let p = 0;
  for (const [, t] of model.namedParameters()) p += t.shape.reduce((a, b) => a * b, 1);
  const e = estimateStepMemory({
    parameters: p,
    trainable: p,
    batchSize: 1,
    crop: [32, 32, 32],
    amsgrad: true,
    unetr: model.config,
  });
  assert.equal(e.parameters, 4 * p + 4 * p * 6);
  // f 4; 8 tokens of d 48, m 192, 4 heads, 12 layers: 32768·(210 + 1040) + 4·12·(1152·8 + 3·4·64).
  assert.equal(e.activations, 40_960_000 + 48 * (9216 + 768));
  assert.equal(e.total, e.parameters + e.activations);
  const batch2 = estimateStepMemory({
    parameters: p,
    trainable: 0,
    batchSize: 2,
    crop: [32, 32, 32],
    amsgrad: false,
    unetr: model.config,
  });
  assert.equal(batch2.activations, 2 * e.activations, "activations grow with the batch");
  assert.equal(batch2.parameters, 4 * p, "a frozen model keeps no optimizer state");
});

Deno.test({
  name: "train: a step estimated above the memory is refused with the estimate and creates nothing; force trains",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const model = tinyUnetr(0);
      const opts = {
        model,
        trainable: model.namedParameters().map(([n]) => n),
        samples: phantomSamples(1),
        config: { epochs: 1, batchSize: 1, crop: [16, 16, 16] as [number, number, number] },
        outDir: `${dir}/run`,
        progress: false as const,
        memoryBytes: 2 ** 20,
      };
      await assert.rejects(train(opts), (e: Error) => {
        assert.ok(e instanceof TrainInputError);
        assert.match(
          e.message,
          /^a training step needs about \d+ MiB .* at crop \[16,16,16\] × batch 1\), more than the 1 MiB/,
        );
        assert.match(e.message, /--force/);
        return true;
      });
      assert.equal(await Deno.stat(`${dir}/run`).then(() => true, () => false), false);
      const r = await train({ ...opts, force: true });
      assert.equal(r.steps, 1);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

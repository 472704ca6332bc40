/** `lorapt finetune --rank`: defaults to the method's own rank, and a rank above the model's bound exits 2. */
import assert from "node:assert/strict";
import { createUnetr, makePhantomDataset } from "../../mod.ts";
import { main } from "../../cli/mod.ts";
import { MODEL_KEY } from "../../cli/model_io.ts";
import { readCheckpoint, saveCheckpoint } from "../../train/mod.ts";

/** 12 layers as unetr-tiny, d 32 (so LoRA's paper rank 32 fits exactly), 16³ input. */
const MODEL = { base: "unetr-tiny", imgSize: 16, hiddenSize: 32, mlpDim: 64, numHeads: 2, featureSize: 2 } as const;

Deno.test({
  name: "lorapt finetune --method lora without --rank trains LoRA at rank 32 (the paper's), not 1",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const quiet = { log: () => {}, error: (m: string) => console.error(m) };
    try {
      const data = `${dir}/data`;
      await makePhantomDataset({ task: "hippocampus", n: 2, dir: data, size: 16 });
      const model = createUnetr(MODEL, { seed: 0 });
      const weights = `${dir}/pre.safetensors`;
      await saveCheckpoint(weights, model, { metadata: { [MODEL_KEY]: JSON.stringify(model.config) } });
      const run = `${dir}/run`;
      const args = ["finetune", "--data", data, "--pretrained", weights, "--method", "lora", "--train-size", "1"];
      args.push("--epochs", "1", "--batch-size", "1", "--ensemble", "1", "--out", run, "--quiet", "--backend", "cpu");
      assert.equal(await main(args, quiet), 0);
      const record = JSON.parse(await Deno.readTextFile(`${run}/config.json`));
      assert.equal(record.rank, 32);
      assert.equal(record.parameters.rank, 32);
      // The trained tensors themselves: lora_A [r, in] and lora_B [out, r] with r = 32 on every target layer.
      const ck = await readCheckpoint(`${run}/model_last.safetensors`);
      const a = ck.model.get("vit.blocks.0.attn.qkv.lora_A")!, b = ck.model.get("vit.blocks.0.attn.qkv.lora_B")!;
      assert.deepEqual(a.shape, [32, 32]);
      assert.deepEqual(b.shape, [96, 32]);
      assert.deepEqual(ck.model.get("vit.blocks.11.mlp.linear1.lora_A")!.shape, [32, 32]);
      assert.deepEqual(ck.model.get("vit.blocks.11.mlp.linear2.lora_B")!.shape, [32, 32]);
      // Trainable count by hand: per block r·(in + out) for qkv (32+96), out_proj (32+32), linear1 (32+64),
      // linear2 (64+32), times 12 blocks, plus decoder2–5 (read from the model, which has no adapters).
      const perBlock = 32 * ((32 + 96) + (32 + 32) + (32 + 64) + (64 + 32));
      const decoder = model.namedParameters().filter(([n]) => /^decoder[2-5]\./.test(n))
        .reduce((s, [, t]) => s + t.size, 0);
      assert.equal(record.parameters.trainable, 12 * perBlock + decoder);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "lorapt finetune: a rank above the model's bound exits 2 naming --rank and the bound, before training",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const data = `${dir}/data`;
      await makePhantomDataset({ task: "hippocampus", n: 2, dir: data, size: 16 });
      const model = createUnetr(MODEL, { seed: 0 });
      const weights = `${dir}/pre.safetensors`;
      await saveCheckpoint(weights, model, { metadata: { [MODEL_KEY]: JSON.stringify(model.config) } });
      const base = ["finetune", "--data", data, "--pretrained", weights, "--train-size", "1", "--quiet"];
      base.push("--epochs", "1", "--backend", "cpu");
      const cases: [string[], RegExp][] = [
        [
          ["--method", "lora", "--rank", "33"],
          /^lorapt finetune: --rank 33: rank 33 of lora must be at most 32, the min\(out, in\) of vit\.blocks\.0\.[a-z_.0-9]+ \[(32, \d+|\d+, 32)\]$/,
        ],
        [["--method", "pissa", "--rank", "40"], /--rank 40: rank 40 of pissa must be at most 32/],
        [
          ["--method", "lora-pt", "--rank", "33"],
          /--rank 33: rank 33 of lora-pt must be at most 32, the min\(n1, n2\) of group sa \[32, 32, 48\]$/,
        ],
        [["--method", "lora", "--rank", "0"], /--rank 0: rank 0 of lora must be a positive integer$/],
        [["--method", "adapter", "--rank", "2.5"], /--rank 2\.5: rank 2\.5 of adapter must be a positive integer$/],
      ];
      for (const [extra, pattern] of cases) {
        const errors: string[] = [];
        const out = `${dir}/run-${extra[1]}-${extra[3]}`;
        const code = await main([...base, ...extra, "--out", out], { log: () => {}, error: (m) => errors.push(m) });
        assert.equal(code, 2, `${extra.join(" ")}: ${errors}`);
        assert.equal(errors.length, 1);
        assert.match(errors[0], pattern);
        // Nothing was written: the check ran before the split, the model and the training.
        assert.equal(await Deno.stat(out).then(() => true, () => false), false, `${out} exists`);
      }
      // The check reads the file's header only: with the tensor data cut off, the rank is still what is reported.
      const bytes = await Deno.readFile(weights);
      const headerEnd = 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true));
      const cut = `${dir}/cut.safetensors`;
      await Deno.writeFile(cut, bytes.subarray(0, headerEnd + 16));
      const errors: string[] = [];
      const args = [
        "finetune",
        "--data",
        data,
        "--pretrained",
        cut,
        "--train-size",
        "1",
        "--quiet",
        "--backend",
        "cpu",
      ];
      args.push("--method", "lora", "--rank", "64", "--out", `${dir}/cut-run`);
      assert.equal(await main(args, { log: () => {}, error: (m) => errors.push(m) }), 2);
      assert.match(errors[0], /^lorapt finetune: --rank 64: rank 64 of lora must be at most 32/);
      // With a rank that fits, reading the weights then fails on the cut file, naming it.
      errors.length = 0;
      args.splice(args.indexOf("64"), 1, "4");
      assert.equal(await main(args, { log: () => {}, error: (m) => errors.push(m) }), 2);
      assert.match(errors[0], /^lorapt finetune: --pretrained: .*cut\.safetensors: /);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

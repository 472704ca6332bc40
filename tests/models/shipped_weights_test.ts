/**
 * The pre-trained weights shipped in weights/: each has its record (the
 * command that made it), loads strictly into its architecture, and segments
 * tumour phantoms it never saw (other seeds than its training set) far
 * better than chance.
 */
import assert from "node:assert/strict";
import {
  createUnetr,
  dice,
  fromArray,
  getBackend,
  makePhantom,
  readSafetensors,
  Rng,
  setBackend,
  slidingWindowInference,
  tidy,
  useBackend,
  zScore,
} from "../../mod.ts";
import { MODEL_KEY, readPretrained } from "../../cli/model_io.ts";

const dir = new URL("../../weights/", import.meta.url).pathname;
const records = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".json")).sort();

Deno.test("weights/ ships unetr-tiny and unetr-small, each with the record of how it was made", async () => {
  assert.deepEqual(records, ["unetr-small-tumour-phantoms.json", "unetr-tiny-tumour-phantoms.json"]);
  for (const name of records) {
    const r = JSON.parse(await Deno.readTextFile(dir + name));
    assert.match(r.made_by, /^deno run -A tools\/pretrain_weights\.ts /, name);
    assert.equal(r.pretrain_args.slice(0, 2).join(" "), "lorapt pretrain", name);
    assert.ok(r.loss_last < r.loss_first, `${name}: loss ${r.loss_first} → ${r.loss_last}`);
    const { metadata } = await readSafetensors(dir + r.weights);
    assert.ok(metadata[MODEL_KEY], `${r.weights} records its architecture`);
  }
});

for (const [model, size, minDice] of [["unetr-tiny", 48, 0.85], ["unetr-small", 80, 0.85]] as const) {
  Deno.test({
    name: `${model}-tumour-phantoms.safetensors loads strictly and segments unseen tumour phantoms (Dice ≥ ${minDice})`,
    // On WebGPU where an adapter exists (unetr-small's 16 windows take about 50 s on the CPU backend).
    fn: async () => {
      const previous = getBackend().name;
      await useBackend("auto");
      try {
        const { weights, config } = await readPretrained(`${dir}${model}-tumour-phantoms.safetensors`);
        assert.ok(config);
        const net = createUnetr({ ...config }, { seed: 0 });
        net.loadStateDict(weights); // strict: every name and shape
        assert.equal(net.config.imgSize, createUnetr(model, { materialize: false }).config.imgSize);
        net.eval();
        const win = model === "unetr-tiny" ? 32 : 64;
        const scores: number[] = [];
        for (const seed of [90001, 90002]) { // not among the training seeds (drawn from Rng(2024))
          const p = makePhantom({ task: "tumour", size, seed });
          const image = zScore()({ image: p.image }, new Rng(0)).image;
          const r = await slidingWindowInference(image, async (batch, shape) => {
            const y = tidy(() => net.forward(fromArray(batch.slice(), shape)));
            const out = await y.data() as Float32Array;
            y.dispose();
            return out;
          }, { window: [win, win, win] });
          scores.push(dice(r.labels.data, p.label.data));
        }
        const mean = scores.reduce((a, b) => a + b) / scores.length;
        console.log(`${model}: Dice on unseen tumour phantoms ${scores.map((d) => d.toFixed(3)).join(", ")}`);
        assert.ok(mean >= minDice, `${model}: Dice ${scores.map((d) => d.toFixed(3))} on unseen phantoms`);
      } finally {
        setBackend(previous);
      }
    },
  });
}

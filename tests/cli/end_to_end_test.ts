/** finetune → predict → eval through the command line on four tiny phantoms. */
import assert from "node:assert/strict";
import { makePhantomDataset, readNifti } from "../../mod.ts";
import { main } from "../../cli/mod.ts";
import { MODEL_KEY } from "../../cli/model_io.ts";
import { saveCheckpoint } from "../../train/mod.ts";
import { tinyUnetr } from "../train/tiny.ts";

Deno.test({
  name: "lorapt finetune → predict → eval: label maps on the source grid, per-subject CSV and summary",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const quiet = { log: () => {}, error: (m: string) => console.error(m) };
    try {
      const data = `${dir}/data`;
      await makePhantomDataset({ task: "hippocampus", n: 4, dir: data, size: 20 });
      const model = tinyUnetr(0);
      const weights = `${dir}/pre.safetensors`;
      await saveCheckpoint(weights, model, { metadata: { [MODEL_KEY]: JSON.stringify(model.config) } });
      const run = `${dir}/run`;
      const ft = ["finetune", "--data", data, "--pretrained", weights, "--method", "decoder", "--train-size", "2"];
      ft.push("--epochs", "3", "--batch-size", "1", "--seed", "3", "--out", run, "--ensemble", "2", "--quiet");
      assert.equal(await main([...ft, "--backend", "cpu"], quiet), 0);
      const split = JSON.parse(await Deno.readTextFile(`${run}/split.json`));
      assert.equal(split.train.length, 2);
      assert.equal(split.test.length, 2);

      const pred = `${dir}/pred`;
      const pr = ["predict", "--run", run, "--input", data, "--subjects", "test", "--out", pred, "--min-mm3", "0"];
      assert.equal(await main([...pr, "--quiet", "--backend", "cpu"], quiet), 0);
      for (const id of split.test) {
        const p = await readNifti(`${pred}/${id}.nii.gz`);
        const src = await readNifti(`${data}/${id}/${id}_img.nii.gz`);
        assert.deepEqual(p.shape, src.shape);
        assert.deepEqual(p.affine, src.affine);
        assert.ok(p.data.every((x) => x === 0 || x === 1));
      }

      assert.equal(await main(["eval", "--pred", pred, "--truth", data, "--quiet"], quiet), 0);
      const csv = (await Deno.readTextFile(`${pred}/metrics.csv`)).trim().split("\n");
      assert.equal(csv[0], "id,dice,hd95,hd_max,assd");
      assert.deepEqual(csv.slice(1).map((l) => l.split(",")[0]), split.test);
      const summary = JSON.parse(await Deno.readTextFile(`${pred}/summary.json`));
      assert.equal(summary.n, 2);
      assert.ok(summary.mean.dice >= 0 && summary.mean.dice <= 1);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

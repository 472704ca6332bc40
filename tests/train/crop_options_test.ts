/**
 * The crops as options of the pipeline calls: `finetune({ posFraction, roi,
 * roiMargin })` records the resolved values (a resume compares them),
 * `predict` keeps to the run's ROI and refuses a scan whose grid does not
 * hold it, `resolveCropSampling` names the option, and the experiment's
 * cells pass the flags on.
 */
import assert from "node:assert/strict";
import { makePhantomDataset, makeVolume, readNifti, roiRegion, writeNifti } from "../../mod.ts";
import type { Shape3, Volume } from "../../data/mod.ts";
import {
  finetune,
  InputError,
  MODEL_KEY,
  openRunFolder,
  predict,
  resolveCropSampling,
  saveCheckpoint,
} from "../../train/mod.ts";
import { main } from "../../cli/mod.ts";
import { tinyUnetr } from "./tiny.ts";

/** The union box of the non-zero voxels of the label files, by a loop over every voxel (end exclusive). */
async function unionBox(paths: string[]): Promise<{ start: number[]; end: number[] }> {
  const lo = [Infinity, Infinity, Infinity], hi = [-1, -1, -1];
  for (const path of paths) {
    const l = await readNifti(path);
    const [X, Y, Z] = l.shape;
    for (let z = 0; z < Z; z++) {
      for (let y = 0; y < Y; y++) {
        for (let x = 0; x < X; x++) {
          if (!l.data[x + X * (y + Y * z)]) continue;
          [x, y, z].forEach((v, a) => (lo[a] = Math.min(lo[a], v), hi[a] = Math.max(hi[a], v)));
        }
      }
    }
  }
  return { start: lo, end: hi.map((v) => v + 1) };
}

/** Three 24³ hippocampus phantoms (larger than the tiny model's 16³ crop) and the tiny model's weights. */
async function fixture(): Promise<{ dir: string; data: string; weights: string }> {
  const dir = await Deno.makeTempDir();
  const data = `${dir}/data`;
  await makePhantomDataset({ task: "hippocampus", n: 3, dir: data, size: 24 });
  const model = tinyUnetr(0);
  const weights = `${dir}/pre.safetensors`;
  await saveCheckpoint(weights, model, { metadata: { [MODEL_KEY]: JSON.stringify(model.config) } });
  return { dir, data, weights };
}

Deno.test({
  name: "finetune records posFraction and the training labels' box; resume refuses a change; predict keeps to the box",
  sanitizeResources: false,
  fn: async () => {
    const { dir, data, weights } = await fixture();
    try {
      const run = `${dir}/run`;
      const base = {
        data,
        pretrained: weights,
        out: run,
        method: "decoder",
        trainSize: 2,
        config: { epochs: 1, batchSize: 1, ensemble: 1 },
      };
      const ft = await finetune({ ...base, posFraction: 0.7, roi: "auto", roiMargin: 0 });
      const record = JSON.parse(await Deno.readTextFile(`${run}/config.json`));
      assert.equal(record.config.posFraction, 0.7);
      const box = await unionBox(ft.split.train.map((id) => `${data}/${id}/${id}_mask.nii.gz`));
      assert.deepEqual(record.config.roi, box);
      assert.deepEqual(record.cropSampling, { posFraction: 0.7, roi: "auto", roiMargin: 0 });

      // A resume that changes a crop setting is refused, naming it and both values.
      await assert.rejects(
        finetune({ ...base, posFraction: 0.5, roi: "auto", roiMargin: 0, resume: true }),
        (e) => e instanceof InputError && /config\.posFraction: was 0\.7, now 0\.5/.test(e.message),
      );
      await assert.rejects(
        finetune({ ...base, posFraction: 0.7, roi: "auto", roiMargin: 1, resume: true }),
        (e) => e instanceof InputError && /config\.roi\.(start|end)/.test(e.message),
      );

      // predict: every voxel outside the windows laid on the ROI is background.
      const id = ft.split.test[0];
      const [p] = await predict(run, [`${data}/${id}/${id}_img.nii.gz`], { minMm3: 0 });
      const region = roiRegion([24, 24, 24], [16, 16, 16], box as { start: Shape3; end: Shape3 });
      const [X, Y] = p.labels.shape;
      for (let v = 0; v < p.labels.data.length; v++) {
        const q = [v % X, Math.floor(v / X) % Y, Math.floor(v / (X * Y))];
        if (!q.every((x, a) => x >= region.start[a] && x < region.end[a])) {
          assert.equal(p.labels.data[v], 0, `voxel [${q}] outside the ROI windows`);
        }
      }

      // A scan whose grid does not hold the box is refused before any result is handed out.
      const n = Math.min(...box.end) - 1;
      const smallPath = `${dir}/small.nii.gz`;
      await writeNifti(smallPath, makeVolume(Float32Array.from({ length: n ** 3 }, (_, i) => 1 + (i % 7)), [n, n, n]));
      const handed: string[] = [];
      await assert.rejects(
        predict(run, [`${data}/${id}/${id}_img.nii.gz`, smallPath], {
          minMm3: 0,
          onScan: (r) => void handed.push(r.id),
        }),
        (e) =>
          e instanceof InputError && e.option === "input" &&
          /small\.nii\.gz: shape .* does not hold the run's ROI/.test(e.message),
      );
      assert.deepEqual(handed, []);

      // Omitted: posFraction auto (0.5 below the paper's 128³ crop), no ROI.
      await finetune({ ...base, out: `${run}2` });
      const c2 = JSON.parse(await Deno.readTextFile(`${run}2/config.json`)).config;
      assert.deepEqual([c2.posFraction, c2.roi], [0.5, null]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("resume: a config entry an older run did not record compares as its default (openRunFolder configDefaults)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify({ config: { seed: 1 } }));
    const configDefaults = { posFraction: 0, roi: null };
    const same = { config: { seed: 1, posFraction: 0, roi: null } };
    assert.equal(await openRunFolder(dir, { record: same, configDefaults, resume: true }), true);
    await assert.rejects(
      openRunFolder(dir, {
        record: { config: { seed: 1, posFraction: 0.5, roi: null } },
        configDefaults,
        resume: true,
      }),
      /config\.posFraction: was 0, now 0\.5/,
    );
    await assert.rejects(
      openRunFolder(dir, { record: same, resume: true }),
      /config\.posFraction: was \(absent\), now 0/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("resolveCropSampling: auto by crop size; errors are InputErrors of posFraction or roi", async () => {
  const label = (shape: Shape3, at: number): Volume => {
    const d = new Uint8Array(shape[0] * shape[1] * shape[2]);
    d[at] = 1;
    return makeVolume(d, shape);
  };
  const l = label([10, 10, 10], 3 + 10 * (4 + 10 * 5));
  assert.deepEqual(await resolveCropSampling({}, [128, 128, 128], [l]), { posFraction: 0, roi: null });
  assert.deepEqual(await resolveCropSampling({ posFraction: 0.25 }, [32, 32, 32], [l]), {
    posFraction: 0.25,
    roi: null,
  });
  // Margin 2 mm at 1 mm voxels: the voxel [3, 4, 5] grown by 2, clipped to the grid.
  assert.deepEqual((await resolveCropSampling({ roi: "auto", roiMargin: 2 }, [4, 4, 4], [l])).roi, {
    start: [1, 2, 3],
    end: [6, 7, 8],
  });
  // A function giving the labels is called for auto only.
  let calls = 0;
  const lazy = () => (calls++, Promise.resolve([l]));
  await resolveCropSampling({ roi: { start: [0, 0, 0], end: [4, 4, 4] } }, [4, 4, 4], lazy);
  assert.equal(calls, 0);
  await resolveCropSampling({ roi: "auto" }, [4, 4, 4], lazy);
  assert.equal(calls, 1);
  const isOf = (option: string, re: RegExp) => (e: unknown) =>
    e instanceof InputError && e.option === option && re.test(e.message);
  await assert.rejects(
    resolveCropSampling({ posFraction: 1.5 }, [4, 4, 4], [l]),
    isOf("posFraction", /"1\.5" must be auto/),
  );
  await assert.rejects(resolveCropSampling({ roiMargin: -1 }, [4, 4, 4], [l]), isOf("roiMargin", /-1/));
  await assert.rejects(
    resolveCropSampling({ roi: { start: [0, 0, 0], end: [11, 4, 4] } }, [4, 4, 4], [l]),
    isOf("roi", /0,0,0,11,4,4 reaches past training label 0 of shape \[10,10,10\]/),
  );
  await assert.rejects(
    resolveCropSampling({ roi: { start: [5, 0, 0], end: [5, 4, 4] } }, [4, 4, 4], [l]),
    isOf("roi", /start < end/),
  );
  await assert.rejects(
    resolveCropSampling({ roi: "auto" }, [4, 4, 4], [l, label([12, 10, 10], 0)]),
    isOf("roi", /auto: .*co-registered/),
  );
});

Deno.test({
  name: "lorapt experiment passes --pos-fraction, --roi and --roi-margin to every cell's finetune",
  sanitizeResources: false,
  fn: async () => {
    const { dir, data, weights } = await fixture();
    try {
      const out = `${dir}/out`;
      const args = ["experiment", "table2", "--data", data, "--pretrained", weights, "--out", out, "--methods", "full"];
      args.push("--train-sizes", "2", "--epochs", "1", "--batch-size", "1", "--ensemble", "1", "--min-mm3", "0");
      args.push("--checkpoint-every", "0", "--backend", "cpu", "--quiet");
      args.push("--pos-fraction", "0.25", "--roi", "auto", "--roi-margin", "0");
      const err: string[] = [];
      assert.equal(await main(args, { log: () => {}, error: (m) => err.push(m) }), 0, err.join("\n"));
      const line = JSON.parse((await Deno.readTextFile(`${out}/results.jsonl`)).trim());
      assert.deepEqual([line.config.posFraction, line.config.roi, line.config.roiMargin], ["0.25", "auto", 0]);
      const runDir = `${out}/runs/${line.key}`;
      const record = JSON.parse(await Deno.readTextFile(`${runDir}/config.json`));
      const split = JSON.parse(await Deno.readTextFile(`${runDir}/split.json`));
      assert.equal(record.config.posFraction, 0.25);
      assert.deepEqual(
        record.config.roi,
        await unionBox(split.train.map((id: string) => `${data}/${id}/${id}_mask.nii.gz`)),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

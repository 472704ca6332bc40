/** `lorapt data real-brain`, `--pos-fraction`, `--roi` and `demo --real` through the command line. */
import assert from "node:assert/strict";
import { loadDataset, makePhantomDataset, makeVolume, readNifti, roiRegion, writeNifti } from "../../mod.ts";
import type { Shape3 } from "../../data/mod.ts";
import { main } from "../../cli/mod.ts";
import { MODEL_KEY } from "../../cli/model_io.ts";
import { saveCheckpoint } from "../../train/mod.ts";
import { tinyUnetr } from "../train/tiny.ts";

const io = (errors: string[]) => ({ log: () => {}, error: (m: string) => errors.push(m) });

/** Writes a small synthetic ch2 / ch2bet / AICHAmc trio (4 mm, MNI-like LAS) into `dir`. */
async function fakeTemplates(dir: string): Promise<void> {
  const n = 46, shape: Shape3 = [n, 55, n], N = n * 55 * n;
  const affine = [[-4, 0, 0, 90], [0, 4, 0, -126], [0, 0, 4, -72], [0, 0, 0, 1]];
  const t1 = new Uint8Array(N), bet = new Uint8Array(N), atlas = new Uint8Array(N);
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < 55; j++) {
      for (let i = 0; i < n; i++) {
        const p = i + n * (j + 55 * k), x = 90 - 4 * i, y = -126 + 4 * j, z = -72 + 4 * k;
        const r = Math.hypot(x / 70, (y + 18) / 90, (z - 10) / 70);
        if (r < 1.1) t1[p] = 40;
        if (r < 1) (t1[p] = 150 - 80 * r, bet[p] = t1[p]);
        if (Math.hypot((Math.abs(x) - 25) / 8, (y + 20) / 16, (z + 12) / 8) < 1) atlas[p] = x < 0 ? 159 : 160;
      }
    }
  }
  for (const [name, data] of [["ch2", t1], ["ch2bet", bet], ["AICHAmc", atlas]] as const) {
    await writeNifti(`${dir}/${name}.nii.gz`, makeVolume(data, shape, { affine }));
  }
}

Deno.test("lorapt data real-brain: exit 2 naming apt-get install mricron-data when the templates are missing", async () => {
  const errors: string[] = [];
  const dir = await Deno.makeTempDir();
  try {
    const code = await main(["data", "real-brain", "--out", `${dir}/set`, "--templates", `${dir}/none`], io(errors));
    assert.equal(code, 2);
    assert.match(errors.at(-1)!, /^lorapt data: .*none\/ch2\.nii\.gz not found.*apt-get install mricron-data/);
    assert.equal(await Deno.stat(`${dir}/set`).then(() => true, () => false), false, "nothing written");
    assert.equal(await main(["data", "real-brains", "--out", dir], io(errors)), 2);
    assert.match(errors.at(-1)!, /unknown data set "real-brains"/);
    assert.equal(await main(["data", "real-brain", "--out", dir, "-n", "0"], io(errors)), 2);
    assert.match(errors.at(-1)!, /--subjects "0"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lorapt data real-brain -n 2 writes both layouts on the requested grid", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await fakeTemplates(dir);
    const args = ["data", "real-brain", "--out", `${dir}/set`, "-n", "2", "--seed", "4", "--voxel-size", "6"];
    assert.equal(await main([...args, "--templates", dir, "--quiet"], io([])), 0);
    const a = await loadDataset(`${dir}/set`), m = await loadDataset(`${dir}/set/msd`);
    assert.deepEqual([a.layout, a.subjects.length, m.layout, m.subjects.length], ["authors", 2, "msd", 2]);
    const img = await readNifti(a.subjects[0].imagePath);
    assert.deepEqual(img.shape, [30, 36, 30]);
    assert.deepEqual(img.affine[0], [-6, 0, 0, 90]);
    const label = await readNifti(a.subjects[0].labelPath!);
    assert.ok(label.data.some((v) => v === 1));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "lorapt pretrain reads the --task tumour set; --roi auto boxes its lesions, --pos-fraction auto is 0.5",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      await fakeTemplates(dir);
      const data = ["data", "real-brain", "--out", `${dir}/set`, "-n", "2", "--task", "tumour", "--voxel-size", "4"];
      assert.equal(await main([...data, "--templates", dir, "--quiet"], io([])), 0);
      const pre = ["pretrain", "--data", `${dir}/set`, "--model", "unetr-tiny", "--img-size", "16", "--epochs", "1"];
      pre.push("--batch-size", "1", "--val-every", "0", "--roi", "auto", "--out", `${dir}/run`, "--quiet");
      const errors: string[] = [];
      assert.equal(await main([...pre, "--backend", "cpu"], io(errors)), 0, errors.join("\n"));
      const record = JSON.parse(await Deno.readTextFile(`${dir}/run/config.json`));
      assert.deepEqual(record.train, ["sub1", "sub2"]);
      assert.equal(record.config.posFraction, 0.5);
      const roi = record.config.roi;
      for (const id of ["sub1", "sub2"]) {
        const l = await readNifti(`${dir}/set/${id}/${id}_mask.nii.gz`);
        const [X, Y] = l.shape;
        for (let p = 0; p < l.data.length; p++) {
          if (!l.data[p]) continue;
          const q = [p % X, Math.floor(p / X) % Y, Math.floor(p / (X * Y))];
          assert.ok(
            q.every((v, a) => v >= roi.start[a] && v < roi.end[a]),
            `${id}: lesion voxel [${q}] outside the ROI`,
          );
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "finetune records --pos-fraction and --roi auto in config.json; predict runs only the windows at the ROI",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const errors: string[] = [];
    try {
      const data = `${dir}/data`;
      await makePhantomDataset({ task: "hippocampus", n: 3, dir: data, size: 40 });
      const model = tinyUnetr(0);
      const weights = `${dir}/pre.safetensors`;
      await saveCheckpoint(weights, model, { metadata: { [MODEL_KEY]: JSON.stringify(model.config) } });
      const run = `${dir}/run`;
      const ft = ["finetune", "--data", data, "--pretrained", weights, "--method", "decoder", "--train-size", "2"];
      ft.push("--epochs", "1", "--batch-size", "1", "--out", run, "--ensemble", "1", "--quiet", "--backend", "cpu");
      // Bad values are the user's mistake, named.
      assert.equal(await main([...ft, "--pos-fraction", "1.5"], io(errors)), 2);
      assert.match(errors.at(-1)!, /--pos-fraction "1\.5" must be auto or a number in 0\.\.1/);
      assert.equal(await main([...ft, "--roi", "1,2,3"], io(errors)), 2);
      assert.match(errors.at(-1)!, /--roi .*six integers/);
      assert.equal(await main([...ft, "--roi", "0,0,0,41,10,10"], io(errors)), 2);
      assert.match(errors.at(-1)!, /reaches past training label/);

      assert.equal(await main([...ft, "--pos-fraction", "0.7", "--roi", "auto", "--roi-margin", "0"], io(errors)), 0);
      const config = JSON.parse(await Deno.readTextFile(`${run}/config.json`)).config;
      assert.equal(config.posFraction, 0.7);
      const split = JSON.parse(await Deno.readTextFile(`${run}/split.json`));
      // The ROI is the training labels' union box (margin 0), by a loop over the label files.
      const lo = [99, 99, 99], hi = [-1, -1, -1];
      for (const id of split.train) {
        const l = await readNifti(`${data}/${id}/${id}_mask.nii.gz`);
        for (let p = 0; p < l.data.length; p++) {
          if (!l.data[p]) continue;
          [p % 40, Math.floor(p / 40) % 40, Math.floor(p / 1600)].forEach((
            v,
            a,
          ) => (lo[a] = Math.min(lo[a], v), hi[a] = Math.max(hi[a], v)));
        }
      }
      assert.deepEqual(config.roi, { start: lo, end: hi.map((v) => v + 1) });

      // An omitted --pos-fraction is auto: 0.5 at this 16³ crop.
      assert.equal(await main([...ft.map((x) => x === run ? `${run}2` : x)], io(errors)), 0);
      const c2 = JSON.parse(await Deno.readTextFile(`${run}2/config.json`)).config;
      assert.deepEqual([c2.posFraction, c2.roi], [0.5, null]);

      const pred = `${dir}/pred`;
      const pr = ["predict", "--run", run, "--input", data, "--subjects", "test", "--out", pred, "--min-mm3", "0"];
      assert.equal(await main([...pr, "--quiet", "--backend", "cpu"], io(errors)), 0);
      const region = roiRegion([40, 40, 40], [16, 16, 16], config.roi);
      for (const id of split.test) {
        const p = await readNifti(`${pred}/${id}.nii.gz`);
        for (let v = 0; v < p.data.length; v++) {
          const q = [v % 40, Math.floor(v / 40) % 40, Math.floor(v / 1600)];
          const inside = q.every((x, a) => x >= region.start[a] && x < region.end[a]);
          if (!inside) assert.equal(p.data[v], 0, `voxel [${q}] outside the ROI windows`);
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("lorapt demo --real --quick is refused: --quick stays on phantoms", async () => {
  const errors: string[] = [];
  assert.equal(await main(["demo", "--real", "--quick", "--out", "/tmp/never"], io(errors)), 2);
  assert.match(errors.at(-1)!, /--quick runs on phantoms only/);
});

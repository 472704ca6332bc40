/**
 * `lorapt pretrain` on a miniature BraTS 2021 folder (issue 10): layout
 * detection, T1ce + merged labels by default, four modalities and three
 * classes on request, split.json and config.json, validation Dice and the
 * best/last checkpoints, and a missing modality file as a one-line error.
 */
import assert from "node:assert/strict";
import { bratsSplit, makeBratsPhantomDataset, makePhantomDataset } from "../../mod.ts";
import { main } from "../../cli/mod.ts";
import { crossEntropy, softmaxDice } from "../../train/losses.ts";
import { crossEntropy2, softmaxDice2 } from "../../train/mod.ts";
import { tensor } from "../../mod.ts";

async function run(args: string[]): Promise<{ code: number; err: string[] }> {
  const err: string[] = [];
  const code = await main(args, { log: () => {}, error: (m) => err.push(m) });
  return { code, err };
}

const TINY = ["--model", "unetr-tiny", "--img-size", "16", "--epochs", "1", "--batch-size", "1", "--val-every", "1"];
const COMMON = [...TINY, "--quiet", "--backend", "cpu"];

async function readJson(path: string) {
  return JSON.parse(await Deno.readTextFile(path));
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

async function logEntries(run: string): Promise<Record<string, unknown>[]> {
  return (await Deno.readTextFile(`${run}/log.jsonl`)).trim().split("\n").map((l) => JSON.parse(l));
}

Deno.test({
  name: "lorapt pretrain on BraTS: T1ce + merged labels by default, four modalities + three classes on request",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const data = `${dir}/BraTS2021`;
      const ids = await makeBratsPhantomDataset({ dir: data, n: 3, size: 24, seed: 4 });

      // Default: detected layout, T1ce only, one tumour class.
      const a = `${dir}/run-a`;
      const ra = await run(["pretrain", "--data", data, "--out", a, ...COMMON]);
      assert.equal(ra.code, 0, ra.err.join("\n"));
      const ca = await readJson(`${a}/config.json`);
      assert.equal(ca.layout, "brats");
      assert.equal(ca.model.inChannels, 1);
      assert.equal(ca.model.outChannels, 2);
      assert.equal(ca.model.imgSize, 16);
      assert.deepEqual(ca.config.crop, [16, 16, 16]);
      assert.deepEqual(ca.brats.modalities, ["t1ce"]);
      assert.equal(ca.brats.mergeLabels, true);
      assert.equal(ca.config.evalEvery, 1);
      const sa = await readJson(`${a}/split.json`);
      assert.equal(sa.dataset, "brats");
      assert.deepEqual([sa.train.length, sa.valid.length, sa.test.length], [1, 1, 1]);
      assert.deepEqual([...sa.train, ...sa.valid, ...sa.test].sort(), ids);
      assert.deepEqual(ca.train, sa.train);
      assert.deepEqual(ca.validation.subjects, sa.valid);
      const evalA = (await logEntries(a)).filter((e) => e.type === "eval");
      assert.equal(evalA.length, 1);
      assert.ok(typeof evalA[0].dice === "number" && evalA[0].dice >= 0 && evalA[0].dice <= 1);
      assert.ok(await exists(`${a}/model_last.safetensors`));
      assert.ok(await exists(`${a}/model_best.safetensors`));

      // Four modalities, three tumour classes: in_channels 4, out_channels 4, multi-class Dice.
      const b = `${dir}/run-b`;
      const rb = await run([
        "pretrain",
        "--data",
        data,
        "--out",
        b,
        "--modalities",
        "t1,t1ce,t2,flair",
        "--three-class",
        ...COMMON,
      ]);
      assert.equal(rb.code, 0, rb.err.join("\n"));
      const cb = await readJson(`${b}/config.json`);
      assert.equal(cb.model.inChannels, 4);
      assert.equal(cb.model.outChannels, 4);
      assert.deepEqual(cb.brats.modalities, ["t1", "t1ce", "t2", "flair"]);
      assert.equal(cb.brats.mergeLabels, false);
      const logB = await logEntries(b);
      const steps = logB.filter((e) => e.type === "step");
      assert.equal(steps.length, 1);
      assert.ok((steps[0].loss as number) >= 0 && (steps[0].loss as number) <= 4);
      const evalB = logB.find((e) => e.type === "eval")!;
      for (const k of ["dice", "dice_ncr", "dice_ed", "dice_et"]) assert.equal(typeof evalB[k], "number", k);

      // The split is deterministic by seed: the same in both runs, and as bratsSplit draws it.
      const sb = await readJson(`${b}/split.json`);
      assert.deepEqual(sb.train, sa.train);
      assert.deepEqual(sb.valid, sa.valid);
      const again = bratsSplit(ids, { seed: 1000 });
      assert.deepEqual([again.train, again.valid, again.test], [sa.train, sa.valid, sa.test]);
      const many = Array.from({ length: 40 }, (_, i) => `BraTS2021_${String(i).padStart(5, "0")}`);
      assert.deepEqual(bratsSplit(many, { seed: 7 }), bratsSplit([...many].reverse(), { seed: 7 }));
      assert.notDeepEqual(bratsSplit(many, { seed: 7 }).train, bratsSplit(many, { seed: 8 }).train);

      // Explicit lists override the draw.
      await Deno.writeTextFile(`${data}/train.txt`, `${ids[2]}\n${ids[0]}\n`);
      await Deno.writeTextFile(`${data}/valid.txt`, `${ids[1]}\n`);
      const c = `${dir}/run-c`;
      const rc = await run([
        "pretrain",
        "--data",
        data,
        "--out",
        c,
        ...COMMON,
        "--val-every",
        "0",
        "--data-cache",
        "disk",
      ]);
      assert.equal(rc.code, 0, rc.err.join("\n"));
      const sc = await readJson(`${c}/split.json`);
      assert.deepEqual([sc.seed, sc.train, sc.valid, sc.test], [null, [ids[0], ids[2]], [ids[1]], []]);
      const cc = await readJson(`${c}/config.json`);
      assert.equal(cc.brats.dataCache, "disk"); // subjects read at every step (LazySamples)
      assert.equal(cc.brats.splitSource, "train/valid/test.txt in the dataset folder");
      assert.equal((await logEntries(c)).filter((e) => e.type === "step").length, 2);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "lorapt pretrain on BraTS: a missing modality file is one line naming the subject and the file, exit 2",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const data = `${dir}/BraTS2021`;
      const ids = await makeBratsPhantomDataset({ dir: data, n: 3, size: 12 });
      await Deno.remove(`${data}/${ids[1]}/${ids[1]}_t2.nii.gz`);
      const r = await run([
        "pretrain",
        "--data",
        data,
        "--out",
        `${dir}/run`,
        "--modalities",
        "t1,t1ce,t2,flair",
        ...COMMON,
      ]);
      assert.equal(r.code, 2);
      assert.equal(r.err.length, 1);
      assert.ok(!r.err[0].includes("\n"));
      assert.match(r.err[0], new RegExp(`^lorapt pretrain: .*subject ${ids[1]} .*${ids[1]}_t2\\.nii\\.gz`));

      // Flags that only BraTS takes are refused on another layout; a bad modality name is a usage error.
      const phantoms = `${dir}/phantoms`;
      await makePhantomDataset({ task: "tumour", n: 2, dir: phantoms, size: 12 });
      const r2 = await run(["pretrain", "--data", phantoms, "--out", `${dir}/r2`, "--three-class", ...COMMON]);
      assert.equal(r2.code, 2);
      assert.match(r2.err[0], /--three-class apply to BraTS data/);
      const r3 = await run(["pretrain", "--data", data, "--out", `${dir}/r3`, "--modalities", "t1c", ...COMMON]);
      assert.equal(r3.code, 2);
      assert.match(r3.err[0], /--modalities "t1c"/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "lorapt pretrain on tumour phantoms in the authors' layout still trains (one input channel, two classes)",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const data = `${dir}/phantoms`;
      await makePhantomDataset({ task: "tumour", n: 2, dir: data, size: 16 });
      const out = `${dir}/run`;
      const r = await run(["pretrain", "--data", data, "--out", out, ...COMMON]);
      assert.equal(r.code, 0, r.err.join("\n"));
      const c = await readJson(`${out}/config.json`);
      assert.equal(c.layout, "authors");
      assert.equal(c.model.inChannels, 1);
      assert.equal(c.model.outChannels, 2);
      assert.ok(await exists(`${out}/model_last.safetensors`));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("multi-class soft Dice and cross-entropy: equal to the two-class losses for 2 classes; Σ over all 4 channels", async () => {
  const logits = tensor([[[0.3, -1, 2, 0.5], [1, 0.2, -0.4, 0], [0, 0, 1, -2], [0.5, 1, 0, 0]]]); // [1, 4, 4]
  const two = tensor([[[0.3, -1, 2, 0.5], [1, 0.2, -0.4, 0]]]);
  const bin = tensor([[0, 1, 1, 0]]);
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-5, `${a} vs ${b}`);
  close(await softmaxDice(two.softmax(1), bin).item(), await softmaxDice2(two.softmax(1), bin).item());
  close(await crossEntropy(two, bin).item(), await crossEntropy2(two, bin).item());
  // Four classes, by hand: Σ_c 1 − 2·Σ p_c·g_c / (Σ p_c + Σ g_c + ε).
  const target = [0, 3, 1, 2];
  const p = await logits.softmax(1).data();
  let want = 0, ce = 0;
  for (let c = 0; c < 4; c++) {
    let inter = 0, sp = 0, sg = 0;
    for (let v = 0; v < 4; v++) {
      const g = target[v] === c ? 1 : 0;
      (inter += p[c * 4 + v] * g, sp += p[c * 4 + v], sg += g);
      if (g) ce -= Math.log(p[c * 4 + v]) / 4;
    }
    want += 1 - 2 * inter / (sp + sg + 1e-5);
  }
  close(await softmaxDice(logits.softmax(1), tensor([target])).item(), want);
  close(await crossEntropy(logits, tensor([target])).item(), ce);
});

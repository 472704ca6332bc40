/**
 * What lorapt refuses (README "What lorapt refuses, and why"): each bad file,
 * folder or flag value below exits 2 with one line naming the culprit, and
 * leaves no output file or folder created or changed. Ctrl-C during training
 * saves resume.safetensors and exits 130 with one line on how to continue.
 */
import assert from "node:assert/strict";
import { makePhantomDataset, makeVolume, readCheckpoint, saveCheckpoint, writeNifti } from "../../mod.ts";
import { main } from "../../cli/mod.ts";
import { MODEL_KEY } from "../../cli/model_io.ts";
import { createUnetr } from "../../models/mod.ts";
import { TINY, tinyUnetr } from "../train/tiny.ts";

const root = await Deno.makeTempDir({ prefix: "lorapt-bad-input-" });
globalThis.addEventListener("unload", () => {
  try {
    Deno.removeSync(root, { recursive: true });
  } catch { /* already gone */ }
});
const data = `${root}/hippo`;
await makePhantomDataset({ task: "hippocampus", n: 3, dir: data, size: 16 });
const weights = `${root}/pre.safetensors`;
await saveCheckpoint(weights, tinyUnetr(0), { metadata: { [MODEL_KEY]: JSON.stringify(tinyUnetr(0).config) } });
let counter = 0;
const fresh = (name: string) => `${root}/${name}${counter++}`;

async function run(args: string[]): Promise<{ code: number; err: string[] }> {
  const err: string[] = [];
  const code = await main(args, { log: () => {}, error: (m) => err.push(m) });
  return { code, err };
}

const TRAIN = ["--epochs", "1", "--batch-size", "1", "--backend", "cpu", "--quiet"];
const finetune = (out: string, ...more: string[]) => [
  ...["finetune", "--data", data, "--pretrained", weights, "--out", out, "--train-size", "2"],
  ...TRAIN,
  ...more,
];

/** Every file under `path` with its size and a hash of its bytes (null: `path` does not exist). */
async function tree(path: string): Promise<Map<string, string> | null> {
  const st = await Deno.stat(path).catch(() => null);
  if (!st) return null;
  const out = new Map<string, string>();
  const walk = async (p: string, rel: string) => {
    const s = await Deno.stat(p);
    if (s.isDirectory) {
      for await (const e of Deno.readDir(p)) await walk(`${p}/${e.name}`, `${rel}/${e.name}`);
    } else {
      const b = await Deno.readFile(p);
      out.set(rel, `${b.length}:${b.reduce((h, x) => (h * 31 + x) >>> 0, 7)}:${s.mtime?.getTime()}`);
    }
  };
  await walk(path, "");
  return out;
}

/** Runs `args`, expecting exit 2 with one line matching `pattern`, and `watched` exactly as before. */
async function refuses(args: string[], pattern: RegExp, watched: string[]): Promise<string> {
  const before = await Promise.all(watched.map(tree));
  const r = await run(args);
  assert.equal(r.code, 2, `${args.join(" ")}: exit ${r.code}: ${r.err.join("\n")}`);
  assert.equal(r.err.length, 1, r.err.join("\n"));
  assert.match(r.err[0], pattern);
  assert.doesNotMatch(r.err[0], /internal error/);
  const after = await Promise.all(watched.map(tree));
  watched.forEach((w, i) => assert.deepEqual(after[i], before[i], `${w} unchanged by ${args.join(" ")}`));
  return r.err[0];
}

// A finished run to predict with and to resume.
const runDir = `${root}/run`;
assert.equal((await run(finetune(runDir))).code, 0);

Deno.test("lorapt predict: NaN/Inf voxels, zero pixdim, a 2-D image, too many voxels and a NaN vox_offset exit 2 naming the file", async () => {
  const cases: [string, () => Promise<void>, RegExp, string[]][] = [];
  const nanScan = `${root}/nan.nii.gz`;
  const nanData = new Float32Array(16 ** 3).map((_, i) => i % 7);
  nanData[5] = NaN;
  nanData[9] = Infinity;
  cases.push([nanScan, () => writeNifti(nanScan, makeVolume(nanData, [16, 16, 16])), /2 voxels are NaN or Inf/, []]);
  const flat = `${root}/flat.nii.gz`;
  cases.push([flat, () => writeNifti(flat, makeVolume(new Float32Array(40 * 40), [40, 40, 1])), /axis of size 1/, []]);
  const big = `${root}/big.nii.gz`;
  cases.push([
    big,
    () => writeNifti(big, makeVolume(new Float32Array(16 ** 3), [16, 16, 16])),
    /give 4096 voxels, more than the bound of 4000/,
    ["--max-voxels", "4000"],
  ]);
  // Hand-edited headers: pixdim[2] = 0 with no sform or qform; vox_offset NaN.
  const plain = new Uint8Array(352 + 16 ** 3);
  await writeNifti(`${root}/plain.nii`, makeVolume(new Uint8Array(16 ** 3).fill(1), [16, 16, 16]));
  plain.set(await Deno.readFile(`${root}/plain.nii`));
  const edit = (f: (v: DataView) => void) => {
    const b = plain.slice();
    f(new DataView(b.buffer));
    return b;
  };
  const zeroPix = `${root}/zero-pixdim.nii`;
  cases.push([
    zeroPix,
    () =>
      Deno.writeFile(
        zeroPix,
        edit((v) => {
          v.setFloat32(84, 0, true); // pixdim[2]
          v.setInt16(252, 0, true);
          v.setInt16(254, 0, true);
        }),
      ),
    /pixdim \[1,0,1\] \(no sform or qform\) is singular/,
    [],
  ]);
  const nanOffset = `${root}/nan-offset.nii`;
  cases.push([
    nanOffset,
    () => Deno.writeFile(nanOffset, edit((v) => v.setFloat32(108, NaN, true))),
    /vox_offset is NaN/,
    [],
  ]);
  for (const [path, make, pattern, extra] of cases) {
    await make();
    const out = fresh("pred");
    const args = ["predict", "--run", runDir, "--input", path, "--out", out, "--backend", "cpu", "--quiet", ...extra];
    const msg = await refuses(args, pattern, [out]);
    assert.ok(msg.includes(path), `${msg} names ${path}`);
  }
  // --nan zero is the documented way through: NaN/Inf voxels become 0.
  const out = fresh("pred");
  const ok = await run(["predict", "--run", runDir, "--input", nanScan, "--out", out, "--nan", "zero", "--quiet"]);
  assert.equal(ok.code, 0, ok.err.join("\n"));
  assert.ok(await Deno.stat(`${out}/nan.nii.gz`).then(() => true));
  await refuses(
    ["predict", "--run", runDir, "--input", nanScan, "--out", fresh("pred"), "--nan", "mean"],
    /^lorapt predict: --nan "mean" is not one of refuse, zero$/,
    [],
  );
});

Deno.test("lorapt finetune: a NaN training image or NaN pre-trained weights exit 2 naming the file (and tensor)", async () => {
  const bad = `${root}/nan-data`;
  await makePhantomDataset({ task: "hippocampus", n: 3, dir: bad, size: 16 });
  const img = new Float32Array(16 ** 3).fill(1);
  img[100] = NaN;
  await writeNifti(`${bad}/sub2/sub2_img.nii.gz`, makeVolume(img, [16, 16, 16]));
  const out = fresh("run");
  const args = finetune(out, "--train-size", "2").map((a) => (a === data ? bad : a));
  await refuses(args, /sub2_img\.nii\.gz: 1 voxel is NaN or Inf/, [out, bad]);

  const model = tinyUnetr(0);
  const nanWeights = `${root}/nan.safetensors`;
  await saveCheckpoint(nanWeights, model, { metadata: { [MODEL_KEY]: JSON.stringify(model.config) } });
  const ck = await readCheckpoint(nanWeights);
  // Write the same weights with one NaN in the first tensor, through the raw file.
  const bytes = await Deno.readFile(nanWeights);
  const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen)));
  const first = [...ck.model.keys()][0];
  const start = 8 + headerLen + header[first].data_offsets[0];
  new DataView(bytes.buffer).setFloat32(start, NaN, true);
  await Deno.writeFile(nanWeights, bytes);
  const out2 = fresh("run");
  await refuses(
    finetune(out2).map((a) => (a === weights ? nanWeights : a)),
    new RegExp(`nan\\.safetensors: tensor ${first.replace(/\./g, "\\.")} holds 1 NaN/Inf value`),
    [out2],
  );
});

Deno.test("lorapt eval: predicted values outside {0, 1} exit 2 with the values and counts, unless --pred-label-map merges them", async () => {
  const pred = fresh("evalpred"), truth = `${pred}-truth`;
  await Deno.mkdir(pred);
  await Deno.mkdir(truth);
  const lab = new Uint8Array(4 * 4 * 4);
  lab.fill(1, 0, 20);
  const p = lab.slice();
  p[30] = 2;
  p[31] = 2;
  p[40] = 37;
  await writeNifti(`${truth}/s1.nii.gz`, makeVolume(lab, [4, 4, 4]));
  await writeNifti(`${pred}/s1.nii.gz`, makeVolume(p, [4, 4, 4]));
  const msg = await refuses(
    ["eval", "--pred", pred, "--truth", truth, "--quiet"],
    /label values outside \{0, 1\}: 2 \(2 voxels\), 37 \(1 voxels\)/,
    [pred, truth],
  );
  assert.match(msg, /^lorapt eval: --pred: .*s1\.nii\.gz/);
  const ok = await run(["eval", "--pred", pred, "--truth", truth, "--pred-label-map", "1,2,37:1", "--quiet"]);
  assert.equal(ok.code, 0, ok.err.join("\n"));
  const csv = await Deno.readTextFile(`${pred}/metrics.csv`);
  // Dice by hand: prediction 23 voxels (20 + 2 + 1), truth 20, overlap 20 → 40 / 43.
  assert.ok(Math.abs(Number(csv.split("\n")[1].split(",")[1]) - 40 / 43) < 1e-9, csv);
  await refuses(
    ["eval", "--pred", pred, "--truth", truth, "--label-map", "37,38"],
    /^lorapt eval: --label-map: parseLabelMap: "37,38" is not "v1,v2,…:target"$/,
    [pred],
  );
  await refuses(
    ["eval", "--pred", pred, "--truth", truth, "--out", `${root}/no/such/dir/m.csv`],
    /--out .*m\.csv: folder .*no\/such\/dir does not exist/,
    [pred],
  );
});

Deno.test("lorapt finetune --resume refuses changed --data, --rank, --method or --seed naming both values, and a damaged resume.safetensors", async () => {
  const out = fresh("run");
  assert.equal((await run(finetune(out, "--method", "lora", "--rank", "2"))).code, 0);
  const other = `${root}/other-data`;
  await makePhantomDataset({ task: "hippocampus", n: 3, dir: other, size: 16, seed: 9 });
  const resume = (...more: string[]) => [...finetune(out, "--method", "lora", "--rank", "2"), "--resume", ...more];
  await refuses(resume("--rank", "3"), /cannot resume .*: fingerprint\.rank: was 2, now 3/, [out]);
  await refuses(resume("--method", "pissa"), /fingerprint\.method: was "lora", now "pissa"/, [out]);
  await refuses(resume("--seed", "5"), /config\.seed: was 1000, now 5/, [out]);
  await refuses(
    resume().map((a) => (a === data ? other : a)),
    /fingerprint\.data\.sub1: was "sub1_img\.nii\.gz \d+ B .*", now "sub1_img\.nii\.gz \d+ B/,
    [out],
  );
  const bytes = await Deno.readFile(`${out}/resume.safetensors`);
  await Deno.writeFile(`${out}/resume.safetensors`, bytes.slice(0, 100));
  await refuses(resume(), /cannot resume: .*resume\.safetensors is damaged/, [out]);
});

Deno.test("lorapt finetune into a folder holding a run refuses unless --overwrite, which clears it; predict uses only the run's listed checkpoints", async () => {
  const out = fresh("run");
  assert.equal((await run(finetune(out, "--epochs", "3"))).code, 0);
  assert.ok(await Deno.stat(`${out}/model_epoch_2.safetensors`).then(() => true));
  await refuses(finetune(out), /run folder .* holds an earlier run: a fresh run needs an empty folder/, [out]);
  const r = await run(finetune(out, "--overwrite"));
  assert.equal(r.code, 0, r.err.join("\n"));
  assert.equal(await Deno.stat(`${out}/model_epoch_2.safetensors`).then(() => true, () => false), false);
  // The 1-epoch run kept model_epoch_0 only: asking for 2 members is refused, not padded with stray files.
  await Deno.copyFile(`${out}/model_epoch_0.safetensors`, `${out}/model_epoch_-1.safetensors`);
  const pred = fresh("pred");
  await refuses(
    ["predict", "--run", out, "--input", `${data}/sub1/sub1_img.nii.gz`, "--out", pred, "--ensemble", "2"],
    /--ensemble 2: run .* keeps 1 epoch checkpoint \(model_epoch_0\.safetensors\)/,
    [pred, out],
  );
});

Deno.test("lorapt: user mistakes that used to exit 1 exit 2 naming the flag or file", async () => {
  const file = `${root}/a-file`;
  await Deno.writeTextFile(file, "x");
  await refuses(finetune(file), /run folder .*a-file is a file, not a folder/, [file]);
  await refuses(finetune(`${file}/run`), /run folder .*a-file\/run lies under a file/, [file]);
  await refuses(
    ["predict", "--run", runDir, "--input", `${data}/sub1/sub1_img.nii.gz`, "--out", file],
    /--out .*a-file is a file, not a folder/,
    [file],
  );
  const out = fresh("run");
  await refuses(finetune(out, "--label-map", "37,38"), /--label-map: parseLabelMap: "37,38" is not/, [out]);
  // A negative value is parsed as the flag's value (not as a flag); the method table's rank check refuses it.
  await refuses(
    finetune(out, "--method", "lora", "--rank", "-1"),
    /^lorapt finetune: --rank -1: rank -1 of lora must be a positive integer$/,
    [out],
  );
  await refuses(finetune(out, "--lr", "-1"), /^lorapt finetune: --lr "-1" must be a number in 0\.\.∞$/, [out]);
  await refuses(finetune(out, "--batch-size", "3"), /--batch-size 3 is larger than the training set \(2 subjects\)/, [
    out,
  ]);
  await refuses(
    finetune(out, "--model", "unetr-small"),
    /--model unetr-small conflicts with the model that .*pre\.safetensors records \(hiddenSize 16, not 96/,
    [out],
  );
  // dataset.json with a duplicate entry, or "training" as a string.
  const msd = `${root}/msd`;
  await makePhantomDataset({ task: "hippocampus", n: 3, dir: msd, size: 16, layout: "msd" });
  const json = JSON.parse(await Deno.readTextFile(`${msd}/dataset.json`));
  const cases: [unknown, RegExp][] = [
    [{ ...json, training: [...json.training, json.training[0]] }, /subject id "\w+" is listed twice/],
    [{ ...json, training: "imagesTr" }, /"training" is "imagesTr", not a list of entries/],
  ];
  for (const [body, pattern] of cases) {
    await Deno.writeTextFile(`${msd}/dataset.json`, JSON.stringify(body));
    await refuses(finetune(out).map((a) => (a === data ? msd : a)), pattern, [out]);
  }
  // A checkpoint of another model size, and a .pth, for predict --checkpoint.
  const small = `${root}/other-size.safetensors`;
  await saveCheckpoint(small, createUnetr({ ...TINY, hiddenSize: 32 }, { seed: 0 }));
  const input = `${data}/sub1/sub1_img.nii.gz`;
  const pred = fresh("pred");
  await refuses(
    ["predict", "--run", runDir, "--input", input, "--out", pred, "--checkpoint", small],
    /checkpoint .*other-size\.safetensors does not fit run .*'s model/,
    [pred],
  );
  await refuses(
    ["predict", "--run", runDir, "--input", input, "--out", pred, "--checkpoint", `${root}/x.pth`],
    /--checkpoint .*x\.pth: predict takes a \.safetensors checkpoint written by lorapt/,
    [pred],
  );
});

Deno.test("lorapt finetune as a process: Ctrl-C saves resume.safetensors and exits 130 with one line on how to resume", async () => {
  const out = fresh("run");
  const args = finetune(out, "--epochs", "500", "--checkpoint-every", "0");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../../cli/main.ts", import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
  }).spawn();
  // Wait until training has taken a step (the log has a step line), then interrupt.
  for (let i = 0; i < 600; i++) {
    const log = await Deno.readTextFile(`${out}/log.jsonl`).catch(() => "");
    if (log.includes('"type":"step"')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGINT");
  const { code, stderr } = await child.output();
  const lines = new TextDecoder().decode(stderr).trim().split("\n");
  assert.equal(code, 130, lines.join("\n"));
  assert.equal(lines.length, 1, lines.join("\n"));
  assert.match(
    lines[0],
    /^lorapt finetune: interrupted after epoch \d+; .*resume\.safetensors is saved: continue with the same command and --resume$/,
  );
  const ck = await readCheckpoint(`${out}/resume.safetensors`);
  assert.ok(ck.info.epochsDone >= 1 && ck.info.epochsDone < 500, `epochs done ${ck.info.epochsDone}`);
  assert.equal(ck.info.steps, 2 * ck.info.epochsDone, "whole epochs only");
});

Deno.test("lorapt pretrain as a process: a step estimated above the machine's memory exits 2 with the estimate, before any file is written", async () => {
  // A child with -A: the check reads the machine's memory (--allow-sys), which the test task does not grant.
  const out = fresh("run");
  const args = ["pretrain", "--data", data, "--model", "unetr-tiny", "--img-size", "1024", "--out", out, ...TRAIN];
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../../cli/main.ts", import.meta.url).pathname, ...args],
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
  }).output();
  const lines = new TextDecoder().decode(stderr).trim().split("\n");
  assert.equal(code, 2, lines.join("\n"));
  assert.equal(lines.length, 1, lines.join("\n"));
  assert.match(
    lines[0],
    /^lorapt pretrain: a training step needs about [\d.]+ GiB .* at crop \[1024,1024,1024\] × batch 1\)/,
  );
  assert.match(lines[0], /give --force to try anyway$/);
  assert.equal(await tree(out), null, "no run folder");
});

Deno.test("lorapt finetune and eval: --max-voxels bounds the images they read, naming the file", async () => {
  const out = fresh("run");
  await refuses(
    finetune(out, "--max-voxels", "4000"),
    /sub\d_img\.nii\.gz: dims \[16,16,16\] give 4096 voxels, more than the bound of 4000/,
    [out],
  );
  const pred = fresh("evalpred");
  await Deno.mkdir(pred);
  await writeNifti(`${pred}/sub1.nii.gz`, makeVolume(new Uint8Array(16 ** 3), [16, 16, 16]));
  await refuses(
    ["eval", "--pred", pred, "--truth", data, "--max-voxels", "4000", "--quiet"],
    /^lorapt eval: --pred .*sub1\.nii\.gz: readNifti: .*more than the bound of 4000/,
    [pred],
  );
});

/**
 * One run folder never mixes two runs: a fresh run refuses a folder holding
 * an earlier run unless `overwrite` (which clears it), a resume refuses a
 * changed setting or a damaged resume.safetensors, a resume cuts log.jsonl
 * back to its position, and an interrupt ends with resume.safetensors after
 * the current epoch. Each refusal leaves the folder as it was.
 */
import assert from "node:assert/strict";
import { readCheckpoint, train, type TrainConfig, TrainInputError, type TrainOptions } from "../../train/mod.ts";
import { phantomSamples, snapshot, tinyUnetr } from "./tiny.ts";

const CONFIG: Partial<TrainConfig> = { epochs: 2, batchSize: 1, crop: [16, 16, 16], lr: 3e-3, checkpointEvery: 1 };
const samples = phantomSamples(2);

function opts(outDir: string, extra: Partial<TrainOptions> = {}): TrainOptions {
  const model = tinyUnetr(0);
  return {
    model,
    trainable: model.namedParameters().map(([n]) => n),
    samples,
    config: CONFIG,
    outDir,
    progress: false,
    ...extra,
  };
}

/** Every file of `dir` with its bytes, to show that a refusal changed nothing. */
async function contents(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const e of Deno.readDir(dir)) {
    const bytes = await Deno.readFile(`${dir}/${e.name}`);
    out.set(e.name, `${bytes.length}:${bytes.reduce((h, b) => (h * 31 + b) >>> 0, 7)}`);
  }
  return out;
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "lorapt-run-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const refused = (pattern: RegExp) => (e: Error) => {
  assert.ok(e instanceof TrainInputError, `${e.name}: ${e.message}`);
  assert.match(e.message, pattern);
  return true;
};

Deno.test({
  name: "train: a fresh run into a folder holding an earlier run refuses; overwrite clears the earlier run first",
  sanitizeResources: false,
  fn: () =>
    withDir(async (dir) => {
      await train(opts(dir, { config: { ...CONFIG, epochs: 3 } }));
      const before = await contents(dir);
      assert.ok(before.has("model_epoch_0.safetensors"));
      await assert.rejects(train(opts(dir)), refused(/run folder .* holds an earlier run.*--overwrite clears/));
      assert.deepEqual(await contents(dir), before, "nothing changed");

      await train(opts(dir, { overwrite: true }));
      const files = [...(await contents(dir)).keys()].sort();
      // 2 epochs keep epochs 0 and 1; the 3-epoch run's epoch-2 file is gone.
      assert.deepEqual(files, [
        "config.json",
        "log.jsonl",
        "model_epoch_0.safetensors",
        "model_epoch_1.safetensors",
        "model_last.safetensors",
        "resume.safetensors",
      ]);
      const record = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
      assert.deepEqual(record.checkpoints.ensemble, ["model_epoch_0.safetensors", "model_epoch_1.safetensors"]);
      const log = (await Deno.readTextFile(`${dir}/log.jsonl`)).trim().split("\n").map((l) => JSON.parse(l));
      assert.equal(log.filter((e) => e.type === "step").length, 4, "only the new run's steps");

      // A folder with files lorapt did not write is refused even with overwrite.
      await Deno.writeTextFile(`${dir}/notes.txt`, "mine");
      const withNotes = await contents(dir);
      await assert.rejects(
        train(opts(dir, { overwrite: true })),
        refused(/holds files that lorapt did not write \(notes\.txt\)/),
      );
      assert.deepEqual(await contents(dir), withNotes);
    }),
});

Deno.test({
  name: "train: resume refuses a changed fingerprint entry, naming it and both values, and changes nothing",
  sanitizeResources: false,
  fn: () =>
    withDir(async (dir) => {
      const fingerprint = { data: { sub1: "image 100 B", sub2: "image 200 B" }, method: "lora", rank: 2 };
      await train(opts(dir, { fingerprint }));
      const before = await contents(dir);
      const cases: [Record<string, unknown>, RegExp][] = [
        [{ ...fingerprint, rank: 4 }, /fingerprint\.rank: was 2, now 4/],
        [{ ...fingerprint, method: "pissa" }, /fingerprint\.method: was "lora", now "pissa"/],
        [
          { ...fingerprint, data: { sub1: "image 100 B", sub3: "image 9 B" } },
          /fingerprint\.data\.sub3: was \(absent\), now "image 9 B"/,
        ],
      ];
      for (const [changed, pattern] of cases) {
        await assert.rejects(train(opts(dir, { fingerprint: changed, resume: true })), refused(pattern));
        assert.deepEqual(await contents(dir), before, String(pattern));
      }
      await assert.rejects(
        train(opts(dir, { fingerprint, resume: true, config: { ...CONFIG, seed: 7 } })),
        refused(/config\.seed: was 1000, now 7/),
      );
      assert.deepEqual(await contents(dir), before);
    }),
});

Deno.test({
  name:
    "train: a truncated resume.safetensors is refused as damaged; a batch larger than the training set names --batch-size",
  sanitizeResources: false,
  fn: () =>
    withDir(async (dir) => {
      await train(opts(dir));
      const bytes = await Deno.readFile(`${dir}/resume.safetensors`);
      await Deno.writeFile(`${dir}/resume.safetensors`, bytes.slice(0, bytes.length >> 1));
      const before = await contents(dir);
      await assert.rejects(
        train(opts(dir, { resume: true })),
        refused(/cannot resume: .*resume\.safetensors is damaged/),
      );
      assert.deepEqual(await contents(dir), before);

      const fresh = `${dir}/fresh`;
      await assert.rejects(
        train(opts(fresh, { config: { ...CONFIG, batchSize: 3 } })),
        refused(/--batch-size 3 is larger than the training set \(2 subjects\)/),
      );
      assert.equal(await Deno.stat(fresh).then(() => true, () => false), false, "no folder created");
    }),
});

Deno.test({
  name: "train: a resume after a kill cuts log.jsonl back to the resumed position (each step logged once)",
  sanitizeResources: false,
  fn: () =>
    withDir(async (dir) => {
      const config = { ...CONFIG, epochs: 3, checkpointEvery: 2 };
      const stop = new AbortController();
      // Killed at step 5 of 6: the last resume point is after epoch 2 (step 4).
      await train(opts(dir, { config, signal: stop.signal, onStep: ({ step }) => step === 5 && stop.abort() }));
      await Deno.writeTextFile(`${dir}/log.jsonl`, '{"type":"step","ep', { append: true }); // torn by the kill
      await train(opts(dir, { config, resume: true }));
      const log = (await Deno.readTextFile(`${dir}/log.jsonl`)).trim().split("\n").map((l) => JSON.parse(l));
      assert.deepEqual(log.filter((e) => e.type === "step").map((e) => e.step), [1, 2, 3, 4, 5, 6]);
      assert.deepEqual(log.map((e) => e.type).filter((t) => t === "start"), ["start", "start"]);
    }),
});

Deno.test({
  name:
    "train: an interrupt finishes the epoch, writes resume.safetensors, and the resumed run equals an uninterrupted one",
  sanitizeResources: false,
  fn: () =>
    withDir(async (dir) => {
      const config = { ...CONFIG, epochs: 3, checkpointEvery: 0 };
      const full = opts(`${dir}/a`, { config });
      await train(full);
      const stop = new AbortController();
      const r = await train(opts(`${dir}/b`, { config, interrupt: stop.signal, onStep: () => stop.abort() }));
      assert.equal(r.interrupted, true);
      assert.equal(r.steps, 2, "epoch 0 finished (2 steps)");
      assert.equal((await readCheckpoint(`${dir}/b/resume.safetensors`)).info.epochsDone, 1);
      const resumed = opts(`${dir}/b`, { config, resume: true });
      const rr = await train(resumed);
      assert.equal(rr.resumedFrom, 1);
      const a = await snapshot(full.model as ReturnType<typeof tinyUnetr>);
      const b = await snapshot(resumed.model as ReturnType<typeof tinyUnetr>);
      for (const [n, x] of a) assert.deepEqual(b.get(n), x, n);
    }),
});

/**
 * The training loop: seeded determinism, resume equivalence after a kill,
 * frozen parameters, logs and checkpoints (paper §4.3).
 */
import assert from "node:assert/strict";
import { readCheckpoint, train, type TrainConfig } from "../../train/mod.ts";
import { phantomSamples, snapshot, tinyUnetr } from "./tiny.ts";

const CONFIG: Partial<TrainConfig> = { epochs: 4, batchSize: 1, crop: [16, 16, 16], lr: 3e-3, checkpointEvery: 1 };
const all = (m: ReturnType<typeof tinyUnetr>) => m.namedParameters().map(([n]) => n);

function assertSameParams(a: Map<string, Float32Array>, b: Map<string, Float32Array>, what: string): void {
  for (const [name, x] of a) {
    const y = b.get(name)!;
    for (let i = 0; i < x.length; i++) {
      if (x[i] !== y[i]) assert.fail(`${what}: ${name}[${i}] ${x[i]} vs ${y[i]}`);
    }
  }
}

Deno.test({
  name: "train: the same seed gives the same losses and bitwise-equal parameters; another seed does not",
  sanitizeResources: false,
  fn: async () => {
    const samples = phantomSamples(2);
    const runs = [];
    for (const seed of [5, 5, 6]) {
      const model = tinyUnetr(0);
      const r = await train({
        model,
        trainable: all(model),
        samples,
        config: { ...CONFIG, epochs: 2, seed },
        progress: false,
      });
      runs.push({ r, params: await snapshot(model) });
    }
    assert.deepEqual(runs[0].r.losses, runs[1].r.losses);
    assertSameParams(runs[0].params, runs[1].params, "seed 5 twice");
    assert.notDeepEqual(runs[0].r.losses, runs[2].r.losses);
  },
});

Deno.test({
  name: "train: a run killed mid-epoch and resumed equals the uninterrupted run (parameters bitwise)",
  sanitizeResources: false,
  fn: async () => {
    const samples = phantomSamples(2);
    const dirA = await Deno.makeTempDir(), dirB = await Deno.makeTempDir();
    try {
      const a = tinyUnetr(0);
      const full = await train({ model: a, trainable: all(a), samples, config: CONFIG, outDir: dirA, progress: false });
      assert.equal(full.steps, 8);

      // Killed during epoch 3 (step 6 of 8): the last resume point is after epoch 2.
      const b = tinyUnetr(0), stop = new AbortController();
      const killed = await train({
        model: b,
        trainable: all(b),
        samples,
        config: CONFIG,
        outDir: dirB,
        progress: false,
        signal: stop.signal,
        onStep: ({ step }) => step === 6 && stop.abort(),
      });
      assert.ok(killed.stopped);
      assert.equal((await readCheckpoint(`${dirB}/resume.safetensors`)).info.epochsDone, 2);

      // A new process: fresh model object (another init even), resume from the folder.
      const c = tinyUnetr(99);
      const resumed = await train({
        model: c,
        trainable: all(c),
        samples,
        config: CONFIG,
        outDir: dirB,
        resume: true,
        progress: false,
      });
      assert.equal(resumed.resumedFrom, 2);
      assert.equal(resumed.steps, 8);
      assert.deepEqual(resumed.losses, full.losses.slice(4));
      assertSameParams(await snapshot(a), await snapshot(c), "resumed vs uninterrupted");

      const log = (await Deno.readTextFile(`${dirB}/log.jsonl`)).trim().split("\n").map((l) => JSON.parse(l));
      assert.ok(log.some((e) => e.type === "start" && e.fromEpoch === 2));
      const config = JSON.parse(await Deno.readTextFile(`${dirB}/config.json`));
      assert.equal(config.seed, 1000);
      assert.equal(config.versions.deno, Deno.version.deno);
      // 4 epochs, ensemble of 4: epochs 0..3 kept (the middle epoch 1 among them), plus final copies.
      const files = [...Deno.readDirSync(dirA)].map((e) => e.name).sort();
      assert.deepEqual(files.filter((f) => f.endsWith(".safetensors")), [
        "model_epoch_0.safetensors",
        "model_epoch_1.safetensors",
        "model_epoch_2.safetensors",
        "model_epoch_3.safetensors",
        "model_last.safetensors",
        "resume.safetensors",
      ]);
    } finally {
      await Deno.remove(dirA, { recursive: true });
      await Deno.remove(dirB, { recursive: true });
    }
  },
});

Deno.test({
  name: "train: resuming with a different config is refused, naming the differing keys",
  sanitizeResources: false,
  fn: async () => {
    const samples = phantomSamples(1);
    const dir = await Deno.makeTempDir();
    try {
      const m = tinyUnetr(0);
      await train({
        model: m,
        trainable: all(m),
        samples,
        config: { ...CONFIG, epochs: 1 },
        outDir: dir,
        progress: false,
      });
      await assert.rejects(
        train({
          model: m,
          trainable: all(m),
          samples,
          config: { ...CONFIG, epochs: 1, lr: 1 },
          outDir: dir,
          resume: true,
          progress: false,
        }),
        /config\.json differs in lr/,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "train: frozen parameters stay bitwise unchanged; frozen-dropout off turns dropout off outside trained layers",
  sanitizeResources: false,
  fn: async () => {
    const model = tinyUnetr(0);
    const before = await snapshot(model);
    const trainable = all(model).filter((n) => n.startsWith("decoder2."));
    await train({
      model,
      trainable,
      samples: phantomSamples(1),
      config: { ...CONFIG, epochs: 1, frozenDropout: "off" },
      progress: false,
    });
    const after = await snapshot(model);
    for (const [n, x] of before) {
      const changed = x.some((v, i) => v !== after.get(n)![i]);
      assert.equal(changed, trainable.includes(n), `${n} changed=${changed}`);
    }
    const drops = model.namedModules().filter(([p]) => /drop/.test(p));
    assert.ok(drops.length > 0 && drops.every(([, m]) => !m.training), "all ViT dropouts off (the ViT is frozen)");
  },
});

Deno.test({
  name: "train: progress prints plain lines with epoch, step, loss, lr, steps/s and ETA when not a terminal",
  sanitizeResources: false,
  fn: async () => {
    const model = tinyUnetr(0), lines: string[] = [];
    await train({
      model,
      trainable: all(model),
      samples: phantomSamples(2),
      config: { ...CONFIG, epochs: 1 },
      progress: { tty: false, write: (t) => lines.push(t), every: 1 },
    });
    assert.equal(lines.length, 2);
    assert.match(lines[1], /^epoch 1\/1 {2}step 2\/2 {2}loss \d\.\d{4} {2}lr 3\.00e-3 {2}[\d.]+ steps\/s {2}ETA 0s\n$/);
  },
});

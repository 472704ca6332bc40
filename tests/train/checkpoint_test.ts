/** Checkpoints: atomic replacement under SIGKILL, the protocol's kept epochs, round trips. */
import assert from "node:assert/strict";
import { Adam, checkpointPlan, readCheckpoint, removeStaleTemps, saveCheckpoint } from "../../train/mod.ts";
import { tidy } from "../../mod.ts";
import { Linear } from "../../models/mod.ts";

Deno.test({
  name: "checkpoint: killing the writer during saves always leaves a complete, loadable previous checkpoint",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const path = `${dir}/resume.safetensors`;
    try {
      for (const delay of [40, 170, 330]) {
        const child = new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", new URL("./save_loop_child.ts", import.meta.url).pathname, path],
          stdout: "piped",
          stderr: "null",
        }).spawn();
        const reader = child.stdout.getReader();
        await reader.read(); // "saved": a first complete checkpoint exists
        await new Promise((r) => setTimeout(r, delay)); // now most likely mid-write
        child.kill("SIGKILL");
        await child.status;
        reader.releaseLock();
        await child.stdout.cancel();
        const ck = await readCheckpoint(path);
        const k = ck.info.epochsDone;
        assert.ok(k >= 1);
        for (const [name, t] of ck.model) {
          const data = await t.data();
          assert.ok(data.every((x) => x === k), `${name}: values of one save (${k}), not a mix`);
        }
        await removeStaleTemps(dir);
        assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["resume.safetensors"]);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("checkpoint: model and optimizer state round-trip with the position", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const net = new Linear(3, 2);
    const opt = new Adam(net.parameters(), { amsgrad: true });
    tidy(() => opt.step(net.parameters().map((p) => p.mul(0).add(0.5))));
    await saveCheckpoint(`${dir}/c.safetensors`, net, { optimizer: opt, info: { epochsDone: 7, steps: 14 } });
    const ck = await readCheckpoint(`${dir}/c.safetensors`);
    assert.deepEqual(ck.info, { epochsDone: 7, steps: 14 });
    assert.equal(ck.optimizer?.step, 1);
    assert.deepEqual([...ck.optimizer!.tensors.keys()].sort(), ["m.0", "m.1", "v.0", "v.1", "vmax.0", "vmax.1"]);
    assert.deepEqual([...await ck.model.get("weight")!.data()], [...await net.getParameter("weight").data()]);
    const fresh = new Linear(3, 2);
    fresh.loadStateDict(ck.model);
    assert.deepEqual([...await fresh.getParameter("bias").data()], [...await net.getParameter("bias").data()]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkpoint plan: the authors' epochs 499 and 996–999 of 1000; small runs keep what exists", () => {
  assert.deepEqual(checkpointPlan(1000), {
    keptEpochs: [499, 996, 997, 998, 999],
    ensembleEpochs: [996, 997, 998, 999],
  });
  assert.deepEqual(checkpointPlan(20, 2), { keptEpochs: [9, 18, 19], ensembleEpochs: [18, 19] });
  assert.deepEqual(checkpointPlan(1), { keptEpochs: [0], ensembleEpochs: [0] });
});

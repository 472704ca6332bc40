/** The one method table: every list of methods derives from it, and the rank check's bounds. */
import assert from "node:assert/strict";
import { createUnetr } from "../../models/mod.ts";
import {
  applyPeft,
  checkRank,
  isAdapted,
  METHOD_LABELS,
  METHOD_NAMES,
  METHOD_TABLE,
  PAPER_RANKS,
  PEFT_METHODS,
  RANKED_METHODS,
  RankError,
} from "../../peft/mod.ts";
import { ADAPTER_METHODS, BUILTIN_METHODS, METHODS, prepareMethod } from "../../train/mod.ts";
import { DEMO_METHODS } from "../../cli/demo.ts";
import { EXPERIMENT_PRESETS } from "../../train/mod.ts";
import { SMALL, smallModel } from "./helpers.ts";

Deno.test("the paper's methods, labels and ranks (Tables 1–3, written out by hand) are the table's", () => {
  assert.deepEqual(PEFT_METHODS, ["full", "linear-probe", "lora", "adapter", "ssf", "lotr", "pissa", "lora-pt"]);
  assert.deepEqual(PAPER_RANKS, { lora: 32, adapter: 32, lotr: 2, pissa: 2, "lora-pt": 1 });
  assert.deepEqual(RANKED_METHODS, ["lora", "adapter", "lotr", "pissa", "lora-pt"]);
  assert.equal(METHOD_LABELS["lora-pt"], "LoRA-PT");
  assert.equal(METHOD_LABELS["linear-probe"], "Linear-probing");
});

Deno.test("every other list of methods is the table's, in its order", () => {
  const names = METHOD_TABLE.map((m) => m.name);
  assert.deepEqual(METHOD_NAMES, names);
  assert.deepEqual(METHODS, names);
  assert.deepEqual([...BUILTIN_METHODS, ...ADAPTER_METHODS].sort(), [...names].sort());
  assert.deepEqual(DEMO_METHODS, PEFT_METHODS);
  assert.deepEqual(EXPERIMENT_PRESETS.table2.methods, PEFT_METHODS);
  assert.deepEqual(EXPERIMENT_PRESETS.table1.methods, RANKED_METHODS);
  assert.deepEqual(Object.keys(METHOD_LABELS), names);
});

Deno.test("applyPeft and prepareMethod without a rank use the table's rank", async () => {
  for (const m of METHOD_TABLE) {
    const { config, report } = await applyPeft(createUnetr("unetr-base", { materialize: false }), { method: m.name });
    if (m.rank !== null) {
      assert.equal(config.rank, m.rank, m.name);
      assert.match(report.label, new RegExp(`r=${m.rank}`), m.name);
    }
    const p = await prepareMethod(createUnetr("unetr-base", { materialize: false }), { method: m.name });
    assert.equal(p.report.rank, m.rank, m.name);
  }
});

Deno.test("decoder, full and linear-probe through applyPeft train what their definitions say", async () => {
  const names = (m: ReturnType<typeof smallModel>) => m.namedParameters().map(([n]) => n);
  const all = names(smallModel());
  const decoder = all.filter((n) => /^decoder[2-5]\./.test(n));
  const linears = all.filter((n) => /^vit\.blocks\.\d+\.mlp\.linear[12]\.(weight|bias)$/.test(n));
  assert.deepEqual([...(await applyPeft(smallModel(), { method: "full" })).trainable.keys()], all);
  assert.deepEqual([...(await applyPeft(smallModel(), { method: "decoder" })).trainable.keys()], decoder);
  const lp = [...(await applyPeft(smallModel(), { method: "linear-probe" })).trainable.keys()];
  assert.deepEqual(lp, all.filter((n) => decoder.includes(n) || linears.includes(n)));
});

Deno.test("the rank bound is min(out, in) of the targets (LoRA, PiSSA, LoTR) or min(n1, n2) of the groups (LoRA-PT)", async () => {
  // SMALL: d = 8, MLP 16, so qkv [24, 8], out_proj [8, 8], linear1 [16, 8], linear2 [8, 16]: the bound is 8.
  assert.equal(createUnetr(SMALL, { materialize: false }).config.hiddenSize, 8);
  const meta = () => createUnetr(SMALL, { materialize: false });
  for (const method of ["lora", "pissa", "lotr", "lora-pt"] as const) {
    checkRank(meta(), { method, rank: 8 });
    assert.throws(
      () => checkRank(meta(), { method, rank: 9 }),
      (e) => e instanceof RankError && e.bound === 8 && e.rank === 9 && /must be at most 8/.test(e.message),
      method,
    );
  }
  // Only the MLP: linear1 [16, 8] still bounds at 8; LoRA-PT's up group [16, 8, 12] too.
  assert.throws(() => checkRank(meta(), { method: "lora", rank: 9, targets: ["linear1"] }), RankError);
  checkRank(meta(), { method: "adapter", rank: 64 }); // a hidden width: no bound
  checkRank(meta(), { method: "ssf", rank: 999 }); // no rank: ignored
  for (const bad of [0, -1, 1.5, NaN]) {
    assert.throws(() => checkRank(meta(), { method: "lora", rank: bad }), RankError);
  }
  // applyPeft checks before adapting: the model is left as it was.
  const model = smallModel();
  await assert.rejects(applyPeft(model, { method: "pissa", rank: 9 }), RankError);
  assert.equal(isAdapted(model), false);
});

/**
 * Trainable-parameter totals at the reference UNETR (built shape-only)
 * equal the paper's "Params (M)" column (Tables 2–3) as README.md's "PEFT methods" table reconciles it, computed from the
 * adapted modules themselves.
 */
import assert from "node:assert/strict";
import { createUnetr } from "../../models/mod.ts";
import { applyPeft, formatReport, type PeftConfig } from "../../peft/mod.ts";

const TABLE: [string, PeftConfig, number][] = [
  ["Linear-probing", { method: "linear-probe" }, 59_347_712],
  ["LoRA r=32", { method: "lora", rank: 32 }, 7_397_120],
  ["Adapter r=32", { method: "adapter", rank: 32 }, 7_986_944],
  ["SSF", { method: "ssf" }, 2_882_816],
  ["LoTR r=2", { method: "lotr", rank: 2 }, 2_703_296],
  ["PiSSA r=2", { method: "pissa", rank: 2 }, 2_973_632],
  ["LoRA-PT r=1", { method: "lora-pt", rank: 1 }, 2_844_488],
  ["Full", { method: "full" }, 93_011_170],
  ["LoRA-PT public-code mode", { method: "lora-pt", mode: "public-code" }, 2_678_528],
];

const reference = () => createUnetr("unetr-base", { materialize: false });

for (const [row, config, total] of TABLE) {
  Deno.test(`reference UNETR: ${row} trains exactly ${total.toLocaleString("en-US")} parameters`, async () => {
    const { model, trainable, report } = await applyPeft(reference(), config);
    assert.equal(report.total, total);
    assert.equal(report.baseTotal, 93_011_170);
    assert.ok(Math.abs(report.percent - (100 * total) / 93_011_170) < 1e-12);
    // The report lists exactly the tensors flagged requiresGrad, with their real sizes.
    const flagged = model.namedParameters().filter(([, t]) => t.requiresGrad);
    assert.deepEqual(report.entries.map((e) => e.name), flagged.map(([n]) => n));
    assert.deepEqual([...trainable.keys()], flagged.map(([n]) => n));
    report.entries.forEach((e, i) => assert.equal(e.count, flagged[i][1].size));
  });
}

Deno.test("reference UNETR: LoRA-PT paper mode stores U, S tubes and V per group with the paper's shapes", async () => {
  const { report } = await applyPeft(reference(), { method: "lora-pt" });
  const shared = report.entries.filter((e) => e.name.startsWith("vit.blocks.lora_pt_"));
  assert.deepEqual(shared.map((e) => `${e.name} [${e.shape}]`), [
    "vit.blocks.lora_pt_sa_U [768,1,48]",
    "vit.blocks.lora_pt_sa_S [1,48]",
    "vit.blocks.lora_pt_sa_V [768,1,48]",
    "vit.blocks.lora_pt_up_U [3072,1,12]",
    "vit.blocks.lora_pt_up_S [1,12]",
    "vit.blocks.lora_pt_up_V [768,1,12]",
    "vit.blocks.lora_pt_down_U [768,1,12]",
    "vit.blocks.lora_pt_down_S [1,12]",
    "vit.blocks.lora_pt_down_V [3072,1,12]",
  ]);
  assert.equal(shared.reduce((n, e) => n + e.count, 0), 165_960);
  // Everything else that trains is decoder2–5.
  const rest = report.entries.filter((e) => !shared.includes(e));
  assert.ok(rest.every((e) => /^decoder[2-5]\./.test(e.name)));
});

Deno.test("reference UNETR: per-block tensors of LoRA, Adapter, SSF and PiSSA follow peft/README.md", async () => {
  const block0 = async (config: PeftConfig) =>
    (await applyPeft(reference(), config)).report.entries
      .filter((e) => e.name.startsWith("vit.blocks.0."))
      .map((e) => `${e.name.slice("vit.blocks.0.".length)} [${e.shape}]`);
  assert.deepEqual(await block0({ method: "lora", rank: 32 }), [
    "mlp.linear1.lora_A [32,768]",
    "mlp.linear1.lora_B [3072,32]",
    "mlp.linear2.lora_A [32,3072]",
    "mlp.linear2.lora_B [768,32]",
    "attn.out_proj.lora_A [32,768]",
    "attn.out_proj.lora_B [768,32]",
    "attn.qkv.lora_A [32,768]",
    "attn.qkv.lora_B [2304,32]",
  ]);
  assert.deepEqual(await block0({ method: "adapter", rank: 32 }), [
    "mlp.linear1.adapter_down [32,3072]",
    "mlp.linear1.adapter_up [3072,32]",
    "mlp.linear2.adapter_down [32,768]",
    "mlp.linear2.adapter_up [768,32]",
    "attn.out_proj.adapter_down [32,768]",
    "attn.out_proj.adapter_up [768,32]",
    "attn.qkv.adapter_down [32,2304]",
    "attn.qkv.adapter_up [2304,32]",
  ]);
  const ssf = await block0({ method: "ssf" });
  assert.deepEqual(ssf.filter((n) => n.endsWith("ssf_scale [2304]") || n.startsWith("norm1")), [
    "norm1.ssf_scale [768]",
    "norm1.ssf_shift [768]",
    "attn.qkv.ssf_scale [2304]",
  ]);
  assert.deepEqual(await block0({ method: "pissa", rank: 2 }), [
    "mlp.linear1.pissa_U [3072,2]",
    "mlp.linear1.pissa_S [2,2]",
    "mlp.linear1.pissa_V [768,2]",
    "mlp.linear2.pissa_U [768,2]",
    "mlp.linear2.pissa_S [2,2]",
    "mlp.linear2.pissa_V [3072,2]",
    "attn.out_proj.pissa_U [768,2]",
    "attn.out_proj.pissa_S [2,2]",
    "attn.out_proj.pissa_V [768,2]",
    "attn.qkv.pissa_U [2304,2]",
    "attn.qkv.pissa_S [2,2]",
    "attn.qkv.pissa_V [768,2]",
  ]);
});

Deno.test("the decoder rule is a default: modulesToSave and targets change what trains", async () => {
  const none = await applyPeft(reference(), { method: "lora-pt", modulesToSave: [] });
  assert.equal(none.report.total, 165_960);
  const withOut = await applyPeft(reference(), { method: "lora", rank: 32, modulesToSave: ["decoder2", "out"] });
  assert.equal(withOut.report.total, 4_718_592 + 25_344 + 34);
  const qv = await applyPeft(reference(), { method: "lora", rank: 8, targets: ["qkv"], modulesToSave: [] });
  assert.equal(qv.report.total, 12 * 8 * (768 + 2304));
  await assert.rejects(() => applyPeft(reference(), { method: "lora", targets: ["nope"] }), /nope match no Linear/);
});

Deno.test("formatReport summarises per module and prints the total with the percentage", async () => {
  const { report } = await applyPeft(reference(), { method: "lora-pt" });
  const text = formatReport(report, { summary: true });
  assert.match(text, /lora-pt r=1 \(paper\): total 2,844,488 of 93,011,170 \(3\.0582 %\)/);
  assert.match(text, /decoder5\s+2,146,304/);
});

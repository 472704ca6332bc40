/**
 * Every method on a small UNETR with 12 layers: the adapted model starts as
 * the base model, training moves exactly the trainable tensors, the merged
 * model computes the adapted function, and adapter files round-trip.
 */
import assert from "node:assert/strict";
import { applyPeft, isAdapted, loadAdapter, merge, saveAdapter } from "../../peft/mod.ts";
import { inputFor, METHODS, relDiff, sameBits, smallModel, snapshot, train } from "./helpers.ts";

const PLAIN = new Set(["Linear", "LayerNorm", "ModuleList"]);

for (const [label, config] of METHODS) {
  Deno.test(`${label}: on unetr-tiny the adapted model's output equals the base model's at initialisation`, async () => {
    const base = smallModel(11, "float32", "unetr-tiny");
    const x = inputFor(base);
    const before = base.forward(x);
    const { model } = await applyPeft(base, config);
    assert.ok(await relDiff(model.forward(x), before) <= 1e-5);
  });

  Deno.test(`${label}: 3 steps change every trainable tensor and leave every frozen one bitwise unchanged`, async () => {
    const peft = await applyPeft(smallModel(), config);
    const frozen = peft.model.namedParameters().filter(([, t]) => !t.requiresGrad).map(([n]) => n);
    assert.equal(frozen.length + peft.trainable.size, peft.model.namedParameters().length);
    if (config.method === "full") assert.equal(frozen.length, 0);
    const before = await snapshot(peft.model);
    train(peft, inputFor(peft.model), 3);
    const after = await snapshot(peft.model);
    for (const n of frozen) assert.ok(sameBits(before.get(n)!, after.get(n)!), `frozen ${n} changed`);
    for (const n of peft.trainable.keys()) {
      assert.ok(!sameBits(before.get(n)!, after.get(n)!), `trainable ${n} unchanged`);
    }
  });

  Deno.test(`${label}: after training, the merged plain UNETR computes the adapted function`, async () => {
    const peft = await applyPeft(smallModel(), config);
    const x = inputFor(peft.model), start = peft.model.forward(x);
    train(peft, x, 3);
    const adapted = peft.model.forward(x);
    assert.ok(await relDiff(adapted, start) > 1e-6, "training should have changed the output");
    const merged = merge(peft.model);
    assert.ok(!isAdapted(merged), "no adapted layer or shared-factor list is left");
    for (const n of ["vit.blocks", "vit.blocks.5.attn.qkv", "vit.blocks.5.mlp.linear2", "vit.norm"]) {
      assert.ok(PLAIN.has(merged.getSubmodule(n).typeName), `${n} is ${merged.getSubmodule(n).typeName}`);
    }
    const names = merged.namedParameters().map(([n]) => n);
    const baseNames = smallModel().namedParameters().map(([n]) => n);
    // SSF's shift after the bias-free qkv becomes a qkv bias (a UNETR with qkvBias: true).
    const extra = config.method === "ssf" ? 12 : 0;
    assert.equal(names.length, baseNames.length + extra);
    assert.ok(baseNames.every((n) => names.includes(n)));
    assert.ok(await relDiff(merged.forward(x), adapted) <= 1e-5);
  });

  Deno.test(`${label}: an adapter file holds only the trainable tensors and reloads to the same outputs`, async () => {
    const peft = await applyPeft(smallModel(), config);
    const x = inputFor(peft.model);
    train(peft, x, 2);
    const path = await Deno.makeTempFile({ suffix: ".safetensors" });
    try {
      await saveAdapter(path, peft);
      const loaded = await loadAdapter(path, smallModel());
      assert.deepEqual(loaded.config, peft.config);
      assert.deepEqual([...loaded.trainable.keys()], [...peft.trainable.keys()]);
      assert.ok(await relDiff(loaded.model.forward(x), peft.model.forward(x)) <= 1e-6);
    } finally {
      await Deno.remove(path);
    }
  });
}

Deno.test("applyPeft refuses to stack adapters; SSF's official init is random and therefore not invariant", async () => {
  const { model } = await applyPeft(smallModel(), { method: "lora", rank: 2 });
  await assert.rejects(() => applyPeft(model, { method: "ssf" }), /already carries adapters/);
  const base = smallModel(), x = inputFor(base), y = base.forward(x);
  const official = await applyPeft(base, { method: "ssf", ssfInit: "official" });
  assert.ok(await relDiff(official.model.forward(x), y) > 1e-5);
});

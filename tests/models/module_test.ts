import assert from "node:assert/strict";
import { ones, Rng, type Tensor, tensor, zeros } from "../../mod.ts";
import {
  createUnetr,
  Dropout,
  isMeta,
  LayerNorm,
  Linear,
  Module,
  ModuleList,
  Sequential,
  StateDictError,
  type UnaryModule,
} from "../../models/mod.ts";

/** A toy model with an own parameter, a list and a nested child, like MONAI's ViT. */
class Toy extends Module implements UnaryModule {
  constructor(opts = {}) {
    super();
    this.registerModule("embed", new Linear(3, 4, opts));
    this.registerParameter("scale", ones([4]));
    this.registerModule("blocks", new ModuleList([new Linear(4, 4, opts), new LayerNorm(4, opts)]));
    this.registerModule("drop", new Dropout(0.5, opts));
  }
  forward(x: Tensor): Tensor {
    let h = this.child<UnaryModule>("embed").forward(x).mul(this.param("scale"));
    for (const b of this.child<ModuleList<UnaryModule>>("blocks")) h = b.forward(h);
    return this.child<UnaryModule>("drop").forward(h);
  }
}

Deno.test("namedParameters: own parameters first, then children in registration order, lists numbered", () => {
  const toy = new Toy();
  assert.deepEqual(toy.namedParameters().map(([n]) => n), [
    "scale",
    "embed.weight",
    "embed.bias",
    "blocks.0.weight",
    "blocks.0.bias",
    "blocks.1.weight",
    "blocks.1.bias",
  ]);
  assert.equal(toy.numParameters(), 4 + 12 + 4 + 16 + 4 + 4 + 4);
  assert.ok(toy.parameters().every((t) => t.requiresGrad));
  assert.deepEqual(toy.namedModules().map(([n]) => n), ["", "embed", "blocks", "blocks.0", "blocks.1", "drop"]);
  assert.equal(toy.getParameter("blocks.1.bias"), toy.parameters()[6]);
  assert.throws(() => toy.getParameter("blocks.2.weight"), /no submodule "blocks\.2" \(ModuleList has no child "2"\)/);
});

Deno.test("train/eval reach every descendant, and dropout follows the flag", async () => {
  const toy = new Toy({ dropoutRng: new Rng(3) });
  assert.ok(toy.namedModules().every(([, m]) => m.training));
  toy.eval();
  assert.ok(toy.namedModules().every(([, m]) => !m.training));
  const x = tensor([[1, 2, 3]]);
  assert.deepEqual(await toy.forward(x).data(), await toy.forward(x).data());
  toy.train();
  assert.ok(toy.getSubmodule("drop").training);
});

Deno.test("stateDict → loadStateDict round trip copies values into the same tensor objects", async () => {
  const a = new Toy({ rng: new Rng(1) }), b = new Toy({ rng: new Rng(2) });
  const before = b.parameters();
  const res = b.loadStateDict(a.stateDict());
  assert.deepEqual(res.missingKeys, []);
  assert.deepEqual(res.unexpectedKeys, []);
  assert.equal(res.loadedKeys.length, 7);
  assert.ok(b.parameters().every((t, i) => t === before[i]), "assign keeps parameter identity");
  for (const [n, t] of a.namedParameters()) assert.deepEqual(await b.getParameter(n).data(), await t.data(), n);
});

Deno.test("strict loadStateDict names missing and unexpected keys; non-strict reports them", () => {
  const toy = new Toy();
  const dict = toy.stateDict();
  dict.delete("blocks.0.bias");
  dict.set("blocks.9.weight", zeros([4, 4]));
  assert.throws(
    () => toy.loadStateDict(dict),
    (e: unknown) => {
      assert.ok(e instanceof StateDictError);
      assert.deepEqual(e.missingKeys, ["blocks.0.bias"]);
      assert.deepEqual(e.unexpectedKeys, ["blocks.9.weight"]);
      assert.match(e.message, /1 missing key\(s\): blocks\.0\.bias; 1 unexpected key\(s\): blocks\.9\.weight/);
      return true;
    },
  );
  const res = toy.loadStateDict(dict, { strict: false });
  assert.deepEqual(res.missingKeys, ["blocks.0.bias"]);
  assert.deepEqual(res.unexpectedKeys, ["blocks.9.weight"]);
});

Deno.test("loadStateDict names the first mismatching tensor and both shapes, and loads nothing", async () => {
  const model = createUnetr("unetr-tiny", { seed: 0 });
  const dict = new Map(model.stateDict());
  dict.set("vit.blocks.2.attn.qkv.weight", zeros([2304, 768]));
  dict.set("out.conv.conv.bias", zeros([3]));
  const norm = model.getParameter("vit.norm.weight");
  const before = await norm.data();
  dict.set("vit.norm.weight", zeros([48]));
  assert.throws(
    () => model.loadStateDict(dict, { strict: false }),
    /size mismatch for vit\.blocks\.2\.attn\.qkv\.weight: checkpoint \[2304,768\], model \[144,48\] \(1 more mismatched\)/,
  );
  assert.deepEqual(await norm.data(), before, "all checks run before any write");
});

Deno.test("a shape-only model is materialised by loadStateDict, with dtype cast", async () => {
  const real = createUnetr("unetr-tiny", { seed: 4 });
  const meta = createUnetr("unetr-tiny", { materialize: false, dtype: "float64" });
  assert.ok(meta.parameters().every(isMeta));
  await assert.rejects(() => meta.getParameter("out.conv.conv.bias").data(), /meta tensor/);
  meta.loadStateDict(real.stateDict());
  assert.ok(meta.parameters().every((t) => !isMeta(t) && t.dtype === "float64" && t.requiresGrad));
  const w = await meta.getParameter("vit.blocks.3.mlp.linear1.weight").data();
  const w0 = await real.getParameter("vit.blocks.3.mlp.linear1.weight").data();
  assert.deepEqual(Array.from(w), Array.from(w0));
  assert.ok(!real.getParameter("out.conv.conv.bias").disposed);
});

Deno.test("withParameters substitutes tensors for the call and restores them, even on error", async () => {
  const fc = new Linear(2, 1);
  const w = fc.weight;
  const y = fc.withParameters({ weight: tensor([[1, 1]]), bias: tensor([0]) }, () => fc.forward(tensor([[2, 3]])));
  assert.deepEqual(Array.from(await y.data()), [5]);
  assert.equal(fc.weight, w);
  assert.throws(() =>
    fc.withParameters({ weight: tensor([[1, 1]]) }, () => {
      throw new Error("boom");
    }), /boom/);
  assert.equal(fc.weight, w);
  assert.throws(() => fc.setParameter("weight", zeros([3, 2])), /weight has shape \[1,2\], got \[3,2\]/);
});

Deno.test("setSubmodule swaps a layer and forward uses the replacement", async () => {
  const net = new Sequential(new Linear(2, 2), new Linear(2, 1));
  const id = new Linear(2, 2, { bias: false });
  id.setParameter("weight", tensor([[1, 0], [0, 1]]));
  net.setSubmodule("0", id);
  net.getSubmodule("1").loadStateDict({ weight: tensor([[1, 2]]), bias: tensor([0.5]) });
  assert.deepEqual(Array.from(await net.forward(tensor([[3, 4]])).data()), [11.5]);
  assert.deepEqual(net.namedParameters().map(([n]) => n), ["0.weight", "1.weight", "1.bias"]);
  assert.match(net.toString(), /Sequential\(\n {2}\(0\): Linear\(in=2, out=2, bias=false\)/);
});

Deno.test("registration rejects dotted or duplicate names", () => {
  class Bad extends Module {
    constructor(name: string, twice = false) {
      super();
      this.registerParameter(name, zeros([1]));
      if (twice) this.registerModule(name, new Linear(1, 1));
    }
  }
  assert.throws(() => new Bad("a.b"), /invalid attribute name "a\.b"/);
  assert.throws(() => new Bad("w", true), /"w" is already registered/);
});

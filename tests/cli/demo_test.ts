import assert from "node:assert/strict";
import { DEMO, DEMO_METHODS, runDemo } from "../../cli/demo.ts";
import { parseFlags } from "../../cli/args.ts";

Deno.test({
  name: "lorapt demo --quick runs the whole pipeline and writes its table, predictions and report",
  // A smoke run (unetr-tiny from the shipped weights, 1 epoch, 32³; about 40 s on 2 cores): the numbers are not
  // checked, the plumbing is.
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "lorapt-demo-" });
    const log = console.log;
    const lines: string[] = [];
    console.log = (...a: unknown[]) => lines.push(a.join(" "));
    try {
      const v = parseFlags(DEMO, ["--quick", "--out", out, "--size", "32", "--backend", "cpu"]);
      assert.ok(v);
      const r = await runDemo(v);
      assert.deepEqual(r.rows.map((x) => x.method), [...DEMO_METHODS]);
      for (const row of r.rows) {
        assert.ok(row.trainable > 0);
        assert.ok(row.dice >= 0 && row.dice <= 1, `${row.method}: Dice ${row.dice}`);
      }
      // Every method trains fewer parameters than full fine-tuning, which trains them all.
      const full = r.rows.find((x) => x.method === "full")!;
      for (const row of r.rows) if (row !== full) assert.ok(row.trainable < full.trainable, row.method);
      assert.ok(lines.some((l) => l.includes("unetr-tiny-tumour-phantoms.safetensors (shipped")), "shipped weights");
      const table = await Deno.readTextFile(`${out}/table.md`);
      assert.match(table, /\| lora-pt \|/);
      assert.match(table, /\| full \|/);
      assert.match(await Deno.readTextFile(r.report), /<h1>lorapt demo/);
      const preds = [...Deno.readDirSync(`${out}/lora-pt/pred`)].filter((e) => e.name.endsWith(".nii.gz"));
      assert.equal(preds.length, 1);
      assert.ok(lines.some((l) => l.includes("report/report.html")));
    } finally {
      console.log = log;
      await Deno.remove(out, { recursive: true });
    }
  },
});

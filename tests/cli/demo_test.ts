import assert from "node:assert/strict";
import { DEMO, runDemo } from "../../cli/demo.ts";
import { parseFlags } from "../../cli/args.ts";

Deno.test({
  name: "lorapt demo --quick runs the whole pipeline and writes its table, predictions and report",
  // A smoke run at the smallest grid (about 30 s on 2 cores): the numbers are not checked, the plumbing is.
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
      assert.deepEqual(r.rows.map((x) => x.method), ["lora-pt", "full"]);
      for (const row of r.rows) {
        assert.ok(row.trainable > 0);
        assert.ok(row.dice >= 0 && row.dice <= 1, `${row.method}: Dice ${row.dice}`);
      }
      // LoRA-PT (paper mode, r 1) trains fewer parameters than full fine-tuning.
      assert.ok(r.rows[0].trainable < r.rows[1].trainable);
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

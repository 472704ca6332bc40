import assert from "node:assert/strict";
import { type Notebook, type Output, runNotebook, serialize } from "../../tools/run_notebook.ts";

const examples = new URL("../../examples/", import.meta.url);
const notebooks = [...Deno.readDirSync(examples)].map((e) => e.name).filter((n) => n.endsWith(".ipynb")).sort();

/** What an output is, without its content: `stream:stdout` or `display:image/svg+xml`. */
const kindOf = (o: Output) =>
  o.output_type === "stream" ? `stream:${o.name}` : `display:${Object.keys(o.data).sort().join(",")}`;
const isEmpty = (o: Output) =>
  o.output_type === "stream" ? o.text.join("") === "" : Object.values(o.data).every((v) => String(v) === "");

Deno.test("examples/ holds the numbered notebooks", () => {
  assert.ok(notebooks.includes("01-circulant-fft-tproduct.ipynb"), notebooks.join(", "));
  assert.ok(notebooks.includes("02-tsvd-and-tubal-rank.ipynb"), notebooks.join(", "));
  assert.ok(notebooks.includes("03-lora-pt-unetr.ipynb"), notebooks.join(", "));
  assert.ok(notebooks.includes("04-peft-comparison.ipynb"), notebooks.join(", "));
});

for (const name of notebooks) {
  Deno.test(`notebook ${name} runs top to bottom, and its committed outputs are those it displays`, async () => {
    const path = new URL(name, examples).pathname;
    const nb = JSON.parse(await Deno.readTextFile(path)) as Notebook;
    assert.equal(nb.nbformat, 4);
    assert.deepEqual(nb.metadata.kernelspec, { name: "deno", display_name: "Deno", language: "typescript" });

    // Throws on a type error or a failing cell, naming the cell. Its time is printed by `deno task bench notebooks`.
    const run = await runNotebook(path);
    const code = nb.cells.filter((c) => c.cell_type === "code");
    const regenerate = `regenerate with: deno run -A tools/run_notebook.ts --write examples/${name}`;
    code.forEach((cell, i) => {
      const committed = cell.outputs ?? [], fresh = run.outputs[i];
      assert.deepEqual(committed.map(kindOf), fresh.map(kindOf), `code cell ${i + 1}: outputs differ; ${regenerate}`);
      assert.ok(!committed.some(isEmpty), `code cell ${i + 1} has an empty committed output; ${regenerate}`);
      assert.equal(cell.execution_count, i + 1, `code cell ${i + 1} has no execution count; ${regenerate}`);
    });
    assert.ok(run.outputs.some((o) => o.some((x) => x.output_type === "display_data")), `${name} shows no plot`);
  });
}

Deno.test("the runner names the code cell and line of an error, and records displays in order", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cell = (source: string) => ({ cell_type: "code" as const, metadata: {}, source, outputs: [] });
    const nb: Notebook = {
      cells: [
        cell('console.log("a");\nawait Deno.jupyter.display(Deno.jupyter.svg`<svg/>`);\nconsole.log("b");'),
        { cell_type: "markdown", metadata: {}, source: "text" },
        cell("const x: number = 1;\n\nif (x === 1) throw new Error('boom');"),
      ],
      metadata: {},
      nbformat: 4,
      nbformat_minor: 5,
    };
    await Deno.writeTextFile(`${dir}/bad.ipynb`, serialize(nb));
    await assert.rejects(runNotebook(`${dir}/bad.ipynb`), /boom[\s\S]*code cell 2 \(of 2\), line 3/);

    nb.cells.pop();
    await Deno.writeTextFile(`${dir}/good.ipynb`, serialize(nb));
    const { outputs } = await runNotebook(`${dir}/good.ipynb`);
    assert.deepEqual(outputs, [[
      { output_type: "stream", name: "stdout", text: ["a\n"] },
      { output_type: "display_data", data: { "image/svg+xml": ["<svg/>"] }, metadata: {} },
      { output_type: "stream", name: "stdout", text: ["b\n"] },
    ]]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

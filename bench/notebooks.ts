/**
 * `deno task bench notebooks`: the wall-clock time of each numbered notebook
 * in examples/, run top to bottom once (tests/examples/notebooks_test.ts
 * checks their outputs, not their time).
 * @module
 */
import { runNotebook } from "../tools/run_notebook.ts";

/** Runs every examples/*.ipynb once and prints its time in seconds. */
export async function benchNotebooks(): Promise<void> {
  const examples = new URL("../examples/", import.meta.url);
  const names = [...Deno.readDirSync(examples)].map((e) => e.name).filter((n) => n.endsWith(".ipynb")).sort();
  console.log(`# Notebooks (one run each; ${navigator.hardwareConcurrency} logical CPUs)`);
  for (const name of names) {
    const run = await runNotebook(new URL(name, examples).pathname);
    console.log(`${name}: ${run.seconds.toFixed(1)} s, ${run.outputs.length} code cells`);
  }
}

if (import.meta.main) await benchNotebooks();

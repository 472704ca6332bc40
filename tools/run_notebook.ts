/**
 * Runs a Deno Jupyter notebook without Jupyter: its code cells, in order, become one TypeScript module that a
 * `deno run --check` subprocess executes from the notebook's folder (as the kernel does, so `./plot.ts` and the
 * `deno.json` import map resolve the same way), with a stub `Deno.jupyter` (`jupyter_stub.ts`) that records what
 * each cell displays. `--write` stores the recorded outputs in the notebook.
 *
 *     deno run -A tools/run_notebook.ts [--write] examples/01-circulant-fft-tproduct.ipynb ...
 *
 * Jupyter's own executor is not used: with Deno's kernel, `jupyter nbconvert --execute` sometimes drops outputs.
 * Two conventions let a notebook run both ways: cells show things with `console.log` or
 * `await Deno.jupyter.display(...)` (Jupyter also shows a bare last expression; this runner does not see it), and
 * no name is declared in two cells (here they share one module scope).
 * @module
 */

/** One output of a code cell (nbformat 4). */
export type Output =
  | { output_type: "stream"; name: "stdout"; text: string[] }
  | { output_type: "display_data"; data: Record<string, unknown>; metadata: Record<string, unknown> };

/** A notebook cell (nbformat 4.5). */
export interface Cell {
  cell_type: "code" | "markdown" | "raw";
  id?: string;
  metadata: Record<string, unknown>;
  source: string | string[];
  outputs?: Output[];
  execution_count?: number | null;
}

/** A notebook (nbformat 4.5). */
export interface Notebook {
  cells: Cell[];
  metadata: Record<string, unknown>;
  nbformat: number;
  nbformat_minor: number;
}

/** The result of {@link runNotebook}: the outputs of every code cell, in order. */
export interface NotebookRun {
  outputs: Output[][];
  seconds: number;
}

/** A cell's source as one string. */
export function sourceOf(cell: Cell): string {
  return typeof cell.source === "string" ? cell.source : cell.source.join("");
}

/** Splits text into nbformat's list of lines, each keeping its "\n". */
export function lines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

const STUB = new URL("./jupyter_stub.ts", import.meta.url).href;

/** The module that runs the code cells in order; `starts[i]` is the module line where code cell i begins. */
export function moduleOf(nb: Notebook): { code: string; starts: number[] } {
  const parts = [`import { cell as __nbCell } from ${JSON.stringify(STUB)};`];
  const starts: number[] = [];
  let line = 2; // the line of the next part: each cell is a marker line, its source, and an empty line
  nb.cells.filter((c) => c.cell_type === "code").forEach((c, i) => {
    const src = sourceOf(c);
    parts.push(`__nbCell(${i});`, src, "");
    starts.push(line + 1);
    line += src.split("\n").length + 2;
  });
  return { code: parts.join("\n"), starts };
}

/** Rewrites `$deno$stdin.mts:LINE:COL` in an error message as `cell N, line M`. */
function mapLines(text: string, starts: number[]): string {
  return text.replace(/(?:file:\/\/\S*)?\$deno\$stdin\.mts:(\d+):(\d+)/g, (m, l: string, col: string) => {
    const line = Number(l), i = starts.findLastIndex((s) => s <= line);
    return i < 0 ? m : `code cell ${i + 1} (of ${starts.length}), line ${line - starts[i] + 1}:${col}`;
  });
}

/** Parses the subprocess' stdout: text becomes stream outputs, stub records become cell starts and displays. */
function outputsOf(stdout: string, cells: number): Output[][] {
  const out: Output[][] = Array.from({ length: cells }, () => []);
  let current = 0;
  const text = (t: string) => {
    if (!t) return;
    const last = out[current].at(-1);
    if (last?.output_type === "stream") last.text = lines(last.text.join("") + t);
    else out[current].push({ output_type: "stream", name: "stdout", text: lines(t) });
  };
  const [head, ...chunks] = stdout.split("\x1e");
  text(head);
  for (const chunk of chunks) {
    const end = chunk.indexOf("\x1f");
    const rec = JSON.parse(chunk.slice(0, end)) as { cell?: number; display?: Record<string, unknown> };
    if (rec.cell !== undefined) current = rec.cell;
    if (rec.display) {
      const data = Object.fromEntries(
        Object.entries(rec.display).map(([k, v]) => [k, typeof v === "string" ? lines(v) : v]),
      );
      out[current].push({ output_type: "display_data", data, metadata: {} });
    }
    text(chunk.slice(end + 1));
  }
  return out;
}

/**
 * Runs the notebook at `path` and returns what each code cell printed and displayed. Throws when the module
 * fails to type-check or a cell throws, with the error's position given as a code cell and line.
 */
export async function runNotebook(path: string): Promise<NotebookRun> {
  const nb = JSON.parse(await Deno.readTextFile(path)) as Notebook;
  const { code, starts } = moduleOf(nb);
  const dir = decodeURIComponent(new URL(".", new URL(path, `file://${Deno.cwd()}/`)).pathname);
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--check", "-"],
    cwd: dir,
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(code));
  await writer.close();
  const { code: rc, stdout, stderr } = await child.output();
  const seconds = (performance.now() - t0) / 1000;
  const dec = new TextDecoder();
  if (rc !== 0) {
    // Deno colours some hints even under NO_COLOR: strip the ANSI escapes.
    // deno-lint-ignore no-control-regex
    const err = mapLines(dec.decode(stderr).replace(/\x1b\[[0-9;]*m/g, ""), starts);
    throw new Error(`${path}: the notebook failed (exit code ${rc}):\n${err}`);
  }
  return { outputs: outputsOf(dec.decode(stdout), starts.length), seconds };
}

/** The notebook with fresh outputs and execution counts 1, 2, … in its code cells. */
export function withOutputs(nb: Notebook, outputs: Output[][]): Notebook {
  let i = 0;
  const cells = nb.cells.map((c) => {
    if (c.cell_type !== "code") return c;
    const k = i++;
    return { ...c, execution_count: k + 1, outputs: outputs[k] };
  });
  return { ...nb, cells };
}

/** Serializes like Jupyter: one-space indent, keys sorted, trailing newline. */
export function serialize(nb: Notebook): string {
  const sorted = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sorted)
      : v !== null && typeof v === "object"
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted((v as Record<string, unknown>)[k])]))
      : v;
  return JSON.stringify(sorted(nb), null, 1) + "\n";
}

if (import.meta.main) {
  const write = Deno.args.includes("--write");
  const paths = Deno.args.filter((a) => a !== "--write");
  if (paths.length === 0) {
    console.error("usage: deno run -A tools/run_notebook.ts [--write] NOTEBOOK.ipynb ...");
    Deno.exit(2);
  }
  for (const path of paths) {
    const run = await runNotebook(path).catch((e: Error) => {
      console.error(e.message);
      Deno.exit(1);
    });
    const shown = run.outputs.reduce((n, o) => n + o.length, 0);
    console.log(`${path}: ${run.outputs.length} code cells, ${shown} outputs, ${run.seconds.toFixed(1)} s`);
    if (write) {
      const nb = JSON.parse(await Deno.readTextFile(path)) as Notebook;
      await Deno.writeTextFile(path, serialize(withOutputs(nb, run.outputs)));
    }
  }
}

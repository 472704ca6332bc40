/**
 * A stand-in for `Deno.jupyter` (which exists only under `deno jupyter`), used when `run_notebook.ts` runs a
 * notebook's cells as one module. Importing it installs the stub; what a cell displays is written to stdout as a
 * record `\x1e{json}\x1f`, between the cell markers written by {@link cell}, so that it stays in order with
 * `console.log` output. The API mirrors Deno 2.9's `40_jupyter.js`: `display`, `format`, `md`, `html`, `svg`,
 * `image` and the `$display` symbol.
 * @module
 */

type MediaBundle = Record<string, unknown>;
const $display = Symbol.for("Jupyter.display");
const encoder = new TextEncoder();

function emit(record: Record<string, unknown>): void {
  let bytes = encoder.encode(`\x1e${JSON.stringify(record)}\x1f`);
  while (bytes.length > 0) bytes = bytes.subarray(Deno.stdout.writeSync(bytes));
}

/** Marks the start of code cell `index` (0-based among code cells). */
export function cell(index: number): void {
  emit({ cell: index });
}

function displayable(bundle: MediaBundle): { [$display]: () => MediaBundle } {
  return { [$display]: () => bundle };
}

// As Deno does: the cooked template strings with the values in between (undefined → "").
const tagged = (mime: string) => (strings: TemplateStringsArray, ...values: unknown[]) =>
  displayable({ [mime]: strings.reduce((acc, s, i) => acc + s + (values[i] !== undefined ? values[i] : ""), "") });

function isBundle(obj: unknown): obj is MediaBundle {
  return obj !== null && typeof obj === "object" && !Array.isArray(obj);
}

async function format(obj: unknown): Promise<MediaBundle> {
  if (isBundle(obj) && typeof (obj as Record<symbol, unknown>)[$display] === "function") {
    return await (obj as { [$display]: () => MediaBundle | Promise<MediaBundle> })[$display]();
  }
  return { "text/plain": Deno.inspect(obj) };
}

function image(src: string | Uint8Array) {
  const bytes = typeof src === "string" ? Deno.readFileSync(src) : src;
  const mime = bytes[0] === 0x89 && bytes[1] === 0x50 ? "image/png" : "image/jpeg";
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return displayable({ [mime]: btoa(bin) });
}

const stub = {
  $display,
  format,
  md: tagged("text/markdown"),
  html: tagged("text/html"),
  svg: tagged("image/svg+xml"),
  image,
  async display(obj: unknown, opts: { raw?: boolean } = {}): Promise<void> {
    emit({ display: opts.raw && isBundle(obj) ? obj : await format(obj) });
  },
  broadcast(): Promise<void> {
    return Promise.reject(new Error("Deno.jupyter.broadcast: not available outside the Jupyter kernel"));
  },
};

// Deno defines `jupyter` with a getter that throws outside the kernel and a setter that replaces it.
(Deno as unknown as { jupyter: unknown }).jupyter = stub;

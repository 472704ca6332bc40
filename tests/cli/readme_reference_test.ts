import assert from "node:assert/strict";
import { cliReference } from "../../tools/cli_reference.ts";

Deno.test("README's CLI reference matches every command's flags (regenerate: deno run -A tools/cli_reference.ts)", async () => {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const start = readme.indexOf("<!-- cli-reference:start -->"), end = readme.indexOf("<!-- cli-reference:end -->");
  assert.ok(start >= 0 && end > start, "README has the cli-reference markers");
  // deno fmt pads tables and wraps prose, so compare with all white space and dash runs folded.
  const fold = (t: string) => t.replace(/\s+/g, " ").replace(/-{3,}/g, "---").trim();
  const section = readme.slice(start + "<!-- cli-reference:start -->".length, end);
  assert.equal(fold(section), fold(cliReference()));
});

/**
 * Prints the README's CLI reference, generated from the commands' own flag
 * tables, so the documentation cannot drift from the code:
 * `deno run -A tools/cli_reference.ts` (the README test compares); with
 * `--write` it replaces the block between the README's cli-reference markers
 * and formats the README.
 * @module
 */
import { COMMANDS } from "../cli/main.ts";

/** The markdown of the CLI reference section body. */
export function cliReference(): string {
  const out: string[] = [];
  for (const { spec } of COMMANDS) {
    out.push(`### \`lorapt ${spec.name}\``, "", spec.summary.replace(/^./, (c) => c.toUpperCase()) + ".", "");
    if (spec.description) out.push(spec.description.replace(/\n/g, " "), "");
    out.push("| flag | meaning |", "| --- | --- |");
    for (const [name, f] of Object.entries(spec.flags)) {
      const flag = `\`--${name}${f.type === "string" ? ` ${f.value ?? "VALUE"}` : ""}\``;
      const def = f.default !== undefined && f.default !== false ? ` (default: \`${f.default}\`)` : "";
      out.push(`| ${flag} | ${f.help.replaceAll("|", "\\|")}${def} |`);
    }
    out.push("");
  }
  return out.join("\n");
}

if (import.meta.main) {
  if (!Deno.args.includes("--write")) {
    console.log(cliReference());
  } else {
    const path = new URL("../README.md", import.meta.url);
    const text = await Deno.readTextFile(path);
    const start = "<!-- cli-reference:start -->", end = "<!-- cli-reference:end -->";
    const a = text.indexOf(start), b = text.indexOf(end);
    if (a < 0 || b < a) throw new Error(`README.md: the ${start} … ${end} markers are missing`);
    await Deno.writeTextFile(path, `${text.slice(0, a + start.length)}\n\n${cliReference()}\n${text.slice(b)}`);
    const fmt = await new Deno.Command(Deno.execPath(), { args: ["fmt", path.pathname] }).output();
    if (!fmt.success) throw new Error(new TextDecoder().decode(fmt.stderr));
    console.log("README.md: CLI reference rewritten");
  }
}

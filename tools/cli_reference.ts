/**
 * Prints the README's CLI reference, generated from the commands' own flag
 * tables, so the documentation cannot drift from the code:
 * `deno run -A tools/cli_reference.ts` (the README test compares).
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

if (import.meta.main) console.log(cliReference());

/**
 * The `lorapt` command: `pretrain`, `finetune`, `predict`, `eval`, `render`,
 * `view`, `experiment`, `data`, `demo`.
 * Run it with `deno task lorapt <command> …` or install it with
 * `deno install -A -n lorapt cli/main.ts`.
 *
 * A user mistake (unknown flag, missing file, unreadable or mismatched data;
 * README "What lorapt refuses, and why") prints one line
 * `lorapt <command>: <what is wrong>` and exits with code 2; Ctrl-C during
 * training saves `resume.safetensors` and exits with 130; an internal error
 * prints its message (and the stack with `LORAPT_DEBUG=1`) and exits with
 * code 1.
 * @module
 */
import type { CommandSpec, FlagValues } from "./args.ts";
import { runCommand } from "./run.ts";
import { FINETUNE, PRETRAIN, runFinetune, runPretrain } from "./train_cmd.ts";
import { PREDICT, runPredict } from "./predict_cmd.ts";
import { EVAL, runEval } from "./eval_cmd.ts";
import { DEMO, runDemo } from "./demo.ts";
import { RENDER, runRender } from "./render_cmd.ts";
import { runView, VIEW } from "./view_cmd.ts";
import { EXPERIMENT, runExperiment } from "./experiment_cmd.ts";
import { DATA, runData } from "./data_cmd.ts";

/**
 * Every subcommand with its runner. `positional` names the flag that a
 * leading bare argument fills (`lorapt experiment table2` is
 * `lorapt experiment --experiment table2`).
 */
export const COMMANDS: readonly {
  spec: CommandSpec;
  run: (v: FlagValues) => Promise<unknown>;
  positional?: string;
}[] = [
  { spec: PRETRAIN, run: runPretrain },
  { spec: FINETUNE, run: runFinetune },
  { spec: PREDICT, run: runPredict },
  { spec: EVAL, run: runEval },
  { spec: RENDER, run: runRender },
  { spec: VIEW, run: runView },
  { spec: EXPERIMENT, run: runExperiment, positional: "experiment" },
  { spec: DATA, run: runData, positional: "dataset" },
  { spec: DEMO, run: runDemo },
];

/** The top-level help. */
export function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.spec.name.length)) + 2;
  return [
    "lorapt: fine-tune a pre-trained 3-D UNETR for hippocampus segmentation from a few scans",
    "",
    "usage: lorapt <command> [flags]      lorapt <command> --help",
    "",
    "commands:",
    ...COMMANDS.map((c) => `  ${c.spec.name.padEnd(width)}${c.spec.summary}`),
  ].join("\n");
}

/**
 * Runs the command line `args` and returns the exit code: 0 on success,
 * 2 for a usage or input error (one line on stderr), 130 after Ctrl-C
 * during training (resume.safetensors saved), 1 for anything else.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { main } from "./main.ts";
 * const errors: string[] = [];
 * const code = await main(["finetune", "--data", "/no/such/dir"], { error: (m) => errors.push(m) });
 * assert.equal(code, 2);
 * assert.match(errors[0], /^lorapt finetune: --data: folder \/no\/such\/dir does not exist$/);
 * ```
 */
export async function main(
  args: string[],
  io: { log?: (m: string) => void; error?: (m: string) => void } = {},
): Promise<number> {
  const log = io.log ?? console.log, error = io.error ?? console.error;
  const [name, ...rest] = args;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    log(usage());
    return name ? 0 : 2;
  }
  const cmd = COMMANDS.find((c) => c.spec.name === name);
  if (!cmd) {
    error(`lorapt: unknown command "${name}" (commands: ${COMMANDS.map((c) => c.spec.name).join(", ")})`);
    return 2;
  }
  const argv = cmd.positional && rest.length > 0 && !rest[0].startsWith("-")
    ? [`--${cmd.positional}`, rest[0], ...rest.slice(1)]
    : rest;
  return await runCommand(cmd.spec, cmd.run, argv, { log, error });
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}

/**
 * Running one subcommand with the command line's error policy: a
 * {@link UsageError}, or the library's `InputError` (a caller's mistake;
 * `TrainInputError`, a run the user's inputs cannot make, is one) prints
 * `lorapt <command>: <message>`, naming the flag, and gives exit code 2; {@link Interrupted} (Ctrl-C, after saving) prints its
 * message and gives 130; any other error prints its message (the stack too
 * with `LORAPT_DEBUG=1`) and gives 1.
 * @module
 */
import { InputError } from "../train/mod.ts";
import { usageErrorOf } from "./model_io.ts";
import { type CommandSpec, type FlagValues, helpText, Interrupted, parseFlags, UsageError } from "./args.ts";

/** Where a command's messages go (default: console.log / console.error). */
export interface CommandIO {
  /** Normal output. */
  log?: (message: string) => void;
  /** Error output. */
  error?: (message: string) => void;
}

/**
 * Parses `args` for `spec`, runs `fn`, and returns the exit code (0, 1, 2 or 130);
 * `--help` prints the command's help and returns 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runCommand } from "./run.ts";
 * const spec = { name: "x", summary: "an example", flags: {} };
 * const errors: string[] = [];
 * assert.equal(await runCommand(spec, async () => {}, ["--nope"], { error: (m) => errors.push(m) }), 2);
 * assert.equal(errors[0], "lorapt x: unknown flag --nope (see lorapt x --help)");
 * ```
 */
export async function runCommand(
  spec: CommandSpec,
  fn: (v: FlagValues) => Promise<unknown>,
  args: string[],
  io: CommandIO = {},
): Promise<number> {
  const log = io.log ?? console.log, error = io.error ?? console.error;
  try {
    const values = parseFlags(spec, args);
    if (!values) {
      log(helpText(spec));
      return 0;
    }
    await fn(values);
    return 0;
  } catch (e) {
    if (e instanceof UsageError || e instanceof InputError) {
      error(`lorapt ${spec.name}: ${(e instanceof InputError ? usageErrorOf(e) : e).message}`);
      return 2;
    }
    if (e instanceof Interrupted) {
      error(`lorapt ${spec.name}: ${e.message}`);
      return 130;
    }
    const err = e as Error;
    error(`lorapt ${spec.name}: internal error: ${err?.message ?? String(e)}`);
    if (Deno.env.get("LORAPT_DEBUG")) error(err?.stack ?? "");
    return 1;
  }
}

/**
 * {@link InputError}: what the library entry points (`finetune`, `predict`,
 * `evaluate`, `loadCheckpoint`) throw for a caller's mistake: a bad option,
 * a missing or unreadable file, data that does not fit. `lorapt` turns it
 * into one line and exit code 2, naming the flag of the option.
 * @module
 */

/**
 * A bad input. `option` names the option it concerns (`"trainSize"`,
 * `"pretrained"`), or is null when the message names the file itself; the
 * message starts with the option's name.
 */
export class InputError extends Error {
  /** The option (camelCase, as in the options object), or null. */
  readonly option: string | null;
  /** The message after the option's name. */
  readonly detail: string;
  /** `new InputError("trainSize", " 5 leaves no test subject")` has the message `trainSize 5 leaves no test subject`. */
  constructor(option: string | null, detail: string) {
    super(option === null ? detail : `${option}${detail}`);
    this.name = "InputError";
    this.option = option;
    this.detail = detail;
  }
}

/**
 * Runs `fn`; an error it throws (other than an {@link InputError}) becomes an
 * InputError of `option` whose message adds `what` (a path) and the cause's.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { InputError, inputErrors } from "./input_error.ts";
 * await assert.rejects(
 *   inputErrors("data", "/x", () => Promise.reject(new Error("no such file"))),
 *   (e) => e instanceof InputError && e.message === "data /x: no such file",
 * );
 * ```
 */
export async function inputErrors<T>(option: string | null, what: string, fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof InputError) throw e;
    const cause = (e as Error)?.message ?? String(e);
    throw new InputError(option, `${what ? (option === null ? what : ` ${what}`) : ""}: ${cause}`);
  }
}

/**
 * Command-line plumbing shared by every `lorapt` subcommand: flag tables with
 * help text, parsing through `node:util` `parseArgs`, typed getters that
 * validate, and {@link UsageError}, which `main` turns into a one-line
 * message and exit code 2.
 * @module
 */
import { parseArgs } from "node:util";

/** A user mistake (bad flag, missing file, unreadable data): one line, exit code 2. */
export class UsageError extends Error {
  /** An error whose message is shown as is. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The user stopped the command (Ctrl-C) after it saved what it needs to continue: one line, exit code 130. */
export class Interrupted extends Error {
  /** An error whose message (how to continue) is shown as is. */
  constructor(message: string) {
    super(message);
    this.name = "Interrupted";
  }
}

/** One flag: its type, help text, and default. */
export interface FlagSpec {
  /** `"string"` (takes a value) or `"boolean"` (a switch). */
  type: "string" | "boolean";
  /** One line of help. */
  help: string;
  /** Placeholder shown in help, e.g. `DIR`. */
  value?: string;
  /** Default (shown in help). */
  default?: string | boolean;
  /** One-letter alias, e.g. `n` for `-n`. */
  short?: string;
}

/** A subcommand: name, one-line summary, flags. */
export interface CommandSpec {
  /** Subcommand name. */
  name: string;
  /** One-line summary for the command list. */
  summary: string;
  /** Longer description shown by `--help`. */
  description?: string;
  /** Flags without the leading `--`. `help` is added automatically. */
  flags: Record<string, FlagSpec>;
}

/** Parsed flag values. */
export type FlagValues = Record<string, string | boolean | undefined>;

/** The `--help` text of a command. */
export function helpText(spec: CommandSpec): string {
  const rows = Object.entries(spec.flags).map(([name, f]) => {
    const left = `${f.short ? `-${f.short}, ` : ""}--${name}${f.type === "string" ? ` ${f.value ?? "VALUE"}` : ""}`;
    const def = f.default !== undefined && f.default !== false ? ` (default: ${f.default})` : "";
    return [left, f.help + def];
  });
  rows.push(["--help", "show this help"]);
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  const lines = [`lorapt ${spec.name}: ${spec.summary}`, ""];
  if (spec.description) lines.push(spec.description, "");
  lines.push(`usage: lorapt ${spec.name} [flags]`, "", "flags:");
  for (const [l, r] of rows) lines.push(`  ${l.padEnd(width)}${r}`);
  return lines.join("\n");
}

/**
 * Parses `args` against `spec`. Unknown flags, stray positional arguments
 * and missing values are {@link UsageError}s. Returns null when `--help`
 * was given (the caller prints {@link helpText}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseFlags } from "./args.ts";
 * const spec = { name: "x", summary: "", flags: { epochs: { type: "string" as const, help: "", default: "3" } } };
 * assert.equal(parseFlags(spec, ["--epochs", "5"])?.epochs, "5");
 * assert.equal(parseFlags(spec, [])?.epochs, "3");
 * assert.throws(() => parseFlags(spec, ["--epoch", "5"]), /unknown flag --epoch/);
 * ```
 */
export function parseFlags(spec: CommandSpec, args: string[]): FlagValues | null {
  const options: Record<string, { type: "string" | "boolean"; default?: string | boolean; short?: string }> = {
    help: { type: "boolean" },
  };
  for (const [name, f] of Object.entries(spec.flags)) {
    options[name] = f.default === undefined ? { type: f.type } : { type: f.type, default: f.default };
    if (f.short) options[name].short = f.short;
  }
  // `--rank -1`: parseArgs takes "-1" for a flag and calls the value ambiguous; as `--rank=-1` it is the value.
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = args[i].startsWith("--") ? args[i].slice(2) : "";
    if (spec.flags[name]?.type === "string" && /^-(\d|\.\d|Infinity)/.test(args[i + 1] ?? "")) {
      joined.push(`${args[i]}=${args[++i]}`);
    } else joined.push(args[i]);
  }
  args = joined;
  let parsed;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: false });
  } catch (e) {
    const msg = (e as Error).message;
    const unknown = /Unknown option '([^']+)'/.exec(msg);
    if (unknown) throw new UsageError(`unknown flag ${unknown[1]} (see lorapt ${spec.name} --help)`);
    const positional = /Unexpected argument '([^']+)'/.exec(msg);
    if (positional) throw new UsageError(`unexpected argument "${positional[1]}" (flags start with --)`);
    const missing = /Option '(--[^ ']+)[^']*' argument missing/.exec(msg);
    if (missing) throw new UsageError(`flag ${missing[1]} needs a value`);
    throw new UsageError(msg.split("\n")[0]);
  }
  if (parsed.values.help) return null;
  return parsed.values as FlagValues;
}

/** The string value of `--name`, or a UsageError when it is required and absent. */
export function str(v: FlagValues, name: string, required = false): string | undefined {
  const x = v[name];
  if (typeof x === "string" && x.length > 0) return x;
  if (required) throw new UsageError(`missing --${name}`);
  return undefined;
}

/** The string value of a required `--name`. */
export function need(v: FlagValues, name: string): string {
  return str(v, name, true)!;
}

/** A number flag within [min, max]; integer when `integer`. */
export function num(
  v: FlagValues,
  name: string,
  o: { min?: number; max?: number; integer?: boolean } = {},
): number {
  const text = need(v, name);
  const x = Number(text);
  const bad = !Number.isFinite(x) || (o.integer && !Number.isInteger(x)) ||
    (o.min !== undefined && x < o.min) || (o.max !== undefined && x > o.max);
  if (bad) {
    const range = `${o.min ?? "-∞"}..${o.max ?? "∞"}`;
    throw new UsageError(
      `--${name} ${JSON.stringify(text)} must be ${o.integer ? "an integer" : "a number"} in ${range}`,
    );
  }
  return x;
}

/** A flag whose value must be one of `choices`. */
export function choice<T extends string>(v: FlagValues, name: string, choices: readonly T[]): T {
  const x = need(v, name);
  if (!(choices as readonly string[]).includes(x)) {
    throw new UsageError(`--${name} "${x}" is not one of ${choices.join(", ")}`);
  }
  return x as T;
}

/** The boolean value of a switch. */
export function flag(v: FlagValues, name: string): boolean {
  return v[name] === true;
}

/** Throws a UsageError unless `path` (given by `--name`) is an existing folder. */
export async function existingDir(path: string, name: string): Promise<string> {
  const st = await Deno.stat(path).catch(() => null);
  if (!st) throw new UsageError(`--${name}: folder ${path} does not exist`);
  if (!st.isDirectory) throw new UsageError(`--${name}: ${path} is not a folder`);
  return path.replace(/\/+$/, "");
}

/** Throws a UsageError unless `path` (given by `--name`) is an existing file. */
export async function existingFile(path: string, name: string): Promise<string> {
  const st = await Deno.stat(path).catch(() => null);
  if (!st) throw new UsageError(`--${name}: file ${path} does not exist`);
  if (!st.isFile) throw new UsageError(`--${name}: ${path} is not a file`);
  return path;
}

/** Runs `fn` (a parser of a flag's value); any error it throws becomes a UsageError prefixed with `what`. */
export function userValue<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`${what}: ${(e as Error).message}`);
  }
}

/** Runs `fn`; any error it throws becomes a UsageError prefixed with `what` (bad input data). */
export async function asUserError<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`${what}: ${(e as Error).message}`);
  }
}

/** The help text of every `--backend` flag. */
export const BACKEND_HELP =
  "auto (a hardware WebGPU adapter, else native on the system BLAS, else WebGPU on a software adapter, else cpu) | native | webgpu | cpu";

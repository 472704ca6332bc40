/**
 * The run folder's rules, so that one folder never mixes two runs:
 * - a fresh run refuses a folder that holds files, unless `overwrite`, which
 *   first removes the earlier run's files (and refuses when the folder holds
 *   anything lorapt did not write);
 * - a resumed run refuses any change of a setting that decides the numbers:
 *   every entry of the training config (model input, schedule, seed, …) and
 *   of the run's fingerprint (data, model, method, rank, pre-trained
 *   weights), naming the setting and both values;
 * - after a kill, `log.jsonl` is cut back to the position of
 *   `resume.safetensors`, so it never holds the steps of lost epochs.
 *
 * The errors are {@link TrainInputError}s: the caller's mistake, which the
 * command line reports in one line with exit code 2.
 * @module
 */
import { writeFileAtomic } from "../models/io/mod.ts";
import { InputError } from "./input_error.ts";

/**
 * The inputs to `train` cannot make one correct run (a user's mistake:
 * `lorapt` exits 2). An {@link InputError} whose message names the folder,
 * file or setting itself (its `option` is null).
 */
export class TrainInputError extends InputError {
  /** An error whose message names the folder, file or setting. */
  constructor(message: string) {
    super(null, message);
    this.name = "TrainInputError";
  }
}

/** The files a run writes into its folder (temp files of atomic writes included). */
const RUN_FILE = /^(config\.json|split\.json|log\.jsonl|[\w.-]+\.safetensors|[\w.-]+\.[0-9a-f]+\.tmp)$/;

/** Options of {@link openRunFolder}. */
export interface OpenRunFolderOptions {
  /** What `config.json` records: `config` (the training config) and `fingerprint` are compared on resume. */
  record: { config: object; fingerprint?: Record<string, unknown>; [key: string]: unknown };
  /**
   * Values of config entries that an older run's `config.json` may lack (an
   * entry added since): on resume a missing entry compares as its default.
   */
  configDefaults?: object;
  /** Continue the run in the folder. */
  resume?: boolean;
  /** A fresh run may clear an earlier run's files. */
  overwrite?: boolean;
}

const show = (x: unknown): string => {
  const s = x === undefined ? "(absent)" : JSON.stringify(x);
  return s.length > 160 ? `${s.slice(0, 157)}…` : s;
};

/**
 * The first difference between `old` and `now` as `path: was A, now B`,
 * descending into objects so that the message names the innermost entry
 * (`fingerprint.data.sub3`), or null when they are equal.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { firstDifference } from "./run_folder.ts";
 * assert.equal(firstDifference({ a: { b: 1 } }, { a: { b: 2 } }, "config"), "config.a.b: was 1, now 2");
 * assert.equal(firstDifference([1, 2], [1, 2], "x"), null);
 * ```
 */
export function firstDifference(old: unknown, now: unknown, path: string): string | null {
  const isObj = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === "object" && !Array.isArray(x);
  if (isObj(old) && isObj(now)) {
    const keys = [...new Set([...Object.keys(now), ...Object.keys(old)])];
    for (const k of keys) {
      const d = firstDifference(old[k], now[k], `${path}.${k}`);
      if (d) return d;
    }
    return null;
  }
  return JSON.stringify(old) === JSON.stringify(now) ? null : `${path}: was ${show(old)}, now ${show(now)}`;
}

async function entries(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

/** Creates `dir` (and its parents), naming the folder when it is a file, lies under one, or is not writable. */
async function makeFolder(dir: string): Promise<void> {
  const st = await Deno.stat(dir).catch(() => null);
  if (st && !st.isDirectory) throw new TrainInputError(`run folder ${dir} is a file, not a folder`);
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotADirectory || e instanceof Deno.errors.AlreadyExists) {
      throw new TrainInputError(`run folder ${dir} lies under a file, not a folder`);
    }
    if (e instanceof Deno.errors.PermissionDenied) throw new TrainInputError(`run folder ${dir} cannot be created`);
    throw e;
  }
  const probe = `${dir}/.lorapt-write-test`;
  try {
    await Deno.writeTextFile(probe, "");
    await Deno.remove(probe);
  } catch (e) {
    if (e instanceof Deno.errors.PermissionDenied) throw new TrainInputError(`run folder ${dir} is not writable`);
    throw e;
  }
}

/**
 * Checks `dir` for a run as the module doc says, before anything is written
 * to it; then creates it, clears an earlier run when `overwrite`, and writes
 * `config.json` (kept as it is on resume). Returns true when the folder
 * holds a run to resume (its `config.json` matched).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openRunFolder } from "./run_folder.ts";
 * const dir = await Deno.makeTempDir();
 * const record = { config: { seed: 1 } };
 * assert.equal(await openRunFolder(dir, { record }), false);
 * await assert.rejects(openRunFolder(dir, { record }), /holds an earlier run/);
 * await assert.rejects(openRunFolder(dir, { record: { config: { seed: 2 } }, resume: true }), /config\.seed: was 1, now 2/);
 * assert.equal(await openRunFolder(dir, { record, resume: true }), true);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function openRunFolder(dir: string, opts: OpenRunFolderOptions): Promise<boolean> {
  if (opts.resume && opts.overwrite) throw new TrainInputError("--resume and --overwrite exclude each other");
  const st = await Deno.stat(dir).catch(() => null);
  const present = st?.isDirectory ? await entries(dir) : [];
  const configPath = `${dir}/config.json`;
  if (opts.resume && present.includes("config.json")) {
    let old: { config?: unknown; fingerprint?: unknown };
    try {
      old = JSON.parse(await Deno.readTextFile(configPath));
    } catch (e) {
      throw new TrainInputError(`cannot resume ${dir}: ${configPath} is damaged (${(e as Error).message})`);
    }
    const oldConfig = opts.configDefaults && old.config && typeof old.config === "object"
      ? { ...opts.configDefaults, ...old.config }
      : old.config;
    const diff = firstDifference(oldConfig, opts.record.config, "config") ??
      (opts.record.fingerprint ? firstDifference(old.fingerprint, opts.record.fingerprint, "fingerprint") : null);
    if (diff) {
      throw new TrainInputError(
        `cannot resume ${dir}: a setting that decides the numbers changed: ${diff} ` +
          "(resume with the run's own settings, or start afresh with --overwrite)",
      );
    }
    return true;
  }
  const run = present.filter((n) => n !== ".lorapt-write-test");
  if (!opts.resume && run.length > 0) {
    const foreign = run.filter((n) => !RUN_FILE.test(n));
    if (!opts.overwrite) {
      const what = foreign.length === run.length ? `files (${run.slice(0, 3).join(", ")}…)` : "an earlier run";
      throw new TrainInputError(
        `run folder ${dir} holds ${what}: a fresh run needs an empty folder ` +
          "(--overwrite clears an earlier run first, --resume continues it)",
      );
    }
    if (foreign.length > 0) {
      throw new TrainInputError(
        `run folder ${dir} holds files that lorapt did not write (${foreign.slice(0, 3).join(", ")}): ` +
          "--overwrite clears only a run's own files; choose another folder",
      );
    }
  }
  await makeFolder(dir);
  if (!opts.resume && opts.overwrite) { for (const n of run) await Deno.remove(`${dir}/${n}`); }
  await writeFileAtomic(configPath, new TextEncoder().encode(JSON.stringify(opts.record, null, 2) + "\n"));
  return false;
}

/**
 * Cuts `log.jsonl` back to a resume position: keeps the entries up to step
 * `steps` and the evaluations of epochs before `epochsDone`, drops the rest
 * (the steps of epochs a kill lost, and a torn last line). Rewritten
 * atomically; a missing log is left missing. Returns the lines dropped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { truncateLog } from "./run_folder.ts";
 * const path = `${await Deno.makeTempDir()}/log.jsonl`;
 * const lines = [{ type: "start" }, { type: "step", epoch: 0, step: 1 }, { type: "step", epoch: 1, step: 2 }];
 * await Deno.writeTextFile(path, lines.map((l) => JSON.stringify(l) + "\n").join("") + '{"type":"st');
 * assert.equal(await truncateLog(path, { epochsDone: 1, steps: 1 }), 2);
 * assert.equal((await Deno.readTextFile(path)).trim().split("\n").length, 2);
 * ```
 */
export async function truncateLog(path: string, at: { epochsDone: number; steps: number }): Promise<number> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return 0;
    throw e;
  }
  const lines = text.split("\n").filter((l) => l.length > 0);
  let keep = 0;
  for (const line of lines) {
    let entry: { type?: string; step?: number; epoch?: number };
    try {
      entry = JSON.parse(line);
    } catch {
      break; // a line torn by the kill
    }
    const late = (entry.type === "step" && (entry.step ?? 0) > at.steps) ||
      ((entry.type === "eval" || entry.type === "best") && (entry.epoch ?? 0) >= at.epochsDone);
    if (late) break;
    keep++;
  }
  if (keep === lines.length && text.endsWith("\n")) return 0;
  const kept = lines.slice(0, keep).map((l) => l + "\n").join("");
  await writeFileAtomic(path, new TextEncoder().encode(kept));
  return lines.length - keep;
}

/**
 * Training progress for people: a one-line bar redrawn in place on a
 * terminal, plain lines (one per `every` steps and at each epoch's end)
 * otherwise, e.g. in CI logs or when piped to a file.
 * @module
 */

/** One progress update. */
export interface ProgressUpdate {
  /** 0-based epoch. */
  epoch: number;
  /** Total epochs. */
  epochs: number;
  /** Global steps done (1-based after the first step). */
  step: number;
  /** Total steps of the run. */
  totalSteps: number;
  /** Loss of the last step. */
  loss: number;
  /** Learning rate of the last step. */
  lr: number;
  /** True at the last step of an epoch. */
  epochEnd: boolean;
}

/** Options of {@link ProgressBar}. */
export interface ProgressOptions {
  /** Redraw one line in place (default: whether stderr is a terminal). */
  tty?: boolean;
  /** Where text goes (default: stderr). */
  write?: (text: string) => void;
  /** Without a terminal, print a line every this many steps (and at each epoch's end). Default 10. */
  every?: number;
  /** Steps done before this session (a resumed run), excluded from the rate. */
  startStep?: number;
  /** Clock in ms (tests). Default `performance.now`. */
  now?: () => number;
}

const encoder = new TextEncoder();

/** Formats seconds as `1h02m`, `3m05s` or `12s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${s}s`;
}

/**
 * Shows epoch, step, loss, lr, steps/s and ETA.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ProgressBar } from "./progress.ts";
 * const lines: string[] = [];
 * const bar = new ProgressBar({ tty: false, write: (t) => lines.push(t), every: 1 });
 * bar.update({ epoch: 0, epochs: 2, step: 1, totalSteps: 4, loss: 0.5, lr: 1e-3, epochEnd: false });
 * assert.match(lines[0], /epoch 1\/2 .*step 1\/4 .*loss 0\.5000 .*lr 1\.00e-3/);
 * ```
 */
export class ProgressBar {
  readonly #tty: boolean;
  readonly #write: (text: string) => void;
  readonly #every: number;
  readonly #startStep: number;
  readonly #now: () => number;
  readonly #t0: number;
  #drawn = false;

  /** A bar starting now. */
  constructor(opts: ProgressOptions = {}) {
    this.#tty = opts.tty ?? Deno.stderr.isTerminal();
    this.#write = opts.write ?? ((t) => Deno.stderr.writeSync(encoder.encode(t)));
    this.#every = opts.every ?? 10;
    this.#startStep = opts.startStep ?? 0;
    this.#now = opts.now ?? (() => performance.now());
    this.#t0 = this.#now();
  }

  /** Reports one finished step. */
  update(u: ProgressUpdate): void {
    const elapsed = (this.#now() - this.#t0) / 1000;
    const done = u.step - this.#startStep;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const eta = rate > 0 ? (u.totalSteps - u.step) / rate : Infinity;
    const text = `epoch ${u.epoch + 1}/${u.epochs}  step ${u.step}/${u.totalSteps}  loss ${u.loss.toFixed(4)}  ` +
      `lr ${u.lr.toExponential(2)}  ${rate.toFixed(2)} steps/s  ETA ${formatDuration(eta)}`;
    if (this.#tty) {
      const width = 24, filled = Math.round((width * u.step) / Math.max(1, u.totalSteps));
      this.#write(`\r\x1b[2K[${"#".repeat(filled)}${".".repeat(width - filled)}] ${text}`);
      this.#drawn = true;
    } else if (u.step % this.#every === 0 || u.epochEnd || u.step === u.totalSteps) {
      this.#write(text + "\n");
    }
  }

  /** Prints a message on its own line without breaking the bar. */
  log(message: string): void {
    if (this.#tty && this.#drawn) this.#write("\r\x1b[2K");
    this.#write(message + "\n");
    this.#drawn = false;
  }

  /** Ends the bar's line. */
  done(): void {
    if (this.#tty && this.#drawn) this.#write("\n");
    this.#drawn = false;
  }
}

/**
 * Learning-rate schedules. LoRA-PT uses the poly schedule of its code's
 * `adjust_learning_rate`, evaluated once per epoch (spec
 * paper §4.3): `lr(e) = round(lr₀·(1 − e/E)^0.9, 8)`. The paper
 * says it decays every iteration; both are offered.
 * @module
 */

/**
 * The poly learning rate of the authors' code at `progress` = epoch (or
 * step) out of `total`, rounded to 8 decimals as the code does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { polyLr } from "./schedule.ts";
 * assert.equal(polyLr(1e-3, 0, 1000), 1e-3);
 * assert.equal(polyLr(1e-3, 500, 1000), 5.3589e-4);
 * assert.equal(polyLr(1e-3, 999, 1000), 2e-6);
 * ```
 */
export function polyLr(baseLr: number, progress: number, total: number, power = 0.9): number {
  if (!(total > 0)) throw new RangeError(`polyLr: total ${total} must be > 0`);
  if (!(progress >= 0 && progress <= total)) throw new RangeError(`polyLr: progress ${progress} outside [0, ${total}]`);
  return Math.round(baseLr * (1 - progress / total) ** power * 1e8) / 1e8;
}

/** Options of {@link polySchedule}. */
export interface PolyScheduleOptions {
  /** Initial learning rate. Default 1e-3. */
  baseLr?: number;
  /** Exponent. Default 0.9. */
  power?: number;
  /** `"epoch"` (the authors' code, default) or `"iteration"` (the paper's wording). */
  per?: "epoch" | "iteration";
}

/** Where training is: the inputs of a {@link Schedule}. */
export interface SchedulePoint {
  /** 0-based epoch. */
  epoch: number;
  /** 0-based step within the epoch. */
  iteration: number;
  /** Total epochs of the run. */
  epochs: number;
  /** Steps in each epoch. */
  stepsPerEpoch: number;
}

/** A learning rate as a function of where training is. */
export type Schedule = (at: SchedulePoint) => number;

/**
 * The poly schedule, per epoch (lr fixed within an epoch, from the epoch
 * index) or per iteration (from the global step out of the total steps).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { polySchedule } from "./schedule.ts";
 * const at = { epoch: 1, iteration: 1, epochs: 2, stepsPerEpoch: 2 };
 * assert.equal(polySchedule({ baseLr: 1 })(at), 0.53588673); // (1 − 1/2)^0.9
 * assert.equal(polySchedule({ baseLr: 1, per: "iteration" })(at), 0.28717459); // (1 − 3/4)^0.9
 * ```
 */
export function polySchedule(opts: PolyScheduleOptions = {}): Schedule {
  const base = opts.baseLr ?? 1e-3, power = opts.power ?? 0.9, per = opts.per ?? "epoch";
  if (per !== "epoch" && per !== "iteration") throw new RangeError(`polySchedule: per "${per}" is not epoch|iteration`);
  return ({ epoch, iteration, epochs, stepsPerEpoch }) =>
    per === "epoch"
      ? polyLr(base, epoch, epochs, power)
      : polyLr(base, epoch * stepsPerEpoch + iteration, epochs * stepsPerEpoch, power);
}

/** A constant learning rate. */
export function constantSchedule(lr: number): Schedule {
  return () => lr;
}

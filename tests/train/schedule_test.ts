/** The poly schedule of the authors' `adjust_learning_rate` (paper §4.3). */
import assert from "node:assert/strict";
import { polyLr, polySchedule } from "../../train/mod.ts";

Deno.test("poly lr per epoch: 1e-3 at e=0, 5.3589e-4 at e=500, 2e-6 at e=999 (rounded to 8 decimals)", () => {
  assert.equal(polyLr(1e-3, 0, 1000), 1e-3);
  assert.equal(polyLr(1e-3, 500, 1000), 5.3589e-4);
  assert.equal(polyLr(1e-3, 999, 1000), 2e-6);
  for (let e = 1; e < 1000; e++) assert.ok(polyLr(1e-3, e, 1000) <= polyLr(1e-3, e - 1, 1000));
});

Deno.test("poly schedule per epoch holds lr within an epoch; per iteration decays every step", () => {
  const perEpoch = polySchedule({ baseLr: 1e-3 }), perIter = polySchedule({ baseLr: 1e-3, per: "iteration" });
  const at = (epoch: number, iteration: number) => ({ epoch, iteration, epochs: 10, stepsPerEpoch: 4 });
  assert.equal(perEpoch(at(3, 0)), perEpoch(at(3, 3)));
  assert.equal(perEpoch(at(3, 2)), polyLr(1e-3, 3, 10));
  assert.ok(perIter(at(3, 1)) < perIter(at(3, 0)));
  assert.equal(perIter(at(3, 2)), polyLr(1e-3, 14, 40));
});

Deno.test("poly lr rejects progress outside [0, total]", () => {
  assert.throws(() => polyLr(1e-3, 11, 10), /outside \[0, 10\]/);
});

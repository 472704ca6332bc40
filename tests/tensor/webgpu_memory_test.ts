/**
 * Device memory stays flat over a long training loop: 1,000 steps of a small
 * MLP on WebGPU, with `tidy` and no user-written `dispose` of intermediates.
 */
import assert from "node:assert/strict";
import { fromArray, gradients, initWebGPU, matmul, mean, Rng, tidy } from "../../mod.ts";
import { uniform } from "../helpers.ts";

const gpu = await initWebGPU({ quiet: true });

Deno.test({
  name: "webgpu: live device bytes and bind groups after step 1,000 equal those after step 10",
  ignore: gpu === null,
  fn: async () => {
    const rng = new Rng(3);
    const up = async (shape: number[], scale = 1) => {
      const t = uniform(shape, rng, -scale, scale);
      return fromArray(await t.data(), shape, gpu!);
    };
    const x = await up([32, 16]), y = await up([32, 1]);
    const w1 = await up([16, 32], 0.3), w2 = await up([32, 1], 0.3);
    for (const w of [w1, w2]) w.requiresGrad = true;
    const ctx = gpu!.ctx;
    let at10 = 0, first = 0, last = 0, groupsAt10 = 0, dispatchesAt10 = 0;
    for (let step = 1; step <= 1000; step++) {
      const loss = tidy(() => {
        const err = matmul(matmul(x, w1).tanh(), w2).sub(y);
        const l = mean(err.mul(err));
        const [g1, g2] = gradients(l, [w1, w2]);
        w1.assign(w1.sub(g1.mul(0.1)));
        w2.assign(w2.sub(g2.mul(0.1)));
        return l;
      });
      const v = await loss.item();
      loss.dispose();
      if (step === 1) first = v;
      if (step === 10) [at10, groupsAt10, dispatchesAt10] = [ctx.liveBytes, ctx.stats.bindGroups, ctx.stats.dispatches];
      last = v;
    }
    assert.equal(ctx.liveBytes, at10, `live bytes ${ctx.liveBytes} at step 1000 vs ${at10} at step 10`);
    assert.ok(last < first * 0.5, `the loop trains: loss ${first} → ${last}`);
    // Buffers come back from the pool in the same order every step, so bind groups are reused.
    const created = ctx.stats.bindGroups - groupsAt10, dispatched = ctx.stats.dispatches - dispatchesAt10;
    assert.ok(created < 0.01 * dispatched, `${created} bind groups created for ${dispatched} dispatches after step 10`);
  },
});

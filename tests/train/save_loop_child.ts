/**
 * Child process of checkpoint_test.ts: saves a ~16 MB checkpoint to the same
 * path over and over, every tensor filled with the save's number, until it
 * is killed. Prints "saved" after the first save completes.
 */
import { fromArray } from "../../mod.ts";
import { Linear } from "../../models/mod.ts";
import { saveCheckpoint } from "../../train/mod.ts";

const path = Deno.args[0];
const net = new Linear(2000, 2000);
for (let k = 1;; k++) {
  for (const [, p] of net.namedParameters()) p.assign(fromArray(new Float32Array(p.size).fill(k), [...p.shape]));
  await saveCheckpoint(path, net, { info: { epochsDone: k, steps: k } });
  if (k === 1) console.log("saved");
}

/**
 * Every public entry point loads on its own, whichever module a user imports
 * first. Op modules register themselves during evaluation, so a cycle that
 * reached the registry before it was initialised would crash here.
 */
import assert from "node:assert/strict";

const ENTRIES = ["autodiff/mod.ts", "autodiff/backward.ts", "tensor/ops/reduce.ts", "tensor/op.ts", "tensor/mod.ts"];

for (const entry of ENTRIES) {
  Deno.test(`importing ${entry} first works`, async () => {
    const url = new URL(`../../${entry}`, import.meta.url).href;
    const root = new URL("../../mod.ts", import.meta.url).href;
    const code = `await import(${JSON.stringify(url)});
const { grad, tensor } = await import(${JSON.stringify(root)});
const [g] = grad((x) => x.mul(x).sum())(tensor([3]));
console.log((await g.data())[0]);`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--no-check", code],
      stdout: "piped",
      stderr: "piped",
      env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
    }).output();
    const err = new TextDecoder().decode(out.stderr);
    assert.ok(out.success, `${entry}: ${err}`);
    assert.equal(new TextDecoder().decode(out.stdout).trim(), "6");
  });
}

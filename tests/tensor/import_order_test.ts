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

// DESIGN.md, "Tensors and backends": kernel-facing types live in a module that imports nothing, so backends never
// import each other, and kernels never import the op layer (whose modules import them).
const TENSOR = new URL("../../tensor/", import.meta.url);
const BACKENDS = ["cpu", "webgpu", "native"];

function importsOf(rel: string): string[] {
  const src = Deno.readTextFileSync(new URL(rel, TENSOR));
  return [...src.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/gms)].map((m) => m[1]);
}

function backendFiles(): string[] {
  const files: string[] = [];
  for (const dir of BACKENDS) {
    try {
      for (const e of Deno.readDirSync(new URL(`${dir}/`, TENSOR))) {
        if (e.isFile && e.name.endsWith(".ts")) files.push(`${dir}/${e.name}`);
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  return files;
}

Deno.test("tensor/kernel_types.ts imports nothing", () => {
  assert.deepEqual(importsOf("kernel_types.ts"), []);
});

Deno.test("backends import neither each other (native may build on cpu) nor the op layer", () => {
  const files = backendFiles();
  assert.ok(files.includes("cpu/conv.ts") && files.includes("webgpu/kernels.ts"), files.join(", "));
  for (const file of files) {
    const dir = file.split("/")[0];
    for (const spec of importsOf(file)) {
      if (!spec.startsWith(".")) continue;
      const target = new URL(spec, new URL(file, TENSOR)).href.slice(TENSOR.href.length);
      const top = target.includes("/") ? target.split("/")[0] : "";
      // native is the CPU backend plus BLAS kernels: it shares the CPU storage and falls back to the reference kernels.
      const allowed = top === dir || (dir === "native" && top === "cpu");
      assert.ok(!BACKENDS.includes(top) || allowed, `${file} imports another backend: ${spec}`);
      assert.ok(
        !["op.ts", "registry.ts", "tensor.ts"].includes(target) && top !== "ops",
        `${file} imports the op layer: ${spec} (kernel types are in tensor/kernel_types.ts)`,
      );
    }
  }
});

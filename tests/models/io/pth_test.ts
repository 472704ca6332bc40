import assert from "node:assert/strict";
import {
  CheckpointError,
  decodePth,
  extractStateDict,
  loadPthStateDict,
  readPth,
  type StateDict,
  toInt32,
} from "../../../models/io/mod.ts";
import { assertTensorMatches, type ExpectedTensor, FIXTURES, readExpected } from "./expected.ts";

type Tensors = Record<string, ExpectedTensor>;

function assertStateDict(sd: StateDict, want: Tensors, file: string): void {
  assert.deepEqual([...sd.keys()], Object.keys(want), `${file}: key order`);
  for (const [k, t] of Object.entries(want)) {
    assertTensorMatches(sd.get(k), t, `${file}:${k}`);
  }
}

async function checkFixtures(dir: string): Promise<void> {
  const expected = await readExpected(dir);
  const plain = expected.plain as Tensors;
  for (const file of ["plain.pth", "plain_deflate.pth", "legacy.pth"]) {
    assertStateDict(await loadPthStateDict(`${dir}${file}`), plain, file);
  }
  const authors = expected.authors as Record<string, unknown>;
  const stripped: Tensors = {};
  for (const [k, v] of Object.entries(authors.state_dict as Tensors)) {
    stripped[k.replace(/^module\./, "")] = v;
  }
  assertStateDict(
    await loadPthStateDict(`${dir}authors.pth`),
    stripped,
    "authors.pth",
  );
}

Deno.test("the committed zip, deflated and legacy .pth fixtures load with PyTorch's values", async () => {
  await checkFixtures(FIXTURES);
});

Deno.test("non-contiguous and storage-sharing tensors are copied out in row-major order", async () => {
  const { plain } = await readExpected() as { plain: Tensors };
  assert.equal(plain.transposed.contiguous, false);
  assert.equal(plain.sliced.contiguous, false);
  const sd = await loadPthStateDict(`${FIXTURES}plain.pth`);
  // sliced = base[1:, 2:4] with base = arange(20).reshape(4, 5)
  assert.deepEqual([...sd.get("sliced")!.data], [7, 8, 12, 13, 17, 18]);
  assert.equal(sd.get("sliced")!.data.buffer === sd.get("base")!.data.buffer, false);
});

Deno.test("the authors' layout keeps epoch and optimizer state next to the weights", async () => {
  const { authors } = await readExpected() as {
    authors: Record<string, unknown>;
  };
  const ckpt = await readPth(`${FIXTURES}authors.pth`) as Map<string, unknown>;
  assert.deepEqual([...ckpt.keys()], ["epoch", "state_dict", "optim_dict"]);
  assert.equal(ckpt.get("epoch"), 3);
  const optim = ckpt.get("optim_dict") as Map<string, unknown>;
  const group = (optim.get("param_groups") as Map<string, unknown>[])[0];
  assert.equal(group.get("lr"), authors.optim_lr);
  assert.deepEqual(group.get("betas"), authors.optim_betas);
  assert.deepEqual(group.get("params"), authors.optim_params);
  const state0 = (optim.get("state") as Map<number, Map<string, unknown>>).get(0)!;
  assertTensorMatches(
    state0.get("exp_avg") as never,
    authors.optim_exp_avg_0 as ExpectedTensor,
    "optim_dict.state[0].exp_avg",
  );
  const sd = await loadPthStateDict(`${FIXTURES}authors.pth`);
  assert.ok([...sd.keys()].every((k) => !k.startsWith("module.")));
  assert.deepEqual([...toInt32(sd.get("norm.num_batches_tracked")!)], [1]);
});

Deno.test("int64 narrowing names the tensor when a value does not fit", async () => {
  const sd = await loadPthStateDict(`${FIXTURES}plain.pth`);
  assert.deepEqual([...toInt32(sd.get("small_ints")!, "small_ints")], [1, -2, 3, 2 ** 31 - 1]);
  assert.throws(
    () => toInt32(sd.get("steps")!, "steps"),
    /steps: int64 value 1099511627776 at index 0 does not fit in int32/,
  );
});

Deno.test("a pickle calling a forbidden global is refused, naming the global and file", async () => {
  const { forbidden_global } = await readExpected() as { forbidden_global: string };
  await assert.rejects(
    () => readPth(`${FIXTURES}forbidden.pth`),
    (err: Error) => {
      assert.ok(err instanceof CheckpointError);
      assert.match(err.message, /forbidden\.pth/);
      assert.ok(err.message.includes(`forbidden global '${forbidden_global}'`), err.message);
      return true;
    },
  );
});

Deno.test("a corrupted storage fails its CRC check, naming the entry", async () => {
  const bytes = await Deno.readFile(`${FIXTURES}plain.pth`);
  const text = new TextDecoder("latin1").decode(bytes);
  // Flip one byte inside the data of entry plain/data/7 (base, arange(20)).
  const header = text.indexOf("plain/data/7");
  const dataStart = header + "plain/data/7".length +
    new DataView(bytes.buffer).getUint16(header - 2, true);
  const bad = bytes.slice();
  bad[dataStart + 5] ^= 0xff;
  await assert.rejects(
    () => decodePth(bad, { name: "bad.pth" }),
    /bad\.pth: entry 'plain\/data\/7': CRC-32 mismatch/,
  );
});

Deno.test("non-checkpoint input fails clearly", async () => {
  await assert.rejects(
    () => decodePth(new Uint8Array([1, 2, 3, 4]), { name: "x.pth" }),
    /x\.pth: not a PyTorch checkpoint \(neither zip nor pickle\)/,
  );
  await assert.rejects(
    () => decodePth(new Uint8Array([0x80, 2, 0x4b, 7, 0x2e]), { name: "seven.pkl" }),
    /seven\.pkl: not a PyTorch checkpoint \(bad magic number\)/,
  );
  assert.throws(
    () => extractStateDict(new Map([["epoch", 3], ["lr", 0.1]]), { name: "c.pth" }),
    /c\.pth: entry "epoch" is not a tensor/,
  );
  const w = { dtype: "F32" as const, shape: [1], data: new Float32Array(1) };
  assert.throws(
    () => extractStateDict(new Map([["module.w", w], ["w", w]]), { name: "d.pth" }),
    /d\.pth: 'module\.w' and 'w' both become 'w'/,
  );
});

Deno.test("a .pth freshly written by PyTorch loads with equal values (needs python3-torch)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lorapt-pth-" });
  try {
    let out: Deno.CommandOutput;
    try {
      out = await new Deno.Command("/usr/bin/python3", {
        args: [`${FIXTURES}make_fixtures.py`, dir],
        stdout: "piped",
        stderr: "piped",
      }).output();
    } catch (err) {
      console.log(`skipped: cannot run /usr/bin/python3 (${(err as Error).message})`);
      return;
    }
    const stderr = new TextDecoder().decode(out.stderr);
    if (!out.success && stderr.includes("No module named 'torch'")) {
      console.log("skipped: /usr/bin/python3 has no torch (apt-get install python3-torch)");
      return;
    }
    assert.ok(out.success, `make_fixtures.py failed:\n${stderr}`);
    await checkFixtures(`${dir}/`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

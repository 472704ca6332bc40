import assert from "node:assert/strict";
import {
  CheckpointError,
  decodeSafetensors,
  encodeSafetensors,
  type RawTensor,
  readSafetensors,
  type StateDict,
  writeSafetensors,
} from "../../../models/io/mod.ts";
import { assertTensorMatches, type ExpectedTensor, FIXTURES, readExpected } from "./expected.ts";

/** Random bytes reinterpreted per dtype: covers NaN payloads, -0, subnormals. */
function sampleDict(): StateDict {
  const rnd = (n: number) => crypto.getRandomValues(new Uint8Array(n)).buffer;
  return new Map<string, RawTensor>([
    ["w.f32", { dtype: "F32", shape: [3, 5], data: new Float32Array(rnd(60)) }],
    ["w.f16", { dtype: "F16", shape: [7], data: new Uint16Array(rnd(14)) }],
    ["w.bf16", { dtype: "BF16", shape: [2, 1, 3], data: new Uint16Array(rnd(12)) }],
    ["ids", { dtype: "I64", shape: [4], data: new BigInt64Array(rnd(32)) }],
    ["i32", { dtype: "I32", shape: [2, 2], data: new Int32Array(rnd(16)) }],
    ["mask", { dtype: "U8", shape: [5], data: new Uint8Array(rnd(5)) }],
    ["f64", { dtype: "F64", shape: [], data: new Float64Array(rnd(8)) }],
    ["empty", { dtype: "F32", shape: [0, 4], data: new Float32Array(0) }],
  ]);
}

const bytesOf = (t: RawTensor) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);

Deno.test("safetensors write→read is bitwise equal for every dtype", () => {
  const dict = sampleDict();
  const bytes = encodeSafetensors(dict, { format: "pt", note: "ü" });
  const back = decodeSafetensors(bytes);
  assert.deepEqual(back.metadata, { format: "pt", note: "ü" });
  assert.deepEqual(new Set(back.tensors.keys()), new Set(dict.keys()));
  for (const [name, t] of dict) {
    const u = back.tensors.get(name)!;
    assert.equal(u.dtype, t.dtype, name);
    assert.deepEqual(u.shape, t.shape, name);
    assert.equal(u.data.constructor, t.data.constructor, name);
    assert.deepEqual(bytesOf(u), bytesOf(t), name);
  }
  assert.deepEqual(encodeSafetensors(back.tensors, back.metadata), bytes);
});

Deno.test("the layout follows the format: u64 header length, space-padded JSON, aligned data", () => {
  const bytes = encodeSafetensors(sampleDict());
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(n % 8, 0);
  const json = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  assert.match(json, /^\{.*\} *$/);
  const header = JSON.parse(json) as Record<
    string,
    { dtype: string; data_offsets: [number, number] }
  >;
  const sizes: Record<string, number> = { F64: 8, I64: 8, F32: 4, I32: 4, F16: 2, BF16: 2, U8: 1 };
  for (const [name, { dtype, data_offsets: [b] }] of Object.entries(header)) {
    assert.equal(b % sizes[dtype], 0, `${name} starts aligned to its element size`);
  }
});

Deno.test("a file from the reference safetensors writer decodes to PyTorch's values and re-encodes byte for byte", async () => {
  const expected = await readExpected();
  const ref = expected.reference_safetensors as {
    metadata: Record<string, string>;
    tensors: Record<string, ExpectedTensor>;
  };
  const file = `${FIXTURES}reference.safetensors`;
  const { tensors, metadata } = await readSafetensors(file);
  assert.deepEqual(metadata, ref.metadata);
  assert.deepEqual(new Set(tensors.keys()), new Set(Object.keys(ref.tensors)));
  for (const [name, want] of Object.entries(ref.tensors)) {
    assertTensorMatches(tensors.get(name), want, name);
  }
  // Re-encode from PyTorch's own insertion order, not the file's.
  const ordered = new Map(Object.keys(ref.tensors).map((k) => [k, tensors.get(k)!]));
  assert.deepEqual(encodeSafetensors(ordered, metadata), await Deno.readFile(file));
});

/** Hand-build a file: a header object and a data section. */
function build(header: unknown, data = new Uint8Array(0), pad = true): Uint8Array {
  let json = JSON.stringify(header);
  if (pad) json = json.padEnd(Math.ceil(json.length / 8) * 8, " ");
  const h = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

Deno.test("a hand-built file decodes: offsets are relative to the data section", () => {
  const data = new Uint8Array(new Float32Array([1, 2, 3]).buffer);
  const file = build(
    {
      b: { dtype: "F32", shape: [1], data_offsets: [8, 12] },
      a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
    },
    data,
    false,
  );
  const { tensors, metadata } = decodeSafetensors(file);
  assert.deepEqual(metadata, {});
  assert.deepEqual([...tensors.keys()], ["a", "b"]);
  assert.deepEqual([...tensors.get("a")!.data], [1, 2]);
  assert.deepEqual([...tensors.get("b")!.data], [3]);
});

Deno.test("malformed files fail with errors naming the file and the tensor", () => {
  const f32 = (shape: number[], offsets: number[]) => ({
    dtype: "F32",
    shape,
    data_offsets: offsets,
  });
  const cases: [string, Uint8Array, RegExp][] = [
    ["short file", new Uint8Array(5), /m\.st: file of 5 bytes has no header/],
    [
      "header length beyond the file",
      (() => {
        const b = build({});
        new DataView(b.buffer).setBigUint64(0, 1000n, true);
        return b;
      })(),
      /m\.st: header length 1000 exceeds the file's 8 bytes/,
    ],
    [
      "header not JSON",
      (() => {
        const b = build({});
        b[8] = 0x5b; // '['
        return b;
      })(),
      /m\.st: header is not valid UTF-8 JSON/,
    ],
    [
      "unknown dtype",
      build({ x: { dtype: "BOOL", shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)),
      /m\.st: tensor 'x' has unsupported dtype "BOOL"/,
    ],
    [
      "offsets past the data",
      build({ x: f32([2], [0, 8]) }, new Uint8Array(4)),
      /m\.st: tensor 'x' data_offsets \[0,8\] lie outside the 4 data bytes/,
    ],
    [
      "offsets not matching dtype × shape",
      build({ x: f32([3], [0, 8]) }, new Uint8Array(8)),
      /m\.st: tensor 'x': F32\[3\] needs 12 bytes but data_offsets \[0,8\] span 8/,
    ],
    [
      "overlapping tensors",
      build({ x: f32([2], [0, 8]), y: f32([2], [4, 12]) }, new Uint8Array(12)),
      /m\.st: tensor 'y' data_offsets \[4,12\] overlap another tensor/,
    ],
    [
      "a gap between tensors",
      build({ x: f32([1], [0, 4]), y: f32([1], [8, 12]) }, new Uint8Array(12)),
      /m\.st: gap in the data before tensor 'y'/,
    ],
    [
      "bytes owned by no tensor",
      build({ x: f32([1], [0, 4]) }, new Uint8Array(6)),
      /m\.st: 2 trailing data bytes belong to no tensor/,
    ],
    [
      "negative shape",
      build({ x: f32([-1], [0, 0]) }),
      /m\.st: tensor 'x' has invalid shape \[-1\]/,
    ],
    [
      "non-string metadata",
      build({ __metadata__: { epoch: 3 } }),
      /m\.st: __metadata__ 'epoch' is not a string/,
    ],
  ];
  for (const [what, bytes, message] of cases) {
    assert.throws(
      () => decodeSafetensors(bytes, { name: "m.st" }),
      (err: Error) => err instanceof CheckpointError && message.test(err.message),
      what,
    );
  }
});

Deno.test("encoding rejects tensors whose data does not match dtype and shape", () => {
  const bad = (t: unknown) => encodeSafetensors({ w: t as RawTensor });
  assert.throws(
    () => bad({ dtype: "F32", shape: [3], data: new Float32Array(2) }),
    /tensor 'w': shape \[3\] has 3 elements but data has 2/,
  );
  assert.throws(
    () => bad({ dtype: "F16", shape: [1], data: new Float32Array(1) }),
    /tensor 'w': dtype F16 needs a Uint16Array, got Float32Array/,
  );
  assert.throws(
    () => bad({ dtype: "I8", shape: [1], data: new Int8Array(1) }),
    /tensor 'w': unsupported dtype "I8"/,
  );
});

Deno.test("writeSafetensors replaces the file atomically and leaves no temp file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lorapt-st-" });
  try {
    const path = `${dir}/model.safetensors`;
    await Deno.writeTextFile(path, "old contents");
    const dict = sampleDict();
    await writeSafetensors(path, dict, { epoch: "3" });
    const back = await readSafetensors(path);
    assert.equal(back.metadata.epoch, "3");
    assert.deepEqual(bytesOf(back.tensors.get("ids")!), bytesOf(dict.get("ids")!));
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names, ["model.safetensors"]);
    await assert.rejects(
      () => writeSafetensors(`${dir}/missing/x.safetensors`, dict),
      Deno.errors.NotFound,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

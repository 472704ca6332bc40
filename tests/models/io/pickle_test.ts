import assert from "node:assert/strict";
import { CheckpointError, DEFAULT_GLOBALS, type PyCallable, unpickle } from "../../../models/io/mod.ts";
import { FIXTURES } from "./expected.ts";

const enc = (s: string) => [...new TextEncoder().encode(s)];

/** The object make_fixtures.py pickles into values_p{2,4}.pkl, written out. */
function assertPythonValues(v: unknown): void {
  assert.ok(v instanceof Map);
  const d = v as Map<unknown, unknown>;
  assert.equal(d.get("int"), 5);
  assert.equal(d.get("neg"), -70000);
  assert.equal(d.get("big"), 2n ** 70n);
  assert.equal(d.get("negbig"), -(2n ** 63n));
  assert.equal(d.get("long"), 2 ** 40);
  assert.equal(d.get("float"), 0.1);
  assert.equal(d.get("str"), "héllo ✓");
  assert.deepEqual(d.get("list"), [1, [2.5, "x"]]);
  assert.deepEqual(d.get("tuple"), [1, "a"]);
  assert.equal(d.get("none"), null);
  assert.equal(d.get("true"), true);
  assert.equal(d.get("false"), false);
  assert.deepEqual(d.get("bytes"), new Uint8Array([0, 255]));
  assert.deepEqual([...(d.get("od") as Map<string, number>)], [["b", 1], ["a", 2]]);
  assert.deepEqual(d.get("set"), new Set([3]));
  assert.deepEqual(d.get("a"), [1, 2]);
  assert.equal(d.get("a"), d.get("b"), "memo keeps one shared object");
  assert.equal(d.get(7), "int key");
}

Deno.test("a protocol-4 pickle from Python decodes to the same values (FRAME, MEMOIZE, STACK_GLOBAL)", async () => {
  const bytes = await Deno.readFile(`${FIXTURES}values_p4.pkl`);
  const { value, end } = unpickle(bytes, { name: "values_p4.pkl" });
  assert.equal(end, bytes.length);
  assertPythonValues(value);
});

Deno.test("a protocol-2 pickle needs its globals allowed explicitly", async () => {
  const bytes = await Deno.readFile(`${FIXTURES}values_p2.pkl`);
  // Protocol 2 spells bytes as _codecs.encode(str, 'latin1') and sets as set(list).
  assert.throws(
    () => unpickle(bytes, { name: "values_p2.pkl" }),
    /values_p2\.pkl: pickle byte \d+: forbidden global '_codecs\.encode'/,
  );
  const globals = new Map<string, PyCallable | null>([
    ...DEFAULT_GLOBALS,
    ["_codecs.encode", ([s]) => Uint8Array.from(s as string, (c) => c.charCodeAt(0))],
    ["__builtin__.set", ([items]) => new Set(items as unknown[])],
  ]);
  assertPythonValues(unpickle(bytes, { globals }).value);
});

Deno.test("a forbidden global fails before anything is called", () => {
  // pickle.dumps of os.system("echo") written with the text GLOBAL opcode.
  const bytes = new Uint8Array([
    0x80,
    2,
    0x63,
    ...enc("os\nsystem\n"),
    0x58,
    4,
    0,
    0,
    0,
    ...enc("echo"),
    0x85,
    0x52,
    0x2e,
  ]);
  assert.throws(
    () => unpickle(bytes, { name: "evil.pkl" }),
    (err: Error) =>
      err instanceof CheckpointError &&
      err.message ===
        "evil.pkl: pickle byte 2: forbidden global 'os.system' is not in the " +
          "allow-list; refusing to load (nothing was executed)",
  );
});

Deno.test("integers: BININT sign, LONG1 two's complement, bigint beyond 2^53", () => {
  const one = (...ops: number[]) => unpickle(new Uint8Array([0x80, 2, ...ops, 0x2e])).value;
  assert.equal(one(0x4a, 0xff, 0xff, 0xff, 0xff), -1); // BININT
  assert.equal(one(0x4d, 0x34, 0x12), 0x1234); // BININT2
  assert.equal(one(0x8a, 0), 0); // LONG1 of no bytes
  assert.equal(one(0x8a, 1, 0xff), -1);
  assert.equal(one(0x8a, 2, 0x80, 0x00), 128);
  assert.equal(one(0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 1), 2n ** 64n);
  assert.equal(one(0x47, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0), 1.5); // big-endian BINFLOAT
});

Deno.test("unsupported or malformed pickles fail with the opcode and byte offset", () => {
  const fails = (bytes: number[], message: RegExp) =>
    assert.throws(() => unpickle(new Uint8Array(bytes), { name: "p.pkl" }), message);
  fails([0x80, 2, 0x29, 0x81, 0x2e], /p\.pkl: pickle byte 3: unsupported pickle opcode 0x81 \(NEWOBJ\)/);
  fails([0x80, 2, 0x49, ...enc("1\n"), 0x2e], /byte 2: unsupported pickle opcode 0x49 \(INT\)/);
  fails([0x80, 2, 0x58, 9, 0, 0, 0, 0x61], /byte 2: truncated pickle/);
  fails([0x80, 2, 0x68, 3, 0x2e], /byte 2: memo key 3 undefined/);
  fails([0x80, 2, 0x4e, 0x51, 0x2e], /byte 3: persistent id found but no loader given/);
  fails([0x80, 2, 0x4e, 0x4e, 0x2e], /byte 4: malformed pickle at STOP/);
  fails([0x80, 2, 0x4e, 0x61, 0x2e], /byte 3: stack underflow/);
  fails([0x80, 6, 0x4e, 0x2e], /pickle protocol 6 is newer than 5/);
});

Deno.test("persistent ids are handed to persistentLoad", () => {
  // BINPERSID of the tuple ('storage', 1)
  const bytes = new Uint8Array([
    0x80,
    2,
    0x8c,
    7,
    ...enc("storage"),
    0x4b,
    1,
    0x86,
    0x51,
    0x2e,
  ]);
  const seen: unknown[] = [];
  const { value } = unpickle(bytes, {
    persistentLoad: (pid) => {
      seen.push(pid);
      return "loaded";
    },
  });
  assert.equal(value, "loaded");
  assert.deepEqual(seen, [["storage", 1]]);
});

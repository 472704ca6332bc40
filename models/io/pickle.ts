/**
 * A restricted unpickler: enough of Python's pickle (protocols 2–5, opcodes as
 * in CPython `Lib/pickletools.py`) to read `torch.save` state dicts, and no
 * more. It never runs code: a global is looked up in an allow-list of
 * JavaScript functions, and any other global fails before it is used.
 *
 * Python values map to JavaScript as: None → `null`, bool → boolean, int →
 * number (bigint beyond 2^53), float → number, str → string, bytes →
 * `Uint8Array`, list and tuple → array, dict and OrderedDict → `Map`, set →
 * `Set`.
 *
 * @module
 */

import { CheckpointError } from "./raw_tensor.ts";

/** A Python callable the unpickler may invoke via REDUCE: receives the args tuple. */
export type PyCallable = (args: unknown[]) => unknown;

/** A Python global (`module.name`) that the allow-list admitted. */
export class PyGlobal {
  /**
   * Record an allowed global.
   *
   * @param module Python module, e.g. `torch`
   * @param name attribute name, e.g. `FloatStorage`
   * @param call what REDUCE does with it; `null` for a marker that may only be referenced
   */
  constructor(
    readonly module: string,
    readonly name: string,
    readonly call: PyCallable | null,
  ) {}
  /** `module.name`. */
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** Options for {@link unpickle}. */
export interface UnpickleOptions {
  /** File name used in error messages. */
  name?: string;
  /**
   * Allowed globals by `module.name`: a function REDUCE may call, or `null`
   * for a global that may appear only as a value. Defaults to
   * {@link DEFAULT_GLOBALS}.
   */
  globals?: ReadonlyMap<string, PyCallable | null>;
  /** Resolves BINPERSID ids; without it, persistent ids are an error. */
  persistentLoad?: (pid: unknown) => unknown;
}

/** Builds an (Ordered)dict from `()` or `([(key, value), ...],)`. */
function orderedDict(args: unknown[]): Map<unknown, unknown> {
  const out = new Map<unknown, unknown>();
  for (const pair of (args[0] ?? []) as unknown[][]) out.set(pair[0], pair[1]);
  return out;
}

/** The globals every unpickle allows: only `collections.OrderedDict`. */
export const DEFAULT_GLOBALS: ReadonlyMap<string, PyCallable | null> = new Map([
  ["collections.OrderedDict", orderedDict],
]);

const OPNAMES: Record<number, string> = {
  0x81: "NEWOBJ",
  0x92: "NEWOBJ_EX",
  0x69: "INST",
  0x6f: "OBJ",
  0x49: "INT",
  0x4c: "LONG",
  0x46: "FLOAT",
  0x53: "STRING",
  0x56: "UNICODE",
  0x50: "PERSID",
  0x67: "GET",
  0x70: "PUT",
  0x96: "BYTEARRAY8",
  0x97: "NEXT_BUFFER",
  0x98: "READONLY_BUFFER",
  0x82: "EXT1",
  0x83: "EXT2",
  0x84: "EXT4",
};

/**
 * Decode one pickle from `bytes`. Returns the value and the offset just past
 * its STOP opcode. Throws a {@link CheckpointError} naming the file, the byte
 * offset and the opcode or global for anything outside the supported subset.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unpickle } from "./pickle.ts";
 * // pickle.dumps({"epoch": 3}, protocol=2)
 * const bytes = new Uint8Array([
 *   0x80, 2, 0x7d, 0x71, 0, 0x58, 5, 0, 0, 0, ...new TextEncoder().encode("epoch"),
 *   0x71, 1, 0x4b, 3, 0x73, 0x2e,
 * ]);
 * const { value } = unpickle(bytes);
 * assert.ok((value as Map<string, number>).get("epoch") === 3);
 * ```
 */
export function unpickle(
  bytes: Uint8Array,
  options: UnpickleOptions = {},
): { value: unknown; end: number } {
  const file = options.name ?? "pickle";
  const globals = options.globals ?? DEFAULT_GLOBALS;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  let pos = 0;
  let opAt = 0;
  let stack: unknown[] = [];
  const metastack: unknown[][] = [];
  const memo = new Map<number, unknown>();

  const fail = (msg: string): never => {
    throw new CheckpointError(`${file}: pickle byte ${opAt}: ${msg}`);
  };
  const need = (n: number) => {
    if (pos + n > bytes.length) fail("truncated pickle");
    const at = pos;
    pos += n;
    return at;
  };
  const u8 = () => bytes[need(1)];
  const u16 = () => view.getUint16(need(2), true);
  const u32 = () => view.getUint32(need(4), true);
  const u64 = () => {
    const v = view.getBigUint64(need(8), true);
    return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : fail(`length ${v} too large`);
  };
  const raw = (n: number) => bytes.subarray(need(n), pos);
  const text = (n: number) => {
    const b = raw(n);
    try {
      return utf8.decode(b);
    } catch {
      return fail("string is not valid UTF-8");
    }
  };
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail("truncated pickle (no newline)");
    return new TextDecoder().decode(raw(end - pos + 1)).slice(0, -1);
  };
  const pop = () => stack.length ? stack.pop() : fail("stack underflow");
  const top = () => stack.length ? stack[stack.length - 1] : fail("stack underflow");
  const popMark = () => {
    const items = stack;
    stack = metastack.pop() ?? fail("MARK missing");
    return items;
  };
  const long = (n: number) => {
    // Little-endian two's complement of n bytes.
    let v = 0n;
    const b = raw(n);
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (n > 0 && b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) &&
        v <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(v)
      : v;
  };
  const findGlobal = (module: string, name: string) => {
    const key = `${module}.${name}`;
    if (!globals.has(key)) {
      fail(
        `forbidden global '${key}' is not in the allow-list; ` +
          "refusing to load (nothing was executed)",
      );
    }
    stack.push(new PyGlobal(module, name, globals.get(key)!));
  };
  const setItems = (dict: unknown, items: unknown[]) => {
    if (!(dict instanceof Map)) fail("SETITEM(S) on a non-dict");
    for (let i = 0; i + 1 < items.length; i += 2) {
      (dict as Map<unknown, unknown>).set(items[i], items[i + 1]);
    }
  };
  const append = (list: unknown, items: unknown[]) => {
    if (!Array.isArray(list)) fail("APPEND(S) on a non-list");
    for (const x of items) (list as unknown[]).push(x);
  };

  for (;;) {
    opAt = pos;
    const op = u8();
    switch (op) {
      case 0x80: { // PROTO
        const v = u8();
        if (v > 5) fail(`pickle protocol ${v} is newer than 5`);
        break;
      }
      case 0x95: // FRAME: framing is a streaming hint; the bytes are all here
        u64();
        break;
      case 0x2e: // STOP
        if (stack.length !== 1 || metastack.length) {
          fail("malformed pickle at STOP");
        }
        return { value: stack[0], end: pos };
      case 0x28: // MARK
        metastack.push(stack);
        stack = [];
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x8f: // EMPTY_SET
        stack.push(new Set());
        break;
      case 0x64: { // DICT
        const d = new Map();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x6c: // LIST
      case 0x74: { // TUPLE
        const items = popMark(); // (not inline: popMark replaces `stack`)
        stack.push(items);
        break;
      }
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: { // TUPLE2
        const b = pop(), a = pop();
        stack.push([a, b]);
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop(), b = pop(), a = pop();
        stack.push([a, b, c]);
        break;
      }
      case 0x91: { // FROZENSET
        const items = popMark();
        stack.push(new Set(items));
        break;
      }
      case 0x90: { // ADDITEMS
        const items = popMark(), set = top();
        if (!(set instanceof Set)) fail("ADDITEMS on a non-set");
        for (const x of items) (set as Set<unknown>).add(x);
        break;
      }
      case 0x58: // BINUNICODE
        stack.push(text(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(u8()));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(text(u64()));
        break;
      case 0x42: // BINBYTES
        stack.push(raw(u32()).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(raw(u8()).slice());
        break;
      case 0x8e: // BINBYTES8
        stack.push(raw(u64()).slice());
        break;
      case 0x54: // BINSTRING (Python 2 str; torch never writes it)
      case 0x55: // SHORT_BINSTRING
        stack.push(
          new TextDecoder("latin1").decode(raw(op === 0x54 ? u32() : u8())),
        );
        break;
      case 0x4a: // BININT
        stack.push(view.getInt32(need(4), true));
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(long(u8()));
        break;
      case 0x8b: // LONG4
        stack.push(long(u32()));
        break;
      case 0x47: // BINFLOAT: big-endian double
        stack.push(view.getFloat64(need(8), false));
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x73: { // SETITEM
        const v = pop(), k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x61: { // APPEND
        const x = pop();
        append(top(), [x]);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        append(top(), items);
        break;
      }
      case 0x30: // POP
        if (stack.length) stack.pop();
        else popMark();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: { // LONG_BINGET
        const i = op === 0x68 ? u8() : u32();
        if (!memo.has(i)) fail(`memo key ${i} undefined`);
        stack.push(memo.get(i));
        break;
      }
      case 0x63: { // GLOBAL: "module\nname\n"
        const module = line();
        findGlobal(module, line());
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop(), module = pop();
        if (typeof module !== "string" || typeof name !== "string") {
          fail("STACK_GLOBAL needs two strings");
        }
        findGlobal(module as string, name as string);
        break;
      }
      case 0x52: { // REDUCE
        const args = pop(), fn = pop();
        if (!(fn instanceof PyGlobal) || !Array.isArray(args)) {
          return fail("REDUCE needs an allowed global and an args tuple");
        }
        if (!fn.call) fail(`global '${fn.qualifiedName}' is not callable here`);
        try {
          stack.push(fn.call!(args));
        } catch (err) {
          if (err instanceof CheckpointError) throw err;
          fail(`${fn.qualifiedName}: ${(err as Error).message}`);
        }
        break;
      }
      case 0x62: { // BUILD
        const state = pop(), obj = top();
        // OrderedDict carries attributes (torch's `_metadata` version table)
        // as BUILD state; they do not affect the tensors, so are dropped.
        if (
          !(obj instanceof Map) ||
          !(state instanceof Map || Array.isArray(state))
        ) {
          fail("BUILD is only supported to set attributes of a dict");
        }
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!options.persistentLoad) {
          fail("persistent id found but no loader given");
        }
        stack.push(options.persistentLoad!(pid));
        break;
      }
      default:
        fail(
          `unsupported pickle opcode 0x${op.toString(16).padStart(2, "0")}` +
            (OPNAMES[op] ? ` (${OPNAMES[op]})` : "") +
            "; only the subset torch.save uses for state dicts is supported",
        );
    }
  }
}

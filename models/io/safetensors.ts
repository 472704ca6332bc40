/**
 * safetensors read and write, written from the public format description
 * (huggingface/safetensors README, "Format"):
 *
 * - 8 bytes: N, the header size, unsigned little-endian 64-bit;
 * - N bytes: UTF-8 JSON `{name: {dtype, shape, data_offsets: [begin, end]},
 *   "__metadata__": {string: string}}`, padded with spaces to a multiple of 8;
 * - the data: each tensor's row-major little-endian bytes at
 *   `[begin, end)` relative to the end of the header, with no gaps or overlaps.
 *
 * The writer lays tensors out as the reference implementation does (largest
 * dtype first, then by name), so it produces byte-identical files.
 *
 * @module
 */

import { writeFileAtomic } from "./atomic_write.ts";
import {
  bytesOf,
  CheckpointError,
  checkRawTensor,
  dataFromBytes,
  type DType,
  dtypeSize,
  isDType,
  numelOf,
  type RawTensor,
  type StateDict,
} from "./raw_tensor.ts";

/** Free-form string metadata stored under `__metadata__`. */
export type SafetensorsMetadata = Record<string, string>;

/** What {@link decodeSafetensors} returns. */
export interface SafetensorsContents {
  /** Tensors in file (data offset) order. */
  tensors: StateDict;
  /** The `__metadata__` entries, `{}` when absent. */
  metadata: SafetensorsMetadata;
}

/** Options for {@link decodeSafetensors}. */
export interface DecodeSafetensorsOptions {
  /** File name used in error messages. */
  name?: string;
}

/** The reference rejects headers above 100 MB; so do we (a corrupt length). */
const MAX_HEADER = 100_000_000;

/**
 * Layout order of the reference writer: dtypes with wider elements first, so
 * every tensor starts at a multiple of its element size. (Its Rust `Dtype` enum
 * order: U8 < F16 < BF16 < I32 < F32 < F64 < I64.)
 */
const LAYOUT_RANK: Record<DType, number> = {
  U8: 0,
  F16: 1,
  BF16: 2,
  I32: 3,
  F32: 4,
  F64: 5,
  I64: 6,
};

/** Compare by Unicode code point (= UTF-8 byte order, as Rust sorts `String`). */
function compareCodePoints(a: string, b: string): number {
  const x = [...a], y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0)! - y[i].codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/**
 * Serialize tensors (and optional string metadata) to safetensors bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeSafetensors, encodeSafetensors } from "./safetensors.ts";
 * const w = { dtype: "F32" as const, shape: [2], data: new Float32Array([1, 2]) };
 * const bytes = encodeSafetensors(new Map([["w", w]]), { format: "pt" });
 * const { tensors, metadata } = decodeSafetensors(bytes);
 * assert.ok(tensors.get("w")!.data[1] === 2 && metadata.format === "pt");
 * ```
 */
export function encodeSafetensors(
  tensors: StateDict | Record<string, RawTensor>,
  metadata?: SafetensorsMetadata,
): Uint8Array {
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  for (const [name, t] of entries) {
    if (name === "__metadata__") {
      throw new CheckpointError(`safetensors: "__metadata__" is reserved`);
    }
    checkRawTensor(t, { name: `safetensors: tensor '${name}'` });
  }
  entries.sort(([an, a], [bn, b]) => LAYOUT_RANK[b.dtype] - LAYOUT_RANK[a.dtype] || compareCodePoints(an, bn));
  // The JSON is assembled by hand: a JS object would move integer-like keys
  // ("0", "12") to the front and break the reference's key order.
  const parts: string[] = [];
  if (metadata !== undefined) {
    // Insertion order (the reference writes a hash map, in no fixed order).
    const meta: string[] = [];
    for (const k of Object.keys(metadata)) {
      if (typeof metadata[k] !== "string") {
        throw new CheckpointError(
          `safetensors: metadata '${k}' must be a string, got ${typeof metadata[
            k
          ]}`,
        );
      }
      meta.push(`${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`);
    }
    parts.push(`"__metadata__":{${meta.join(",")}}`);
  }
  let offset = 0;
  for (const [name, t] of entries) {
    const end = offset + t.data.byteLength;
    const info = {
      dtype: t.dtype,
      shape: t.shape,
      data_offsets: [offset, end],
    };
    parts.push(`${JSON.stringify(name)}:${JSON.stringify(info)}`);
    offset = end;
  }
  const json = new TextEncoder().encode(`{${parts.join(",")}}`);
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded); // spaces, as the reference pads
  let at = 8 + padded;
  for (const [, t] of entries) {
    out.set(bytesOf(t.data), at);
    at += t.data.byteLength;
  }
  return out;
}

/**
 * Parse safetensors bytes. Every tensor is copied into its own typed array.
 * Malformed input throws a {@link CheckpointError} naming the file (from
 * `options.name`) and the offending tensor.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeSafetensors, encodeSafetensors } from "./safetensors.ts";
 * const ids = { dtype: "I64" as const, shape: [1], data: new BigInt64Array([5n]) };
 * const back = decodeSafetensors(encodeSafetensors({ ids }), { name: "ids.safetensors" });
 * assert.ok(back.tensors.get("ids")!.data[0] === 5n);
 * ```
 */
export function decodeSafetensors(
  bytes: Uint8Array,
  options: DecodeSafetensorsOptions = {},
): SafetensorsContents {
  const file = options.name ?? "safetensors";
  const fail = (msg: string): never => {
    throw new CheckpointError(`${file}: ${msg}`);
  };
  if (bytes.length < 8) fail(`file of ${bytes.length} bytes has no header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(bytes.length - 8)) {
    fail(`header length ${n} exceeds the file's ${bytes.length - 8} bytes`);
  }
  if (n > BigInt(MAX_HEADER)) fail(`header length ${n} exceeds ${MAX_HEADER}`);
  const headerLen = Number(n);
  let header: unknown;
  try {
    header = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(
        bytes.subarray(8, 8 + headerLen),
      ),
    );
  } catch (err) {
    fail(`header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    fail("header must be a JSON object");
  }
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const metadata: SafetensorsMetadata = {};
  const spans: {
    name: string;
    dtype: DType;
    shape: number[];
    b: number;
    e: number;
  }[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
        fail("__metadata__ must be an object of strings");
      }
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== "string") fail(`__metadata__ '${k}' is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const what = `tensor '${name}'`;
    const info = raw as {
      dtype?: unknown;
      shape?: unknown;
      data_offsets?: unknown;
    };
    if (typeof info !== "object" || info === null) {
      fail(`${what} is not an object`);
    }
    if (!isDType(info.dtype)) {
      fail(`${what} has unsupported dtype ${JSON.stringify(info.dtype)}`);
    }
    const dtype = info.dtype as DType;
    const shape = info.shape;
    if (
      !Array.isArray(shape) ||
      !shape.every((d) => Number.isSafeInteger(d) && d >= 0)
    ) {
      fail(`${what} has invalid shape ${JSON.stringify(shape)}`);
    }
    const offs = info.data_offsets;
    if (
      !Array.isArray(offs) || offs.length !== 2 ||
      !offs.every((o) => Number.isSafeInteger(o) && o >= 0)
    ) {
      fail(`${what} has invalid data_offsets ${JSON.stringify(offs)}`);
    }
    const [b, e] = offs as number[];
    if (b > e || e > dataLen) {
      fail(
        `${what} data_offsets [${b},${e}] lie outside the ${dataLen} data bytes`,
      );
    }
    const want = numelOf(shape as number[]) * dtypeSize(dtype);
    if (e - b !== want) {
      fail(
        `${what}: ${dtype}[${shape}] needs ${want} bytes but data_offsets ` +
          `[${b},${e}] span ${e - b}`,
      );
    }
    spans.push({ name, dtype, shape: shape as number[], b, e });
  }
  // Like the reference: the tensors must tile the data exactly.
  const sorted = [...spans].sort((x, y) => x.b - y.b || x.e - y.e);
  let end = 0;
  for (const s of sorted) {
    if (s.b < end) {
      fail(
        `tensor '${s.name}' data_offsets [${s.b},${s.e}] overlap another tensor`,
      );
    }
    if (s.b > end) {
      fail(`gap in the data before tensor '${s.name}' (bytes ${end}..${s.b})`);
    }
    end = s.e;
  }
  if (end !== dataLen) {
    fail(`${dataLen - end} trailing data bytes belong to no tensor`);
  }
  const tensors: StateDict = new Map();
  for (const s of sorted) {
    const slice = bytes.subarray(dataStart + s.b, dataStart + s.e);
    tensors.set(s.name, {
      dtype: s.dtype,
      shape: s.shape,
      data: dataFromBytes(s.dtype, slice),
    });
  }
  return { tensors, metadata };
}

/**
 * Read a `.safetensors` file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readSafetensors, writeSafetensors } from "./safetensors.ts";
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * const b = { dtype: "U8" as const, shape: [3], data: new Uint8Array([1, 2, 3]) };
 * await writeSafetensors(path, { b });
 * assert.ok((await readSafetensors(path)).tensors.get("b")!.data[2] === 3);
 * await Deno.remove(path);
 * ```
 */
export async function readSafetensors(
  path: string,
): Promise<SafetensorsContents> {
  return decodeSafetensors(await Deno.readFile(path), { name: path });
}

/**
 * The `__metadata__` of a `.safetensors` file, reading only its header (not
 * the tensor data): what a caller needs to know before allocating anything,
 * e.g. the model config lorapt records.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readSafetensorsMetadata, writeSafetensors } from "./safetensors.ts";
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * const w = { dtype: "F32" as const, shape: [2], data: new Float32Array([1, 2]) };
 * await writeSafetensors(path, new Map([["w", w]]), { epoch: "3" });
 * assert.deepEqual(await readSafetensorsMetadata(path), { epoch: "3" });
 * await Deno.remove(path);
 * ```
 */
export async function readSafetensorsMetadata(path: string): Promise<SafetensorsMetadata> {
  const file = await Deno.open(path, { read: true });
  try {
    const head = new Uint8Array(8);
    const got = await readFully(file, head);
    if (got < 8) throw new CheckpointError(`${path}: file of ${got} bytes has no header`);
    const n = new DataView(head.buffer).getBigUint64(0, true);
    const size = (await file.stat()).size;
    if (n > BigInt(size - 8)) {
      throw new CheckpointError(`${path}: header length ${n} exceeds the file's ${size - 8} bytes`);
    }
    if (n > BigInt(MAX_HEADER)) throw new CheckpointError(`${path}: header length ${n} exceeds ${MAX_HEADER}`);
    const header = new Uint8Array(8 + Number(n));
    header.set(head);
    await readFully(file, header.subarray(8));
    // A header followed by no data: decodeSafetensors checks it as it checks a whole file, offsets aside.
    return decodeHeaderMetadata(header, path);
  } finally {
    file.close();
  }
}

async function readFully(file: Deno.FsFile, into: Uint8Array): Promise<number> {
  let off = 0;
  while (off < into.length) {
    const k = await file.read(into.subarray(off));
    if (k === null) break;
    off += k;
  }
  return off;
}

function decodeHeaderMetadata(bytes: Uint8Array, path: string): SafetensorsMetadata {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8)));
  } catch (err) {
    throw new CheckpointError(`${path}: header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    throw new CheckpointError(`${path}: header must be a JSON object`);
  }
  const raw = (header as Record<string, unknown>).__metadata__ ?? {};
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new CheckpointError(`${path}: __metadata__ must be an object of strings`);
  }
  const metadata: SafetensorsMetadata = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof v !== "string") throw new CheckpointError(`${path}: __metadata__ '${k}' is not a string`);
    metadata[k] = v;
  }
  return metadata;
}

/**
 * Write a `.safetensors` file atomically (temp file, then rename).
 *
 * @example
 * ```ts
 * import { writeSafetensors } from "./safetensors.ts";
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * const w = { dtype: "F32" as const, shape: [], data: new Float32Array([0.5]) };
 * await writeSafetensors(path, new Map([["w", w]]), { epoch: "3" });
 * await Deno.remove(path);
 * ```
 */
export async function writeSafetensors(
  path: string,
  tensors: StateDict | Record<string, RawTensor>,
  metadata?: SafetensorsMetadata,
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

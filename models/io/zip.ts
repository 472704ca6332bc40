/**
 * Minimal ZIP reader for PyTorch checkpoints (PKWARE APPNOTE 6.3): central
 * directory, ZIP64 sizes and offsets, stored and deflated entries, CRC-32
 * check. PyTorch writes stored entries and pads local headers so data is
 * 64-byte aligned, so entry data is located through each local header.
 *
 * @module
 */

import { CheckpointError } from "./raw_tensor.ts";

/** One file in a ZIP archive's central directory. */
export interface ZipEntry {
  /** Path inside the archive. */
  name: string;
  /** 0 = stored, 8 = deflate. */
  method: number;
  /** Bytes the entry occupies in the archive. */
  compressedSize: number;
  /** Bytes after decompression. */
  size: number;
  /** CRC-32 of the uncompressed bytes. */
  crc32: number;
  /** Offset of the entry's local file header. */
  localHeaderOffset: number;
}

const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;

function u64(view: DataView, at: number, what: string, file: string): number {
  const v = view.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new CheckpointError(`${file}: zip ${what} ${v} is too large`);
  }
  return Number(v);
}

/**
 * Whether `bytes` start like a ZIP archive (a local file header).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isZip } from "./zip.ts";
 * assert.ok(isZip(new Uint8Array([0x50, 0x4b, 3, 4])));
 * ```
 */
export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b &&
    bytes[2] === 3 && bytes[3] === 4;
}

/**
 * List the entries of a ZIP archive from its central directory. `name` is
 * the file name used in error messages.
 *
 * @example
 * ```ts ignore
 * import { readZipDirectory } from "./zip.ts";
 * const entries = readZipDirectory(await Deno.readFile("model.pth"), "model.pth");
 * console.log(entries.map((e) => e.name));
 * ```
 */
export function readZipDirectory(bytes: Uint8Array, name = "zip"): ZipEntry[] {
  const fail = (msg: string): never => {
    throw new CheckpointError(`${name}: ${msg}`);
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The end-of-central-directory record sits in the last 22 + 65535 bytes.
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 65557); i--) {
    if (view.getUint32(i, true) === SIG_EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) fail("not a zip archive (no end-of-central-directory record)");
  let count = view.getUint16(eocd + 10, true);
  let cdOffset = view.getUint32(eocd + 16, true);
  if (count === 0xffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || view.getUint32(loc, true) !== SIG_EOCD64_LOCATOR) {
      fail("ZIP64 end-of-central-directory locator missing");
    }
    const rec = u64(view, loc + 8, "ZIP64 record offset", name);
    if (rec + 56 > bytes.length || view.getUint32(rec, true) !== SIG_EOCD64) {
      fail("ZIP64 end-of-central-directory record missing");
    }
    count = u64(view, rec + 32, "entry count", name);
    cdOffset = u64(view, rec + 48, "central directory offset", name);
  }
  const entries: ZipEntry[] = [];
  const decoder = new TextDecoder();
  let at = cdOffset;
  for (let i = 0; i < count; i++) {
    if (at + 46 > bytes.length || view.getUint32(at, true) !== SIG_CENTRAL) {
      fail(`central directory entry ${i} at byte ${at} is corrupt`);
    }
    const flags = view.getUint16(at + 8, true);
    const nameLen = view.getUint16(at + 28, true);
    const extraLen = view.getUint16(at + 30, true);
    const commentLen = view.getUint16(at + 32, true);
    const entryName = decoder.decode(
      bytes.subarray(at + 46, at + 46 + nameLen),
    );
    if (flags & 1) fail(`entry '${entryName}' is encrypted`);
    let size = view.getUint32(at + 24, true);
    let compressedSize = view.getUint32(at + 20, true);
    let localHeaderOffset = view.getUint32(at + 42, true);
    // ZIP64 extra field (id 1): 8-byte values for each field saturated above.
    const extraEnd = at + 46 + nameLen + extraLen;
    for (let x = at + 46 + nameLen; x + 4 <= extraEnd;) {
      const id = view.getUint16(x, true), len = view.getUint16(x + 2, true);
      if (id === 1) {
        let y = x + 4;
        const next = (what: string) => {
          const v = u64(view, y, what, name);
          y += 8;
          return v;
        };
        if (size === 0xffffffff) size = next("size");
        if (compressedSize === 0xffffffff) compressedSize = next("size");
        if (localHeaderOffset === 0xffffffff) {
          localHeaderOffset = next("offset");
        }
      }
      x += 4 + len;
    }
    entries.push({
      name: entryName,
      method: view.getUint16(at + 10, true),
      compressedSize,
      size,
      crc32: view.getUint32(at + 16, true),
      localHeaderOffset,
    });
    at = extraEnd + commentLen;
  }
  return entries;
}

let crcTable: Uint32Array | undefined;

/**
 * CRC-32 (IEEE 802.3, as ZIP uses) of `bytes`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { crc32 } from "./zip.ts";
 * assert.ok(crc32(new TextEncoder().encode("123456789")) === 0xcbf43926);
 * ```
 */
export function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c;
    }
  }
  const t = crcTable;
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) {
    c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * The uncompressed bytes of one entry, CRC-checked. Stored entries are
 * returned as a view into `bytes` (no copy); deflated ones are inflated with
 * `DecompressionStream("deflate-raw")`.
 *
 * @example
 * ```ts ignore
 * import { readZipDirectory, readZipEntry } from "./zip.ts";
 * const zip = await Deno.readFile("model.pth");
 * const pkl = readZipDirectory(zip).find((e) => e.name.endsWith("/data.pkl"))!;
 * const data = await readZipEntry(zip, pkl, "model.pth");
 * ```
 */
export async function readZipEntry(
  bytes: Uint8Array,
  entry: ZipEntry,
  name = "zip",
): Promise<Uint8Array> {
  const fail = (msg: string): never => {
    throw new CheckpointError(`${name}: entry '${entry.name}': ${msg}`);
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lh = entry.localHeaderOffset;
  if (lh + 30 > bytes.length || view.getUint32(lh, true) !== SIG_LOCAL) {
    fail(`local header at byte ${lh} is corrupt`);
  }
  const start = lh + 30 + view.getUint16(lh + 26, true) +
    view.getUint16(lh + 28, true);
  const end = start + entry.compressedSize;
  if (end > bytes.length) fail(`data runs past the end of the archive`);
  const raw = bytes.subarray(start, end);
  let out: Uint8Array;
  if (entry.method === 0) {
    out = raw;
  } else if (entry.method === 8) {
    const stream = new Blob([raw as Uint8Array<ArrayBuffer>]).stream()
      .pipeThrough(new DecompressionStream("deflate-raw"));
    try {
      out = new Uint8Array(await new Response(stream).arrayBuffer());
    } catch (err) {
      return fail(`deflate data is corrupt (${(err as Error).message})`);
    }
  } else {
    return fail(`unsupported compression method ${entry.method}`);
  }
  if (out.length !== entry.size) {
    fail(`expected ${entry.size} bytes, got ${out.length}`);
  }
  if (crc32(out) !== entry.crc32) fail(`CRC-32 mismatch (file is corrupt)`);
  return out;
}

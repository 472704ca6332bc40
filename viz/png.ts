/**
 * PNG encoding and decoding with no dependency: 8-bit RGB or RGBA, zlib
 * through the platform's `CompressionStream("deflate")`, a CRC-32 per chunk,
 * and per-row adaptive filtering (PNG spec, ISO/IEC 15948 §9, the
 * "minimum sum of absolute differences" heuristic of §12.8). The decoder
 * reads what the encoder writes (8-bit greyscale, RGB and RGBA, all five
 * filters, no interlace); it exists for tests and round trips.
 * @module
 */

/** An 8-bit image in memory: `data[(y * width + x) * channels + c]`, top row first. */
export interface Raster {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** 3 (RGB) or 4 (RGBA). */
  channels: 3 | 4;
  /** Pixel bytes, row-major, top row first. */
  data: Uint8Array;
}

/**
 * A new raster filled with one colour (default black, opaque).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createRaster } from "./png.ts";
 * const r = createRaster(2, 1, [255, 0, 0]);
 * assert.deepEqual([...r.data], [255, 0, 0, 255, 0, 0]);
 * ```
 */
export function createRaster(
  width: number,
  height: number,
  fill: readonly number[] = [0, 0, 0],
  channels: 3 | 4 = 3,
): Raster {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`createRaster: size ${width}x${height} must be positive integers`);
  }
  const data = new Uint8Array(width * height * channels);
  const px = [fill[0] ?? 0, fill[1] ?? 0, fill[2] ?? 0, fill[3] ?? 255];
  for (let i = 0; i < width * height; i++) {
    for (let c = 0; c < channels; c++) data[i * channels + c] = px[c];
  }
  return { width, height, channels, data };
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * CRC-32 (ISO 3309, the polynomial of PNG and gzip) of `bytes`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { crc32 } from "./png.ts";
 * assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
 * ```
 */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

async function through(bytes: Uint8Array, stream: CompressionStream | DecompressionStream): Promise<Uint8Array> {
  const out = new Response(new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(stream));
  return new Uint8Array(await out.arrayBuffer());
}

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Filters one scanline with filter `type` into `out` (without the type byte). */
function filterRow(type: number, cur: Uint8Array, prev: Uint8Array, bpp: number, out: Uint8Array): void {
  for (let i = 0; i < cur.length; i++) {
    const a = i >= bpp ? cur[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
    const pred = type === 0 ? 0 : type === 1 ? a : type === 2 ? b : type === 3 ? (a + b) >> 1 : paeth(a, b, c);
    out[i] = (cur[i] - pred) & 0xff;
  }
}

/**
 * Encodes a raster as PNG bytes (8-bit RGB or RGBA, adaptive filter per row).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createRaster, decodePng, encodePng } from "./png.ts";
 * const png = await encodePng(createRaster(3, 2, [10, 20, 30]));
 * assert.deepEqual([...png.subarray(1, 4)], [80, 78, 71]); // "PNG"
 * const back = await decodePng(png);
 * assert.deepEqual([back.width, back.height, back.data[5]], [3, 2, 30]);
 * ```
 */
export async function encodePng(raster: Raster): Promise<Uint8Array> {
  const { width, height, channels, data } = raster;
  if (data.length !== width * height * channels) {
    throw new RangeError(
      `encodePng: ${width}x${height}x${channels} needs ${width * height * channels} bytes, got ${data.length}`,
    );
  }
  const stride = width * channels;
  const filtered = new Uint8Array(height * (stride + 1));
  const trial = new Uint8Array(stride);
  let prev: Uint8Array = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const cur = data.subarray(y * stride, (y + 1) * stride);
    let best = 0, bestCost = Infinity;
    for (let type = 0; type < 5; type++) {
      filterRow(type, cur, prev, channels, trial);
      let cost = 0;
      for (let i = 0; i < stride; i++) cost += trial[i] < 128 ? trial[i] : 256 - trial[i];
      if (cost < bestCost) [best, bestCost] = [type, cost];
    }
    const row = y * (stride + 1);
    filtered[row] = best;
    filterRow(best, cur, prev, channels, filtered.subarray(row + 1, row + 1 + stride));
    prev = cur;
  }
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr.set([8, channels === 4 ? 6 : 2, 0, 0, 0], 8);
  const idat = await through(filtered, new CompressionStream("deflate"));
  const chunks = [chunk("IHDR", ihdr), chunk("IDAT", idat), chunk("IEND", new Uint8Array(0))];
  const out = new Uint8Array(8 + chunks.reduce((s, c) => s + c.length, 0));
  out.set(SIGNATURE);
  let at = 8;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  view.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)));
  return out;
}

/**
 * Decodes an 8-bit, non-interlaced PNG (greyscale, RGB or RGBA; greyscale is
 * expanded to RGB). Checks the signature and every chunk's CRC.
 */
export async function decodePng(bytes: Uint8Array): Promise<Raster> {
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) {
    throw new Error("decodePng: not a PNG (bad signature)");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let width = 0, height = 0, colourType = -1;
  const idat: Uint8Array[] = [];
  for (let at = 8; at + 12 <= bytes.length;) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    const body = bytes.subarray(at + 8, at + 8 + length);
    if (crc32(bytes.subarray(at + 4, at + 8 + length)) !== view.getUint32(at + 8 + length)) {
      throw new Error(`decodePng: CRC mismatch in chunk ${type}`);
    }
    if (type === "IHDR") {
      width = view.getUint32(at + 8);
      height = view.getUint32(at + 12);
      const [depth, ct, , , interlace] = body.subarray(8, 13);
      if (depth !== 8 || interlace !== 0 || ![0, 2, 6].includes(ct)) {
        throw new Error(`decodePng: unsupported bit depth ${depth}, colour type ${ct} or interlace ${interlace}`);
      }
      colourType = ct;
    } else if (type === "IDAT") idat.push(body);
    else if (type === "IEND") break;
    at += 12 + length;
  }
  if (colourType < 0) throw new Error("decodePng: missing IHDR");
  const joined = new Uint8Array(idat.reduce((s, c) => s + c.length, 0));
  idat.reduce((at, c) => (joined.set(c, at), at + c.length), 0);
  const raw = await through(joined, new DecompressionStream("deflate"));
  const bpp = colourType === 6 ? 4 : colourType === 2 ? 3 : 1;
  const stride = width * bpp;
  if (raw.length < height * (stride + 1)) throw new Error("decodePng: image data is truncated");
  const pixels = new Uint8Array(height * stride);
  let prev: Uint8Array = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const type = raw[y * (stride + 1)];
    if (type > 4) throw new Error(`decodePng: bad filter type ${type} in row ${y}`);
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const cur = pixels.subarray(y * stride, (y + 1) * stride);
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? cur[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
      const pred = type === 0 ? 0 : type === 1 ? a : type === 2 ? b : type === 3 ? (a + b) >> 1 : paeth(a, b, c);
      cur[i] = (src[i] + pred) & 0xff;
    }
    prev = cur;
  }
  if (bpp !== 1) return { width, height, channels: bpp as 3 | 4, data: pixels };
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) rgb.fill(pixels[i], 3 * i, 3 * i + 3);
  return { width, height, channels: 3, data: rgb };
}

/**
 * The record every checkpoint reader and writer in `models/io` speaks: a dtype
 * tag, a shape and a plain typed array, independent of the tensor library.
 *
 * Half-precision dtypes (F16, BF16) keep their raw 16-bit patterns in a
 * `Uint16Array`; convert them with {@link toFloat32}. All multi-byte data is
 * in the host's byte order, which must be little-endian (the byte order of
 * both safetensors and PyTorch checkpoints), so files map to arrays by copy.
 *
 * @module
 */

/** Element types a checkpoint tensor can hold (safetensors spelling). */
export type DType = "F64" | "F32" | "F16" | "BF16" | "I64" | "I32" | "U8";

/** The typed array behind a {@link RawTensor}; F16 and BF16 use `Uint16Array`. */
export type RawData =
  | Float64Array
  | Float32Array
  | Uint16Array
  | BigInt64Array
  | Int32Array
  | Uint8Array;

/** One tensor as stored in a checkpoint: row-major, contiguous. */
export interface RawTensor {
  /** Element type. */
  dtype: DType;
  /** Dimensions, outermost first; `[]` is a scalar. */
  shape: number[];
  /** Row-major elements; length equals the product of `shape`. */
  data: RawData;
}

/** Named tensors in file order, as PyTorch's `state_dict()` names them. */
export type StateDict = Map<string, RawTensor>;

/** Error raised for malformed, unsupported or mismatching checkpoint content. */
export class CheckpointError extends Error {
  /** Create the error; `message` names the file and tensor where known. */
  constructor(message: string) {
    super(message);
    this.name = "CheckpointError";
  }
}

const DTYPE_INFO: Record<
  DType,
  { size: number; array: new (n: number) => RawData }
> = {
  F64: { size: 8, array: Float64Array },
  F32: { size: 4, array: Float32Array },
  F16: { size: 2, array: Uint16Array },
  BF16: { size: 2, array: Uint16Array },
  I64: { size: 8, array: BigInt64Array },
  I32: { size: 4, array: Int32Array },
  U8: { size: 1, array: Uint8Array },
};

/** All supported dtypes. */
export const DTYPES: readonly DType[] = Object.keys(DTYPE_INFO) as DType[];

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new CheckpointError(
    "models/io needs a little-endian host; checkpoint data is little-endian",
  );
}

/**
 * Whether `s` names a supported dtype.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isDType } from "./raw_tensor.ts";
 * assert.ok(isDType("BF16") && !isDType("BOOL"));
 * ```
 */
export function isDType(s: unknown): s is DType {
  return typeof s === "string" && Object.hasOwn(DTYPE_INFO, s);
}

/**
 * Bytes per element of `dtype`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dtypeSize } from "./raw_tensor.ts";
 * assert.ok(dtypeSize("BF16") === 2);
 * ```
 */
export function dtypeSize(dtype: DType): number {
  return DTYPE_INFO[dtype].size;
}

/**
 * Number of elements of a shape (1 for a scalar `[]`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { numelOf } from "./raw_tensor.ts";
 * assert.ok(numelOf([2, 3, 4]) === 24 && numelOf([]) === 1);
 * ```
 */
export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Build a {@link RawTensor}, checking that `data` has the array type and
 * length that `dtype` and `shape` demand. Without `data`, allocates zeros.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeRawTensor } from "./raw_tensor.ts";
 * const t = makeRawTensor("F32", [2, 2], new Float32Array([1, 2, 3, 4]));
 * assert.ok(t.data.length === 4);
 * ```
 */
export function makeRawTensor(
  dtype: DType,
  shape: readonly number[],
  data?: RawData,
  name = "tensor",
): RawTensor {
  const t = { dtype, shape: [...shape], data: data as RawData };
  checkRawTensor(t, { name, skipData: data === undefined });
  t.data ??= new DTYPE_INFO[dtype].array(numelOf(shape));
  return t;
}

/** Throw a {@link CheckpointError} naming `name` unless `t` is well formed. */
export function checkRawTensor(
  t: RawTensor,
  { name = "tensor", skipData = false }: { name?: string; skipData?: boolean } = {},
): void {
  if (!isDType(t.dtype)) {
    throw new CheckpointError(
      `${name}: unsupported dtype ${JSON.stringify(t.dtype)} ` +
        `(supported: ${DTYPES.join(", ")})`,
    );
  }
  if (
    !Array.isArray(t.shape) ||
    !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)
  ) {
    throw new CheckpointError(
      `${name}: shape ${JSON.stringify(t.shape)} must be non-negative integers`,
    );
  }
  if (skipData) return;
  const want = DTYPE_INFO[t.dtype].array;
  if (!(t.data instanceof want)) {
    throw new CheckpointError(
      `${name}: dtype ${t.dtype} needs a ${want.name}, got ` +
        `${(t.data as object)?.constructor?.name ?? typeof t.data}`,
    );
  }
  const n = numelOf(t.shape);
  if (t.data.length !== n) {
    throw new CheckpointError(
      `${name}: shape [${t.shape}] has ${n} elements but data has ${t.data.length}`,
    );
  }
}

/**
 * Whether `x` looks like a {@link RawTensor} (used to walk decoded checkpoints).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isRawTensor } from "./raw_tensor.ts";
 * assert.ok(isRawTensor({ dtype: "U8", shape: [1], data: new Uint8Array(1) }));
 * ```
 */
export function isRawTensor(x: unknown): x is RawTensor {
  if (typeof x !== "object" || x === null || x instanceof Map) return false;
  const t = x as RawTensor;
  return isDType(t.dtype) && Array.isArray(t.shape) &&
    ArrayBuffer.isView(t.data);
}

/** The bytes of a typed array, without copying. */
export function bytesOf(data: ArrayBufferView): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Copy `bytes` (little-endian, `numel` elements) into a fresh typed array of
 * `dtype`. Copying bytes, not values, keeps NaN payloads bit-exact.
 */
export function dataFromBytes(dtype: DType, bytes: Uint8Array): RawData {
  const { size, array } = DTYPE_INFO[dtype];
  const out = new array(bytes.byteLength / size);
  bytesOf(out).set(bytes);
  return out;
}

let f16Table: Float32Array | undefined;

/** Float32 value of every 16-bit IEEE half pattern (built once, 256 KiB). */
function halfTable(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) t[h] = sign * frac * 2 ** -24; // zero and subnormals
    else if (exp === 31) t[h] = frac ? NaN : sign * Infinity;
    else t[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return (f16Table = t);
}

/**
 * The values of a floating tensor (F64, F32, F16, BF16) as a new
 * `Float32Array`. F16 and BF16 convert exactly; F64 rounds to nearest.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toFloat32 } from "./raw_tensor.ts";
 * const half = { dtype: "F16" as const, shape: [2], data: new Uint16Array([0x3c00, 0xc000]) };
 * assert.ok(toFloat32(half).join() === "1,-2");
 * ```
 */
export function toFloat32(t: RawTensor, name = "tensor"): Float32Array {
  const n = t.data.length;
  switch (t.dtype) {
    case "F32":
      return (t.data as Float32Array).slice();
    case "F64":
      return Float32Array.from(t.data as Float64Array);
    case "F16": {
      const table = halfTable(), src = t.data as Uint16Array;
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = table[src[i]];
      return out;
    }
    case "BF16": {
      // bfloat16 is the upper half of a float32 (exact, NaN payload kept).
      const src = t.data as Uint16Array, out = new Uint32Array(n);
      for (let i = 0; i < n; i++) out[i] = src[i] << 16;
      return new Float32Array(out.buffer);
    }
    default:
      throw new CheckpointError(
        `${name}: dtype ${t.dtype} is not floating point; use toInt32 or toBigInt64`,
      );
  }
}

/**
 * Round float32 values to IEEE half (F16) or bfloat16 (BF16) bit patterns,
 * nearest-even, as PyTorch's `.half()` / `.bfloat16()` do; `F32` and `F64`
 * copy. Returns a {@link RawTensor} ready to save.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fromFloat32, toFloat32 } from "./raw_tensor.ts";
 * const t = fromFloat32(new Float32Array([1.5, -0.25]), [2], "F16");
 * assert.ok(toFloat32(t).join() === "1.5,-0.25");
 * ```
 */
export function fromFloat32(
  values: Float32Array,
  shape: readonly number[],
  dtype: "F64" | "F32" | "F16" | "BF16" = "F32",
): RawTensor {
  const n = values.length;
  let data: RawData;
  if (dtype === "F32") data = values.slice();
  else if (dtype === "F64") data = Float64Array.from(values);
  else {
    const bits = new Uint32Array(values.buffer, values.byteOffset, n);
    const out = new Uint16Array(n);
    for (let i = 0; i < n; i++) {
      out[i] = dtype === "BF16" ? f32BitsToBf16(bits[i]) : f32BitsToF16(bits[i]);
    }
    data = out;
  }
  return makeRawTensor(dtype, shape, data);
}

function f32BitsToBf16(x: number): number {
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff)) {
    return (x >>> 16) | 0x40; // NaN stays NaN (quiet)
  }
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

function f32BitsToF16(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00; // overflow → ±Inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow → ±0
    mant |= 0x800000; // subnormal half: shift in the implicit bit, round
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rounded = (mant + half - 1 + ((mant >>> shift) & 1)) >>> shift;
    return sign | rounded;
  }
  // Normal: keep 10 mantissa bits, round to nearest even; carries into exponent.
  const v = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  const up = rest > 0x1000 || (rest === 0x1000 && (v & 1)) ? 1 : 0;
  return sign | (v + up);
}

/**
 * The values of an integer tensor (I64, I32, U8) as a new `Int32Array`.
 * Narrowing I64 is checked: a value outside the int32 range throws an error
 * naming the tensor, the index and the value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toInt32 } from "./raw_tensor.ts";
 * const t = { dtype: "I64" as const, shape: [2], data: new BigInt64Array([7n, -3n]) };
 * assert.ok(toInt32(t, "steps").join() === "7,-3");
 * ```
 */
export function toInt32(t: RawTensor, name = "tensor"): Int32Array {
  if (t.dtype === "I32" || t.dtype === "U8") {
    return Int32Array.from(t.data as Int32Array);
  }
  if (t.dtype !== "I64") {
    throw new CheckpointError(
      `${name}: dtype ${t.dtype} is not an integer type`,
    );
  }
  const src = t.data as BigInt64Array;
  // Read each int64 as (lo, hi) words: it fits iff hi is lo's sign extension.
  const words = new Int32Array(src.buffer, src.byteOffset, src.length * 2);
  const out = new Int32Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const lo = words[2 * i], hi = words[2 * i + 1];
    if (hi !== lo >> 31) {
      throw new CheckpointError(
        `${name}: int64 value ${src[i]} at index ${i} does not fit in int32`,
      );
    }
    out[i] = lo;
  }
  return out;
}

/**
 * The values of an integer tensor (I64, I32, U8) as a new `BigInt64Array`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toBigInt64 } from "./raw_tensor.ts";
 * const t = { dtype: "U8" as const, shape: [1], data: new Uint8Array([200]) };
 * assert.ok(toBigInt64(t)[0] === 200n);
 * ```
 */
export function toBigInt64(t: RawTensor, name = "tensor"): BigInt64Array {
  if (t.dtype === "I64") return (t.data as BigInt64Array).slice();
  if (t.dtype === "I32" || t.dtype === "U8") {
    const src = t.data as Int32Array, out = new BigInt64Array(src.length);
    for (let i = 0; i < src.length; i++) out[i] = BigInt(src[i]);
    return out;
  }
  throw new CheckpointError(`${name}: dtype ${t.dtype} is not an integer type`);
}

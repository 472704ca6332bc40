import assert from "node:assert/strict";
import {
  CheckpointError,
  fromFloat32,
  makeRawTensor,
  type RawTensor,
  toBigInt64,
  toFloat32,
  toInt32,
} from "../../../models/io/mod.ts";
import { readExpected } from "./expected.ts";

Deno.test("float32 → float16/bfloat16 rounds exactly as PyTorch's .half()/.bfloat16()", async () => {
  const { half_rounding: r } = await readExpected() as {
    half_rounding: Record<"f32_bits" | "f16_bits" | "bf16_bits", number[]>;
  };
  const x = new Float32Array(new Uint32Array(r.f32_bits).buffer);
  for (const [dtype, want] of [["F16", r.f16_bits], ["BF16", r.bf16_bits]] as const) {
    const got = [...fromFloat32(x, [x.length], dtype).data as Uint16Array];
    for (let i = 0; i < x.length; i++) {
      if (Number.isNaN(x[i])) {
        // NaN's payload differs across PyTorch versions (0xffff vs 0x7fc0).
        assert.ok(Number.isNaN(toFloat32({ dtype, shape: [1], data: new Uint16Array([got[i]]) })[0]));
        continue;
      }
      assert.equal(
        got[i],
        want[i],
        `${dtype}(${x[i]}): got 0x${got[i].toString(16)}, want 0x${want[i].toString(16)}`,
      );
    }
  }
});

Deno.test("every float16 and bfloat16 pattern survives toFloat32 → fromFloat32", () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  for (const dtype of ["F16", "BF16"] as const) {
    const values = toFloat32({ dtype, shape: [65536], data: all });
    const back = fromFloat32(values, [65536], dtype).data as Uint16Array;
    for (let i = 0; i < 65536; i++) {
      if (Number.isNaN(values[i])) {
        assert.ok(Number.isNaN(toFloat32({ dtype, shape: [1], data: back.subarray(i, i + 1) })[0]));
      } else assert.equal(back[i], i, `${dtype} 0x${i.toString(16)}`);
    }
  }
});

Deno.test("float16 decoding covers subnormals, infinities and signed zero", () => {
  const f16 = (bits: number[]) => [...toFloat32({ dtype: "F16", shape: [bits.length], data: new Uint16Array(bits) })];
  assert.deepEqual(f16([0x0001, 0x03ff, 0x0400, 0x7bff, 0x7c00, 0xfc00]), [
    2 ** -24,
    1023 * 2 ** -24,
    2 ** -14,
    65504,
    Infinity,
    -Infinity,
  ]);
  assert.ok(Object.is(f16([0x8000])[0], -0));
  assert.ok(Number.isNaN(f16([0x7e00])[0]));
});

Deno.test("integer conversions widen safely and narrow with a named, checked error", () => {
  const i64: RawTensor = {
    dtype: "I64",
    shape: [4],
    data: new BigInt64Array([0n, -(2n ** 31n), 2n ** 31n - 1n, -7n]),
  };
  assert.deepEqual([...toInt32(i64)], [0, -(2 ** 31), 2 ** 31 - 1, -7]);
  assert.throws(
    () => toInt32({ ...i64, data: new BigInt64Array([1n, 2n ** 31n]) }, "labels"),
    /labels: int64 value 2147483648 at index 1 does not fit in int32/,
  );
  assert.throws(
    () => toInt32({ ...i64, data: new BigInt64Array([-(2n ** 31n) - 1n]) }, "labels"),
    /labels: int64 value -2147483649 at index 0/,
  );
  const u8: RawTensor = { dtype: "U8", shape: [2], data: new Uint8Array([0, 255]) };
  assert.deepEqual([...toInt32(u8)], [0, 255]);
  assert.deepEqual([...toBigInt64(u8)], [0n, 255n]);
  assert.deepEqual([...toBigInt64(i64)], [...i64.data]);
  assert.throws(() => toFloat32(i64, "ids"), /ids: dtype I64 is not floating point/);
  assert.throws(
    () => toInt32({ dtype: "F32", shape: [1], data: new Float32Array(1) }, "w"),
    /w: dtype F32 is not an integer type/,
  );
});

Deno.test("makeRawTensor allocates zeros and checks the array type and length", () => {
  const t = makeRawTensor("BF16", [2, 3]);
  assert.ok(t.data instanceof Uint16Array && t.data.length === 6);
  assert.throws(
    () => makeRawTensor("I32", [2], new Int32Array(3), "idx"),
    (e: Error) => e instanceof CheckpointError && /idx: shape \[2\] has 2 elements but data has 3/.test(e.message),
  );
  assert.throws(() => makeRawTensor("F32", [1.5]), /shape \[1.5\] must be non-negative integers/);
});

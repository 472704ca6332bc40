// Compare decoded tensors with the values PyTorch wrote to expected.json
// (tests/fixtures/pth/make_fixtures.py, `describe`).
import assert from "node:assert/strict";
import { type RawTensor, toFloat32 } from "../../../models/io/mod.ts";

/** A tensor as make_fixtures.py describes it. */
export interface ExpectedTensor {
  dtype: string;
  shape: number[];
  contiguous: boolean;
  values: (number | string)[];
  bits?: number[];
}

/** Folder of the committed fixtures. */
export const FIXTURES: string = decodeURIComponent(
  new URL("../../fixtures/pth/", import.meta.url).pathname,
);

/** Parse expected.json from `dir`. */
export async function readExpected(dir = FIXTURES): Promise<
  Record<string, unknown>
> {
  return JSON.parse(await Deno.readTextFile(`${dir}expected.json`));
}

function asNumber(v: number | string): number {
  if (v === "nan") return NaN;
  if (v === "inf") return Infinity;
  if (v === "-inf") return -Infinity;
  return Number(v);
}

/** Assert that `t` has exactly PyTorch's dtype, shape and element values. */
export function assertTensorMatches(
  t: RawTensor | undefined,
  want: ExpectedTensor,
  name: string,
): void {
  assert.ok(t, `${name}: missing`);
  assert.equal(t.dtype, want.dtype, `${name}: dtype`);
  assert.deepEqual(t.shape, want.shape, `${name}: shape`);
  assert.equal(t.data.length, want.values.length, `${name}: length`);
  if (want.bits) {
    assert.deepEqual([...(t.data as Uint16Array)], want.bits, `${name}: bits`);
  }
  const got: ArrayLike<number | bigint> = t.dtype === "F16" || t.dtype === "BF16" ? toFloat32(t, name) : t.data;
  for (let i = 0; i < want.values.length; i++) {
    const v = want.values[i];
    const g = got[i];
    if (t.dtype === "I64") {
      assert.equal(String(g), String(v), `${name}[${i}]`);
    } else {
      const w = t.dtype === "F64" ? asNumber(v) : Math.fround(asNumber(v));
      assert.ok(Object.is(g, w), `${name}[${i}]: got ${String(g)}, want ${w}`);
    }
  }
}

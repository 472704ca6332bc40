import assert from "node:assert/strict";
import {
  arange,
  concat,
  expand,
  flip,
  moveAxis,
  narrow,
  pad,
  permute,
  reshape,
  ShapeError,
  slice,
  squeeze,
  stack,
  tensor,
  transpose,
  unsqueeze,
} from "../../mod.ts";
import { strides } from "../helpers.ts";

const x234 = () => reshape(arange(24, undefined, 1, { dtype: "float32" }), [2, 3, 4]);

/** Value of x234 at (i, j, k): its flat index. */
const at = (i: number, j: number, k: number) => i * 12 + j * 4 + k;

Deno.test("reshape is a view that infers one -1 and validates sizes", async () => {
  const x = x234();
  const y = reshape(x, [4, -1]);
  assert.deepEqual([...y.shape], [4, 6]);
  assert.equal(y.storage, x.storage, "reshape shares storage");
  assert.throws(
    () => reshape(x, [5, -1]),
    (e: Error) => e instanceof ShapeError && /reshape: cannot reshape \[2,3,4\]/.test(e.message),
  );
  assert.deepEqual([...(await y.data())], [...(await x.data())]);
});

Deno.test("permute moves each element to its permuted index", async () => {
  const y = permute(x234(), [2, 0, 1]);
  assert.deepEqual([...y.shape], [4, 2, 3]);
  const Y = await y.data();
  const st = strides([4, 2, 3]);
  for (let k = 0; k < 4; k++) {
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) assert.equal(Y[k * st[0] + i * st[1] + j], at(i, j, k));
  }
  assert.throws(() => permute(x234(), [0, 0, 1]), /permute: \[0,0,1\] is not a permutation/);
});

Deno.test("transpose swaps the last two axes by default", async () => {
  const y = transpose(tensor([[1, 2, 3], [4, 5, 6]]));
  assert.deepEqual(await y.array(), [[1, 4], [2, 5], [3, 6]]);
});

Deno.test("slice takes a box with Python-style negative and clamped bounds", async () => {
  const y = slice(x234(), [1, -2, 1], [2, 99, 3]);
  assert.deepEqual([...y.shape], [1, 2, 2]);
  assert.deepEqual([...(await y.data())], [at(1, 1, 1), at(1, 1, 2), at(1, 2, 1), at(1, 2, 2)]);
  const n = narrow(x234(), 2, 3, 1);
  assert.deepEqual([...n.shape], [2, 3, 1]);
  assert.throws(() => narrow(x234(), 2, 3, 2), /narrow: \[3, 5\) is outside axis 2/);
});

Deno.test("pad surrounds with a constant", async () => {
  const y = pad(tensor([[1, 2]]), [[1, 0], [0, 2]], 9);
  assert.deepEqual(await y.array(), [[9, 9, 9, 9], [1, 2, 9, 9]]);
});

Deno.test("flip reverses the chosen axes only", async () => {
  const y = flip(x234(), [0, 2]);
  const Y = await y.data();
  for (let i = 0; i < 2; i++) {
    for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) assert.equal(Y[at(i, j, k)], at(1 - i, j, 3 - k));
  }
});

Deno.test("expand broadcasts size-1 and new leading axes", async () => {
  const y = expand(tensor([[1], [2]]), [3, 2, 2]);
  assert.deepEqual(await y.array(), [[[1, 1], [2, 2]], [[1, 1], [2, 2]], [[1, 1], [2, 2]]]);
  assert.throws(() => expand(tensor([1, 2]), [3]), /expand/);
});

Deno.test("concat and stack join along the axis and check the other extents", async () => {
  const a = tensor([[1, 2]]), b = tensor([[3, 4], [5, 6]]);
  assert.deepEqual(await concat([a, b], 0).array(), [[1, 2], [3, 4], [5, 6]]);
  assert.deepEqual(await concat([b, b], 1).array(), [[3, 4, 3, 4], [5, 6, 5, 6]]);
  assert.throws(() => concat([a, b], 1), /concat: along axis 1, \[1,2\] float32, \[2,2\] float32 do not fit/);
  const s = stack([tensor([1, 2]), tensor([3, 4])], 1);
  assert.deepEqual(await s.array(), [[1, 3], [2, 4]]);
});

Deno.test("squeeze, unsqueeze and moveAxis", () => {
  const x = tensor([[[1], [2]]]);
  assert.deepEqual([...squeeze(x).shape], [2]);
  assert.deepEqual([...squeeze(x, 0).shape], [2, 1]);
  assert.throws(() => squeeze(x, 1), /squeeze: axis 1 of \[1,2,1\] is not 1/);
  assert.deepEqual([...unsqueeze(tensor([1, 2]), -1).shape], [2, 1]);
  assert.deepEqual([...moveAxis(x234(), 2, 0).shape], [4, 2, 3]);
});

/**
 * The public tensor API checks its arguments at run time: a wrong argument is
 * a TypeError that names the function and what it got, never a silently
 * wrong result or "Cannot read properties of undefined".
 */
import assert from "node:assert/strict";
import { add, conv3d, convTranspose3d, fromArray, ones, tensor } from "../../tensor/mod.ts";

Deno.test("fromArray with a plain JS array is a TypeError that points to tensor()", () => {
  const plain = [1.5, 2.5, 300, -1] as unknown as Float32Array;
  assert.throws(() => fromArray(plain, [4]), (e: Error) => {
    assert.ok(e instanceof TypeError);
    assert.match(e.message, /^fromArray: data is a plain JS array, not a typed array/);
    assert.match(e.message, /use tensor\(\[…\], shape\)/);
    return true;
  });
  assert.throws(() => fromArray(null as unknown as Float32Array, [1]), /data is null/);
  // What tensor() makes from the same numbers: float32, the sum by hand.
  const t = tensor([1.5, 2.5, 300, -1]);
  assert.equal(t.dtype, "float32");
  assert.deepEqual([...add(t, t).dataSync()], [3, 5, 600, -2]);
});

Deno.test("conv3d and convTranspose3d with the options in the bias slot are a TypeError naming the slot", () => {
  const x = ones([1, 1, 4, 4, 4]), w = ones([2, 1, 3, 3, 3]);
  const misuse = () => conv3d(x, w, { padding: 1 } as unknown as null);
  assert.throws(misuse, (e: Error) => {
    assert.ok(e instanceof TypeError);
    assert.equal(
      e.message,
      'conv3d: bias (argument 3) must be a Tensor, null or undefined, got {"padding":1}; ' +
        'options go in argument 4: conv3d(x, weight, null, {"padding":1})',
    );
    return true;
  });
  assert.throws(
    () => convTranspose3d(x, ones([1, 2, 2, 2, 2]), { stride: 2 } as unknown as null),
    /convTranspose3d: bias \(argument 3\)/,
  );
  assert.throws(() => conv3d(x, w, null, { pad: 1 } as unknown as { padding: number }), /unknown option pad/);
  assert.throws(() => conv3d(x, w, null, 1 as unknown as { padding: number }), /options must be an object/);
  // The right call works: the centre voxel sums the full 3×3×3 window of ones.
  const y = conv3d(x, w, null, { padding: 1 });
  assert.deepEqual(y.shape, [1, 2, 4, 4, 4]);
  assert.equal(y.dataSync()[1 * 16 + 1 * 4 + 1], 27);
});

Deno.test("an op given a non-tensor input is a TypeError naming the op and the input", () => {
  assert.throws(
    () => add(ones([2]), [1, 2] as unknown as ReturnType<typeof ones>),
    /: input 1 is a plain JS array, not a Tensor/,
  );
  assert.throws(
    () => conv3d(undefined as unknown as ReturnType<typeof ones>, ones([1, 1, 1, 1, 1])),
    /input 0 is undefined/,
  );
});

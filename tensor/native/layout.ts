/**
 * Axis collapsing for the native kernels: the smallest set of axes that
 * walks every operand the same way as the full shape. Extent-1 axes are
 * dropped and neighbouring axes merge wherever every operand steps through
 * them as one (a stride that equals the next stride times the next extent,
 * 0 = 0 included). `[2,8,64,64,64] + [1,8,1,1,1]` becomes `[2, 8, 262144]`
 * with the second operand's strides `[0, 1, 0]`, so the innermost loop runs
 * 262,144 elements against one scalar.
 * @module
 */
import type { Shape } from "../shape.ts";

/** A collapsed iteration: extents and, per operand, one stride per extent. */
export interface Collapsed {
  /** Extents, outermost first; at least one axis (`[1]` for a scalar). */
  dims: number[];
  /** `strides[k][axis]` for operand k. */
  strides: number[][];
}

/** Collapses `shape` walked by operands with the given strides (one stride list per operand). */
export function collapse(shape: Shape, strides: readonly (readonly number[])[]): Collapsed {
  const dims: number[] = [];
  const st: number[][] = strides.map(() => []);
  for (let ax = 0; ax < shape.length; ax++) {
    if (shape[ax] === 1) continue;
    const last = dims.length - 1;
    if (last >= 0 && strides.every((s, k) => st[k][last] === s[ax] * shape[ax])) {
      dims[last] *= shape[ax];
      strides.forEach((s, k) => (st[k][last] = s[ax]));
    } else {
      dims.push(shape[ax]);
      strides.forEach((s, k) => st[k].push(s[ax]));
    }
  }
  if (dims.length === 0) return { dims: [1], strides: strides.map(() => [0]) };
  return { dims, strides: st };
}

/**
 * Calls `row(offsets)` once per innermost row of a collapsed iteration, with
 * each operand's offset at the row's start (an odometer over the outer axes).
 * `offsets` is reused between calls.
 */
export function forEachRow(c: Collapsed, row: (offsets: Int32Array) => void): void {
  const rank = c.dims.length, k = c.strides.length;
  const off = new Int32Array(k);
  const idx = new Int32Array(rank);
  let rows = 1;
  for (let ax = 0; ax < rank - 1; ax++) rows *= c.dims[ax];
  for (let r = 0; r < rows; r++) {
    row(off);
    for (let ax = rank - 2; ax >= 0; ax--) {
      idx[ax]++;
      for (let j = 0; j < k; j++) off[j] += c.strides[j][ax];
      if (idx[ax] < c.dims[ax]) break;
      for (let j = 0; j < k; j++) off[j] -= c.strides[j][ax] * c.dims[ax];
      idx[ax] = 0;
    }
  }
}

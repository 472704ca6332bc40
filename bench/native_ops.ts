/**
 * The native backend's non-GEMM kernels against the CPU reference kernels
 * they replace, on the shapes of one unetr-small training step (batch 2,
 * 64³; see `bench/profile_step.ts`). Each row calls both kernels directly on
 * the same inputs and prints the best of a few runs, in milliseconds of
 * this process's CPU time (user + system, so that other processes on a
 * shared machine do not count), and ns per element (of the larger of input
 * and output). Arguments: an optional substring that selects rows by name.
 *
 * ```sh
 * deno run -A bench/native_ops.ts [filter]
 * ```
 * @module
 */
import process from "node:process";
import { getOp, initNative, Rng } from "../mod.ts";
import type { OutputMeta } from "../tensor/backend.ts";
import type { AnyOpDef, CpuArg, CpuKernel } from "../tensor/op.ts";

initNative(); // registers the native kernels' backend (the kernels themselves load with the ops)
const rng = new Rng(3);
const filter = Deno.args[0] ?? "";

function f32(shape: number[]): CpuArg {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.normal();
  return { data, shape, dtype: "float32" };
}

function best(kernel: CpuKernel<unknown>, args: CpuArg[], params: unknown, out: OutputMeta, reps: number): number {
  let t = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = process.cpuUsage();
    kernel(args, params, out);
    const d = process.cpuUsage(t0);
    t = Math.min(t, (d.user + d.system) / 1000);
  }
  return t;
}

const BIG = [2, 8, 64, 64, 64];
const rows: [string, string, () => CpuArg[], unknown][] = [
  ["add same shape", "add", () => [f32(BIG), f32(BIG)], undefined],
  ["add per-channel [1,2,1,1,1]", "add", () => [f32([2, 2, 64, 64, 64]), f32([1, 2, 1, 1, 1])], undefined],
  ["mul scalar", "mul", () => [f32(BIG), f32([])], undefined],
  ["sub trailing vector [512]", "sub", () => [f32([8192, 512]), f32([512])], undefined],
  ["leakyRelu", "leakyRelu", () => [f32(BIG)], { alpha: 0.01 }],
  ["leakyReluGrad", "leakyReluGrad", () => [f32(BIG), f32(BIG)], { alpha: 0.01 }],
  ["exp", "exp", () => [f32(BIG)], undefined],
  ["gt scalar", "gt", () => [f32(BIG), f32([])], undefined],
  ["sum to [1,8,1,1,1]", "sum", () => [f32(BIG)], { axes: [0, 2, 3, 4], keepdims: true }],
  ["sum all", "sum", () => [f32(BIG)], { axes: [0, 1, 2, 3, 4], keepdims: false }],
  ["max over the last axis", "max", () => [f32([8192, 512])], { axes: [1], keepdims: false }],
  ["softmax over channels", "softmax", () => [f32([2, 2, 64, 64, 64])], { axis: 1 }],
  ["softmax over the last axis", "softmax", () => [f32([2, 4, 64, 64])], { axis: 3 }],
  ["normalize (instance norm)", "normalize", () => [f32(BIG)], { k: 3, eps: 1e-5, inner: 262144 }],
  ["normalizeBackward", "normalizeBackward", () => [f32(BIG), f32(BIG), f32(BIG)], { inner: 262144, eps: 1e-5 }],
  ["concat channels", "concat", () => [f32(BIG), f32(BIG)], { axis: 1 }],
  ["slice D,H,W", "slice", () => [f32(BIG)], { starts: [0, 0, 1, 1, 1], ends: [2, 8, 63, 63, 63] }],
  ["pad D,H,W by 1", "pad", () => [f32([2, 8, 62, 62, 62])], {
    before: [0, 0, 1, 1, 1],
    after: [0, 0, 1, 1, 1],
    value: 0,
  }],
  ["permute NCDHW to NDHWC", "permute", () => [f32(BIG)], { perm: [0, 2, 3, 4, 1] }],
  ["expand [1,8,1,1,1]", "expand", () => [f32([1, 8, 1, 1, 1])], { shape: BIG }],
];

// One call of every kernel first, so that the CPU reference's shared loops see every op's closure, as in a
// training step (a loop that has only ever run one op would inline it).
const cases = rows.filter(([label]) => label.includes(filter)).map(([label, name, make, params]) => {
  const op: AnyOpDef = getOp(name);
  const args = make();
  const out = op.infer(args, params);
  op.cpu(args, params, out);
  (op.kernels.native as CpuKernel<unknown> | undefined)?.(args, params, out);
  return { label, op, args, params, out };
});

console.log("op                               cpu ms  native ms   cpu ns/el  native ns/el");
for (const { label, op, args, params, out } of cases) {
  const native = op.kernels.native as CpuKernel<unknown> | undefined;
  const n = Math.max(out.shape.reduce((a, b) => a * b, 1), ...args.map((a) => a.data.length));
  const tc = best(op.cpu, args, params, out, 3);
  const tn = native ? best(native, args, params, out, 5) : NaN;
  console.log(
    `${label.padEnd(30)} ${tc.toFixed(1).padStart(8)} ${tn.toFixed(1).padStart(10)} ` +
      `${(tc * 1e6 / n).toFixed(2).padStart(11)} ${(tn * 1e6 / n).toFixed(2).padStart(13)}`,
  );
}

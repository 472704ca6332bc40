/**
 * Convolutions whose stride equals their kernel (no padding, no dilation,
 * one group): the patch embedding (16³ stride 16) and UNETR's 2³ stride-2
 * up-convolutions. Patches do not overlap, so every output element depends on
 * one input patch (conv3d) or every input element on one output patch
 * (convTranspose3d). These kernels block over output channels and kernel
 * taps in registers and skip the general kernels' per-tap bounds checks and
 * divisibility tests, which cost llvmpipe ~30× (bench/profile_step.ts).
 * @module
 */
import type { ConvParams, OutputMeta } from "../kernel_types.ts";
import { sizeOf } from "../shape.ts";
import type { GpuBuffer, GpuContext } from "./context.ts";
import type { GpuArg } from "./kernels.ts";
import { LOOP_LIMIT, sumChunks } from "./kernels_reduce.ts";

/** Accumulators one invocation keeps in registers. */
const REGS = 64;

/** True when stride equals the kernel (larger than 1×1×1) on every axis, with no padding, dilation or grouping. */
export function isPatchwise(p: ConvParams, kernel: readonly number[], outputPadding?: readonly number[]): boolean {
  // A 1×1×1 kernel is patchwise too, but the row-blocked kernels serve it better.
  return p.groups === 1 && kernel.some((k) => k > 1) &&
    kernel.every((k, i) => p.stride[i] === k && p.padding[i] === 0 && p.dilation[i] === 1) &&
    (outputPadding ?? [0, 0, 0]).every((v) => v === 0);
}

/** The largest divisor of `n` not above `cap` (at least 1). */
function divisorAtMost(n: number, cap: number): number {
  for (let d = Math.min(n, Math.max(1, cap)); d > 1; d--) if (n % d === 0) return d;
  return 1;
}

function fits(ctx: GpuContext, ...bytes: number[]): boolean {
  return bytes.every((b) => b <= ctx.maxBinding);
}

const HEAD = `@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> info: array<u32>;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read> Wt: array<f32>;
@compute @workgroup_size(8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.y * nwg.x * 8u + gid.x;
  if (i >= info[0]) { return; }
`;

/**
 * convTranspose3d, stride = kernel: one invocation per (sample, input voxel,
 * block of OB output channels) keeps OB × T outputs (T = kernel volume) and
 * reads each input value once. Null when the case does not apply.
 */
export function patchConvTranspose(ctx: GpuContext, x: GpuArg, w: GpuArg, p: ConvParams, out: OutputMeta) {
  const [N, C, D, H, W] = x.shape, [, O, KD, KH, KW] = w.shape;
  const T = KD * KH * KW;
  if (!isPatchwise(p, [KD, KH, KW], (p as { outputPadding?: number[] }).outputPadding) || T > REGS) return null;
  if (C > LOOP_LIMIT || !fits(ctx, x.buffer.bytes, w.buffer.bytes, sizeOf(out.shape) * 4)) return null;
  const OB = divisorAtMost(O, Math.floor(REGS / T));
  const L: string[] = [HEAD];
  // info: [count, C, D, H, W, O]
  L.push(`  let C = info[1]; let D = info[2]; let H = info[3]; let W = info[4]; let O = info[5];`);
  L.push(`  var r = i;`);
  L.push(`  let w0 = r % W; r = r / W; let h0 = r % H; r = r / H; let d0 = r % D; r = r / D;`);
  L.push(`  let ob = r % (O / ${OB}u); let n = r / (O / ${OB}u); let o0 = ob * ${OB}u;`);
  L.push(`  let sp = D * H * W;`);
  L.push(`  let xi = n * C * sp + (d0 * H + h0) * W + w0;`);
  for (let j = 0; j < OB * T; j++) L.push(`  var a${j} = 0.0;`);
  L.push(`  for (var c: u32 = 0u; c < C; c++) {`);
  L.push(`    let xv = X[xi + c * sp];`);
  L.push(`    let wb = (c * O + o0) * ${T}u;`);
  for (let j = 0; j < OB * T; j++) L.push(`    a${j} += xv * Wt[wb + ${j}u];`);
  L.push(`  }`);
  L.push(`  let OH = H * ${KH}u; let OW = W * ${KW}u; let osp = D * ${KD}u * OH * OW;`);
  for (let o = 0; o < OB; o++) {
    L.push(`  let ob${o} = (n * O + o0 + ${o}u) * osp;`);
    for (let t = 0; t < T; t++) {
      const a = Math.floor(t / (KH * KW)), b = Math.floor(t / KW) % KH, c = t % KW;
      L.push(
        `  out[ob${o} + ((d0 * ${KD}u + ${a}u) * OH + h0 * ${KH}u + ${b}u) * OW + w0 * ${KW}u + ${c}u] = a${
          o * T + t
        };`,
      );
    }
  }
  L.push(`}`);
  const count = N * D * H * W * (O / OB);
  const o = ctx.alloc(sizeOf(out.shape) * 4);
  const m = ctx.meta([count, C, D, H, W, O]);
  ctx.dispatch(L.join("\n"), [o, m, x.buffer, w.buffer], count, 8);
  ctx.release(m);
  return o;
}

/**
 * conv3d, stride = kernel: one invocation per (sample, output voxel, block of
 * OB output channels) walks its input patch once. Null when the case does not
 * apply.
 */
export function patchConv(ctx: GpuContext, x: GpuArg, w: GpuArg, p: ConvParams, out: OutputMeta) {
  const [N, C, D, H, W] = x.shape, [O, , KD, KH, KW] = w.shape, [, , OD, OH, OW] = out.shape;
  const T = KD * KH * KW;
  if (!isPatchwise(p, [KD, KH, KW]) || C * T > LOOP_LIMIT) return null;
  if (!fits(ctx, x.buffer.bytes, w.buffer.bytes, sizeOf(out.shape) * 4)) return null;
  const OB = divisorAtMost(O, 16);
  const L: string[] = [HEAD];
  // info: [count, C, D, H, W, O, OD, OH, OW]
  L.push(`  let C = info[1]; let D = info[2]; let H = info[3]; let W = info[4]; let O = info[5];`);
  L.push(`  let OD = info[6]; let OH = info[7]; let OW = info[8];`);
  L.push(`  var r = i;`);
  L.push(`  let ow = r % OW; r = r / OW; let oh = r % OH; r = r / OH; let od = r % OD; r = r / OD;`);
  L.push(`  let ob = r % (O / ${OB}u); let n = r / (O / ${OB}u); let o0 = ob * ${OB}u;`);
  L.push(`  let sp = D * H * W; let ct = C * ${T}u;`);
  for (let o = 0; o < OB; o++) L.push(`  var a${o} = 0.0;`);
  L.push(`  for (var c: u32 = 0u; c < C; c++) {`);
  L.push(`    let xc = (n * C + c) * sp;`);
  L.push(`    for (var t: u32 = 0u; t < ${T}u; t++) {`);
  L.push(`      let kd = t / ${KH * KW}u; let kh = (t / ${KW}u) % ${KH}u; let kw = t % ${KW}u;`);
  L.push(`      let xv = X[xc + ((od * ${KD}u + kd) * H + oh * ${KH}u + kh) * W + ow * ${KW}u + kw];`);
  L.push(`      let wb = (o0 * C + c) * ${T}u + t;`);
  for (let o = 0; o < OB; o++) L.push(`      a${o} += xv * Wt[wb + ${o}u * ct];`);
  L.push(`    }`);
  L.push(`  }`);
  L.push(`  let osp = OD * OH * OW; let oi = (n * O + o0) * osp + (od * OH + oh) * OW + ow;`);
  for (let o = 0; o < OB; o++) L.push(`  out[oi + ${o}u * osp] = a${o};`);
  L.push(`}`);
  const count = N * OD * OH * OW * (O / OB);
  const o = ctx.alloc(sizeOf(out.shape) * 4);
  const m = ctx.meta([count, C, D, H, W, O, OD, OH, OW]);
  ctx.dispatch(L.join("\n"), [o, m, x.buffer, w.buffer], count, 8);
  ctx.release(m);
  return o;
}

/**
 * Weight gradient of a stride = kernel conv3d (and, with the roles swapped,
 * of a stride = kernel convTranspose3d): dW[o, c, t] = Σ_{n,p} gy[n,o,p] ·
 * x[n, c, patch p, tap t]. One invocation per (chunk of positions, block of
 * output channels, c, block of taps) keeps up to 64 (channel, tap) sums;
 * chunks are summed afterwards.
 */
export function patchWeightGrad(ctx: GpuContext, x: GpuArg, gy: GpuArg, p: ConvParams, out: OutputMeta) {
  const [N, C, D, H, W] = x.shape, [, O, OD, OH, OW] = gy.shape, [, , KD, KH, KW] = out.shape;
  const T = KD * KH * KW;
  if (!isPatchwise(p, [KD, KH, KW]) || !fits(ctx, x.buffer.bytes, gy.buffer.bytes)) return null;
  // OB output channels × TB taps in registers: each position loads OB gradients and TB inputs for OB·TB FMAs.
  const TB = divisorAtMost(T, REGS), tBlocks = T / TB;
  const OB = divisorAtMost(O, Math.floor(REGS / TB)), oBlocks = O / OB;
  const positions = N * OD * OH * OW;
  const per = Math.min(positions, 4096), chunks = Math.ceil(positions / per);
  const total = sizeOf(out.shape);
  const L: string[] = [HEAD.replace("var<storage, read> Wt", "var<storage, read> gy")];
  // info: [count, C, D, H, W, O, OD, OH, OW, per, positions, total]
  L.push(`  let C = info[1]; let D = info[2]; let H = info[3]; let W = info[4]; let O = info[5];`);
  L.push(`  let OD = info[6]; let OH = info[7]; let OW = info[8]; let per = info[9]; let P = info[10];`);
  L.push(`  var r = i;`);
  L.push(`  let tb = r % ${tBlocks}u; r = r / ${tBlocks}u; let c = r % C; r = r / C;`);
  L.push(`  let o0 = (r % ${oBlocks}u) * ${OB}u; let chunk = r / ${oBlocks}u;`);
  L.push(`  let q0 = chunk * per; let q1 = min(P, q0 + per);`);
  L.push(`  let sp = D * H * W; let osp = OD * OH * OW;`);
  for (let j = 0; j < TB; j++) {
    L.push(`  let t${j} = tb * ${TB}u + ${j}u;`);
    L.push(`  let x${j} = ((t${j} / ${KH * KW}u) * H + (t${j} / ${KW}u) % ${KH}u) * W + t${j} % ${KW}u;`);
  }
  for (let o = 0; o < OB; o++) L.push(`  ${Array.from({ length: TB }, (_, j) => `var a${o}_${j} = 0.0;`).join(" ")}`);
  L.push(`  for (var q: u32 = q0; q < q1; q++) {`);
  L.push(`    let n = q / osp; let s = q % osp;`);
  L.push(`    let ow = s % OW; let oh = (s / OW) % OH; let od = s / (OW * OH);`);
  L.push(`    let xb = (n * C + c) * sp + (od * ${KD}u * H + oh * ${KH}u) * W + ow * ${KW}u;`);
  L.push(`    let gb = (n * O + o0) * osp + s;`);
  for (let j = 0; j < TB; j++) L.push(`    let v${j} = X[xb + x${j}];`);
  for (let o = 0; o < OB; o++) {
    L.push(`    let g${o} = gy[gb + ${o}u * osp];`);
    for (let j = 0; j < TB; j++) L.push(`    a${o}_${j} = fma(g${o}, v${j}, a${o}_${j});`);
  }
  L.push(`  }`);
  for (let o = 0; o < OB; o++) {
    L.push(`  let ob${o} = chunk * info[11] + ((o0 + ${o}u) * C + c) * ${T}u + tb * ${TB}u;`);
    for (let j = 0; j < TB; j++) L.push(`  out[ob${o} + ${j}u] = a${o}_${j};`);
  }
  L.push(`}`);
  const count = chunks * oBlocks * C * tBlocks;
  const partial = ctx.alloc(chunks * total * 4);
  const m = ctx.meta([count, C, D, H, W, O, OD, OH, OW, per, positions, total]);
  ctx.dispatch(L.join("\n"), [partial, m, x.buffer, gy.buffer], count, 8);
  ctx.release(m);
  return sumChunks(ctx, partial, chunks, total);
}

/** The output of a patch kernel, or null: for callers that fall back to the general kernels. */
export type PatchResult = GpuBuffer | null;

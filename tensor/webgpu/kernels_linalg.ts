/**
 * Matmul and 3-D convolution on WebGPU: each op picks its kernel per
 * adapter. On CPU-like adapters (llvmpipe), a matmul whose B is one matrix
 * and whose A has at least 256 rows reads B from uniform blocks
 * (matmul_uniform.ts), other aligned matmuls use 32×16 register blocks
 * (matmul_blocked.ts); stride-1 convolutions and their input gradients read
 * the weights from uniform blocks (conv_uniform.ts), stride = kernel ones use
 * the patch kernels (conv_patch.ts). On real GPUs matmul uses workgroup
 * tiles. Anything else falls back to one output element per invocation.
 * @module
 */
import { broadcastStrides, sizeOf } from "../shape.ts";
import type { ConvParams } from "../kernel_types.ts";
import { bindingRange, type GpuBuffer, type GpuContext } from "./context.ts";
import type { GpuArg, GpuKernel } from "./kernels.ts";
import { batchOffsetsWgsl, blockedMatmulCode, tiledMatmulCode } from "./matmul_blocked.ts";
import { blockedWeightGradCode, wgradBlocks } from "./conv_blocked.ts";
import { checkLoop, LOOP_LIMIT, sumChunks } from "./kernels_reduce.ts";
import { patchConv, patchConvTranspose, patchWeightGrad } from "./conv_patch.ts";
import { uniformConv } from "./conv_uniform.ts";
import { uniformMatmul, uniformMatmulBlocks } from "./matmul_uniform.ts";

// 32×16 outputs per invocation measured fastest on llvmpipe (28–31 GFLOP/s at
// the transformer shapes, against 2–5 for 4×4 blocks): bench/RESULTS.md.
const BLOCK_M = 32, BLOCK_N4 = 4;

function needF32(op: string, inputs: GpuArg[]): void {
  for (const t of inputs) {
    if (t.dtype !== "float32") throw new Error(`${op}: the WebGPU kernel needs float32 inputs, got ${t.dtype}`);
  }
}

const ENTRY = `@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.y * nwg.x * 64u + gid.x;
  if (i >= info[0]) { return; }
`;

const BINDINGS = `@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> info: array<u32>;
@group(0) @binding(2) var<storage, read> A: array<f32>;
@group(0) @binding(3) var<storage, read> B: array<f32>;
`;

function matmulCode(br: number): string {
  return `${BINDINGS}${ENTRY}  let M = info[1]; let N = info[2]; let K = info[3];
  let tilesN = (N + 3u) / 4u;
  let tiles = ((M + 3u) / 4u) * tilesN;
  let t = i % tiles;
  var rem = i / tiles;
${batchOffsetsWgsl(br)}  let aBase = ao * M * K; let bBase = bo * K * N;
  let i0 = (t / tilesN) * 4u; let j0 = (t % tilesN) * 4u;
  let r0 = aBase + min(i0, M - 1u) * K; let r1 = aBase + min(i0 + 1u, M - 1u) * K;
  let r2 = aBase + min(i0 + 2u, M - 1u) * K; let r3 = aBase + min(i0 + 3u, M - 1u) * K;
  let c0 = min(j0, N - 1u); let c1 = min(j0 + 1u, N - 1u); let c2 = min(j0 + 2u, N - 1u); let c3 = min(j0 + 3u, N - 1u);
  var acc0 = vec4<f32>(0.0); var acc1 = vec4<f32>(0.0); var acc2 = vec4<f32>(0.0); var acc3 = vec4<f32>(0.0);
  for (var k: u32 = 0u; k < K; k++) {
    let row = bBase + k * N;
    let bv = vec4<f32>(B[row + c0], B[row + c1], B[row + c2], B[row + c3]);
    acc0 += A[r0 + k] * bv; acc1 += A[r1 + k] * bv; acc2 += A[r2 + k] * bv; acc3 += A[r3 + k] * bv;
  }
  let ob = (i / tiles) * M * N;
  let accs = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var r: u32 = 0u; r < 4u; r++) {
    if (i0 + r >= M) { break; }
    for (var c: u32 = 0u; c < 4u; c++) {
      if (j0 + c < N) { out[ob + (i0 + r) * N + j0 + c] = accs[r][c]; }
    }
  }
}
`;
}

/**
 * `[..., m, k] @ [..., k, n]` with broadcast batch axes. When A or the
 * output exceed one binding and B is a plain matrix, the rows of A (batch
 * axes folded in) are processed in chunks that each fit.
 */
export const gpuMatmul: GpuKernel<unknown> = (ctx, [a, b], _p, out) => {
  needF32("matmul", [a, b]);
  const M = a.shape[a.shape.length - 2], K = a.shape[a.shape.length - 1], N = b.shape[b.shape.length - 1];
  const batch = out.shape.slice(0, -2);
  const nb = sizeOf(batch), br = batch.length;
  const fits = a.buffer.bytes <= ctx.maxBinding && nb * M * N * 4 <= ctx.maxBinding;
  const vec4 = K % 4 === 0 && N % 4 === 0;
  checkLoop(
    ctx,
    ctx.kernelFamily === "workgroup-tiled"
      ? (K / 16) * 300
      : vec4 && ctx.kernelFamily === "register-blocked"
      ? K / 4
      : K,
    `matmul with K = ${K}`,
  );
  // B one matrix (its batch axes all 1) and A's batch folded into rows: the uniform-B kernel.
  const blocks = fits && ctx.kernelFamily === "register-blocked" && sizeOf(b.shape.slice(0, -2)) === 1 &&
      sizeOf(a.shape.slice(0, -2)) === nb
    ? uniformMatmulBlocks(ctx, nb * M, K, N)
    : 0;
  if (blocks) return uniformMatmul(ctx, a.buffer, b.buffer, nb * M, K, N, blocks);
  const o = ctx.alloc(nb * M * N * 4);
  if (fits) {
    const sa = broadcastStrides(a.shape.slice(0, -2), batch), sb = broadcastStrides(b.shape.slice(0, -2), batch);
    const rest = [M, N, K, ...batch, ...sa, ...sb];
    if (ctx.kernelFamily === "register-blocked" && vec4) {
      const tiles = Math.ceil(M / BLOCK_M) * Math.ceil(N / 4 / BLOCK_N4);
      const m = ctx.meta([nb * tiles, ...rest]);
      ctx.dispatch(blockedMatmulCode(BLOCK_M, BLOCK_N4, br, 8), [o, m, a.buffer, b.buffer], nb * tiles, 8);
      ctx.release(m);
    } else if (ctx.kernelFamily === "workgroup-tiled") {
      const tiles = Math.ceil(M / 64) * Math.ceil(N / 64);
      const m = ctx.meta([nb * tiles, ...rest]);
      // One workgroup per 64×64 tile: dispatch counts workgroups × 256 invocations.
      ctx.dispatch(tiledMatmulCode(br), [o, m, a.buffer, b.buffer], nb * tiles * 256, 256);
      ctx.release(m);
    } else {
      const tiles = Math.ceil(M / 4) * Math.ceil(N / 4);
      const m = ctx.meta([nb * tiles, ...rest]);
      ctx.dispatch(matmulCode(br), [o, m, a.buffer, b.buffer], nb * tiles);
      ctx.release(m);
    }
    return o;
  }
  const aBatch = a.shape.slice(0, -2);
  if (b.shape.length !== 2 || sizeOf(aBatch) !== nb || b.buffer.bytes > ctx.maxBinding) {
    throw new Error(
      `matmul: [${a.shape}] @ [${b.shape}] exceeds one ${ctx.maxBinding}-byte binding and only A-row chunking is supported`,
    );
  }
  const rows = nb * M;
  const align = Math.max(64, ctx.offsetAlign / 4);
  const per = Math.floor(ctx.maxBinding / (4 * Math.max(K, N)) / align) * align;
  for (let r0 = 0; r0 < rows; r0 += per) {
    const rc = Math.min(per, rows - r0);
    const tiles = Math.ceil(rc / 4) * Math.ceil(N / 4);
    const m = ctx.meta([tiles, rc, N, K]);
    ctx.dispatch(matmulCode(0), [
      bindingRange(o, r0 * N * 4, rc * N * 4),
      m,
      bindingRange(a.buffer, r0 * K * 4, rc * K * 4),
      b.buffer,
    ], tiles);
    ctx.release(m);
  }
  return o;
};

function geometryWords(p: ConvParams): number[] {
  return [...p.stride, ...p.padding, ...p.dilation, p.groups];
}

// info: [total, N, C, D, H, W, O, Cg(or Og), KD, KH, KW, OD, OH, OW, s×3, p×3, d×3, groups, first output channel, all output channels]
const GEOM = `  let Nn = info[1]; let C = info[2]; let D = i32(info[3]); let H = i32(info[4]); let W = i32(info[5]);
  let O = info[6]; let G2 = info[7]; let KD = info[8]; let KH = info[9]; let KW = info[10];
  let OD = i32(info[11]); let OH = i32(info[12]); let OW = i32(info[13]);
  let sd = i32(info[14]); let sh = i32(info[15]); let sw = i32(info[16]);
  let pd = i32(info[17]); let ph = i32(info[18]); let pw = i32(info[19]);
  let dd = i32(info[20]); let dh = i32(info[21]); let dw = i32(info[22]); let groups = info[23];
`;

/** Stride 1, dilation 1, one group, small padding: the case the blocked kernel covers. */
function blockable(ctx: GpuContext, p: ConvParams, KW: number): boolean {
  return ctx.kernelFamily === "register-blocked" && p.groups === 1 && KW <= 7 &&
    p.stride.every((v) => v === 1) && p.dilation.every((v) => v === 1);
}

/** Direct conv3d: register-blocked with uniform-block weights where it applies, else one output element per invocation. */
export const gpuConv3d: GpuKernel<ConvParams> = (ctx, [x, w], p, out) => {
  needF32("conv3d", [x, w]);
  const patched = patchConv(ctx, x, w, p, out);
  if (patched) return patched;
  checkLoop(ctx, w.shape[1] * (1 + w.shape[2] * (1 + w.shape[3] * (1 + w.shape[4]))), `a ${w.shape.slice(1)} kernel`);
  if (blockable(ctx, p, w.shape[4])) {
    const [O, C, KD, KH, KW] = w.shape;
    const view = { offset: 0, strides: [C * KD * KH * KW, KD * KH * KW, KH * KW, KW, 1] };
    const o = uniformConv(ctx, x, w, view, [KD, KH, KW], O, p.padding, out);
    if (o) return o;
  }
  const [N, C, D, H, W] = x.shape, [O, Cg, KD, KH, KW] = w.shape, [, , OD, OH, OW] = out.shape;
  const total = sizeOf(out.shape);
  const code = `${BINDINGS}${ENTRY}${GEOM}  let Cg = G2;
  var r = i;
  let ow = i32(r % u32(OW)); r = r / u32(OW);
  let oh = i32(r % u32(OH)); r = r / u32(OH);
  let od = i32(r % u32(OD)); r = r / u32(OD);
  let o = info[24] + r % O; let n = r / O;
  let g = o / (info[25] / groups);
  var acc = 0.0;
  for (var cl: u32 = 0u; cl < Cg; cl++) {
    let xc = (n * C + g * Cg + cl) * u32(D * H * W);
    for (var kd: u32 = 0u; kd < KD; kd++) {
      let id = od * sd - pd + i32(kd) * dd;
      if (id < 0 || id >= D) { continue; }
      for (var kh: u32 = 0u; kh < KH; kh++) {
        let ih = oh * sh - ph + i32(kh) * dh;
        if (ih < 0 || ih >= H) { continue; }
        for (var kw: u32 = 0u; kw < KW; kw++) {
          let iw = ow * sw - pw + i32(kw) * dw;
          if (iw < 0 || iw >= W) { continue; }
          acc += B[(((o * Cg + cl) * KD + kd) * KH + kh) * KW + kw] * A[xc + u32((id * H + ih) * W + iw)];
        }
      }
    }
  }
  out[i] = acc;
}
`;
  return convDispatch(ctx, code, x, w, total, [N, C, D, H, W, O, Cg, KD, KH, KW, OD, OH, OW, ...geometryWords(p)]);
};

/**
 * Runs a conv-like gather kernel whose output is [N, O, OD, OH, OW]. When the
 * input or output exceed one binding, it runs per sample and per block of
 * output channels, each binding only its own ranges.
 */
function convDispatch(ctx: GpuContext, code: string, x: GpuArg, w: GpuArg, total: number, dims: number[]): GpuBuffer {
  const [N, C, D, H, W, O] = dims, [OD, OH, OW] = dims.slice(10, 13);
  const o = ctx.alloc(total * 4);
  if (x.buffer.bytes <= ctx.maxBinding && o.bytes <= ctx.maxBinding) {
    const m = ctx.meta([total, ...dims, 0, O]);
    ctx.dispatch(code, [o, m, x.buffer, w.buffer], total);
    ctx.release(m);
    return o;
  }
  const sample = C * D * H * W * 4, channel = OD * OH * OW * 4;
  if (sample > ctx.maxBinding || channel > ctx.maxBinding || sample % ctx.offsetAlign || channel % ctx.offsetAlign) {
    throw new Error(
      `${ctx.label}: input [${N},${C},${D},${H},${W}] or its output exceed one binding in a way that cannot be split per sample and channel block`,
    );
  }
  const block = Math.max(1, Math.floor(ctx.maxBinding / channel));
  for (let n = 0; n < N; n++) {
    for (let o0 = 0; o0 < O; o0 += block) {
      const oc = Math.min(block, O - o0);
      const words = [oc * channel / 4, 1, ...dims.slice(1, 5), oc, ...dims.slice(6), o0, O];
      const m = ctx.meta(words);
      ctx.dispatch(code, [
        bindingRange(o, (n * O + o0) * channel, oc * channel),
        m,
        bindingRange(x.buffer, n * sample, sample),
        w.buffer,
      ], oc * channel / 4);
      ctx.release(m);
    }
  }
  return o;
}

/**
 * Transposed conv3d. With stride 1 it is a conv3d with the weight's channel
 * axes swapped and its kernel flipped, at padding k − 1 − p, so it reuses the
 * blocked kernel (this is conv3d's input gradient); otherwise a gather where
 * each output element collects its contributions.
 */
export const gpuConvTranspose3d: GpuKernel<ConvParams> = (ctx, [x, w], p, out) => {
  needF32("convTranspose3d", [x, w]);
  const patched = patchConvTranspose(ctx, x, w, p, out);
  if (patched) return patched;
  const cig = x.shape[1] / p.groups;
  checkLoop(
    ctx,
    cig * (1 + w.shape[2] * (1 + w.shape[3] * (1 + w.shape[4]))),
    `${cig} input channels × ${w.shape.slice(2)}`,
  );
  const ks = w.shape.slice(2);
  const pad = ks.map((k, i) => k - 1 - p.padding[i]);
  if (blockable(ctx, p, ks[2]) && pad.every((v) => v >= 0)) {
    // The logical forward weight [Cout, Cin, KD, KH, KW] read through a flipped, channel-swapped view of w.
    const [, Cout, KD, KH, KW] = w.shape;
    const s = [Cout * KD * KH * KW, KD * KH * KW, KH * KW, KW, 1];
    const view = {
      offset: (KD - 1) * s[2] + (KH - 1) * s[3] + (KW - 1) * s[4],
      strides: [s[1], s[0], -s[2], -s[3], -s[4]],
    };
    const o = uniformConv(ctx, x, w, view, ks, Cout, pad, out);
    if (o) return o;
  }
  const [N, C, D, H, W] = x.shape, [, Og, KD, KH, KW] = w.shape, [, O, OD, OH, OW] = out.shape;
  const total = sizeOf(out.shape);
  const code = `${BINDINGS}${ENTRY}${GEOM}  let Og = G2; let Cig = C / groups;
  var r = i;
  let ow = i32(r % u32(OW)); r = r / u32(OW);
  let oh = i32(r % u32(OH)); r = r / u32(OH);
  let od = i32(r % u32(OD)); r = r / u32(OD);
  let o = info[24] + r % O; let n = r / O;
  let g = o / Og; let ol = o % Og;
  var acc = 0.0;
  for (var cl: u32 = 0u; cl < Cig; cl++) {
    let c = g * Cig + cl;
    let xc = (n * C + c) * u32(D * H * W);
    for (var kd: u32 = 0u; kd < KD; kd++) {
      let nd = od + pd - i32(kd) * dd;
      if (nd < 0 || nd % sd != 0 || nd / sd >= D) { continue; }
      for (var kh: u32 = 0u; kh < KH; kh++) {
        let nh = oh + ph - i32(kh) * dh;
        if (nh < 0 || nh % sh != 0 || nh / sh >= H) { continue; }
        for (var kw: u32 = 0u; kw < KW; kw++) {
          let nw = ow + pw - i32(kw) * dw;
          if (nw < 0 || nw % sw != 0 || nw / sw >= W) { continue; }
          acc += B[(((c * Og + ol) * KD + kd) * KH + kh) * KW + kw] * A[xc + u32(((nd / sd) * H + nh / sh) * W + nw / sw)];
        }
      }
    }
  }
  out[i] = acc;
}
`;
  return convDispatch(ctx, code, x, w, total, [N, C, D, H, W, O, Og, KD, KH, KW, OD, OH, OW, ...geometryWords(p)]);
};

/**
 * Weight gradient: each invocation sums one weight element (or, blocked, one
 * row of taps for 4 output channels) over a range of (sample, od, oh) rows.
 * The rows are split into chunks short enough for the adapter's loop limit;
 * the partial gradients of the chunks are then summed.
 */
export const gpuConv3dWeightGrad: GpuKernel<ConvParams> = (ctx, [x, gy], p, out) => {
  needF32("conv3dWeightGrad", [x, gy]);
  const patched = patchWeightGrad(ctx, x, gy, p, out);
  if (patched) return patched;
  const [N, C, D, H, W] = x.shape, [, O, OD, OH, OW] = gy.shape, [, Cg, KD, KH, KW] = out.shape;
  const total = sizeOf(out.shape);
  if (x.buffer.bytes > ctx.maxBinding || gy.buffer.bytes > ctx.maxBinding) {
    throw new Error(`conv3dWeightGrad: inputs larger than one ${ctx.maxBinding}-byte binding are not split yet`);
  }
  const rowsAll = N * OD * OH;
  const per = Math.max(1, Math.floor(LOOP_LIMIT / (OW + KW + 2)));
  const chunks = Math.ceil(rowsAll / per);
  const partial = ctx.alloc(chunks * total * 4);
  if (blockable(ctx, p, KW)) {
    const { OB, CB } = wgradBlocks(KW, O, C);
    const count = Math.ceil(O / OB) * Math.ceil(C / CB) * KD * KH;
    const m = ctx.meta([count * chunks, N, C, D, H, W, O, KD, KH, OD, OH, OW, ...p.padding, per, count, total]);
    ctx.dispatch(blockedWeightGradCode(KW, OB, CB), [partial, m, x.buffer, gy.buffer], count * chunks, 8);
    ctx.release(m);
  } else {
    const code = `${BINDINGS}${ENTRY}${GEOM}  let Cg = G2;
  let chunk = i / info[27]; let wi = i % info[27];
  var r = wi;
  let kw = i32(r % KW); r = r / KW;
  let kh = i32(r % KH); r = r / KH;
  let kd = i32(r % KD); r = r / KD;
  let cl = r % Cg; let o = r / Cg;
  let g = o / (O / groups);
  let q0 = chunk * info[26]; let q1 = min(Nn * u32(OD * OH), q0 + info[26]);
  var acc = 0.0;
  for (var q: u32 = q0; q < q1; q++) {
    let n = q / u32(OD * OH); let od = i32((q / u32(OH)) % u32(OD)); let oh = i32(q % u32(OH));
    let id = od * sd - pd + kd * dd;
    let ih = oh * sh - ph + kh * dh;
    if (id < 0 || id >= D || ih < 0 || ih >= H) { continue; }
    let xc = (n * C + g * Cg + cl) * u32(D * H * W);
    let gc = (n * O + o) * u32(OD * OH * OW);
    for (var ow: i32 = 0; ow < OW; ow++) {
      let iw = ow * sw - pw + kw * dw;
      if (iw < 0 || iw >= W) { continue; }
      acc += B[gc + u32((od * OH + oh) * OW + ow)] * A[xc + u32((id * H + ih) * W + iw)];
    }
  }
  out[i] = acc;
}
`;
    const m = ctx.meta([
      total * chunks,
      N,
      C,
      D,
      H,
      W,
      O,
      Cg,
      KD,
      KH,
      KW,
      OD,
      OH,
      OW,
      ...geometryWords(p),
      0,
      O,
      per,
      total,
    ]);
    ctx.dispatch(code, [partial, m, x.buffer, gy.buffer], total * chunks);
    ctx.release(m);
  }
  return sumChunks(ctx, partial, chunks, total);
};

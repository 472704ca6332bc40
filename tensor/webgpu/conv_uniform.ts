/**
 * Register-blocked direct conv3d whose weights come from a uniform buffer,
 * for adapters that run shaders on the CPU (llvmpipe).
 *
 * On llvmpipe a load from a storage buffer at a per-invocation address runs
 * a scalar loop over the SIMD lanes, while a uniform-buffer load is one
 * vector gather. The weights are the same for every invocation of a
 * dispatch, so they are repacked into 64 KiB uniform blocks (one block per
 * group of OB output channels and chunk of input channels, laid out
 * [c, kd, kh, kw, OB] so OB channels load as OB/4 vec4s). The input rows are
 * read as vec4 when W % 4 == 0. Each invocation computes BW consecutive W
 * positions × OB output channels. Stride 1, dilation 1, one group.
 *
 * Measured on llvmpipe (1×32×64³, 3×3×3, 32→32): 44 GFLOP/s against 23.5 for
 * the same block with storage-buffer weights and scalar input loads.
 * @module
 */
import type { OutputMeta } from "../kernel_types.ts";
import { bindingRange, type GpuBuffer, type GpuContext } from "./context.ts";
import { type GpuArg, storageHead, type StridedView } from "./kernels.ts";

/** vec4 slots in one 64 KiB uniform block. */
export const UNIFORM_VEC4 = 4096;

/** Output channels and W positions per invocation, by output channel count (llvmpipe timings in the module doc). */
export function uniformConvBlock(O: number): { OB: number; BW: number } {
  // 16 × 16 measured 41–44 GFLOP/s at 16–32 channels; with 8 or fewer output channels 8 × 32 (30–33) beats it (20).
  return O > 8 ? { OB: 16, BW: 16 } : { OB: 8, BW: 32 };
}

/** Input channels that fit one uniform block for `taps` kernel taps and OB output channels. */
export function channelsPerBlock(taps: number, OB: number): number {
  return Math.floor(UNIFORM_VEC4 / (taps * (OB / 4)));
}

/**
 * WGSL of the conv kernel for kernel width KW, W padding pw, OB output
 * channels and BW W positions; `xv` reads input rows as vec4 (W % 4 == 0).
 * The dispatch covers one block of output channels (first one at info[14])
 * and info[15] input channels, X being bound from the block's first input
 * channel on; with `add` it adds to the output instead of overwriting it
 * (the input channels after the first block).
 */
export function uniformConvCode(KW: number, pw: number, OB: number, BW: number, xv: boolean, add = false): string {
  const seg = BW + KW - 1, Q = BW / 4, G = OB / 4;
  const L: string[] = [];
  L.push(`@group(0) @binding(0) var<storage, read_write> out: array<f32>;`);
  L.push(`@group(0) @binding(1) var<storage, read> info: array<u32>;`);
  L.push(`@group(0) @binding(2) var<storage, read> X: array<${xv ? "vec4<f32>" : "f32"}>;`);
  L.push(`@group(0) @binding(3) var<uniform> Wt: array<vec4<f32>, ${UNIFORM_VEC4}>;`);
  L.push(`@compute @workgroup_size(8)`);
  L.push(`fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {`);
  L.push(`  let i = gid.y * nwg.x * 8u + gid.x;`);
  L.push(`  if (i >= info[0]) { return; }`);
  // info: [count, C, D, H, W, O, KD, KH, OD, OH, OW, pd, ph, pw, o0, input channels in this block]
  L.push(`  let C = info[1]; let D = i32(info[2]); let H = i32(info[3]); let W = i32(info[4]);`);
  L.push(`  let O = info[5]; let KD = info[6]; let KH = info[7];`);
  L.push(`  let OD = info[8]; let OH = info[9]; let OW = info[10];`);
  L.push(`  let pd = i32(info[11]); let ph = i32(info[12]);`);
  L.push(`  let o0 = info[14]; let cn = info[15];`);
  L.push(`  let wBlocks = (OW + ${BW - 1}u) / ${BW}u;`);
  L.push(`  var r = i;`);
  L.push(`  let wb = r % wBlocks; r = r / wBlocks;`);
  L.push(`  let oh = r % OH; r = r / OH;`);
  L.push(`  let od = r % OD; let n = r / OD;`);
  L.push(`  let ow0 = i32(wb * ${BW}u);`);
  for (let o = 0; o < OB; o++) {
    L.push(`  ${Array.from({ length: Q }, (_, q) => `var a${o}_${q} = vec4<f32>(0.0);`).join(" ")}`);
  }
  // The loop's live values are few on purpose: llvmpipe sits at the edge of a spill cliff here, and small changes
  // (an (n·C + c)·DHW product in the loop, a hoisted per-channel weight base) measured 12–14% slower.
  L.push(`  let xStep = u32(D * H * W); let xFirst = n * C * xStep;`);
  L.push(`  for (var c: u32 = 0u; c < cn; c++) {`);
  L.push(`    let xc = xFirst + c * xStep;`);
  L.push(`    for (var kd: u32 = 0u; kd < KD; kd++) {`);
  L.push(`      let id = i32(od) - pd + i32(kd);`);
  L.push(`      if (id < 0 || id >= D) { continue; }`);
  L.push(`      for (var kh: u32 = 0u; kh < KH; kh++) {`);
  L.push(`        let ih = i32(oh) - ph + i32(kh);`);
  L.push(`        if (ih < 0 || ih >= H) { continue; }`);
  L.push(`        let row = xc + u32((id * H + ih) * W);`);
  const xs: string[] = [];
  if (xv) {
    // Positions ow0 − pw + t for t < seg lie in the vec4s ow0/4 + j, j in [lo, hi]; a vec4 is all inside or all outside.
    const lo = Math.floor(-pw / 4), hi = Math.floor((seg - 1 - pw) / 4);
    L.push(`        let row4 = i32(row / 4u) + ow0 / 4; let W4 = W / 4; let last = i32(arrayLength(&X)) - 1;`);
    for (let j = lo; j <= hi; j++) {
      L.push(
        `        let v${
          j - lo
        } = select(vec4<f32>(0.0), X[u32(clamp(row4 + ${j}, 0, last))], ow0 / 4 + ${j} >= 0 && ow0 / 4 + ${j} < W4);`,
      );
    }
    for (let t = 0; t < seg; t++) {
      const p = t - pw - 4 * lo;
      xs.push(`v${Math.floor(p / 4)}.${"xyzw"[p % 4]}`);
    }
  } else {
    L.push(`        let iw0 = ow0 - ${pw};`);
    for (let t = 0; t < seg; t++) {
      L.push(
        `        let x${t} = select(0.0, X[row + u32(clamp(iw0 + ${t}, 0, W - 1))], iw0 + ${t} >= 0 && iw0 + ${t} < W);`,
      );
      xs.push(`x${t}`);
    }
  }
  L.push(`        let wk = (((c * KD + kd) * KH + kh) * ${KW}u) * ${G}u;`);
  for (let kw = 0; kw < KW; kw++) {
    for (let q = 0; q < Q; q++) {
      const b = 4 * q + kw;
      L.push(`        let u${kw}_${q} = vec4<f32>(${xs[b]}, ${xs[b + 1]}, ${xs[b + 2]}, ${xs[b + 3]});`);
    }
    for (let g = 0; g < G; g++) L.push(`        let w${kw}_${g} = Wt[wk + ${kw * G + g}u];`);
    for (let o = 0; o < OB; o++) {
      L.push(`        let s${o}_${kw} = vec4<f32>(w${kw}_${o >> 2}.${"xyzw"[o % 4]});`);
      for (let q = 0; q < Q; q++) L.push(`        a${o}_${q} = fma(s${o}_${kw}, u${kw}_${q}, a${o}_${q});`);
    }
  }
  L.push(`      }`);
  L.push(`    }`);
  L.push(`  }`);
  L.push(`  let plane = OD * OH * OW;`);
  L.push(`  let rowOut = (od * OH + oh) * OW;`);
  for (let o = 0; o < OB; o++) {
    L.push(`  if (o0 + ${o}u < O) {`);
    L.push(`    let ob = (n * O + o0 + ${o}u) * plane + rowOut;`);
    for (let q = 0; q < Q; q++) {
      for (let e = 0; e < 4; e++) {
        const j = 4 * q + e;
        L.push(
          `    if (u32(ow0) + ${j}u < OW) { out[ob + u32(ow0) + ${j}u] = ${
            add ? `out[ob + u32(ow0) + ${j}u] + ` : ""
          }a${o}_${q}[${e}]; }`,
        );
      }
    }
    L.push(`  }`);
  }
  L.push(`}`);
  return L.join("\n") + "\n";
}

/**
 * WGSL that packs a weight read through a strided view (axes O, C, KD, KH,
 * KW; negative strides flip) into uniform blocks: block (b, u) holds output
 * channels [b·OB, b·OB + OB) and input channels [u·CC, u·CC + CC) as
 * [c, kd, kh, kw, OB] floats, zero-padded to 64 KiB.
 */
export const PACK_CONV_WEIGHTS = `${storageHead("f32", ["f32"])}  // in0: the weight.
  // info: [count, O, C, KD, KH, KW, OB, CC, chunks, offset, s0, s1, s2, s3, s4]
  let O = info[1]; let C = info[2]; let KD = info[3]; let KH = info[4]; let KW = info[5];
  let OB = info[6]; let CC = info[7]; let chunks = info[8];
  let blockFloats = ${UNIFORM_VEC4 * 4}u;
  let blk = i / blockFloats; var f = i % blockFloats;
  let b = blk / chunks; let u = blk % chunks;
  let oo = f % OB; f = f / OB;
  let taps = KD * KH * KW;
  let t = f % taps; let cl = f / taps;
  let kw = t % KW; let kh = (t / KW) % KH; let kd = t / (KW * KH);
  let o = b * OB + oo; let c = u * CC + cl;
  var v = 0.0;
  if (cl < CC && c < C && o < O) {
    let at = bitcast<i32>(info[9]) + i32(o) * bitcast<i32>(info[10]) + i32(c) * bitcast<i32>(info[11]) +
      i32(kd) * bitcast<i32>(info[12]) + i32(kh) * bitcast<i32>(info[13]) + i32(kw) * bitcast<i32>(info[14]);
    v = in0[at];
  }
  out[i] = v;
}
`;

/**
 * conv3d (stride 1, dilation 1, one group) with uniform-buffer weights. The
 * weight `w` is read through `view` (axes O, C, KD, KH, KW of the logical
 * weight, which lets the input gradient pass a flipped, channel-swapped view
 * of the forward weight without copying it). Runs per sample when the whole
 * input or output does not fit one binding; returns null when one sample
 * does not, or when the geometry is outside what the kernel covers.
 */
export function uniformConv(
  ctx: GpuContext,
  x: GpuArg,
  w: GpuArg,
  view: StridedView,
  kernel: readonly number[],
  O: number,
  pad: readonly number[],
  out: OutputMeta,
): GpuBuffer | null {
  const [N, C, D, H, W] = x.shape, [KD, KH, KW] = kernel, [, , OD, OH, OW] = out.shape;
  const taps = KD * KH * KW;
  const { OB, BW } = uniformConvBlock(O);
  const CC = channelsPerBlock(taps, OB);
  if (CC < 1) return null;
  const channel = D * H * W * 4, sample = C * channel, outSample = O * OD * OH * OW * 4;
  if (sample > ctx.maxBinding || outSample > ctx.maxBinding) return null;
  const whole = N * sample <= ctx.maxBinding && N * outSample <= ctx.maxBinding;
  if (!whole && (sample % ctx.offsetAlign || outSample % ctx.offsetAlign)) return null;
  const oBlocks = Math.ceil(O / OB), chunks = Math.ceil(C / CC);
  // Each block of input channels binds the input from its first channel on.
  if (chunks > 1 && (CC * channel) % ctx.offsetAlign) return null;
  const blockBytes = UNIFORM_VEC4 * 16;
  if (oBlocks * chunks * blockBytes > ctx.maxBinding) return null;

  const packed = ctx.alloc(oBlocks * chunks * blockBytes);
  const count = oBlocks * chunks * UNIFORM_VEC4 * 4;
  const pm = ctx.meta([count, O, C, KD, KH, KW, OB, CC, chunks, view.offset, ...view.strides]);
  ctx.dispatch(PACK_CONV_WEIGHTS, [packed, pm, w.buffer], count, 64);
  ctx.release(pm);

  const xv = W % 4 === 0;
  const code = uniformConvCode(KW, pad[2], OB, BW, xv), addCode = uniformConvCode(KW, pad[2], OB, BW, xv, true);
  const per = Math.ceil(OW / BW) * OH * OD;
  const o = ctx.alloc(N * outSample);
  const geometry = [C, D, H, W, O, KD, KH, OD, OH, OW, ...pad];
  for (let b = 0; b < oBlocks; b++) {
    for (let u = 0; u < chunks; u++) {
      const weights = bindingRange(packed, (b * chunks + u) * blockBytes, blockBytes);
      const c0 = u * CC, words = [b * OB, Math.min(CC, C - c0)];
      const shader = u > 0 ? addCode : code;
      if (whole) {
        const m = ctx.meta([N * per, ...geometry, ...words]);
        ctx.dispatch(
          shader,
          [o, m, bindingRange(x.buffer, c0 * channel, N * sample - c0 * channel), weights],
          N * per,
          8,
        );
        ctx.release(m);
        continue;
      }
      for (let n = 0; n < N; n++) {
        const m = ctx.meta([per, ...geometry, ...words]);
        const xs = bindingRange(x.buffer, n * sample + c0 * channel, sample - c0 * channel);
        ctx.dispatch(shader, [bindingRange(o, n * outSample, outSample), m, xs, weights], per, 8);
        ctx.release(m);
      }
    }
  }
  ctx.release(packed);
  return o;
}

/**
 * Register-blocked conv3d weight gradient for adapters that run shaders on
 * the CPU (llvmpipe): each invocation owns a block of output × input
 * channels for one (kd, kh) and slides a KW-wide window of each input row in
 * registers, with no workgroup memory (shared/notes/webgpu-llvmpipe.md).
 * Stride 1, dilation 1, groups 1. The forward and input-gradient kernels are
 * in conv_uniform.ts.
 * @module
 */

/** Output channels per invocation of the blocked weight gradient. */
export const WGRAD_OB = 4;

/** Output and input channels per invocation of the blocked weight gradient, by kernel width. */
export function wgradBlocks(KW: number, O = 8, C = 8): { OB: number; CB: number } {
  // 8 × 8 channels measured 10.6–11.5 GFLOP/s at 3×3×3 on llvmpipe, against 6.9 for 4 × 4 and 2.2 for 1 × 1
  // (64³, 8–16 channels); a 1×1×1 kernel went from 0.24 to 3.8 GFLOP/s.
  return KW <= 3 ? { OB: Math.min(8, O), CB: Math.min(8, C) } : { OB: WGRAD_OB, CB: 1 };
}

/**
 * Weight gradient of a stride-1, dilation-1, one-group conv3d: one
 * invocation per (block of OB output channels, block of CB input channels,
 * kd, kh, chunk of (n, od, oh) rows) accumulates all KW taps, sliding a
 * KW-wide window of each input row in registers so each input and
 * output-gradient value is loaded once per row and used OB·KW (or CB·KW)
 * times. Chunks write separate partial gradients.
 */
export function blockedWeightGradCode(KW: number, OB: number, CB: number): string {
  const L: string[] = [];
  L.push(`@group(0) @binding(0) var<storage, read_write> out: array<f32>;`);
  L.push(`@group(0) @binding(1) var<storage, read> info: array<u32>;`);
  L.push(`@group(0) @binding(2) var<storage, read> X: array<f32>;`);
  L.push(`@group(0) @binding(3) var<storage, read> G: array<f32>;`);
  L.push(`@compute @workgroup_size(8)`);
  L.push(`fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {`);
  L.push(`  let i = gid.y * nwg.x * 8u + gid.x;`);
  L.push(`  if (i >= info[0]) { return; }`);
  // info: [count·chunks, N, C, D, H, W, O, KD, KH, OD, OH, OW, pd, ph, pw, rows per chunk, count, weights]
  L.push(`  let N = info[1]; let C = info[2]; let D = i32(info[3]); let H = i32(info[4]); let W = i32(info[5]);`);
  L.push(`  let O = info[6]; let KD = info[7]; let KH = info[8];`);
  L.push(`  let OD = i32(info[9]); let OH = i32(info[10]); let OW = i32(info[11]);`);
  L.push(`  let pd = i32(info[12]); let ph = i32(info[13]); let pw = i32(info[14]);`);
  L.push(`  let chunk = i / info[16];`);
  L.push(`  var r = i % info[16];`);
  L.push(`  let kh = r % KH; r = r / KH;`);
  L.push(`  let kd = r % KD; r = r / KD;`);
  L.push(`  let cBlocks = (C + ${CB - 1}u) / ${CB}u;`);
  L.push(`  let c0 = (r % cBlocks) * ${CB}u; r = r / cBlocks;`);
  L.push(`  let o0 = r * ${OB}u;`);
  for (let o = 0; o < OB; o++) L.push(`  let go${o} = min(o0 + ${o}u, O - 1u);`);
  for (let c = 0; c < CB; c++) L.push(`  let gc${c} = min(c0 + ${c}u, C - 1u);`);
  for (let o = 0; o < OB; o++) {
    for (let c = 0; c < CB; c++) {
      L.push(`  ${Array.from({ length: KW }, (_, k) => `var a${o}_${c}_${k} = 0.0;`).join(" ")}`);
    }
  }
  // Rows q = (n, od, oh) of this chunk; each row runs OW steps of the sliding window.
  L.push(`  let q0 = chunk * info[15]; let q1 = min(N * u32(OD * OH), q0 + info[15]);`);
  L.push(`  for (var q: u32 = q0; q < q1; q++) {`);
  L.push(`    let n = q / u32(OD * OH); let od = i32((q / u32(OH)) % u32(OD)); let oh = i32(q % u32(OH));`);
  L.push(`    let id = od - pd + i32(kd);`);
  L.push(`    let ih = oh - ph + i32(kh);`);
  L.push(`    if (id < 0 || id >= D || ih < 0 || ih >= H) { continue; }`);
  for (let c = 0; c < CB; c++) {
    L.push(`    let xrow${c} = (n * C + gc${c}) * u32(D * H * W) + u32((id * H + ih) * W);`);
  }
  for (let o = 0; o < OB; o++) {
    L.push(`    let grow${o} = (n * O + go${o}) * u32(OD * OH * OW) + u32((od * OH + oh) * OW);`);
  }
  for (let c = 0; c < CB; c++) {
    for (let k = 0; k < KW - 1; k++) {
      L.push(
        `    var w${c}_${k} = select(0.0, X[xrow${c} + u32(clamp(${k} - pw, 0, W - 1))], ${k} - pw >= 0 && ${k} - pw < W);`,
      );
    }
  }
  L.push(`    for (var ow: i32 = 0; ow < OW; ow++) {`);
  L.push(`      let t = ow - pw + ${KW - 1};`);
  L.push(`      let inside = t >= 0 && t < W; let tc = u32(clamp(t, 0, W - 1));`);
  for (let c = 0; c < CB; c++) L.push(`      let w${c}_${KW - 1} = select(0.0, X[xrow${c} + tc], inside);`);
  for (let o = 0; o < OB; o++) {
    L.push(`      let g${o} = G[grow${o} + u32(ow)];`);
    for (let c = 0; c < CB; c++) {
      for (let k = 0; k < KW; k++) L.push(`      a${o}_${c}_${k} = fma(g${o}, w${c}_${k}, a${o}_${c}_${k});`);
    }
  }
  for (let c = 0; c < CB; c++) for (let k = 0; k < KW - 1; k++) L.push(`      w${c}_${k} = w${c}_${k + 1};`);
  L.push(`    }`);
  L.push(`  }`);
  L.push(`  let kvol = KD * KH * ${KW}u;`);
  for (let o = 0; o < OB; o++) {
    for (let c = 0; c < CB; c++) {
      L.push(`  if (o0 + ${o}u < O && c0 + ${c}u < C) {`);
      L.push(`    let base = chunk * info[17] + ((o0 + ${o}u) * C + c0 + ${c}u) * kvol + (kd * KH + kh) * ${KW}u;`);
      for (let k = 0; k < KW; k++) L.push(`    out[base + ${k}u] = a${o}_${c}_${k};`);
      L.push(`  }`);
    }
  }
  L.push(`}`);
  return L.join("\n") + "\n";
}

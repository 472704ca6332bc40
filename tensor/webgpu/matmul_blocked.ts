/**
 * Register-blocked matmul for adapters that run shaders on the CPU
 * (llvmpipe): no workgroup memory, a TM×(4·TN4) block of outputs per
 * invocation kept in unrolled vec4 registers, vec4 loads of A along k and of
 * B along n, and consecutive invocations walking down M so neighbours share
 * the same B columns (shared/notes/webgpu-llvmpipe.md). Needs K and N to be
 * multiples of 4, because A and B are bound as arrays of vec4.
 * @module
 */

/**
 * WGSL that turns the batch index `rem` into the matrix offsets `ao` and `bo`
 * of A and B, reading the batch shape at info[4…] and each operand's batch
 * strides (0 where it broadcasts) after it. Shared by every matmul variant.
 */
export function batchOffsetsWgsl(br: number): string {
  return `  var ao: u32 = 0u; var bo: u32 = 0u;
  for (var d: i32 = ${br - 1}; d >= 0; d--) {
    let ext = info[4u + u32(d)];
    let c = rem % ext; rem = rem / ext;
    ao += c * info[${4 + br}u + u32(d)];
    bo += c * info[${4 + 2 * br}u + u32(d)];
  }
`;
}

/**
 * WGSL lines of one k4 step of a register-blocked matmul: for each of TM rows
 * r, load `a<r> = A[ra<r> + k4]` (4 values of k) and add its products with the
 * 4 × TN4 vec4s `b<kk>_<c>` to the accumulators `acc<r>_<c>`. Shared by the
 * storage-B and uniform-B kernels.
 */
export function accumulateRowsWgsl(TM: number, TN4: number): string[] {
  const L: string[] = [];
  for (let r = 0; r < TM; r++) {
    L.push(`    let a${r} = A[ra${r} + k4];`);
    for (let c = 0; c < TN4; c++) {
      L.push(
        `    acc${r}_${c} = fma(vec4<f32>(a${r}.x), b0_${c}, fma(vec4<f32>(a${r}.y), b1_${c}, fma(vec4<f32>(a${r}.z), b2_${c}, fma(vec4<f32>(a${r}.w), b3_${c}, acc${r}_${c}))));`,
      );
    }
  }
  return L;
}

/** WGSL source of the blocked kernel for a TM × 4·TN4 block and `br` batch axes. */
export function blockedMatmulCode(TM: number, TN4: number, br: number, wg: number): string {
  const L: string[] = [];
  L.push(`@group(0) @binding(0) var<storage, read_write> out: array<vec4<f32>>;`);
  L.push(`@group(0) @binding(1) var<storage, read> info: array<u32>;`);
  L.push(`@group(0) @binding(2) var<storage, read> A: array<vec4<f32>>;`);
  L.push(`@group(0) @binding(3) var<storage, read> B: array<vec4<f32>>;`);
  L.push(`@compute @workgroup_size(${wg})`);
  L.push(`fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {`);
  L.push(`  let i = gid.y * nwg.x * ${wg}u + gid.x;`);
  L.push(`  if (i >= info[0]) { return; }`);
  L.push(`  let M = info[1]; let N4 = info[2] / 4u; let K4 = info[3] / 4u;`);
  L.push(`  let tilesM = (M + ${TM - 1}u) / ${TM}u;`);
  L.push(`  let tilesN = (N4 + ${TN4 - 1}u) / ${TN4}u;`);
  L.push(`  let tiles = tilesM * tilesN;`);
  L.push(`  let t = i % tiles;`);
  L.push(`  var rem = i / tiles;`);
  L.push(batchOffsetsWgsl(br));
  L.push(`  let aBase = ao * M * K4; let bBase = bo * K4 * 4u * N4;`);
  L.push(`  let i0 = (t % tilesM) * ${TM}u; let j0 = (t / tilesM) * ${TN4}u;`);
  for (let r = 0; r < TM; r++) L.push(`  let ra${r} = aBase + min(i0 + ${r}u, M - 1u) * K4;`);
  for (let c = 0; c < TN4; c++) L.push(`  let cb${c} = min(j0 + ${c}u, N4 - 1u);`);
  for (let r = 0; r < TM; r++) {
    L.push(`  ${Array.from({ length: TN4 }, (_, c) => `var acc${r}_${c} = vec4<f32>(0.0);`).join(" ")}`);
  }
  L.push(`  for (var k4: u32 = 0u; k4 < K4; k4++) {`);
  for (let kk = 0; kk < 4; kk++) {
    L.push(`    let brow${kk} = bBase + (k4 * 4u + ${kk}u) * N4;`);
    for (let c = 0; c < TN4; c++) L.push(`    let b${kk}_${c} = B[brow${kk} + cb${c}];`);
  }
  L.push(...accumulateRowsWgsl(TM, TN4));
  L.push(`  }`);
  L.push(`  let ob = (i / tiles) * M * N4;`);
  for (let r = 0; r < TM; r++) {
    L.push(`  if (i0 + ${r}u < M) {`);
    for (let c = 0; c < TN4; c++) {
      L.push(`    if (j0 + ${c}u < N4) { out[ob + (i0 + ${r}u) * N4 + j0 + ${c}u] = acc${r}_${c}; }`);
    }
    L.push(`  }`);
  }
  L.push(`}`);
  return L.join("\n") + "\n";
}

/**
 * Workgroup-tiled matmul for discrete GPUs: a 16×16 workgroup computes a
 * 64×64 output tile, each invocation a 4×4 block, staging 64×16 slices of A
 * and B in workgroup memory. Any M, N, K (scalar bindings).
 */
export function tiledMatmulCode(br: number): string {
  return `@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> info: array<u32>;
@group(0) @binding(2) var<storage, read> A: array<f32>;
@group(0) @binding(3) var<storage, read> B: array<f32>;
var<workgroup> As: array<array<f32, 64>, 16>;
var<workgroup> Bs: array<array<f32, 64>, 16>;
@compute @workgroup_size(16, 16)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let M = info[1]; let N = info[2]; let K = info[3];
  let tilesN = (N + 63u) / 64u; let tiles = ((M + 63u) / 64u) * tilesN;
  let w = wid.y * nwg.x + wid.x;
  let valid = w < info[0];
  let t = w % tiles;
  var rem = w / tiles;
${batchOffsetsWgsl(br)}  let aBase = ao * M * K; let bBase = bo * K * N;
  let row0 = (t / tilesN) * 64u; let col0 = (t % tilesN) * 64u;
  var acc: array<array<f32, 4>, 4>;
  let lin = lid.y * 16u + lid.x;
  for (var k0: u32 = 0u; k0 < K; k0 += 16u) {
    // 256 threads load 64×16 of A and 16×64 of B, 4 elements each.
    for (var e: u32 = 0u; e < 4u; e++) {
      let idx = lin * 4u + e;
      let ar = idx / 16u; let ak = idx % 16u;
      let gr = row0 + ar; let gk = k0 + ak;
      As[ak][ar] = select(0.0, A[aBase + min(gr, M - 1u) * K + min(gk, K - 1u)], valid && gr < M && gk < K);
      let bk = idx / 64u; let bc = idx % 64u;
      let gk2 = k0 + bk; let gc = col0 + bc;
      Bs[bk][bc] = select(0.0, B[bBase + min(gk2, K - 1u) * N + min(gc, N - 1u)], valid && gk2 < K && gc < N);
    }
    workgroupBarrier();
    for (var kk: u32 = 0u; kk < 16u; kk++) {
      for (var r: u32 = 0u; r < 4u; r++) {
        let a = As[kk][lid.y * 4u + r];
        for (var c: u32 = 0u; c < 4u; c++) { acc[r][c] += a * Bs[kk][lid.x * 4u + c]; }
      }
    }
    workgroupBarrier();
  }
  if (!valid) { return; }
  let ob = (w / tiles) * M * N;
  for (var r: u32 = 0u; r < 4u; r++) {
    let gr = row0 + lid.y * 4u + r;
    if (gr >= M) { break; }
    for (var c: u32 = 0u; c < 4u; c++) {
      let gc = col0 + lid.x * 4u + c;
      if (gc < N) { out[ob + gr * N + gc] = acc[r][c]; }
    }
  }
}
`;
}

/**
 * Matmul for adapters that run shaders on the CPU (llvmpipe), with B read
 * from uniform buffers.
 *
 * On llvmpipe a storage-buffer load at a per-invocation address runs a
 * scalar loop over the SIMD lanes, while a uniform-buffer load is one vector
 * gather (conv_uniform.ts has the same trick). B is repacked into panels of
 * 32 columns; each panel is cut into 64 KiB uniform blocks of 512 rows, and
 * one dispatch per panel binds that panel's blocks (so K ≤ 512 × the
 * adapter's uniform-buffer limit). Each invocation computes a 16 × 32 output
 * block: per 4 steps of k it loads 16 vec4s of A from storage and 32 vec4s of
 * B from uniforms.
 *
 * Measured on llvmpipe: 35–40 GFLOP/s at 1024³ and the transformer shapes,
 * against 26–29 for the 32 × 16 block with both operands in storage. The
 * linear op uses it too, packing its [out, in] weight transposed, with the
 * bias and activation as the store's epilogue (20–21 → 25–32 GFLOP/s).
 * @module
 */
import type { GpuBuffer, GpuContext } from "./context.ts";
import { accumulateRowsWgsl } from "./matmul_blocked.ts";
import { storageHead } from "./kernels.ts";

/** Rows of A per invocation. */
const TM = 16;
/** vec4 columns of B per panel (32 columns). */
const TN4 = 8;
/** vec4 slots in one 64 KiB uniform block. */
const BLOCK_VEC4 = 4096;
/** Rows of B in one uniform block. */
export const ROWS_PER_BLOCK = BLOCK_VEC4 / TN4;

/** An epilogue applied to each output: WGSL of `act(v)` for a scalar `v`, and the WGSL functions it calls. */
export interface MatmulActivation {
  /** WGSL expression of the activation of scalar expression `v`. */
  apply: (v: string) => string;
  /** WGSL function definitions that `apply` uses. */
  functions: string;
}

/**
 * WGSL of the kernel for a panel split over `blocks` uniform blocks; `bias`
 * adds Bias[n] (binding 3 + blocks) and `act` is applied after it.
 */
export function uniformMatmulCode(blocks: number, bias = false, act?: MatmulActivation): string {
  const L: string[] = [];
  if (act) L.push(act.functions);
  L.push(`@group(0) @binding(0) var<storage, read_write> out: array<vec4<f32>>;`);
  L.push(`@group(0) @binding(1) var<storage, read> info: array<u32>;`);
  L.push(`@group(0) @binding(2) var<storage, read> A: array<vec4<f32>>;`);
  for (let u = 0; u < blocks; u++) {
    L.push(`@group(0) @binding(${3 + u}) var<uniform> B${u}: array<vec4<f32>, ${BLOCK_VEC4}>;`);
  }
  if (bias) L.push(`@group(0) @binding(${3 + blocks}) var<storage, read> Bias: array<vec4<f32>>;`);
  L.push(`@compute @workgroup_size(8)`);
  L.push(`fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {`);
  L.push(`  let i = gid.y * nwg.x * 8u + gid.x;`);
  L.push(`  if (i >= info[0]) { return; }`);
  // info: [invocations, rows, N, K, first vec4 column of the panel]
  L.push(`  let M = info[1]; let N4 = info[2] / 4u; let K4 = info[3] / 4u; let j0 = info[4];`);
  L.push(`  let i0 = i * ${TM}u;`);
  for (let r = 0; r < TM; r++) L.push(`  let ra${r} = min(i0 + ${r}u, M - 1u) * K4;`);
  for (let r = 0; r < TM; r++) {
    L.push(`  ${Array.from({ length: TN4 }, (_, c) => `var acc${r}_${c} = vec4<f32>(0.0);`).join(" ")}`);
  }
  const K4B = ROWS_PER_BLOCK / 4;
  for (let u = 0; u < blocks; u++) {
    L.push(`  for (var k4: u32 = ${u * K4B}u; k4 < min(K4, ${(u + 1) * K4B}u); k4++) {`);
    L.push(`    let kb = (k4 - ${u * K4B}u) * ${4 * TN4}u;`);
    for (let kk = 0; kk < 4; kk++) {
      for (let c = 0; c < TN4; c++) L.push(`    let b${kk}_${c} = B${u}[kb + ${kk * TN4 + c}u];`);
    }
    L.push(...accumulateRowsWgsl(TM, TN4));
    L.push(`  }`);
  }
  if (bias) {
    for (let c = 0; c < TN4; c++) L.push(`  let bias${c} = Bias[min(j0 + ${c}u, N4 - 1u)];`);
  }
  const value = (r: number, c: number) => {
    const v = bias ? `(acc${r}_${c} + bias${c})` : `acc${r}_${c}`;
    return act ? `vec4<f32>(${[..."xyzw"].map((e) => act.apply(`${v}.${e}`)).join(", ")})` : v;
  };
  for (let r = 0; r < TM; r++) {
    L.push(`  if (i0 + ${r}u < M) {`);
    for (let c = 0; c < TN4; c++) {
      L.push(`    if (j0 + ${c}u < N4) { out[(i0 + ${r}u) * N4 + j0 + ${c}u] = ${value(r, c)}; }`);
    }
    L.push(`  }`);
  }
  L.push(`}`);
  return L.join("\n") + "\n";
}

/**
 * Packs B [K, N] (N % 4 == 0) into panels: panel p, block u holds rows
 * [u·512, u·512 + 512) of columns [p·32, p·32 + 32). One invocation copies
 * one row of one panel (8 vec4s); columns past N are zeroed, rows past K in
 * the last block are left as they are (the kernel never reads them).
 */
export const PACK_PANELS = `${storageHead("vec4<f32>", ["vec4<f32>"], 8)}  // in0: B.
  // info: [panels · K, K, N, blocks per panel]
  let K = info[1]; let N4 = info[2] / 4u; let blocks = info[3];
  let p = i / K; let k = i % K;
  let dst = (p * blocks + k / ${ROWS_PER_BLOCK}u) * ${BLOCK_VEC4}u + (k % ${ROWS_PER_BLOCK}u) * ${TN4}u;
  let src = k * N4 + p * ${TN4}u;
${
  Array.from({ length: TN4 }, (_, c) =>
    `  out[dst + ${c}u] = select(vec4<f32>(0.0), in0[min(src + ${c}u, K * N4 - 1u)], p * ${TN4}u + ${c}u < N4);`).join(
      "\n",
    )
}
}
`;

/**
 * The same panels from B given as its transpose Bᵀ [N, K] (PyTorch's linear
 * weight): one invocation gathers one row k of a panel, 32 scalars of column k.
 */
export const PACK_PANELS_T =
  `fn at(n: u32, k: u32, N: u32, K: u32) -> f32 { return select(0.0, in0[min(n, N - 1u) * K + k], n < N); }
${storageHead("vec4<f32>", ["f32"], 8)}  // in0: Bᵀ.
  // info: [panels · K, K, N, blocks per panel]
  let K = info[1]; let N = info[2]; let blocks = info[3];
  let p = i / K; let k = i % K;
  let dst = (p * blocks + k / ${ROWS_PER_BLOCK}u) * ${BLOCK_VEC4}u + (k % ${ROWS_PER_BLOCK}u) * ${TN4}u;
  let n0 = p * ${4 * TN4}u;
${
    Array.from({ length: TN4 }, (_, c) =>
      `  out[dst + ${c}u] = vec4<f32>(${
        [0, 1, 2, 3].map((e) => `at(n0 + ${4 * c + e}u, k, N, K)`).join(", ")
      });`).join(
        "\n",
      )
  }
}
`;

/** Options of {@link uniformMatmul}. */
export interface UniformMatmulOptions {
  /** `b` holds Bᵀ, [N, K] (PyTorch's linear weight), instead of B [K, N]. */
  transposed?: boolean;
  /** [N] floats added to every row. */
  bias?: GpuBuffer;
  /** Applied to every output after the bias. */
  activation?: MatmulActivation;
}

/**
 * Uniform blocks per panel when the uniform-B kernel should run for
 * `rows`×K @ K×N, else 0: it needs K and N multiples of 4, at least 256 rows
 * (two workgroups per dispatch, one dispatch per 32 columns), K within the
 * adapter's uniform-buffer count, and the packed B within one binding.
 */
export function uniformMatmulBlocks(ctx: GpuContext, rows: number, K: number, N: number): number {
  if (K % 4 || N % 4 || rows < 256 || K === 0) return 0;
  const blocks = Math.ceil(K / ROWS_PER_BLOCK), panels = Math.ceil(N / (4 * TN4));
  if (blocks > ctx.maxUniformBuffers || panels * blocks * BLOCK_VEC4 * 16 > ctx.maxBinding) return 0;
  return blocks;
}

/**
 * `rows`×K (buffer `a`) @ K×N (buffer `b`, or Bᵀ with `transposed`) into a
 * new rows×N buffer, with an optional bias and activation epilogue; see
 * {@link uniformMatmulBlocks}.
 */
export function uniformMatmul(
  ctx: GpuContext,
  a: GpuBuffer,
  b: GpuBuffer,
  rows: number,
  K: number,
  N: number,
  blocks: number,
  opts: UniformMatmulOptions = {},
): GpuBuffer {
  const panels = Math.ceil(N / (4 * TN4)), blockBytes = BLOCK_VEC4 * 16;
  const packed = ctx.alloc(panels * blocks * blockBytes);
  const pm = ctx.meta([panels * K, K, N, blocks]);
  ctx.dispatch(opts.transposed ? PACK_PANELS_T : PACK_PANELS, [packed, pm, b], panels * K, 8);
  ctx.release(pm);
  const o = ctx.alloc(rows * N * 4);
  const code = uniformMatmulCode(blocks, !!opts.bias, opts.activation);
  const per = Math.ceil(rows / TM);
  // One meta buffer with a slot per panel (one queue write instead of one per panel).
  const slot = Math.max(ctx.offsetAlign, 32) / 4;
  const words = new Uint32Array(panels * slot);
  for (let p = 0; p < panels; p++) words.set([per, rows, N, K, p * TN4], p * slot);
  const m = ctx.meta(words);
  for (let p = 0; p < panels; p++) {
    const ubos = Array.from(
      { length: blocks },
      (_, u) => ({ buffer: packed.buffer, offset: (p * blocks + u) * blockBytes, size: blockBytes }),
    );
    const meta = { buffer: m.buffer, offset: p * slot * 4, size: 32 };
    ctx.dispatch(code, [o, meta, a, ...ubos, ...(opts.bias ? [opts.bias] : [])], per, 8);
  }
  ctx.release(m);
  ctx.release(packed);
  return o;
}

/**
 * act(x·Wᵀ + b) in one kernel: the matmul with PyTorch's [out, in] weight
 * read as is (an "NT" product: both operands are contiguous along k, so both
 * load as vec4), with the bias add and activation as an epilogue. Each
 * invocation owns a TM×TN block of outputs in registers; no workgroup memory.
 * On CPU-like adapters with 256 rows or more, Wᵀ goes to uniform blocks
 * instead (matmul_uniform.ts) with the same epilogue.
 * @module
 */
import { ERF_WGSL, linearActivation } from "../activations.ts";
import type { LinearActivation, LinearParams } from "../kernel_types.ts";
import { sizeOf } from "../shape.ts";
import type { GpuKernel } from "./kernels.ts";
import { checkLoop } from "./kernels_reduce.ts";
import { uniformMatmul, uniformMatmulBlocks } from "./matmul_uniform.ts";

/** WGSL of act(v), from the activation table (activations.ts). */
function actWgsl(act: LinearActivation): (v: string) => string {
  return linearActivation(act)?.wgsl ?? ((v) => v);
}

/** WGSL for a TM×TN block; `vec4` needs K % 4 == 0; `bias` adds b[n]. */
export function linearCode(TM: number, TN: number, vec4: boolean, bias: boolean, act: LinearActivation): string {
  const T = vec4 ? "vec4<f32>" : "f32", apply = actWgsl(act);
  const L: string[] = [ERF_WGSL];
  L.push(`@group(0) @binding(0) var<storage, read_write> out: array<f32>;`);
  L.push(`@group(0) @binding(1) var<storage, read> info: array<u32>;`);
  L.push(`@group(0) @binding(2) var<storage, read> X: array<${T}>;`);
  L.push(`@group(0) @binding(3) var<storage, read> Wt: array<${T}>;`);
  if (bias) L.push(`@group(0) @binding(4) var<storage, read> Bias: array<f32>;`);
  L.push(`@compute @workgroup_size(8)`);
  L.push(`fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {`);
  L.push(`  let i = gid.y * nwg.x * 8u + gid.x;`);
  L.push(`  if (i >= info[0]) { return; }`);
  L.push(`  let M = info[1]; let N = info[2]; let KV = info[3];`);
  L.push(`  let tilesM = (M + ${TM - 1}u) / ${TM}u;`);
  L.push(`  let i0 = (i % tilesM) * ${TM}u; let j0 = (i / tilesM) * ${TN}u;`);
  for (let r = 0; r < TM; r++) L.push(`  let xr${r} = min(i0 + ${r}u, M - 1u) * KV;`);
  for (let c = 0; c < TN; c++) L.push(`  let wr${c} = min(j0 + ${c}u, N - 1u) * KV;`);
  for (let r = 0; r < TM; r++) L.push(`  ${Array.from({ length: TN }, (_, c) => `var a${r}_${c} = 0.0;`).join(" ")}`);
  L.push(`  for (var k: u32 = 0u; k < KV; k++) {`);
  for (let c = 0; c < TN; c++) L.push(`    let w${c} = Wt[wr${c} + k];`);
  for (let r = 0; r < TM; r++) {
    L.push(`    let x${r} = X[xr${r} + k];`);
    for (let c = 0; c < TN; c++) {
      L.push(vec4 ? `    a${r}_${c} += dot(x${r}, w${c});` : `    a${r}_${c} = fma(x${r}, w${c}, a${r}_${c});`);
    }
  }
  L.push(`  }`);
  for (let c = 0; c < TN; c++) L.push(`  let b${c} = ${bias ? `Bias[min(j0 + ${c}u, N - 1u)]` : "0.0"};`);
  for (let r = 0; r < TM; r++) {
    L.push(`  if (i0 + ${r}u < M) {`);
    for (let c = 0; c < TN; c++) {
      L.push(`    if (j0 + ${c}u < N) { out[(i0 + ${r}u) * N + j0 + ${c}u] = ${apply(`(a${r}_${c} + b${c})`)}; }`);
    }
    L.push(`  }`);
  }
  L.push(`}`);
  return L.join("\n") + "\n";
}

/** The fused linear kernel: inputs x [..., K], w [N, K] and optionally b [N]. */
export const gpuLinear: GpuKernel<LinearParams> = (ctx, inputs, p, out) => {
  const [x, w, b] = inputs;
  for (const t of inputs) {
    if (t.dtype !== "float32") throw new Error(`linear: the WebGPU kernel needs float32 inputs, got ${t.dtype}`);
  }
  const K = x.shape[x.shape.length - 1], N = w.shape[0], M = sizeOf(x.shape) / K;
  if (x.buffer.bytes > ctx.maxBinding || sizeOf(out.shape) * 4 > ctx.maxBinding || w.buffer.bytes > ctx.maxBinding) {
    throw new Error(`linear: operands larger than one ${ctx.maxBinding}-byte binding are not split yet; use matmul`);
  }
  const vec4 = K % 4 === 0;
  checkLoop(ctx, vec4 ? K / 4 : K, `linear with ${K} input features`);
  // 256 rows or more on CPU-like adapters: Wᵀ in uniform blocks (matmul_uniform.ts), 21 → 24–32 GFLOP/s at the
  // transformer shapes.
  const blocks = ctx.kernelFamily === "register-blocked" ? uniformMatmulBlocks(ctx, M, K, N) : 0;
  if (blocks) {
    const activation = p.activation === "none" ? undefined : { apply: actWgsl(p.activation), functions: ERF_WGSL };
    return uniformMatmul(ctx, x.buffer, w.buffer, M, K, N, blocks, { transposed: true, bias: b?.buffer, activation });
  }
  // 16×8 outputs per invocation on CPU-like adapters; 4×4 on GPUs.
  const [TM, TN] = ctx.kernelFamily === "register-blocked" ? [16, 8] : [4, 4];
  const count = Math.ceil(M / TM) * Math.ceil(N / TN);
  const o = ctx.alloc(M * N * 4);
  const m = ctx.meta([count, M, N, vec4 ? K / 4 : K]);
  ctx.dispatch(
    linearCode(TM, TN, vec4, !!b, p.activation),
    [o, m, x.buffer, w.buffer, ...(b ? [b.buffer] : [])],
    count,
    8,
  );
  ctx.release(m);
  return o;
};

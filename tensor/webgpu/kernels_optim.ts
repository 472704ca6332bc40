/**
 * The optimizer's fused update: one dispatch per parameter writes the new
 * parameter and moments (new buffers; the inputs are only read), in place of
 * the dozen elementwise ops the update composes (bench/profile_step.ts:
 * about 2,600 of a UNETR step's 4,600 dispatches).
 * @module
 */
import type { AdamHandles, AdamHyper } from "../kernel_types.ts";
import type { GpuBuffer, GpuContext } from "./context.ts";

/** WGSL of the update; `amsgrad` adds the running maximum, `lanes` 4 reads vec4s. */
function adamCode(amsgrad: boolean, lanes: number): string {
  const T = lanes === 4 ? "vec4<f32>" : "f32";
  const buffers = ["P", "M", "V", ...(amsgrad ? ["VM"] : []), "p", "g", "m", "v", ...(amsgrad ? ["vmax"] : [])];
  const L = buffers.map((b, i) =>
    `@group(0) @binding(${i < (amsgrad ? 4 : 3) ? i : i + 1}) var<storage, ${
      i < (amsgrad ? 4 : 3) ? "read_write" : "read"
    }> ${b}: array<${T}>;`
  );
  L.splice(amsgrad ? 4 : 3, 0, `@group(0) @binding(${amsgrad ? 4 : 3}) var<storage, read> info: array<u32>;`);
  L.push(`fn fp(k: u32) -> f32 { return bitcast<f32>(info[k]); }`);
  L.push(`@compute @workgroup_size(64)`);
  L.push(`fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {`);
  L.push(`  let i = gid.y * nwg.x * 64u + gid.x;`);
  L.push(`  if (i >= info[0]) { return; }`);
  // info: [count, decoupled, wd ≠ 0, decay, 1 − β₁, 1 − β₂, β₂, wd, eps, bc2Sqrt, stepSize]
  L.push(`  var pi = p[i]; var gi = g[i];`);
  L.push(`  if (info[1] == 1u) { if (info[2] == 1u) { pi = pi * fp(3u); } }`);
  L.push(`  else if (info[2] == 1u) { gi = gi + pi * fp(7u); }`);
  L.push(`  let mi = m[i] + (gi - m[i]) * fp(4u);`);
  L.push(`  let vi = v[i] * fp(6u) + gi * gi * fp(5u);`);
  if (amsgrad) L.push(`  let second = max(vmax[i], vi); VM[i] = second;`);
  else L.push(`  let second = vi;`);
  L.push(`  let denom = sqrt(second) / fp(9u) + fp(8u);`);
  L.push(`  P[i] = pi - (mi / denom) * fp(10u);`);
  L.push(`  M[i] = mi; V[i] = vi;`);
  L.push(`}`);
  return L.join("\n") + "\n";
}

/** One Adam step of a float32 parameter of `size` elements; returns the new buffers. */
export function gpuAdam(
  ctx: GpuContext,
  s: AdamHandles & Record<string, GpuBuffer>,
  size: number,
  h: AdamHyper,
): AdamHandles {
  const amsgrad = s.vmax !== undefined;
  const lanes = size % 4 === 0 ? 4 : 1;
  const out = { p: ctx.alloc(size * 4), m: ctx.alloc(size * 4), v: ctx.alloc(size * 4) } as Record<string, GpuBuffer>;
  if (amsgrad) out.vmax = ctx.alloc(size * 4);
  const info = ctx.meta([size / lanes, h.decoupled ? 1 : 0, h.wd !== 0 ? 1 : 0], [
    1 - h.lr * h.wd,
    1 - h.b1,
    1 - h.b2,
    h.b2,
    h.wd,
    h.eps,
    h.bc2Sqrt,
    h.stepSize,
  ]);
  const outs = [out.p, out.m, out.v, ...(amsgrad ? [out.vmax] : [])];
  const ins = [s.p, s.g, s.m, s.v, ...(amsgrad ? [s.vmax] : [])] as GpuBuffer[];
  ctx.dispatch(adamCode(amsgrad, lanes), [...outs, info, ...ins], size / lanes);
  ctx.release(info);
  return { p: out.p, m: out.m, v: out.v, vmax: out.vmax };
}

/**
 * WGSL kernels for the mode-3 DFT family and the t-transpose. Each output
 * entry of a tube is a direct O(n3) sum (n3 is 12 or 48 for LoRA-PT, so the
 * O(n3²) total is a few dozen MACs per entry); twiddles come from the exact
 * integer phase (k·l mod n3), so no angle grows with k·l.
 * @module
 */
import { sizeOf } from "../shape.ts";
import type { GpuKernel } from "./kernels.ts";

const HEAD = `@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> info: array<u32>;
@group(0) @binding(2) var<storage, read> A: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.y * nwg.x * 64u + gid.x;
  if (i >= info[0]) { return; }
`;

const TWO_PI = "6.283185307179586";

function check(ctx: { maxBinding: number; label: string }, bytes: number[]): void {
  if (bytes.some((b) => b > ctx.maxBinding)) {
    throw new Error(`${ctx.label}: tensors larger than one ${ctx.maxBinding}-byte binding are not split yet`);
  }
}

/**
 * DFT along mode 3 of a real [n1,n2,n] or complex [n1,n2,n,2] input, keeping
 * the first `keep` = out.shape[2] frequencies (all for fft3/ifft3, ⌊n/2⌋+1
 * for rfft3).
 */
export function gpuDft(inverse: boolean): GpuKernel<unknown> {
  return (ctx, [a], _p, out) => {
    const n = a.shape[2], complexIn = a.shape.length === 4, keep = out.shape[2];
    const tubes = a.shape[0] * a.shape[1];
    check(ctx, [a.buffer.bytes, sizeOf(out.shape) * 4]);
    const sign = inverse ? "" : "-";
    const read = complexIn
      ? "let xr = A[src + 2u * l]; let xi = A[src + 2u * l + 1u];"
      : "let xr = A[src + l]; let xi = 0.0;";
    const code = `${HEAD}  let n = info[1]; let keep = info[2];
  let t = i / keep; let k = i % keep;
  let src = t * n * ${complexIn ? 2 : 1}u;
  var re = 0.0; var im = 0.0;
  for (var l: u32 = 0u; l < n; l++) {
    ${read}
    let ang = ${sign}${TWO_PI} * f32((k * l) % n) / f32(n);
    let c = cos(ang); let s = sin(ang);
    re += xr * c - xi * s;
    im += xr * s + xi * c;
  }
  let scale = ${inverse ? "1.0 / f32(n)" : "1.0"};
  out[2u * i] = re * scale;
  out[2u * i + 1u] = im * scale;
}
`;
    const o = ctx.alloc(sizeOf(out.shape) * 4);
    const m = ctx.meta([tubes * keep, n, keep]);
    ctx.dispatch(code, [o, m, a.buffer], tubes * keep);
    ctx.release(m);
    return o;
  };
}

/**
 * Inverse of rfft3: a real [n1,n2,n] from the half spectrum [n1,n2,⌊n/2⌋+1,2],
 * using X_k = conj(X_{n−k}): y_l = (1/n)(Re X_0 + Σ_{0<k<n/2} 2 Re(X_k e^{2πikl/n}) + [n even] Re X_{n/2}(−1)^l).
 */
export const gpuIrfft: GpuKernel<{ n: number }> = (ctx, [a], p, out) => {
  const n = p.n, h = a.shape[2], tubes = a.shape[0] * a.shape[1];
  check(ctx, [a.buffer.bytes, sizeOf(out.shape) * 4]);
  const code = `${HEAD}  let n = info[1]; let h = info[2];
  let t = i / n; let l = i % n;
  let src = t * h * 2u;
  var acc = 0.0;
  for (var k: u32 = 0u; k < h; k++) {
    let ang = ${TWO_PI} * f32((k * l) % n) / f32(n);
    let w = select(2.0, 1.0, k == 0u || 2u * k == n);
    acc += w * (A[src + 2u * k] * cos(ang) - A[src + 2u * k + 1u] * sin(ang));
  }
  out[i] = acc / f32(n);
}
`;
  const o = ctx.alloc(sizeOf(out.shape) * 4);
  const m = ctx.meta([tubes * n, n, h]);
  ctx.dispatch(code, [o, m, a.buffer], tubes * n);
  ctx.release(m);
  return o;
};

/** t-transpose: out[j, i, l] = A[i, j, (n − l) mod n]. */
export const gpuTtranspose: GpuKernel<unknown> = (ctx, [a], _p, out) => {
  const [n1, n2, n] = a.shape;
  check(ctx, [a.buffer.bytes]);
  const code = `${HEAD}  let n1 = info[1]; let n2 = info[2]; let n = info[3];
  let l = i % n; let r = i / n;
  let ii = r % n1; let j = r / n1;
  out[i] = A[(ii * n2 + j) * n + (n - l) % n];
}
`;
  const total = sizeOf(out.shape);
  const o = ctx.alloc(total * 4);
  const m = ctx.meta([total, n1, n2, n]);
  ctx.dispatch(code, [o, m, a.buffer], total);
  ctx.release(m);
  return o;
};

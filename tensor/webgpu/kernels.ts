/**
 * WGSL kernels for every op kind, as builders that op definitions attach
 * under `kernels.webgpu`. One generic strided map covers elementwise ops,
 * broadcasting, permute, slice, flip, expand and cast; the rest are
 * reductions, softmax, matmul, convolutions, pad, concat and one-hot.
 *
 * These are the straightforward variants (one output, or a 4×4 block for
 * matmul, per invocation); adapter-tuned variants are future work (issue 3).
 * @module
 */
import type { DType, OutputMeta, Shape } from "../kernel_types.ts";
import { broadcastStrides, sizeOf, stridesOf } from "../shape.ts";
import { ERF_WGSL } from "../activations.ts";
import type { GpuBuffer, GpuContext } from "./context.ts";

/** An input as a WebGPU kernel sees it. */
export interface GpuArg {
  /** Storage. */
  readonly buffer: GpuBuffer;
  /** Shape. */
  readonly shape: Shape;
  /** Dtype. */
  readonly dtype: DType;
}

/** A WebGPU kernel: records dispatches and returns the output buffer (or an input's, for views). */
export type GpuKernel<P> = (ctx: GpuContext, inputs: GpuArg[], params: P, out: OutputMeta) => GpuBuffer;

/** WGSL storage type of a dtype (uint8 is widened to u32 on the device). */
export function wgslType(d: DType): string {
  if (d === "float64") throw new Error("webgpu: float64 is CPU-only");
  return d === "float32" ? "f32" : d === "int32" ? "i32" : "u32";
}

const HEADER = `
${ERF_WGSL}fn fparam(meta_index: u32) -> f32 { return bitcast<f32>(info[meta_index]); }
`;

function gridIndex(): string {
  return "let i = gid.y * nwg.x * WG + gid.x;";
}

function entry(wg: number): string {
  return `const WG: u32 = ${wg}u;\n@compute @workgroup_size(${wg})\nfn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {\n`;
}

/**
 * The start of a one-dimensional compute shader: `out` (read-write) at
 * binding 0, the `info` words at 1, read-only inputs `in0, in1, …` of the
 * given element types from 2 on, and `main` with the invocation index `i`,
 * returning past `info[0]` invocations. The caller writes the body and `}`.
 */
export function storageHead(out: string, inputs: readonly string[], wg = 64): string {
  let code = `@group(0) @binding(0) var<storage, read_write> out: array<${out}>;\n`;
  code += `@group(0) @binding(1) var<storage, read> info: array<u32>;\n`;
  inputs.forEach((t, j) => (code += `@group(0) @binding(${j + 2}) var<storage, read> in${j}: array<${t}>;\n`));
  return code +
    `@compute @workgroup_size(${wg})\nfn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {\n  let i = gid.y * nwg.x * ${wg}u + gid.x;\n  if (i >= info[0]) { return; }\n`;
}

/** How an input is read for output element i: its storage offset and per-axis strides. */
export interface StridedView {
  /** Element offset. */
  offset: number;
  /** One stride per output axis (0 broadcasts, negative flips). */
  strides: number[];
}

/**
 * The generic strided map: `out[i] = expr(x, y, z)` where x, y, z are the
 * inputs read through their views and converted to `compute` type.
 * `expr` may read float parameters with `fparam(P + k)`.
 *
 * Outputs larger than one storage binding are processed in chunks: each
 * chunk binds its own range of the output and of every input laid out like
 * the output; other inputs must fit in one binding.
 */
export function stridedMap(
  ctx: GpuContext,
  inputs: readonly GpuArg[],
  views: readonly StridedView[],
  out: OutputMeta,
  expr: string,
  compute: string,
  floats: readonly number[] = [],
): GpuBuffer {
  const total = sizeOf(out.shape);
  const contiguous = stridesOf(out.shape);
  const direct = views.map((v, j) =>
    v.offset === 0 && sizeOf(inputs[j].shape) === total &&
    v.strides.every((s, a) => s === contiguous[a] || out.shape[a] === 1)
  );
  const scalar = inputs.map((t) => sizeOf(t.shape) === 1);
  const names = ["x", "y", "z"];
  // Index arithmetic runs on the collapsed shape: axes of extent 1 dropped, and neighbours merged where every
  // input steps through them as one axis (a [2,8,64,64,64] − [2,8,1,1,1] broadcast indexes as [16, 262144]).
  const { shape: cshape, views: cviews } = collapseAxes(out.shape, views);
  const rank = cshape.length;
  const words: number[] = [0, 0, ...cshape];
  for (const v of cviews) words.push(v.offset, ...v.strides);
  const paramBase = words.length;
  // Four consecutive elements per invocation when they always share an innermost row: contiguous operands
  // move as vec4 (3.5× the element rate of one-per-invocation on llvmpipe: bench/RESULTS.md).
  const lanes = total % 4 === 0 && cshape[rank - 1] % 4 === 0 ? 4 : 1;
  const T = wgslType(out.dtype), vt = (t: string) => (lanes === 4 ? `vec4<${t}>` : t);
  let code = `@group(0) @binding(0) var<storage, read_write> out: array<${vt(T)}>;\n`;
  code += `@group(0) @binding(1) var<storage, read> info: array<u32>;\n`;
  inputs.forEach((t, j) => {
    const et = wgslType(t.dtype);
    code += `@group(0) @binding(${j + 2}) var<storage, read> in${j}: array<${direct[j] ? vt(et) : et}>;\n`;
  });
  // info[0]: invocations in this chunk, info[1]: index of its first element.
  code += HEADER + entry(64) + `  ${gridIndex()}\n  if (i >= info[0]) { return; }\n`;
  const strided = inputs.some((_, j) => !direct[j] && !scalar[j]);
  if (strided) {
    // Unrolled per axis (rank is known when the code is built); the outermost axis needs no modulo.
    code += `  var rem = i * ${lanes}u + info[1];\n`;
    inputs.forEach((_, j) => (code += `  var o${j}: i32 = bitcast<i32>(info[${2 + rank + j * (rank + 1)}u]);\n`));
    for (let d = rank - 1; d >= 0; d--) {
      code += d > 0
        ? `  let c${d} = i32(rem % info[${2 + d}u]); rem = rem / info[${2 + d}u];\n`
        : `  let c0 = i32(rem);\n`;
      inputs.forEach((_, j) => {
        if (!direct[j] && !scalar[j] && cviews[j].strides[d] !== 0) {
          code += `  o${j} += c${d} * bitcast<i32>(info[${3 + rank + j * (rank + 1) + d}u]);\n`;
        }
      });
    }
  }
  const body = `${T}(${expr.replaceAll("fparam(P", `fparam(${paramBase}u`)})`;
  if (lanes === 1) {
    inputs.forEach((_, j) => {
      const idx = scalar[j] ? "0u" : direct[j] ? "i" : `u32(o${j})`;
      code += `  let ${names[j]} = ${compute}(in${j}[${idx}]);\n`;
    });
    code += `  out[i] = ${body};\n}\n`;
  } else {
    inputs.forEach((_, j) => {
      if (direct[j]) code += `  let v${j} = in${j}[i];\n`;
      else if (!scalar[j]) code += `  let s${j} = bitcast<i32>(info[${3 + rank + j * (rank + 1) + rank - 1}u]);\n`;
    });
    code += `  var r: vec4<${T}>;\n`;
    for (let k = 0; k < 4; k++) {
      code += `  {\n`;
      inputs.forEach((_, j) => {
        const v = scalar[j] ? `in${j}[0u]` : direct[j] ? `v${j}[${k}]` : `in${j}[u32(o${j} + ${k} * s${j})]`;
        code += `    let ${names[j]} = ${compute}(${v});\n`;
      });
      code += `    r[${k}] = ${body};\n  }\n`;
    }
    code += `  out[i] = r;\n}\n`;
  }
  const o = ctx.alloc(total * 4);
  const chunk = chunkElements(ctx, total);
  for (let at = 0; at < total; at += chunk) {
    const n = Math.min(chunk, total - at);
    words[0] = n / lanes;
    words[1] = at;
    const whole = n === total;
    inputs.forEach((t, j) => {
      if (!whole && !direct[j] && t.buffer.bytes > ctx.maxBinding) {
        throw new Error(
          `${ctx.label}: input ${j} (${sizeOf(t.shape)} elements) is read strided and exceeds one binding`,
        );
      }
    });
    const range = (b: GpuBuffer) => (whole ? b : { buffer: b.buffer, offset: at * 4, size: Math.ceil(n / 4) * 16 });
    const m = ctx.meta(words, floats);
    ctx.dispatch(code, [range(o), m, ...inputs.map((t, j) => (direct[j] ? range(t.buffer) : t.buffer))], n / lanes);
    ctx.release(m);
  }
  return o;
}

/**
 * Drops output axes of extent 1 and merges neighbouring axes that every view
 * walks as one (stride of the outer = stride of the inner × its extent).
 * Keeps at least one axis.
 */
export function collapseAxes(
  shape: Shape,
  views: readonly StridedView[],
): { shape: number[]; views: StridedView[] } {
  const keep = shape.map((_, a) => a).filter((a) => shape[a] !== 1);
  let outShape = keep.map((a) => shape[a]);
  let strides = views.map((v) => keep.map((a) => v.strides[a]));
  for (let a = outShape.length - 2; a >= 0; a--) {
    if (strides.every((s) => s[a] === s[a + 1] * outShape[a + 1])) {
      outShape = [...outShape.slice(0, a), outShape[a] * outShape[a + 1], ...outShape.slice(a + 2)];
      strides = strides.map((s) => [...s.slice(0, a), s[a + 1], ...s.slice(a + 2)]);
    }
  }
  if (outShape.length === 0) return { shape: [1], views: views.map((v) => ({ offset: v.offset, strides: [0] })) };
  return { shape: outShape, views: views.map((v, j) => ({ offset: v.offset, strides: strides[j] })) };
}

/** Elements per chunk: everything when it fits one binding, else an aligned share of it. */
export function chunkElements(ctx: GpuContext, total: number): number {
  const maxElems = Math.floor(ctx.maxBinding / 4);
  if (total * 4 <= ctx.maxBinding) return Math.max(total, 1);
  const align = Math.max(16, ctx.offsetAlign) / 4;
  return Math.floor(maxElems / align) * align - align;
}

/** Views that read each input with NumPy broadcasting against the output shape. */
export function broadcastViews(inputs: readonly GpuArg[], out: OutputMeta): StridedView[] {
  return inputs.map((t) => ({ offset: 0, strides: broadcastStrides(t.shape, out.shape) }));
}

/** An elementwise kernel with broadcasting; `compute` picks the arithmetic type. */
export function gpuElementwise<P>(
  expr: string,
  compute: "out" | "f32" | "in" = "out",
  floats?: (p: P) => number[],
): GpuKernel<P> {
  return (ctx, inputs, p, out) => {
    const type = compute === "out" ? wgslType(out.dtype) : compute === "f32" ? "f32" : wgslType(promoteArgs(inputs));
    return stridedMap(ctx, inputs, broadcastViews(inputs, out), out, expr, type, floats ? floats(p) : []);
  };
}

function promoteArgs(inputs: readonly GpuArg[]): DType {
  const rank: Record<DType, number> = { uint8: 0, int32: 1, float32: 2, float64: 3 };
  return inputs.reduce((d, t) => (rank[t.dtype] > rank[d] ? t.dtype : d), "uint8" as DType);
}

/** Returns the input's own buffer: the output is a view. */
export const gpuView: GpuKernel<unknown> = (_ctx, [a]) => a.buffer;

/** Reads the input through a custom view (permute, slice, flip, expand). */
export function gpuGather<P>(view: (a: GpuArg, p: P, out: OutputMeta) => StridedView): GpuKernel<P> {
  return (ctx, [a], p, out) => stridedMap(ctx, [a], [view(a, p, out)], out, "x", wgslType(out.dtype));
}

/**
 * The CPU reference backend: plain TypeScript on typed arrays, written for
 * clarity first. It is what the WebGPU backend is tested against, the only
 * backend with float64, and the fallback when no WebGPU adapter exists.
 * @module
 */
import type {
  AdamHandles,
  AdamHyper,
  Backend,
  CpuArg,
  KernelInput,
  KernelOp,
  OutputMeta,
  TypedArray,
} from "../kernel_types.ts";

/** The CPU backend. Storage handles are typed arrays. */
export const cpuBackend: Backend = {
  name: "cpu",
  dtypes: ["float32", "float64", "int32", "uint8"],
  upload(data: TypedArray): unknown {
    return data.slice();
  },
  download(handle: unknown): Promise<TypedArray> {
    return Promise.resolve((handle as TypedArray).slice());
  },
  readSync(handle: unknown): TypedArray {
    return (handle as TypedArray).slice();
  },
  free(): void {},
  run(op: KernelOp, inputs: readonly KernelInput[], params: unknown, out: OutputMeta): unknown {
    const args: CpuArg[] = inputs.map((t) => ({
      data: t.storage.handle as TypedArray,
      shape: t.shape,
      dtype: t.dtype,
    }));
    return op.cpu(args, params, out);
  },
  adamUpdate(s: AdamHandles, size: number, h: AdamHyper): AdamHandles {
    // float32 rounding after every operation, in the order of the composed ops, so both paths agree bitwise.
    const f = Math.fround;
    const p = s.p as Float32Array, g = s.g as Float32Array, m = s.m as Float32Array, v = s.v as Float32Array;
    const vmax = s.vmax as Float32Array | undefined;
    const P = new Float32Array(size), M = new Float32Array(size), V = new Float32Array(size);
    const VM = vmax ? new Float32Array(size) : undefined;
    const decay = f(1 - h.lr * h.wd), c1 = f(1 - h.b1), c2 = f(1 - h.b2), b2 = f(h.b2), wd = f(h.wd);
    const eps = f(h.eps), bc2 = f(h.bc2Sqrt), step = f(h.stepSize);
    for (let i = 0; i < size; i++) {
      let pi = p[i], gi = g[i];
      if (h.decoupled) {
        if (h.wd !== 0) pi = f(pi * decay);
      } else if (h.wd !== 0) {
        gi = f(gi + f(pi * wd));
      }
      const mi = f(m[i] + f(f(gi - m[i]) * c1));
      const vi = f(f(v[i] * b2) + f(f(gi * gi) * c2));
      let second = vi;
      if (vmax && VM) second = VM[i] = Math.max(vmax[i], vi);
      const denom = f(f(f(Math.sqrt(second)) / bc2) + eps);
      P[i] = f(pi - f(f(mi / denom) * step));
      M[i] = mi;
      V[i] = vi;
    }
    return { p: P, m: M, v: V, vmax: VM };
  },
};

/**
 * The CPU reference backend: plain TypeScript on typed arrays, written for
 * clarity first. It is what the WebGPU backend is tested against, the only
 * backend with float64, and the fallback when no WebGPU adapter exists.
 * @module
 */
import type { Backend, OutputMeta } from "../backend.ts";
import type { DType, TypedArray } from "../dtype.ts";
import type { AnyOpDef, CpuArg } from "../op.ts";
import type { Tensor } from "../tensor.ts";

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
  run(op: AnyOpDef, inputs: readonly Tensor[], params: unknown, out: OutputMeta): unknown {
    const args: CpuArg[] = inputs.map((t) => ({
      data: t.storage.handle as TypedArray,
      shape: t.shape,
      dtype: t.dtype as DType,
    }));
    return op.cpu(args, params, out);
  },
};

/**
 * Moving tensors between a parameter's backend and the CPU in float64,
 * where the t-SVD and the residuals are computed (float64 exists only on
 * the CPU backend).
 * @module
 */
import { cpuBackend, fromArray, type Tensor } from "../tensor/mod.ts";

/** A float64 CPU copy of `t`. */
export async function toHost64(t: Tensor): Promise<Tensor> {
  return fromArray(Float64Array.from(await t.data()), [...t.shape], cpuBackend);
}

/** `host` rounded to `like`'s dtype and placed on `like`'s backend. */
export async function toParamLike(host: Tensor, like: Tensor, shape: readonly number[] = host.shape): Promise<Tensor> {
  const d = await host.data();
  const data = like.dtype === "float64" ? Float64Array.from(d) : Float32Array.from(d);
  return fromArray(data, [...shape], like.storage.backend);
}

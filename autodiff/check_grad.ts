/**
 * Gradient checking: every VJP against central finite differences, in
 * float64 on the CPU backend.
 * @module
 */
import { cpuBackend } from "../tensor/cpu/backend.ts";
import { isFloat } from "../tensor/dtype.ts";
import { fromArray } from "../tensor/ops/creation.ts";
import { mul } from "../tensor/ops/elementwise.ts";
import { sum } from "../tensor/ops/reduce.ts";
import { Rng } from "../tensor/random.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { grad, noGrad } from "./grad.ts";

/** Options of {@link checkGrad}. */
export interface CheckGradOptions {
  /** Finite-difference step (default 1e-6). */
  eps?: number;
  /** Absolute tolerance (default 1e-6). */
  atol?: number;
  /** Relative tolerance (default 1e-5). */
  rtol?: number;
  /** Indices of the inputs to check (default: every float input). */
  wrt?: number[];
  /** Throw on mismatch (default true); when false, inspect the report. */
  throwOnFailure?: boolean;
}

/** The outcome of {@link checkGrad}. */
export interface GradCheckReport {
  /** True when every checked element is within `atol + rtol·|numeric|`. */
  ok: boolean;
  /** Largest |analytic − numeric| seen. */
  maxAbsError: number;
  /** Number of elements compared. */
  checked: number;
  /** The worst element: which input, which flat index, both values. */
  worst: { input: number; index: number; analytic: number; numeric: number } | null;
}

function toF64(t: Tensor, data: ArrayLike<number>): Tensor {
  return isFloat(t.dtype)
    ? fromArray(Float64Array.from(data), t.shape, cpuBackend)
    : fromArray(t.dtype === "int32" ? Int32Array.from(data) : Uint8Array.from(data), t.shape, cpuBackend);
}

/**
 * Compares the reverse-mode gradient of `f` at `inputs` with central finite
 * differences, in float64 on the CPU. A non-scalar output is projected on a
 * fixed random direction, so every output element is exercised.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkGrad, tensor } from "@lorapt/core";
 * const report = await checkGrad((x) => x.tanh(), [tensor([0.1, -0.5, 2])]);
 * assert.ok(report.ok);
 * ```
 */
export async function checkGrad(
  f: (...xs: Tensor[]) => Tensor,
  inputs: readonly Tensor[],
  opts: CheckGradOptions = {},
): Promise<GradCheckReport> {
  const eps = opts.eps ?? 1e-6, atol = opts.atol ?? 1e-6, rtol = opts.rtol ?? 1e-5;
  const hostData = await Promise.all(inputs.map((t) => t.data()));
  const xs = inputs.map((t, i) => toF64(t, hostData[i]));
  const wrt = opts.wrt ?? xs.flatMap((x, i) => (isFloat(x.dtype) ? [i] : []));

  // Project a tensor output on a fixed random direction to get a scalar.
  const probe = noGrad(() => f(...xs));
  const rng = new Rng(1234);
  const dir = fromArray(
    Float64Array.from({ length: probe.size }, () => rng.uniformIn(0.5, 1.5)),
    probe.shape,
    cpuBackend,
  );
  const scalarF = (...a: Tensor[]) => sum(mul(f(...a), dir));
  const evalAt = (a: Tensor[]) => noGrad(() => scalarF(...a).dataSync()[0]);

  const analytic = grad(scalarF)(...xs).map((g) => g.dataSync());
  let maxAbsError = 0, checked = 0, ok = true;
  let worst: GradCheckReport["worst"] = null, worstExcess = -Infinity;
  for (const i of wrt) {
    const base = xs[i].dataSync();
    for (let j = 0; j < base.length; j++) {
      const shifted = (delta: number) => {
        const d = Float64Array.from(base);
        d[j] += delta;
        const a = [...xs];
        a[i] = fromArray(d, xs[i].shape, cpuBackend);
        return evalAt(a);
      };
      const numeric = (shifted(eps) - shifted(-eps)) / (2 * eps);
      const an = analytic[i][j];
      const err = Math.abs(an - numeric);
      const excess = err - (atol + rtol * Math.abs(numeric));
      checked++;
      maxAbsError = Math.max(maxAbsError, err);
      if (excess > 0 || Number.isNaN(err)) ok = false;
      if (excess > worstExcess || Number.isNaN(err)) {
        worstExcess = Number.isNaN(err) ? Infinity : excess;
        worst = { input: i, index: j, analytic: an, numeric };
      }
    }
  }
  const report = { ok, maxAbsError, checked, worst };
  if (!ok && opts.throwOnFailure !== false) {
    throw new Error(
      `checkGrad: input ${worst!.input} element ${worst!.index}: analytic ${worst!.analytic} vs numeric ${
        worst!.numeric
      } (max abs error ${maxAbsError}, atol ${atol}, rtol ${rtol})`,
    );
  }
  return report;
}

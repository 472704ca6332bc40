/**
 * Reverse-mode automatic differentiation: `grad`, `valueAndGrad`,
 * `gradients`, `noGrad` and `checkGrad`.
 * @module
 */
export { gradients } from "./backward.ts";
export type { GradientsOptions } from "./backward.ts";
export { grad, noGrad, valueAndGrad } from "./grad.ts";
export type { ScalarFn, ValueAndGrad } from "./grad.ts";
export { checkGrad } from "./check_grad.ts";
export type { CheckGradOptions, GradCheckReport } from "./check_grad.ts";

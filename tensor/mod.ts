/**
 * Tensors, their ops and backends. Every op is a function here and, for the
 * common ones, a method on {@link Tensor}.
 * @module
 */
export { Tensor } from "./tensor.ts";
export type { GradNode, NestedArray, Storage, TensorLike } from "./tensor.ts";
export type { DType, TypedArray } from "./dtype.ts";
export { isFloat, promote } from "./dtype.ts";
export { fmtShape, NoGradientError, ShapeError } from "./errors.ts";
export type { Shape } from "./shape.ts";
export { broadcastShapes, sizeOf } from "./shape.ts";
export { defaultRng, Rng, seed } from "./random.ts";
export { keep, tidy } from "./scope.ts";
export { getBackend, listBackends, registerBackend, setBackend } from "./backend.ts";
export type { AdamHandles, AdamHyper, Backend, KernelInput, KernelOp, OutputMeta } from "./kernel_types.ts";
export { cpuBackend } from "./cpu/backend.ts";
export { apply, defineOp, getOp, listOps } from "./op.ts";
export type { AnyOpDef, CpuArg, CpuKernel, OpContext, OpDef, TensorMeta, Vjp } from "./op.ts";
export {
  arange,
  fromArray,
  full,
  ones,
  onesLike,
  rand,
  randn,
  scalar,
  tensor,
  zeros,
  zerosLike,
} from "./ops/creation.ts";
export type { CreateOptions, RandomOptions } from "./ops/creation.ts";
export {
  abs,
  add,
  cast,
  div,
  eq,
  erf,
  exp,
  ge,
  gelu,
  gt,
  le,
  leakyRelu,
  leakyReluGrad,
  log,
  lt,
  maximum,
  minimum,
  mul,
  ne,
  neg,
  pow,
  relu,
  sigmoid,
  sign,
  sqrt,
  stopGradient,
  sub,
  tanh,
  where,
} from "./ops/elementwise.ts";
export { argmax, argmin, logsumexp, max, mean, min, sum, sumTo, variance } from "./ops/reduce.ts";
export type { VarOptions } from "./ops/reduce.ts";
export {
  concat,
  expand,
  expandAs,
  flip,
  moveAxis,
  narrow,
  pad,
  permute,
  reshape,
  slice,
  squeeze,
  stack,
  transpose,
  unsqueeze,
} from "./ops/movement.ts";
export { linear, matmul } from "./ops/linalg.ts";
export type { LinearActivation } from "./ops/linalg.ts";
export { dropout, instanceNorm3d, layerNorm, logSoftmax, normalize, oneHot, softmax } from "./ops/nn.ts";
export type { DropoutOptions, OneHotOptions } from "./ops/nn.ts";
export { conv3d, conv3dWeightGrad, convTranspose3d } from "./ops/conv.ts";
export type { Conv3dOptions, ConvParams, ConvTranspose3dOptions, Triple } from "./ops/conv.ts";
export { flush, initWebGPU } from "./webgpu/backend.ts";
export { BACKEND_CHOICES, useBackend } from "./select.ts";
export type { BackendChoice, UseBackendOptions } from "./select.ts";
export { initNative, nativeBackend } from "./native/backend.ts";
export { blasStatus, setBlasThreads } from "./native/blas.ts";
export type { BlasStatus } from "./native/blas.ts";
export type { WebGPUBackend } from "./webgpu/backend.ts";
export type { Binding, BufferRange, GpuBuffer, GpuContext, KernelFamily } from "./webgpu/context.ts";
export * from "./talgebra/mod.ts";

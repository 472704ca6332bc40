/**
 * Neural-network modules with PyTorch/MONAI names, and UNETR as LoRA-PT uses
 * it (paper §3.1, §4.3; MONAI 1.3.0 `monai.networks.nets.UNETR`).
 *
 * - {@link Module}: named parameters and children, train/eval, state dicts,
 *   parameter substitution (`withParameters`) and submodule replacement.
 * - Layers: {@link Linear}, {@link LayerNorm}, {@link GELU}, {@link Dropout},
 *   {@link LeakyReLU}, {@link Conv3d}, {@link ConvTranspose3d},
 *   {@link InstanceNorm3d}; containers {@link ModuleList}, {@link Sequential}.
 * - ViT: {@link SABlock}, {@link MLPBlock}, {@link TransformerBlock},
 *   {@link PatchEmbeddingBlock}, {@link ViT}.
 * - UNETR blocks: {@link Convolution}, {@link UnetResBlock},
 *   {@link UnetrBasicBlock}, {@link UnetrPrUpBlock}, {@link UnetrUpBlock},
 *   {@link UnetOutBlock}; the model {@link UNETR} and {@link createUnetr}.
 * - Shape-only construction: pass `{ materialize: false }` to any
 *   constructor; parameters become {@link metaTensor}s that have shapes but
 *   no data, and forward passes on meta inputs trace shapes only.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createUnetr, metaTensor } from "./mod.ts";
 * const model = createUnetr("unetr-base", { materialize: false });
 * assert.equal(model.numParameters(), 93_011_170);
 * const y = model.eval().forward(metaTensor([1, 1, 128, 128, 128]));
 * assert.deepEqual([...y.shape], [1, 2, 128, 128, 128]);
 * ```
 * @module
 */
export { Module, StateDictError } from "./module.ts";
export type {
  LoadStateDictOptions,
  LoadStateDictResult,
  ShapeMismatch,
  StateDict,
  StateDictLike,
  UnaryModule,
} from "./module.ts";
export { ModuleList, Sequential } from "./containers.ts";
export { defaultBound, Init } from "./init.ts";
export type { FloatDType, ModuleOptions } from "./init.ts";
export { isMeta, metaBackend, metaTensor } from "./meta.ts";
export { Conv3d, ConvTranspose3d, Dropout, GELU, InstanceNorm3d, LayerNorm, LeakyReLU, Linear } from "./layers.ts";
export type { ConvLayerOptions, InstanceNormOptions, LayerNormOptions, LinearOptions } from "./layers.ts";
export { MLPBlock, PatchEmbeddingBlock, SABlock, TransformerBlock, ViT } from "./transformer.ts";
export type { Size3, TransformerOptions, ViTConfig, ViTFeatures } from "./transformer.ts";
export {
  Convolution,
  convOutputPadding,
  convPadding,
  UnetOutBlock,
  UnetrBasicBlock,
  UnetResBlock,
  UnetrPrUpBlock,
  UnetrUpBlock,
} from "./unetr_blocks.ts";
export type { ConvolutionOptions } from "./unetr_blocks.ts";
export { createUnetr, skipLayers, UNETR, UNETR_CONFIGS } from "./unetr.ts";
export type { CreateUnetrOptions, UnetrConfig, UnetrFeatures, UnetrName, UnetrSpec } from "./unetr.ts";
// The tensor library's types appear throughout this API; re-exported (types only) so the docs are complete.
export type * from "../tensor/mod.ts";

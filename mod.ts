/**
 * @lorapt/core: tensors with reverse-mode autodiff, third-order tensor
 * algebra (t-product, t-SVD), and parameter-efficient fine-tuning of a 3-D
 * UNETR, LoRA-PT among them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { grad, tensor } from "@lorapt/core";
 * const [g] = grad((x) => x.mul(x).sum())(tensor([1, 2, 3]));
 * assert.ok((await g.data()).join() === "2,4,6");
 * ```
 * @module
 */
export * from "./tensor/mod.ts";
export * from "./autodiff/mod.ts";
export * from "./data/mod.ts";
export * from "./models/mod.ts";
export * from "./peft/mod.ts";
export * from "./viz/mod.ts";
export * from "./train/mod.ts";
export {
  CheckpointError,
  decodeSafetensors,
  type DecodeSafetensorsOptions,
  type DType as CheckpointDType,
  encodeSafetensors,
  extractStateDict,
  fromFloat32,
  loadPthStateDict,
  type PthOptions,
  type RawData,
  type RawTensor,
  readPth,
  readSafetensors,
  readSafetensorsMetadata,
  type SafetensorsContents,
  type SafetensorsMetadata,
  type StateDict as RawStateDict,
  toFloat32,
  toInt32,
  writeSafetensors,
} from "./models/io/mod.ts";

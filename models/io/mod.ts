/**
 * Checkpoint formats on plain typed arrays, independent of the tensor
 * library: safetensors read/write and PyTorch `.pth` import.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeSafetensors, encodeSafetensors, fromFloat32, toFloat32 } from "./mod.ts";
 * const w = fromFloat32(new Float32Array([0.5, -1]), [2], "BF16");
 * const { tensors } = decodeSafetensors(encodeSafetensors({ w }));
 * assert.ok(toFloat32(tensors.get("w")!).join() === "0.5,-1");
 * ```
 *
 * @module
 */

export {
  CheckpointError,
  checkRawTensor,
  type DType,
  DTYPES,
  dtypeSize,
  fromFloat32,
  isDType,
  isRawTensor,
  makeRawTensor,
  numelOf,
  type RawData,
  type RawTensor,
  type StateDict,
  toBigInt64,
  toFloat32,
  toInt32,
} from "./raw_tensor.ts";
export {
  decodeSafetensors,
  type DecodeSafetensorsOptions,
  encodeSafetensors,
  readSafetensors,
  readSafetensorsMetadata,
  type SafetensorsContents,
  type SafetensorsMetadata,
  writeSafetensors,
} from "./safetensors.ts";
export { decodePth, extractStateDict, loadPthStateDict, type PthOptions, readPth } from "./pth.ts";
export { DEFAULT_GLOBALS, type PyCallable, PyGlobal, unpickle, type UnpickleOptions } from "./pickle.ts";
export { crc32, isZip, readZipDirectory, readZipEntry, type ZipEntry } from "./zip.ts";
export { writeFileAtomic } from "./atomic_write.ts";

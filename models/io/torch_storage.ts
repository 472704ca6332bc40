/**
 * Rebuilding tensors from PyTorch storages, shared by both `.pth` formats:
 * the persistent id `('storage', torch.FloatStorage, key, location, numel
 * [, view_metadata])` names a storage, and
 * `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)` views
 * it. (PyTorch `torch/serialization.py` and `torch/_utils.py`.)
 *
 * @module
 */

import { DEFAULT_GLOBALS, type PyCallable } from "./pickle.ts";
import { CheckpointError, type DType, dtypeSize, numelOf, type RawData, type RawTensor } from "./raw_tensor.ts";

/** Storage classes in persistent ids, and the dtype of their elements. */
export const STORAGE_DTYPES: Record<string, DType> = {
  FloatStorage: "F32",
  HalfStorage: "F16",
  BFloat16Storage: "BF16",
  DoubleStorage: "F64",
  LongStorage: "I64",
  IntStorage: "I32",
  ByteStorage: "U8",
  BoolStorage: "U8", // one byte per bool, 0 or 1
};

/** One storage of a checkpoint, typed by its persistent id. */
export class TorchStorage {
  /** A storage `key` of `numel` elements of `dtype` in `bytes`. */
  constructor(
    readonly key: string,
    readonly dtype: DType,
    readonly numel: number,
    readonly bytes: Uint8Array,
  ) {}
}

const isIntArray = (x: unknown): x is number[] => Array.isArray(x) && x.every((v) => Number.isSafeInteger(v) && v >= 0);

/** The storage as an array of 1-, 2- or 4-byte units (`words` units per element), aligned. */
function unitArray(bytes: Uint8Array, elemSize: number) {
  const unit = Math.min(elemSize, 4);
  const aligned = bytes.byteOffset % unit === 0 ? bytes : bytes.slice();
  const Ctor = unit === 1 ? Uint8Array : unit === 2 ? Uint16Array : Uint32Array;
  return {
    src: new Ctor(
      aligned.buffer as ArrayBuffer,
      aligned.byteOffset,
      aligned.byteLength / unit,
    ),
    words: elemSize / unit,
    Ctor,
  };
}

/**
 * Materialize `storage[offset + Σ i_d·stride_d]` as a contiguous row-major
 * tensor. Contiguous views copy one byte range; others (e.g. a transposed
 * weight) are gathered element by element.
 */
function tensorFromView(
  storage: TorchStorage,
  offset: number,
  size: number[],
  stride: number[],
): RawTensor {
  const e = dtypeSize(storage.dtype), n = numelOf(size);
  let last = offset;
  if (n > 0) {
    for (let d = 0; d < size.length; d++) last += (size[d] - 1) * stride[d];
  }
  if (n > 0 && last >= storage.numel) {
    throw new CheckpointError(
      `tensor [${size}] stride [${stride}] offset ${offset} reads element ${last} ` +
        `of storage '${storage.key}' which has ${storage.numel}`,
    );
  }
  let contiguous = true;
  for (let d = size.length - 1, want = 1; d >= 0; want *= size[d--]) {
    if (size[d] !== 1 && stride[d] !== want) contiguous = false;
  }
  let out: Uint8Array;
  if (contiguous || n === 0) {
    out = storage.bytes.slice(offset * e, (offset + n) * e);
  } else {
    const { src, words, Ctor } = unitArray(storage.bytes, e);
    const dst = new Ctor(n * words);
    const idx = new Array<number>(size.length).fill(0);
    let at = offset;
    for (let i = 0; i < n; i++) {
      for (let w = 0; w < words; w++) dst[i * words + w] = src[at * words + w];
      for (let d = size.length - 1; d >= 0; d--) { // odometer over the index
        at += stride[d];
        if (++idx[d] < size[d]) break;
        at -= stride[d] * size[d];
        idx[d] = 0;
      }
    }
    out = new Uint8Array(dst.buffer);
  }
  const Arr = {
    F64: Float64Array,
    F32: Float32Array,
    F16: Uint16Array,
    BF16: Uint16Array,
    I64: BigInt64Array,
    I32: Int32Array,
    U8: Uint8Array,
  }[storage.dtype];
  return {
    dtype: storage.dtype,
    shape: [...size],
    data: new Arr(out.buffer as ArrayBuffer, out.byteOffset, n) as RawData,
  };
}

/** `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, hooks, [metadata])`. */
function rebuildTensor(args: unknown[]): RawTensor {
  const [storage, offset, size, stride] = args;
  if (!(storage instanceof TorchStorage)) {
    throw new CheckpointError(
      "tensor rebuilt from something other than a storage",
    );
  }
  if (
    !Number.isSafeInteger(offset) || !isIntArray(size) || !isIntArray(stride) ||
    size.length !== stride.length
  ) {
    throw new CheckpointError(
      `storage '${storage.key}': bad view offset ${offset} size ${JSON.stringify(size)} ` +
        `stride ${JSON.stringify(stride)}`,
    );
  }
  return tensorFromView(storage, offset as number, size, stride);
}

/** Globals a state-dict checkpoint may reference; nothing else is accepted. */
export function torchGlobals(): Map<string, PyCallable | null> {
  const g = new Map<string, PyCallable | null>([
    ...DEFAULT_GLOBALS, // collections.OrderedDict
    ["torch._utils._rebuild_tensor_v2", rebuildTensor],
    ["torch._utils._rebuild_tensor", rebuildTensor],
    // nn.Parameter(data, requires_grad, hooks[, state]) → its data.
    ["torch._utils._rebuild_parameter", (args) => args[0]],
    ["torch._utils._rebuild_parameter_with_state", (args) => args[0]],
  ]);
  for (const s of Object.keys(STORAGE_DTYPES)) g.set(`torch.${s}`, null);
  return g;
}

/**
 * The `persistent_load` of `torch.load`: resolves
 * `('storage', type, key, location, numel[, view_metadata])` to a
 * {@link TorchStorage} over `bytesOf(key)`, once per key. `view_metadata`
 * `(view_key, offset, size)` appears only in old legacy files.
 */
export function storageLoader(
  file: string,
  bytesOf: (key: string) => Uint8Array | undefined,
): (pid: unknown) => TorchStorage {
  const loaded = new Map<string, TorchStorage>();
  return (pid) => {
    if (!Array.isArray(pid) || pid[0] !== "storage" || pid.length < 5) {
      throw new CheckpointError(
        `${file}: unsupported persistent id ${JSON.stringify(String(pid))}`,
      );
    }
    const [, type, rawKey, , numel, viewMeta] = pid;
    const key = String(rawKey);
    const dtype = STORAGE_DTYPES[type?.name];
    if (!dtype || type?.module !== "torch") {
      throw new CheckpointError(
        `${file}: storage '${key}' has unsupported type ${type?.qualifiedName}`,
      );
    }
    let root = loaded.get(key);
    if (!root) {
      const data = bytesOf(key);
      if (!data) throw new CheckpointError(`${file}: storage '${key}' missing`);
      if (!Number.isSafeInteger(numel) || data.length < numel * dtypeSize(dtype)) {
        throw new CheckpointError(
          `${file}: storage '${key}' has ${data.length} bytes, fewer than ` +
            `${numel} ${dtype} elements`,
        );
      }
      root = new TorchStorage(key, dtype, numel, data);
      loaded.set(key, root);
    }
    if (!Array.isArray(viewMeta)) return root;
    const [viewKey, offset, size] = viewMeta;
    if (!isIntArray([offset, size]) || offset + size > root.numel) {
      throw new CheckpointError(
        `${file}: storage view '${viewKey}' [${offset}, +${size}) exceeds storage '${key}'`,
      );
    }
    const e = dtypeSize(dtype);
    return new TorchStorage(
      String(viewKey),
      dtype,
      size,
      root.bytes.subarray(offset * e, (offset + size) * e),
    );
  };
}

/**
 * PyTorch `.pth` checkpoint import. Two formats (PyTorch
 * `torch/serialization.py`, `_save`/`_load` and `_legacy_save`/`_legacy_load`):
 *
 * - zip (PyTorch >= 1.6): `<prefix>/data.pkl` holds the object, with tensors as
 *   `_rebuild_tensor_v2` calls on persistent-id storages, and each storage's
 *   bytes are the entry `<prefix>/data/<key>`;
 * - legacy: five pickles back to back (magic number, protocol version, system
 *   info, the object, the sorted storage keys), then for each key an int64
 *   element count and the raw bytes.
 *
 * @module
 */

import { type PyCallable, unpickle, type UnpickleOptions } from "./pickle.ts";
import { CheckpointError, type DType, dtypeSize, isRawTensor, type StateDict } from "./raw_tensor.ts";
import { STORAGE_DTYPES, storageLoader, torchGlobals } from "./torch_storage.ts";
import { isZip, readZipDirectory, readZipEntry } from "./zip.ts";

/** Options for {@link decodePth} and {@link extractStateDict}. */
export interface PthOptions {
  /** File name used in error messages. */
  name?: string;
}

/** First pickle of a legacy file (`torch.serialization.MAGIC_NUMBER`). */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

/** Unpickle, making sure every error names the file. */
function unpickleIn(file: string, bytes: Uint8Array, options: UnpickleOptions) {
  try {
    return unpickle(bytes, options);
  } catch (err) {
    if (err instanceof CheckpointError && !err.message.startsWith(file)) {
      throw new CheckpointError(`${file}: ${err.message}`);
    }
    throw err;
  }
}

async function decodeZip(bytes: Uint8Array, file: string): Promise<unknown> {
  const entries = readZipDirectory(bytes, file);
  const pkl = entries.find((e) => /^[^/]*\/data\.pkl$/.test(e.name));
  if (!pkl) {
    throw new CheckpointError(`${file}: archive has no <prefix>/data.pkl`);
  }
  const prefix = pkl.name.slice(0, -"data.pkl".length);
  const order = entries.find((e) => e.name === `${prefix}byteorder`);
  if (order) {
    const v = new TextDecoder().decode(await readZipEntry(bytes, order, file));
    if (v.trim() !== "little") {
      throw new CheckpointError(`${file}: byte order '${v}' is not supported`);
    }
  }
  // Inflate every storage up front: the unpickler itself is synchronous.
  const storages = new Map<string, Uint8Array>();
  for (const e of entries) {
    if (e.name.startsWith(`${prefix}data/`)) {
      storages.set(e.name.slice(prefix.length + 5), await readZipEntry(bytes, e, file));
    }
  }
  return unpickleIn(file, await readZipEntry(bytes, pkl, file), {
    name: `${file}: ${pkl.name}`,
    globals: torchGlobals(),
    persistentLoad: storageLoader(file, (key) => storages.get(key)),
  }).value;
}

function decodeLegacy(bytes: Uint8Array, file: string): unknown {
  let at = 0;
  const next = (options: UnpickleOptions = {}) => {
    const r = unpickleIn(file, bytes.subarray(at), { name: file, ...options });
    at += r.end;
    return r.value;
  };
  if (next() !== LEGACY_MAGIC) {
    throw new CheckpointError(`${file}: not a PyTorch checkpoint (bad magic number)`);
  }
  next(); // protocol version
  const sysInfo = next();
  if (!(sysInfo instanceof Map) || sysInfo.get("little_endian") !== true) {
    throw new CheckpointError(`${file}: only little-endian legacy checkpoints are supported`);
  }
  // The storages follow the object, so a first pass only learns their dtypes
  // (tensor rebuilders are stubbed out) and where the object ends.
  const objectStart = at;
  const dtypes = new Map<string, DType>();
  const skeleton = new Map<string, PyCallable | null>(
    [...torchGlobals()].map(([k, f]) => [k, k.startsWith("torch._utils.") ? () => null : f]),
  );
  next({
    globals: skeleton,
    persistentLoad: (pid) => {
      const [, type, key] = pid as [string, { qualifiedName?: string; name?: string }, string];
      const dtype = STORAGE_DTYPES[type?.name ?? ""];
      if (!dtype) {
        throw new CheckpointError(`${file}: storage '${key}' has unsupported type ${type?.qualifiedName}`);
      }
      dtypes.set(String(key), dtype);
      return null;
    },
  });
  const keys = next();
  if (!Array.isArray(keys)) throw new CheckpointError(`${file}: storage key list missing`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const storages = new Map<string, Uint8Array>();
  for (const key of keys as string[]) {
    const dtype = dtypes.get(key);
    if (!dtype) throw new CheckpointError(`${file}: storage '${key}' is listed but never used`);
    const e = dtypeSize(dtype);
    const numel = at + 8 <= bytes.length ? Number(view.getBigInt64(at, true)) : -1;
    const end = at + 8 + numel * e;
    if (numel < 0 || end > bytes.length) {
      throw new CheckpointError(`${file}: storage '${key}' is truncated`);
    }
    storages.set(key, bytes.subarray(at + 8, end));
    at = end;
  }
  at = objectStart;
  return next({
    globals: torchGlobals(),
    persistentLoad: storageLoader(file, (key) => storages.get(key)),
  });
}

/**
 * Decode a `.pth` checkpoint (zip or legacy format) into plain values:
 * tensors become `RawTensor`s, dicts `Map`s, lists and tuples arrays
 * (see `pickle.ts`). Pickle content outside the state-dict subset (any global
 * other than OrderedDict, the tensor/parameter rebuilders and the storage
 * classes) throws a {@link CheckpointError} naming the global and the file.
 *
 * @example
 * ```ts ignore
 * import { decodePth } from "./pth.ts";
 * const ckpt = await decodePth(await Deno.readFile("model.pth"), { name: "model.pth" });
 * console.log((ckpt as Map<string, unknown>).get("epoch"));
 * ```
 */
export async function decodePth(
  bytes: Uint8Array,
  options: PthOptions = {},
): Promise<unknown> {
  const file = options.name ?? "pth";
  if (isZip(bytes)) return await decodeZip(bytes, file);
  if (bytes[0] === 0x80) return decodeLegacy(bytes, file);
  throw new CheckpointError(`${file}: not a PyTorch checkpoint (neither zip nor pickle)`);
}

/**
 * Read and decode a `.pth` file (see {@link decodePth}).
 *
 * @example
 * ```ts ignore
 * import { readPth } from "./pth.ts";
 * const ckpt = await readPth("model_epoch_last.pth") as Map<string, unknown>;
 * console.log([...ckpt.keys()]); // ["epoch", "state_dict", "optim_dict"]
 * ```
 */
export async function readPth(path: string): Promise<unknown> {
  return decodePth(await Deno.readFile(path), { name: path });
}

/** Keys under which training scripts nest the model's state dict. */
const NESTED_KEYS = ["state_dict", "model_state_dict", "model"];

/**
 * Find the model state dict inside a decoded checkpoint: either the object
 * itself (`torch.save(model.state_dict())`) or its `state_dict` entry (the
 * LoRA-PT authors' `{'epoch', 'state_dict', 'optim_dict'}` layout; also
 * `model_state_dict` and `model`). A `module.` prefix, which
 * `nn.DataParallel` adds, is stripped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { extractStateDict } from "./pth.ts";
 * const w = { dtype: "F32" as const, shape: [1], data: new Float32Array([2]) };
 * const ckpt = new Map<string, unknown>([
 *   ["epoch", 3],
 *   ["state_dict", new Map([["module.out.weight", w]])],
 * ]);
 * assert.ok(extractStateDict(ckpt).has("out.weight"));
 * ```
 */
export function extractStateDict(
  checkpoint: unknown,
  options: PthOptions = {},
): StateDict {
  const file = options.name ?? "checkpoint";
  if (!(checkpoint instanceof Map)) {
    throw new CheckpointError(`${file}: checkpoint is not a dict`);
  }
  const key = NESTED_KEYS.find((k) => checkpoint.get(k) instanceof Map);
  const dict: Map<unknown, unknown> = key ? checkpoint.get(key) : checkpoint;
  const where = key ? `${file}['${key}']` : file;
  const out: StateDict = new Map();
  const source = new Map<string, string>(); // stripped name → original key
  for (const [k, v] of dict) {
    if (typeof k !== "string" || !isRawTensor(v)) {
      throw new CheckpointError(
        `${where}: entry ${JSON.stringify(String(k))} is not a tensor, so this ` +
          `is not a state dict (top-level keys: ${[...checkpoint.keys()].join(", ")})`,
      );
    }
    const name = k.startsWith("module.") ? k.slice(7) : k;
    if (source.has(name)) {
      throw new CheckpointError(
        `${where}: '${source.get(name)}' and '${k}' both become '${name}' ` +
          "once 'module.' is stripped",
      );
    }
    source.set(name, k);
    out.set(name, v);
  }
  return out;
}

/**
 * Load the model state dict of a `.pth` checkpoint (see
 * {@link extractStateDict}) as `RawTensor`s.
 *
 * @example
 * ```ts ignore
 * import { loadPthStateDict } from "./pth.ts";
 * const sd = await loadPthStateDict("model_epoch_last.pth");
 * console.log(sd.get("vit.norm.weight")?.shape); // [768]
 * ```
 */
export async function loadPthStateDict(path: string): Promise<StateDict> {
  return extractStateDict(await readPth(path), { name: path });
}

/**
 * Atomic file replacement: write a temp file beside the target, then rename.
 * A crash mid-write leaves the old file intact, never a truncated one.
 *
 * @module
 */

/**
 * Write `bytes` to `path` atomically: the data goes to a temp file in the same
 * directory (so the rename stays on one file system), is flushed to disk and
 * is then renamed over `path`. On failure the temp file is removed and the error rethrown.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeFileAtomic } from "./atomic_write.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/a.bin`, new Uint8Array([1, 2, 3]));
 * assert.ok((await Deno.readFile(`${dir}/a.bin`)).length === 3);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeFileAtomic(
  path: string,
  bytes: Uint8Array,
): Promise<void> {
  const suffix = crypto.getRandomValues(new Uint32Array(1))[0].toString(16);
  const tmp = `${path}.${suffix}.tmp`;
  try {
    const file = await Deno.open(tmp, { write: true, createNew: true });
    try {
      for (let done = 0; done < bytes.length;) {
        done += await file.write(bytes.subarray(done));
      }
      await file.syncData(); // data on disk before the rename makes it visible
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
}

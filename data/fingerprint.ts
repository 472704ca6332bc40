/**
 * Fingerprints of data files: what a run records so that `--resume` can tell
 * that its data changed (train/run_folder.ts). A file's fingerprint is its
 * size and modification time, which a stat gives without reading the file
 * (BraTS has thousands of files); copying files anew therefore counts as a
 * change, and an edit that keeps both size and mtime does not.
 * @module
 */

/**
 * `name size B mtime` of each file (`mtime` in ISO form, `?` where the file
 * system has none), joined by `; `. A missing file is an error naming it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fileFingerprint } from "./fingerprint.ts";
 * const path = `${await Deno.makeTempDir()}/a.nii`;
 * await Deno.writeFile(path, new Uint8Array(10));
 * assert.match(await fileFingerprint([path]), /^a\.nii 10 B \d{4}-/);
 * ```
 */
export async function fileFingerprint(paths: readonly string[]): Promise<string> {
  const parts: string[] = [];
  for (const path of paths) {
    const st = await Deno.stat(path).catch(() => null);
    if (!st?.isFile) throw new Error(`fileFingerprint: ${path} is not a file`);
    parts.push(`${path.replace(/^.*\//, "")} ${st.size} B ${st.mtime?.toISOString() ?? "?"}`);
  }
  return parts.join("; ");
}

/**
 * The fingerprint of a dataset: subject id → {@link fileFingerprint} of its
 * files, in id order. Two datasets match when they have the same subject ids
 * and every file the same size and modification time.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dataFingerprint } from "./fingerprint.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeFile(`${dir}/s1.nii`, new Uint8Array(4));
 * const fp = await dataFingerprint([{ id: "s1", paths: [`${dir}/s1.nii`] }]);
 * assert.deepEqual(Object.keys(fp), ["s1"]);
 * ```
 */
export async function dataFingerprint(
  subjects: readonly { id: string; paths: readonly (string | undefined)[] }[],
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const sorted = [...subjects].sort((a, b) => a.id.localeCompare(b.id, "en", { numeric: true }));
  for (const s of sorted) out[s.id] = await fileFingerprint(s.paths.filter((p): p is string => p !== undefined));
  return out;
}

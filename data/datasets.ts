/**
 * Dataset layouts, few-shot splits and the checks run before training
 * (issue 7; paper §4.1.2, §5.2).
 *
 * Two layouts are read: the LoRA-PT authors' layout
 * (`root/subN/subN_img.nii.gz` + `subN_mask.nii.gz`, with optional
 * `train.txt`/`valid.txt`/`test.txt` lists of subject ids) and the Medical
 * Segmentation Decathlon layout (`dataset.json` + `imagesTr/` + `labelsTr/`
 * + `imagesTs/`).
 * @module
 */
import { Rng } from "../tensor/random.ts";
import { readNifti } from "./nifti.ts";
import { sameGrid, type Volume } from "./volume.ts";

/** One subject: an image and, when annotated, its label map. */
export interface Subject {
  /** Subject id (`sub1`, `hippocampus_001`, …). */
  id: string;
  /** Path of the image NIfTI. */
  imagePath: string;
  /** Path of the label NIfTI; absent for unannotated subjects (MSD `imagesTs/`). */
  labelPath?: string;
}

/** A dataset folder as read by {@link loadDataset}. */
export interface Dataset {
  /** The dataset folder. */
  root: string;
  /** Which layout was found. */
  layout: "authors" | "msd";
  /** Every subject, annotated ones first, each group in natural id order. */
  subjects: Subject[];
  /** Authors' layout: the `train.txt`/`valid.txt`/`test.txt` lists that exist. */
  lists?: { train?: string[]; valid?: string[]; test?: string[] };
}

/** Options of {@link loadDataset}. */
export interface LoadDatasetOptions {
  /** Layout; `"auto"` (default) picks `"msd"` when `dataset.json` exists. */
  layout?: "authors" | "msd" | "auto";
}

const byId = (a: string, b: string): number => a.localeCompare(b, "en", { numeric: true });
const join = (root: string, rel: string): string => `${root.replace(/\/+$/, "")}/${rel.replace(/^\.\//, "")}`;

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

async function readList(path: string): Promise<string[] | undefined> {
  if (!(await isFile(path))) return undefined;
  const text = await Deno.readTextFile(path);
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
}

/** The first of `name.nii.gz` / `name.nii` that exists, else undefined. */
async function nifti(base: string): Promise<string | undefined> {
  for (const ext of [".nii.gz", ".nii"]) if (await isFile(base + ext)) return base + ext;
  return undefined;
}

/**
 * Reads a dataset folder in the authors' layout or the MSD layout and checks
 * that every file it names exists (an error names the missing path).
 *
 * Authors' layout: every folder `root/ID` holding `ID_img.nii.gz` (or `.nii`)
 * is a subject; `ID_mask.nii.gz` is its label when present. Subjects named in
 * `train.txt` or `valid.txt` must have a label; ids in any list must exist.
 * MSD layout: `training` entries of `dataset.json` are annotated subjects,
 * `test` entries (`imagesTs/`) are unannotated.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadDataset, makePhantomDataset } from "./mod.ts";
 * const dir = await Deno.makeTempDir();
 * await makePhantomDataset({ task: "hippocampus", n: 3, dir, size: 12, nTrain: 1 });
 * const ds = await loadDataset(dir);
 * assert.equal(ds.layout, "authors");
 * assert.deepEqual(ds.subjects.map((s) => s.id), ["sub1", "sub2", "sub3"]);
 * assert.equal(ds.lists?.train?.length, 1);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadDataset(root: string, options: LoadDatasetOptions = {}): Promise<Dataset> {
  let layout = options.layout ?? "auto";
  if (layout === "auto") layout = (await isFile(join(root, "dataset.json"))) ? "msd" : "authors";
  if (layout === "msd") return await loadMsd(root);
  if (layout !== "authors") throw new RangeError(`loadDataset: unknown layout "${layout}"`);
  return await loadAuthors(root);
}

async function loadAuthors(root: string): Promise<Dataset> {
  try {
    if (!(await Deno.stat(root)).isDirectory) throw new Error(`loadDataset: ${root} is not a folder`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`loadDataset: dataset folder ${root} not found`);
    throw e;
  }
  const lists: NonNullable<Dataset["lists"]> = {};
  for (const name of ["train", "valid", "test"] as const) {
    const ids = await readList(join(root, `${name}.txt`));
    if (ids) lists[name] = ids;
  }
  const found = new Map<string, Subject>();
  for await (const entry of Deno.readDir(root)) {
    if (!entry.isDirectory) continue;
    const id = entry.name;
    const imagePath = await nifti(join(root, `${id}/${id}_img`));
    if (!imagePath) continue;
    const labelPath = await nifti(join(root, `${id}/${id}_mask`));
    found.set(id, labelPath ? { id, imagePath, labelPath } : { id, imagePath });
  }
  for (const [name, ids] of Object.entries(lists)) {
    for (const id of ids) {
      const s = found.get(id);
      if (!s) {
        throw new Error(
          `loadDataset: ${name}.txt names subject "${id}" but ${join(root, `${id}/${id}_img.nii.gz`)} does not exist`,
        );
      }
      if (!s.labelPath && name !== "test") {
        throw new Error(
          `loadDataset: ${name}.txt names subject "${id}" but its label ${
            join(root, `${id}/${id}_mask.nii.gz`)
          } does not exist`,
        );
      }
    }
  }
  if (found.size === 0) {
    throw new Error(`loadDataset: no subjects in ${root} (expected ${join(root, "subN/subN_img.nii.gz")})`);
  }
  const all = [...found.values()];
  const subjects = [
    ...all.filter((s) => s.labelPath).sort((a, b) => byId(a.id, b.id)),
    ...all.filter((s) => !s.labelPath).sort((a, b) => byId(a.id, b.id)),
  ];
  return Object.keys(lists).length > 0
    ? { root, layout: "authors", subjects, lists }
    : { root, layout: "authors", subjects };
}

async function loadMsd(root: string): Promise<Dataset> {
  const jsonPath = join(root, "dataset.json");
  let json: { training?: { image: string; label: string }[]; test?: (string | { image: string })[] };
  try {
    json = JSON.parse(await Deno.readTextFile(jsonPath));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`loadDataset: ${jsonPath} not found`);
    throw new Error(`loadDataset: ${jsonPath}: ${(e as Error).message}`);
  }
  const idOf = (p: string) => p.replace(/^.*\//, "").replace(/\.nii(\.gz)?$/, "");
  const need = async (path: string, what: string) => {
    if (!(await isFile(path))) throw new Error(`loadDataset: ${jsonPath} lists ${what} ${path}, which does not exist`);
    return path;
  };
  const subjects: Subject[] = [];
  for (const t of json.training ?? []) {
    if (typeof t?.image !== "string" || typeof t?.label !== "string") {
      throw new Error(`loadDataset: ${jsonPath}: training entry ${JSON.stringify(t)} needs "image" and "label"`);
    }
    subjects.push({
      id: idOf(t.image),
      imagePath: await need(join(root, t.image), "image"),
      labelPath: await need(join(root, t.label), "label"),
    });
  }
  for (const t of json.test ?? []) {
    const rel = typeof t === "string" ? t : t.image;
    subjects.push({ id: idOf(rel), imagePath: await need(join(root, rel), "test image") });
  }
  if (subjects.length === 0) throw new Error(`loadDataset: ${jsonPath} lists no subjects`);
  return { root, layout: "msd", subjects };
}

/** Options of {@link fewShotSplit}. */
export interface SplitOptions {
  /** Training subjects drawn by seed (paper §5.2: 5 or 10). Default 5. */
  nTrain?: number;
  /** Seed of the draw. Default 0. */
  seed?: number;
  /** Explicit training ids; override the seeded draw. */
  train?: string[];
  /** Explicit test ids; default: every id not in `train`. */
  test?: string[];
  /** Validation ids (logging only, paper §4.3); may overlap `test`. Default none. */
  valid?: string[];
}

/** A train/valid/test split of subject ids, as written by {@link writeSplit}. */
export interface Split {
  /** The seed of the draw, or null when the lists were given explicitly. */
  seed: number | null;
  /** Training ids, natural order. */
  train: string[];
  /** Validation ids (logging only), natural order. */
  valid: string[];
  /** Test ids, natural order. */
  test: string[];
}

/**
 * The few-shot split of the paper's §5.2: `nTrain` subjects drawn by `seed`, every
 * other subject is test. The draw shuffles the ids in natural order, so it
 * does not depend on the order they are passed in. Explicit `train` (and
 * optionally `test`) lists override the draw; unknown or overlapping ids are
 * errors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fewShotSplit } from "./datasets.ts";
 * const ids = Array.from({ length: 12 }, (_, i) => `sub${i + 1}`);
 * const a = fewShotSplit(ids, { nTrain: 5, seed: 7 });
 * assert.equal(a.train.length, 5);
 * assert.equal(a.test.length, 7);
 * assert.deepEqual(fewShotSplit([...ids].reverse(), { nTrain: 5, seed: 7 }), a);
 * assert.deepEqual(fewShotSplit(ids, { train: ["sub3"] }).test.length, 11);
 * ```
 */
export function fewShotSplit(subjects: readonly (string | Subject)[], options: SplitOptions = {}): Split {
  const ids = subjects.map((s) => typeof s === "string" ? s : s.id).sort(byId);
  const known = new Set(ids);
  if (known.size !== ids.length) throw new Error(`fewShotSplit: duplicate subject ids in [${ids}]`);
  const check = (list: string[], name: string) => {
    const bad = list.filter((id) => !known.has(id));
    if (bad.length) throw new Error(`fewShotSplit: ${name} ids [${bad}] are not subjects of the dataset`);
    if (new Set(list).size !== list.length) throw new Error(`fewShotSplit: ${name} list [${list}] has duplicates`);
    return [...list].sort(byId);
  };
  let train: string[], seed: number | null;
  if (options.train) {
    train = check(options.train, "train");
    seed = null;
  } else {
    const nTrain = options.nTrain ?? 5;
    if (!Number.isInteger(nTrain) || nTrain < 1 || nTrain >= ids.length) {
      throw new RangeError(`fewShotSplit: nTrain ${nTrain} must be in 1..${ids.length - 1} for ${ids.length} subjects`);
    }
    seed = options.seed ?? 0;
    train = new Rng(seed).shuffle([...ids]).slice(0, nTrain).sort(byId);
  }
  const inTrain = new Set(train);
  const test = options.test ? check(options.test, "test") : ids.filter((id) => !inTrain.has(id));
  const valid = check(options.valid ?? [], "valid");
  for (const [name, list] of [["test", test], ["valid", valid]] as const) {
    const both = list.filter((id) => inTrain.has(id));
    if (both.length) throw new Error(`fewShotSplit: ids [${both}] are in both train and ${name}`);
  }
  return { seed, train, valid, test };
}

/**
 * Writes `split` as `dir/split.json` (creating `dir`), next to the results
 * of the run, with any extra fields (dataset root, task, …) merged in.
 * Returns the written path.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fewShotSplit, writeSplit } from "./datasets.ts";
 * const dir = await Deno.makeTempDir();
 * const split = fewShotSplit(["a", "b", "c"], { nTrain: 1, seed: 1 });
 * const path = await writeSplit(dir, split, { dataset: "phantom" });
 * const back = JSON.parse(await Deno.readTextFile(path));
 * assert.deepEqual(back.train, split.train);
 * assert.equal(back.dataset, "phantom");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeSplit(dir: string, split: Split, extra: Record<string, unknown> = {}): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  const path = join(dir, "split.json");
  await Deno.writeTextFile(path, JSON.stringify({ ...extra, ...split }, null, 2) + "\n");
  return path;
}

/** Options of {@link loadSubject} and {@link checkLabel}. */
export interface LabelOptions {
  /**
   * Label values to merge, e.g. `{ 37: 1, 38: 1 }` for the AAL hippocampi.
   * With a map, every value it does not list becomes 0 (background).
   */
  labelMap?: Record<number, number>;
  /** Affine tolerance in mm of the grid check. Default 1e-3. */
  tol?: number;
}

/**
 * Parses a command-line label map such as `"37,38:1"` or `"1:1;2,4:1"`
 * (source values, colon, target; groups separated by `;`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseLabelMap } from "./datasets.ts";
 * assert.deepEqual(parseLabelMap("37,38:1"), { 37: 1, 38: 1 });
 * ```
 */
export function parseLabelMap(text: string): Record<number, number> {
  const map: Record<number, number> = {};
  for (const group of text.split(";").map((g) => g.trim()).filter(Boolean)) {
    const m = /^([-\d.,\s]+):\s*(-?[\d.]+)$/.exec(group);
    const from = m?.[1].split(",").map((s) => Number(s.trim()));
    if (!m || !from!.every(Number.isFinite) || !Number.isFinite(Number(m[2]))) {
      throw new Error(`parseLabelMap: "${group}" is not "v1,v2,…:target"`);
    }
    for (const v of from!) map[v] = Number(m[2]);
  }
  return map;
}

/**
 * Applies `labelMap` (if any) and checks that every label value is 0 or 1;
 * returns the binary label as a uint8 volume on the same grid. The error
 * names `path` and lists the offending values with their voxel counts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkLabel, makeVolume } from "./mod.ts";
 * const aal = makeVolume(new Int16Array([0, 37, 38, 5]), [4, 1, 1]);
 * assert.deepEqual([...checkLabel(aal, "aal.nii", { labelMap: { 37: 1, 38: 1 } }).data], [0, 1, 1, 0]);
 * assert.throws(() => checkLabel(aal, "aal.nii"), /aal\.nii.*37/);
 * ```
 */
export function checkLabel(label: Volume, path: string, options: LabelOptions = {}): Volume<Uint8Array> {
  const map = options.labelMap ? new Map(Object.entries(options.labelMap).map(([k, v]) => [Number(k), v])) : null;
  const out = new Uint8Array(label.data.length);
  const bad = new Map<number, number>();
  for (let i = 0; i < out.length; i++) {
    let v = label.data[i];
    if (map) v = map.get(v) ?? 0;
    if (v === 0 || v === 1) out[i] = v;
    else bad.set(v, (bad.get(v) ?? 0) + 1);
  }
  if (bad.size > 0) {
    const shown = [...bad.entries()].sort((a, b) => a[0] - b[0]).slice(0, 10)
      .map(([v, n]) => `${v} (${n} voxels)`).join(", ");
    throw new Error(
      `checkLabel: ${path}: label values outside {0, 1}${map ? " after the label map" : ""}: ${shown}` +
        `${bad.size > 10 ? `, … ${bad.size} values in all` : ""}; merge them with a label map, e.g. "37,38:1"`,
    );
  }
  return { ...label, data: out, datatype: "uint8" };
}

/** A subject read from disk and checked, see {@link loadSubject}. */
export interface LoadedSubject {
  /** Subject id. */
  id: string;
  /** The image as float32. */
  image: Volume<Float32Array>;
  /** The binary label on the image grid, when the subject has one. */
  label?: Volume<Uint8Array>;
}

/**
 * Reads a subject's image (as float32) and label, and runs the checks before
 * training: a missing file, image/label grids that differ (shape, or affine
 * beyond `tol`) and label values outside {0,1} are errors naming the files.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadDataset, loadSubject, makePhantomDataset } from "./mod.ts";
 * const dir = await Deno.makeTempDir();
 * await makePhantomDataset({ task: "hippocampus", n: 2, dir, size: 12, layout: "msd" });
 * const [first] = (await loadDataset(dir)).subjects;
 * const s = await loadSubject(first);
 * assert.deepEqual(s.label?.shape, [12, 12, 12]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadSubject(subject: Subject, options: LabelOptions = {}): Promise<LoadedSubject> {
  const read = async (path: string, what: string) => {
    if (!(await isFile(path))) throw new Error(`loadSubject: ${subject.id}: ${what} file ${path} does not exist`);
    return await readNifti(path);
  };
  const raw = await read(subject.imagePath, "image");
  const image: Volume<Float32Array> = raw.data instanceof Float32Array
    ? raw as Volume<Float32Array>
    : { ...raw, data: Float32Array.from(raw.data), datatype: "float32" };
  if (!subject.labelPath) return { id: subject.id, image };
  const lab = await read(subject.labelPath, "label");
  if (!sameGrid(image, lab, options.tol ?? 1e-3)) {
    const fmt = (v: Volume) => `shape [${v.shape}] affine ${JSON.stringify(v.affine.slice(0, 3))}`;
    throw new Error(
      `loadSubject: ${subject.id}: image ${subject.imagePath} (${fmt(image)}) and label ${subject.labelPath} ` +
        `(${fmt(lab)}) are not on the same grid (tolerance ${options.tol ?? 1e-3} mm)`,
    );
  }
  return { id: subject.id, image, label: checkLabel(lab, subject.labelPath, options) };
}

/**
 * BraTS 2021 for pre-training (issue 10; paper §4.1.1, §4.3):
 * the folder layout, multi-modality loading with per-channel z-scores, the
 * tumour label mapping, the seeded 1000/125/126 split, and a miniature
 * BraTS-layout folder built from tumour phantoms for tests and demos. For
 * prediction, {@link findBratsScans} and {@link loadBratsChannels} read
 * subjects without a segmentation, preprocessed as for training.
 *
 * Layout: `root/ID/ID_{t1,t1ce,t2,flair,seg}.nii.gz` (or `.nii`), e.g.
 * `BraTS2021_00000/BraTS2021_00000_t1ce.nii.gz`. Optional `train.txt`,
 * `valid.txt` and `test.txt` in `root` (one id per line) give explicit lists.
 * @module
 */
import { Rng } from "../tensor/random.ts";
import { type Split, writeSplit } from "./datasets.ts";
import { readNifti } from "./nifti.ts";
import { zScore } from "./transforms.ts";
import { sameGrid, type Volume } from "./volume.ts";

/** The four BraTS MRI sequences, in the order of the BraTS file names. */
export const BRATS_MODALITIES = ["t1", "t1ce", "t2", "flair"] as const;
/** One BraTS MRI sequence. */
export type BratsModality = typeof BRATS_MODALITIES[number];
/** The BraTS 2021 training-set size and the paper's split of it (paper §4.3). */
export const BRATS_SPLIT = { train: 1000, valid: 125, test: 126 } as const;

/** One BraTS subject: its image files and its segmentation. */
export interface BratsSubject {
  /** Subject id, the folder name (`BraTS2021_00000`). */
  id: string;
  /** The selected modalities, in channel order; each is in `images`. */
  modalities: BratsModality[];
  /** Path of every modality file found (the selected ones always exist). */
  images: Partial<Record<BratsModality, string>>;
  /** Path of `ID_seg.nii.gz` (labels 0, 1 NCR, 2 ED, 4 ET). */
  segPath: string;
}

/** The BraTS files `dir/ID_{t1,t1ce,t2,flair,seg}.nii.gz` (or `.nii`) that exist, by modality or "seg". */
async function subjectFiles(dir: string, id: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const m of [...BRATS_MODALITIES, SEG]) {
    const path = await nifti(join(dir, `${id}_${m}`));
    if (path) found.set(m, path);
  }
  return found;
}

/** A BraTS folder as read by {@link loadBrats}. */
export interface BratsDataset {
  /** The dataset folder. */
  root: string;
  /** Input modalities in channel order; in_channels = their number. */
  modalities: BratsModality[];
  /** Labels merged into one tumour class (true) or kept as three. */
  mergeLabels: boolean;
  /** Output classes including background: 2 merged, 4 kept (out_channels). */
  classes: number;
  /** Every subject, in natural id order. */
  subjects: BratsSubject[];
  /** The `train.txt`/`valid.txt`/`test.txt` lists that exist in `root`. */
  lists?: { train?: string[]; valid?: string[]; test?: string[] };
}

/** Options of {@link loadBrats} and {@link loadBratsSubject}. */
export interface BratsOptions {
  /** Input modalities in channel order. Default `["t1ce"]` (paper §4.3). */
  modalities?: readonly BratsModality[];
  /**
   * Merge NCR (1), ED (2) and ET (4) into tumour = 1 (default, paper §4.3).
   * When false the classes are kept and made contiguous: NCR → 1, ED → 2,
   * ET → 3.
   */
  mergeLabels?: boolean;
  /** Affine tolerance in mm of the grid check. Default 1e-3. */
  tol?: number;
}

const byId = (a: string, b: string): number => a.localeCompare(b, "en", { numeric: true });
const join = (root: string, rel: string): string => `${root.replace(/\/+$/, "")}/${rel}`;
const SEG = "seg";

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** The first of `base.nii.gz` / `base.nii` that exists, else undefined. */
async function nifti(base: string): Promise<string | undefined> {
  for (const ext of [".nii.gz", ".nii"]) if (await isFile(base + ext)) return base + ext;
  return undefined;
}

function checkModalities(list: readonly string[], where: string): BratsModality[] {
  const bad = list.filter((m) => !(BRATS_MODALITIES as readonly string[]).includes(m));
  if (bad.length || list.length === 0 || new Set(list).size !== list.length) {
    throw new RangeError(
      `${where}: modalities [${list}] must be distinct, non-empty and from ${BRATS_MODALITIES.join(", ")}`,
    );
  }
  return [...list] as BratsModality[];
}

/**
 * Parses a command-line modality list such as `"t1ce"` or `"t1,t1ce,t2,flair"`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseBratsModalities } from "./brats.ts";
 * assert.deepEqual(parseBratsModalities("flair, t1ce"), ["flair", "t1ce"]);
 * assert.throws(() => parseBratsModalities("t1c"), /t1c/);
 * ```
 */
export function parseBratsModalities(text: string): BratsModality[] {
  return checkModalities(text.split(",").map((s) => s.trim()).filter(Boolean), "parseBratsModalities");
}

/**
 * Reads a BraTS-layout folder: every sub-folder `ID` holding at least one
 * `ID_{t1,t1ce,t2,flair,seg}.nii.gz` (or `.nii`) is a subject, and it must
 * hold the selected modalities and the seg; a missing one is an error naming
 * the subject and the file. Ids in `train.txt`/`valid.txt`/`test.txt` must be
 * subjects. No image is read here.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadBrats } from "./brats.ts";
 * import { makeBratsPhantomDataset } from "./brats_phantoms.ts";
 * const dir = await Deno.makeTempDir();
 * await makeBratsPhantomDataset({ dir, n: 2, size: 12 });
 * const ds = await loadBrats(dir, { modalities: ["t1ce", "flair"] });
 * assert.deepEqual(ds.subjects.map((s) => s.id), ["BraTS2021_00000", "BraTS2021_00001"]);
 * assert.equal(ds.classes, 2);
 * assert.match(ds.subjects[0].images.flair!, /BraTS2021_00000_flair\.nii\.gz$/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadBrats(root: string, options: BratsOptions = {}): Promise<BratsDataset> {
  const modalities = checkModalities(options.modalities ?? ["t1ce"], "loadBrats");
  const mergeLabels = options.mergeLabels ?? true;
  try {
    if (!(await Deno.stat(root)).isDirectory) throw new Error(`loadBrats: ${root} is not a folder`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`loadBrats: dataset folder ${root} not found`);
    throw e;
  }
  const subjects: BratsSubject[] = [];
  for await (const entry of Deno.readDir(root)) {
    if (!entry.isDirectory) continue;
    const id = entry.name;
    const found = await subjectFiles(join(root, id), id);
    if (found.size === 0) continue;
    for (const m of [...modalities, SEG]) {
      if (!found.has(m)) {
        throw new Error(
          `loadBrats: subject ${id} has no ${m === SEG ? "segmentation" : m} file: ${
            join(root, `${id}/${id}_${m}.nii.gz`)
          } (or .nii) does not exist`,
        );
      }
    }
    const images: BratsSubject["images"] = {};
    for (const m of BRATS_MODALITIES) if (found.has(m)) images[m] = found.get(m);
    subjects.push({ id, modalities: [...modalities], images, segPath: found.get(SEG)! });
  }
  if (subjects.length === 0) {
    throw new Error(`loadBrats: no subjects in ${root} (expected ${join(root, "ID/ID_t1ce.nii.gz")})`);
  }
  subjects.sort((a, b) => byId(a.id, b.id));
  const known = new Set(subjects.map((s) => s.id));
  const lists: NonNullable<BratsDataset["lists"]> = {};
  for (const name of ["train", "valid", "test"] as const) {
    const path = join(root, `${name}.txt`);
    if (!(await isFile(path))) continue;
    const ids = (await Deno.readTextFile(path)).split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
    const bad = ids.filter((id) => !known.has(id));
    if (bad.length) throw new Error(`loadBrats: ${path} names [${bad}], which are not subjects of ${root}`);
    lists[name] = ids;
  }
  const ds: BratsDataset = { root, modalities, mergeLabels, classes: mergeLabels ? 2 : 4, subjects };
  return Object.keys(lists).length ? { ...ds, lists } : ds;
}

/** A BraTS subject read from disk, see {@link loadBratsSubject}. */
export interface LoadedBratsSubject {
  /** Subject id. */
  id: string;
  /** The modality of each channel. */
  modalities: BratsModality[];
  /**
   * Channel-first voxels `[C, x, y, z]`, each channel z-scored and in
   * {@link Volume} order: channel `c` of voxel `(i, j, k)` is at
   * `c·N + i + X·(j + Y·k)` with `N = X·Y·Z`, the layout of
   * `SlidingWindowResult.probabilities`. See {@link bratsChannel}.
   */
  image: Float32Array;
  /** Number of channels (the model's in_channels). */
  channels: number;
  /** The mapped label map (uint8); its geometry is that of every channel. */
  label: Volume<Uint8Array>;
}

/**
 * The BraTS label value of each class of a three-class run: background 0,
 * NCR 1, ED 2, ET 4 (label 3 is unused since BraTS 2017), so class c is
 * written back as `BRATS_CLASS_LABELS[c]`.
 */
export const BRATS_CLASS_LABELS: readonly number[] = [0, 1, 2, 4];
/** BraTS label value → class, the inverse of {@link BRATS_CLASS_LABELS}. */
const THREE_CLASS = new Map(BRATS_CLASS_LABELS.map((value, c) => [value, c]));

const fmtGrid = (v: Volume) => `shape [${v.shape}] affine ${JSON.stringify(v.affine.slice(0, 3))}`;

async function readFile(path: string | undefined, what: string, where: string): Promise<Volume> {
  if (!path) throw new Error(`${where}: loadBrats found no ${what} file for this subject`);
  if (!(await isFile(path))) throw new Error(`${where}: ${what} file ${path} does not exist`);
  return await readNifti(path);
}

/**
 * The training preprocessing of a subject's images, shared by training and
 * prediction: each modality read, checked to be on the first one's grid,
 * z-scored over its voxels > 0, and stored as channel `c` of one `[C, x, y, z]`
 * float32 array (x fastest).
 */
async function readChannels(
  images: BratsSubject["images"],
  modalities: readonly BratsModality[],
  tol: number,
  where: string,
): Promise<{ first: Volume; firstPath: string; image: Float32Array }> {
  const firstPath = images[modalities[0]]!;
  let first: Volume | undefined, image = new Float32Array(0);
  for (const [c, m] of modalities.entries()) {
    const path = images[m];
    const v = await readFile(path, m, where);
    if (!first) {
      first = v;
      image = new Float32Array(modalities.length * v.data.length);
    } else if (!sameGrid(first, v, tol)) {
      throw new Error(
        `${where}: ${firstPath} (${fmtGrid(first)}) and ${path} (${fmtGrid(v)}) are not on the same grid ` +
          `(tolerance ${tol} mm)`,
      );
    }
    const data = v.data instanceof Float32Array ? v.data : Float32Array.from(v.data);
    let normed: Float32Array;
    try {
      normed = zScore()({ image: { ...v, data, datatype: "float32" } }, new Rng(0)).image.data;
    } catch (e) {
      throw new Error(`${where}: ${path}: ${(e as Error).message}`);
    }
    image.set(normed, c * data.length);
  }
  return { first: first!, firstPath, image };
}

/**
 * Reads a subject's modalities (default: those chosen in {@link loadBrats},
 * in that order) into one channel-first float32 array, z-scoring each channel
 * over its own voxels > 0 (the brain, as the authors' `data/preprocess.py` and {@link zScore} do for the
 * hippocampus data), and maps the seg: NCR, ED and ET become tumour = 1, or
 * with `mergeLabels: false` the contiguous classes 1, 2, 3. Every file must
 * be on the grid of the first modality (an error names both files); any label
 * value other than 0, 1, 2, 4 is an error naming the file and the value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadBrats, loadBratsSubject } from "./brats.ts";
 * import { makeBratsPhantomDataset } from "./brats_phantoms.ts";
 * const dir = await Deno.makeTempDir();
 * await makeBratsPhantomDataset({ dir, n: 1, size: 12 });
 * const [subject] = (await loadBrats(dir)).subjects;
 * const s = await loadBratsSubject(subject, { modalities: ["t1", "t1ce", "t2", "flair"] });
 * assert.equal(s.channels, 4);
 * assert.equal(s.image.length, 4 * 12 ** 3);
 * assert.ok(s.label.data.every((v) => v <= 1));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadBratsSubject(
  subject: BratsSubject,
  options: BratsOptions = {},
): Promise<LoadedBratsSubject> {
  const where = `loadBratsSubject: ${subject.id}`;
  const modalities = checkModalities(options.modalities ?? subject.modalities, where);
  const tol = options.tol ?? 1e-3;
  const { first, firstPath, image } = await readChannels(subject.images, modalities, tol, where);
  const seg = await readFile(subject.segPath, "seg", where);
  if (!sameGrid(first, seg, tol)) {
    throw new Error(
      `${where}: ${firstPath} (${fmtGrid(first)}) and ${subject.segPath} (${fmtGrid(seg)}) are not on the same grid ` +
        `(tolerance ${tol} mm)`,
    );
  }
  const merge = options.mergeLabels ?? true;
  const out = new Uint8Array(seg.data.length);
  const bad = new Map<number, number>();
  for (let i = 0; i < out.length; i++) {
    const v = THREE_CLASS.get(seg.data[i]);
    if (v === undefined) bad.set(seg.data[i], (bad.get(seg.data[i]) ?? 0) + 1);
    else out[i] = merge && v > 0 ? 1 : v;
  }
  if (bad.size > 0) {
    const shown = [...bad.entries()].sort((a, b) => a[0] - b[0]).slice(0, 10).map(([v, n]) => `${v} (${n} voxels)`);
    throw new Error(`${where}: ${subject.segPath}: label values outside {0, 1, 2, 4}: ${shown.join(", ")}`);
  }
  const label: Volume<Uint8Array> = { ...seg, data: out, datatype: "uint8" };
  return { id: subject.id, modalities, image, channels: modalities.length, label };
}

/**
 * Channel `c` of a loaded subject as a single-channel {@link Volume} (a view,
 * not a copy) on the label's grid: with the default one modality,
 * `{ image: bratsChannel(s, 0), label: s.label }` is a training `Sample`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bratsChannel, makeVolume } from "./mod.ts";
 * const label = makeVolume(new Uint8Array(2), [2, 1, 1]);
 * const s = { id: "a", modalities: [], image: new Float32Array([1, 2, 3, 4]), channels: 2, label };
 * assert.deepEqual([...bratsChannel(s, 1).data], [3, 4]);
 * ```
 */
export function bratsChannel(subject: LoadedBratsSubject, c: number): Volume<Float32Array> {
  if (!Number.isInteger(c) || c < 0 || c >= subject.channels) {
    throw new RangeError(`bratsChannel: ${subject.id} has channels 0..${subject.channels - 1}, not ${c}`);
  }
  const n = subject.label.data.length;
  return { ...subject.label, data: subject.image.subarray(c * n, (c + 1) * n), datatype: "float32" };
}

/** One BraTS subject's image files, found by {@link findBratsScans}; it need not have a seg. */
export interface BratsScan {
  /** Subject id, the folder name (`BraTS2021_00000`). */
  id: string;
  /** The subject's folder, where `ID_<modality>.nii.gz` is expected. */
  dir: string;
  /** Path of every modality file found (`.nii.gz` or `.nii`). */
  images: Partial<Record<BratsModality, string>>;
}

/**
 * The BraTS subjects under `path` for prediction: `path` is a BraTS-layout
 * folder (each sub-folder `ID` holding at least one
 * `ID_{t1,t1ce,t2,flair,seg}.nii.gz` or `.nii`, as {@link loadBrats} counts
 * subjects) or one such subject folder itself (`path/NAME_t1ce.nii.gz`,
 * `NAME` = the folder's name). Returns `[]` when `path` is neither, so the
 * caller can say what it expected. No file is read, no seg is needed and no
 * modality is required: `images` lists the ones that exist. Natural id order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { findBratsScans } from "./brats.ts";
 * import { makeBratsPhantomDataset } from "./brats_phantoms.ts";
 * const dir = await Deno.makeTempDir();
 * const ids = await makeBratsPhantomDataset({ dir, n: 2, size: 12 });
 * assert.deepEqual((await findBratsScans(dir)).map((s) => s.id), ids);
 * const [one] = await findBratsScans(`${dir}/${ids[1]}`);
 * assert.match(one.images.t2!, /BraTS2021_00001_t2\.nii\.gz$/);
 * await Deno.mkdir(`${dir}/other`);
 * assert.deepEqual(await findBratsScans(`${dir}/other`), []); // not BraTS
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function findBratsScans(path: string): Promise<BratsScan[]> {
  const root = path.replace(/(.)\/+$/, "$1");
  const toScan = (dir: string, id: string, found: Map<string, string>): BratsScan => {
    const images: BratsScan["images"] = {};
    for (const m of BRATS_MODALITIES) if (found.has(m)) images[m] = found.get(m);
    return { id, dir, images };
  };
  const name = root.replace(/^.*\//, "");
  const own = await subjectFiles(root, name);
  if (own.size > 0) return [toScan(root, name, own)];
  const scans: BratsScan[] = [];
  for await (const entry of Deno.readDir(root)) {
    if (!entry.isDirectory) continue;
    const dir = join(root, entry.name), found = await subjectFiles(dir, entry.name);
    if (found.size > 0) scans.push(toScan(dir, entry.name, found));
  }
  return scans.sort((a, b) => byId(a.id, b.id));
}

/** A subject's input channels, see {@link loadBratsChannels}. */
export interface LoadedBratsChannels {
  /** Subject id. */
  id: string;
  /** The modality of each channel. */
  modalities: BratsModality[];
  /**
   * One z-scored float32 volume per modality, in channel order, each with
   * the grid (shape, affine, spacing) of the first modality's file: the
   * `volume` argument of `slidingWindowInference` and the reference grid of
   * a prediction. Views into one `[C, x, y, z]` array.
   */
  channels: Volume<Float32Array>[];
}

/**
 * Reads a subject's `modalities` (in that order) with the preprocessing of
 * {@link loadBratsSubject}, the same code: every file on the first one's grid
 * (an error names both files), each z-scored over its own voxels > 0
 * (the authors' `data/preprocess.py`). No seg is read, so it serves prediction on new scans.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { findBratsScans, loadBratsChannels } from "./brats.ts";
 * import { makeBratsPhantomDataset } from "./brats_phantoms.ts";
 * const dir = await Deno.makeTempDir();
 * await makeBratsPhantomDataset({ dir, n: 1, size: 12 });
 * const [scan] = await findBratsScans(dir);
 * const s = await loadBratsChannels(scan, ["flair", "t1ce"]);
 * assert.equal(s.channels.length, 2);
 * assert.deepEqual(s.channels[1].shape, [12, 12, 12]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadBratsChannels(
  scan: Pick<BratsScan, "id" | "images">,
  modalities: readonly BratsModality[],
  options: Pick<BratsOptions, "tol"> = {},
): Promise<LoadedBratsChannels> {
  const where = `loadBratsChannels: ${scan.id}`;
  const list = checkModalities(modalities, where);
  const { first, image } = await readChannels(scan.images, list, options.tol ?? 1e-3, where);
  const n = first.data.length;
  const channels = list.map((_, c): Volume<Float32Array> => ({
    shape: [...first.shape],
    affine: first.affine.map((r) => [...r]),
    spacing: [...first.spacing],
    data: image.subarray(c * n, (c + 1) * n),
    datatype: "float32",
  }));
  return { id: scan.id, modalities: list, channels };
}

/** Options of {@link bratsSplit}. */
export interface BratsSplitOptions {
  /** Seed of the draw. Default 0. */
  seed?: number;
  /** Training subjects. Default 1000, see {@link bratsSplit}. */
  train?: number;
  /** Validation subjects. Default 125. */
  valid?: number;
  /** Test subjects. Default: the rest. */
  test?: number;
  /** Explicit lists; override the draw. `valid` defaults to none, `test` to the rest. */
  lists?: { train?: string[]; valid?: string[]; test?: string[] };
}

/**
 * The pre-training split of the paper's §4.3: the ids in natural order are shuffled
 * by `seed`; the first `train` are training, the next `valid` validation and
 * the rest test, so the draw does not depend on the input order.
 *
 * Counts: with none given, a folder of 1251 subjects gets 1000/125/126, and
 * any other size the same proportions, valid = max(1, round(N·125/1251)),
 * test = max(1, round(N·126/1251)), train = the rest (so 3 subjects give
 * 1/1/1). With counts given, missing ones default to train 1000, valid 125,
 * test the rest, and they must add up to N. Explicit `lists` (e.g. a dataset's
 * `lists`) override the draw; unknown, repeated or overlapping ids are errors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bratsSplit } from "./brats.ts";
 * const ids = Array.from({ length: 1251 }, (_, i) => `BraTS2021_${String(i).padStart(5, "0")}`);
 * const s = bratsSplit(ids, { seed: 1 });
 * assert.deepEqual([s.train.length, s.valid.length, s.test.length], [1000, 125, 126]);
 * assert.deepEqual(bratsSplit(ids.slice(0, 10), { seed: 1 }).valid.length, 1);
 * assert.deepEqual(bratsSplit(ids.slice(0, 3), { lists: { train: [ids[2]] } }).test, ids.slice(0, 2));
 * ```
 */
export function bratsSplit(ids: readonly string[], options: BratsSplitOptions = {}): Split {
  const all = [...ids].sort(byId);
  const n = all.length;
  if (new Set(all).size !== n) throw new Error(`bratsSplit: duplicate subject ids in [${all}]`);
  if (options.lists) {
    const known = new Set(all), used = new Set<string>();
    const check = (list: string[] | undefined, name: string, rest: boolean): string[] => {
      const out = list ?? (rest ? all.filter((id) => !used.has(id)) : []);
      const bad = out.filter((id) => !known.has(id));
      if (bad.length) throw new Error(`bratsSplit: ${name} ids [${bad}] are not subjects of the dataset`);
      const twice = out.filter((id, i) => used.has(id) || out.indexOf(id) !== i);
      if (twice.length) throw new Error(`bratsSplit: ${name} ids [${twice}] are repeated or in another list`);
      out.forEach((id) => used.add(id));
      return [...out].sort(byId);
    };
    const { lists } = options;
    if (!lists.train?.length) throw new Error("bratsSplit: explicit lists need a non-empty train list");
    const train = check(lists.train, "train", false), valid = check(lists.valid, "valid", false);
    return { seed: null, train, valid, test: check(lists.test, "test", true) };
  }
  let { train, valid, test } = options;
  if (train === undefined && valid === undefined && test === undefined) {
    const total = BRATS_SPLIT.train + BRATS_SPLIT.valid + BRATS_SPLIT.test;
    valid = n === total ? BRATS_SPLIT.valid : Math.max(1, Math.round(n * BRATS_SPLIT.valid / total));
    test = n === total ? BRATS_SPLIT.test : Math.max(1, Math.round(n * BRATS_SPLIT.test / total));
    train = n - valid - test;
  } else {
    train ??= BRATS_SPLIT.train;
    valid ??= BRATS_SPLIT.valid;
    test ??= n - train - valid;
  }
  const ok = [train, valid, test].every(Number.isInteger) && train >= 1 && valid >= 0 && test >= 0;
  if (!ok || train + valid + test !== n) {
    throw new RangeError(
      `bratsSplit: train ${train} + valid ${valid} + test ${test} does not split ${n} subjects ` +
        `(train >= 1; give counts that add up to ${n}, or none to scale 1000/125/126)`,
    );
  }
  const seed = options.seed ?? 0;
  const order = new Rng(seed).shuffle([...all]);
  return {
    seed,
    train: order.slice(0, train).sort(byId),
    valid: order.slice(train, train + valid).sort(byId),
    test: order.slice(train + valid).sort(byId),
  };
}

/**
 * Writes a BraTS split as `dir/split.json` next to the run, in
 * {@link writeSplit}'s format plus the dataset's root, modalities and label
 * mode, so a run records what it was trained on. Returns the path.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bratsSplit, writeBratsSplit } from "./brats.ts";
 * const dir = await Deno.makeTempDir();
 * const split = bratsSplit(["a", "b", "c"], { seed: 2 });
 * const path = await writeBratsSplit(dir, split, { root: "BraTS2021", modalities: ["t1ce"], mergeLabels: true });
 * const back = JSON.parse(await Deno.readTextFile(path));
 * assert.equal(back.dataset, "brats");
 * assert.deepEqual(back.test, split.test);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeBratsSplit(
  dir: string,
  split: Split,
  dataset: Pick<BratsDataset, "root" | "modalities" | "mergeLabels">,
): Promise<string> {
  const { root, modalities, mergeLabels } = dataset;
  return await writeSplit(dir, split, { dataset: "brats", root, modalities, mergeLabels });
}

/**
 * True when some sub-folder `ID` of `root` holds `ID_t1ce` or `ID_seg`
 * (`.nii.gz` or `.nii`): how `lorapt pretrain --layout auto` detects BraTS.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { looksLikeBrats } from "./mod.ts";
 * const dir = await Deno.makeTempDir();
 * assert.equal(await looksLikeBrats(dir), false);
 * await Deno.mkdir(`${dir}/BraTS2021_00000`);
 * await Deno.writeFile(`${dir}/BraTS2021_00000/BraTS2021_00000_seg.nii.gz`, new Uint8Array());
 * assert.equal(await looksLikeBrats(dir), true);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function looksLikeBrats(root: string): Promise<boolean> {
  for await (const e of Deno.readDir(root)) {
    if (!e.isDirectory) continue;
    for (const m of ["t1ce", "seg"]) {
      for (const ext of [".nii.gz", ".nii"]) {
        const st = await Deno.stat(`${root}/${e.name}/${e.name}_${m}${ext}`).catch(() => null);
        if (st?.isFile) return true;
      }
    }
  }
  return false;
}

/**
 * A real-brain data set built on demand (issue 17): subjects made from the
 * Colin27 T1 (`ch2.nii.gz`, brain mask from `ch2bet.nii.gz`) and the AICHA
 * atlas (`AICHAmc.nii.gz`, labels 159 G_Hippocampus-1 and 160
 * G_Hippocampus-2 of `AICHAmc.nii.txt`) that Debian's `mricron-data` package
 * installs in `/usr/share/mricron/templates`. Nothing of them is copied into
 * this repository; a set is rebuilt from its seed.
 *
 * Each subject: the template resampled onto the output grid (default the
 * FSL MNI152 1 mm grid, 182×218×182, the paper's registration target)
 * through a smooth random deformation without folding (`resample.ts`:
 * affine + cubic B-spline), a smooth multiplicative bias field, a gamma and
 * a global scale, and Rician noise inside the brain; the background stays
 * exactly 0, since z-scores are taken over the non-zero voxels. The T1 is
 * sampled trilinearly, the brain mask trilinearly then thresholded at ½,
 * the atlas by nearest neighbour. The `tumour` task adds synthetic lesions
 * (necrotic core, enhancing rim, non-enhancing tumour, oedema) and labels
 * the whole tumour instead: a BraTS-like pre-training proxy on real anatomy.
 * @module
 */
import { Rng } from "../tensor/random.ts";
import { readNifti, writeNifti } from "./nifti.ts";
import {
  bsplineField,
  type Deformation,
  type DeformationOptions,
  displacedIndices,
  type Grid,
  gridIndices,
  indexToSource,
  MNI152_1MM,
  randomDeformation,
  sampleVolume,
} from "./resample.ts";
import type { Shape3, Spacing3, Volume } from "./volume.ts";

/** Where Debian's `mricron-data` installs its templates. */
export const MRICRON_TEMPLATES = "/usr/share/mricron/templates";

/** The AICHAmc labels that together are the hippocampus (G_Hippocampus-1, G_Hippocampus-2). */
export const AICHA_HIPPOCAMPUS: readonly number[] = Object.freeze([159, 160]);

/** The template files read from {@link MRICRON_TEMPLATES}. */
export const REAL_BRAIN_FILES: Readonly<{ t1: string; brain: string; atlas: string }> = Object.freeze({
  t1: "ch2.nii.gz",
  brain: "ch2bet.nii.gz",
  atlas: "AICHAmc.nii.gz",
});

/** The template a real-brain set is made from, each volume on its own grid. */
export interface RealBrainTemplate {
  /** T1 image (Colin27). */
  t1: Volume;
  /** Brain indicator (1 inside, 0 outside), float32 so that it can be sampled trilinearly. */
  brain: Volume<Float32Array>;
  /** Atlas labels. */
  atlas: Volume;
  /** Atlas values that make up the target structure. */
  atlasLabels: readonly number[];
  /** Where the volumes came from, for the data set's record. */
  source: string;
}

/** Raised when the template files are not installed; the CLI turns it into exit code 2. */
export class MissingTemplateError extends Error {
  /** An error naming the missing file and the package that provides it. */
  constructor(message: string) {
    super(message);
    this.name = "MissingTemplateError";
  }
}

/**
 * Reads the Colin27 T1, its brain mask and the AICHA atlas from `dir`.
 * Throws a {@link MissingTemplateError} naming the file and
 * `apt-get install mricron-data` when one is missing.
 *
 * @example
 * ```ts ignore
 * import { loadRealBrainTemplate } from "./mod.ts";
 * const t = await loadRealBrainTemplate(); // needs: apt-get install mricron-data
 * console.log(t.t1.shape); // [181, 217, 181]
 * ```
 */
export async function loadRealBrainTemplate(dir: string = MRICRON_TEMPLATES): Promise<RealBrainTemplate> {
  const path = (f: string) => `${dir.replace(/\/+$/, "")}/${f}`;
  for (const f of Object.values(REAL_BRAIN_FILES)) {
    const st = await Deno.stat(path(f)).catch(() => null);
    if (!st?.isFile) {
      throw new MissingTemplateError(
        `${path(f)} not found: the real-brain data set is made from the templates of Debian's mricron-data ` +
          `package (install it with: apt-get install mricron-data)`,
      );
    }
  }
  const t1 = await readNifti(path(REAL_BRAIN_FILES.t1));
  const bet = await readNifti(path(REAL_BRAIN_FILES.brain));
  const atlas = await readNifti(path(REAL_BRAIN_FILES.atlas));
  const brain = { ...bet, data: Float32Array.from(bet.data, (v) => (v > 0 ? 1 : 0)), datatype: "float32" as const };
  return { t1, brain, atlas, atlasLabels: AICHA_HIPPOCAMPUS, source: dir };
}

/** What a real-brain subject's labels mark. */
export type RealBrainTask = "hippocampus" | "tumour";

/** Options of {@link makeRealBrainSubject}. */
export interface RealBrainSubjectOptions {
  /** `"hippocampus"` (atlas labels) or `"tumour"` (synthetic lesions). Default hippocampus. */
  task?: RealBrainTask;
  /** Output grid. Default {@link MNI152_1MM}. */
  grid?: Grid;
  /** Deformation limits, or false for none (the template itself). */
  deformation?: DeformationOptions | false;
  /** False: no bias, gamma, scale or noise (the resampled template × 600 / its brain mean). */
  intensity?: boolean;
}

/** One generated subject. */
export interface RealBrainSubject {
  /** T1-like image, int16, 0 outside the brain, ≥ 1 inside. */
  image: Volume<Int16Array>;
  /** Label (0/1) on the image's grid. */
  label: Volume<Uint8Array>;
  /** The random draws, for the data set's record. */
  info: Record<string, unknown>;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/**
 * Makes one subject from `template`, every random choice drawn from `rng`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { diagonalAffine, makeRealBrainSubject, makeVolume, Rng } from "./mod.ts";
 * // A synthetic template: a ball of "brain" with a small labelled ball inside.
 * const n = 24, shape: [number, number, number] = [n, n, n], t1 = new Float32Array(n ** 3);
 * const brain = new Float32Array(n ** 3), atlas = new Uint8Array(n ** 3);
 * for (let p = 0; p < n ** 3; p++) {
 *   const r = Math.hypot((p % n) - 12, Math.floor(p / n) % n - 12, Math.floor(p / n / n) - 12);
 *   if (r < 10) (brain[p] = 1, t1[p] = 100);
 *   if (r < 4) atlas[p] = 7;
 * }
 * const affine = diagonalAffine([2, 2, 2]);
 * const template = {
 *   t1: makeVolume(t1, shape, { affine }), brain: makeVolume(brain, shape, { affine }),
 *   atlas: makeVolume(atlas, shape, { affine }), atlasLabels: [7], source: "example",
 * };
 * const s = makeRealBrainSubject(template, new Rng(1), { grid: { shape, affine } });
 * assert.ok(s.label.data.some((v) => v === 1));
 * assert.equal(s.image.data[0], 0); // outside the brain: exactly 0
 * assert.ok(s.image.data[12 + n * (12 + n * 12)] > 0);
 * ```
 */
export function makeRealBrainSubject(
  template: RealBrainTemplate,
  rng: Rng,
  options: RealBrainSubjectOptions = {},
): RealBrainSubject {
  const grid = options.grid ?? MNI152_1MM, task = options.task ?? "hippocampus";
  if (task !== "hippocampus" && task !== "tumour") {
    throw new RangeError(`makeRealBrainSubject: task "${task}" is not hippocampus or tumour`);
  }
  const [X, Y, Z] = grid.shape, N = X * Y * Z;
  const spacing = [0, 1, 2].map((c) => Math.hypot(grid.affine[0][c], grid.affine[1][c], grid.affine[2][c])) as Spacing3;
  const def: Deformation | null = options.deformation === false
    ? null
    : randomDeformation(grid, rng, options.deformation ?? {});
  const idx = def ? displacedIndices(grid, def) : gridIndices(grid.shape);
  const t1 = sampleVolume(template.t1, idx, indexToSource(grid, template.t1, def), "linear") as Float32Array;
  const brain = sampleVolume(template.brain, idx, indexToSource(grid, template.brain, def), "linear");
  const atlas = sampleVolume(template.atlas, idx, indexToSource(grid, template.atlas, def), "nearest");
  const wanted = new Set(template.atlasLabels);
  const label = new Uint8Array(N), inside = new Uint8Array(N);
  let sum = 0, count = 0;
  for (let p = 0; p < N; p++) {
    if (wanted.has(atlas[p])) label[p] = 1;
    if (brain[p] >= 0.5 || label[p]) {
      inside[p] = 1;
      sum += Math.max(0, t1[p]);
      count++;
    }
  }
  if (count === 0) throw new RangeError("makeRealBrainSubject: the template's brain mask misses the output grid");
  const ref = sum / count || 1;
  const intensity = options.intensity !== false;
  const gamma = intensity ? rng.uniformIn(0.85, 1.15) : 1;
  const scale = intensity ? rng.uniformIn(0.8, 1.25) : 1;
  const noise = intensity ? rng.uniformIn(0.01, 0.04) : 0;
  const u = new Float32Array(N);
  for (let p = 0; p < N; p++) if (inside[p]) u[p] = (Math.max(0, t1[p]) / ref) ** gamma;
  const info: Record<string, unknown> = {
    deformation: def ? { affine: def.affine.slice(0, 3).map((r) => r.map(round3)) } : null,
    gamma: round3(gamma),
    scale: round3(scale),
    noise: round3(noise),
  };
  if (task === "tumour") {
    label.fill(0);
    info.lesions = addLesions(u, label, inside, grid.shape, spacing, rng);
  }
  // Bias: exp of a smooth field, control points every 50 mm, ±0.25 (about ±25%).
  let bias: Float32Array | null = null;
  if (intensity) {
    const cs = spacing.map((s) => 50 / s) as Shape3;
    const cshape = grid.shape.map((n, a) => Math.floor((n - 1) / cs[a]) + 4) as Shape3;
    const coef = new Float32Array(cshape[0] * cshape[1] * cshape[2]);
    for (let i = 0; i < coef.length; i++) coef[i] = rng.uniformIn(-0.25, 0.25);
    bias = bsplineField(grid.shape, cshape, cs, coef);
  }
  const image = new Int16Array(N), level = 600 * scale, sigma = noise * level;
  for (let p = 0; p < N; p++) {
    if (!inside[p]) continue;
    let v = level * u[p] * (bias ? Math.exp(bias[p]) : 1);
    if (sigma > 0) v = Math.hypot(v + sigma * rng.normal(), sigma * rng.normal()); // Rician magnitude
    image[p] = Math.min(32767, Math.max(1, Math.round(v)));
  }
  const geometry = { shape: [...grid.shape] as Shape3, affine: grid.affine.map((r) => [...r]), spacing };
  let labelled = 0;
  for (let p = 0; p < N; p++) labelled += label[p];
  info.labelMm3 = round3(labelled * spacing[0] * spacing[1] * spacing[2]);
  return {
    image: { ...geometry, data: image, datatype: "int16" },
    label: { ...geometry, data: label, datatype: "uint8" },
    info,
  };
}

/**
 * Adds one or two lesions inside the brain (in place on the relative
 * intensity `u` and the label): an ellipsoid of radius R (10–22 mm, axes ×
 * 0.75–1.25) whose normalised radius ρ is roughened by a smooth field;
 * ρ < 0.45 necrotic core (dark), < 0.7 enhancing rim (bright, as on T1ce),
 * < 1 non-enhancing tumour, < e (1.3–1.8) oedema (slightly dark). The label
 * is the whole tumour, oedema included, inside the brain.
 */
function addLesions(
  u: Float32Array,
  label: Uint8Array,
  inside: Uint8Array,
  shape: Shape3,
  spacing: Spacing3,
  rng: Rng,
): Record<string, number | number[]>[] {
  const [X, Y, Z] = shape;
  const brainIdx: number[] = [];
  for (let p = 0; p < inside.length; p++) if (inside[p]) brainIdx.push(p);
  const count = rng.uniform() < 0.3 ? 2 : 1, out = [];
  const isIn = (x: number, y: number, z: number) =>
    x >= 0 && y >= 0 && z >= 0 && x < X && y < Y && z < Z &&
    inside[Math.round(x) + X * (Math.round(y) + Y * Math.round(z))] === 1;
  for (let l = 0; l < count; l++) {
    let R = rng.uniformIn(10, 22);
    const axes = [0, 1, 2].map(() => rng.uniformIn(0.75, 1.25)), e = rng.uniformIn(1.3, 1.8);
    let c: number[] | null = null;
    for (let tries = 0; tries < 400 && !c; tries++) {
      if (tries % 100 === 99) R *= 0.8;
      const p = brainIdx[rng.int(0, brainIdx.length - 1)];
      const q = [p % X, Math.floor(p / X) % Y, Math.floor(p / (X * Y))];
      const ext = [0, 1, 2].map((a) => (R * axes[a]) / spacing[a]); // the tumour core must lie in the brain
      const ok = [0, 1, 2].every((a) =>
        [-1, 1].every((sgn) => {
          const t = [...q];
          t[a] += sgn * ext[a];
          return isIn(t[0], t[1], t[2]);
        })
      );
      if (ok) c = q;
    }
    if (!c) continue;
    const reach = [0, 1, 2].map((a) => Math.ceil((e * 1.3 * R * axes[a]) / spacing[a]));
    const lo = c.map((v, a) => Math.max(0, v - reach[a])), hi = c.map((v, a) => Math.min(shape[a] - 1, v + reach[a]));
    const sub = hi.map((v, a) => v - lo[a] + 1) as Shape3;
    const cs = spacing.map((s) => 8 / s) as Shape3;
    const cshape = sub.map((n, a) => Math.floor((n - 1) / cs[a]) + 4) as Shape3;
    const coef = new Float32Array(cshape[0] * cshape[1] * cshape[2]);
    for (let i = 0; i < coef.length; i++) coef[i] = rng.uniformIn(-0.12, 0.12);
    const rough = bsplineField(sub, cshape, cs, coef);
    const rim = rng.uniformIn(1.4, 1.9), core = rng.uniformIn(0.2, 0.4);
    for (let k = 0; k < sub[2]; k++) {
      for (let j = 0; j < sub[1]; j++) {
        for (let i = 0; i < sub[0]; i++) {
          const x = lo[0] + i, y = lo[1] + j, z = lo[2] + k, p = x + X * (y + Y * z);
          if (!inside[p]) continue;
          const d = [x - c[0], y - c[1], z - c[2]].map((v, a) => (v * spacing[a]) / (R * axes[a]));
          const rho = Math.hypot(d[0], d[1], d[2]) + rough[i + sub[0] * (j + sub[1] * k)];
          if (rho >= e) continue;
          label[p] = 1;
          u[p] = rho < 0.45 ? core : rho < 0.7 ? rim : rho < 1 ? 0.8 * u[p] + 0.1 : 0.85 * u[p];
        }
      }
    }
    out.push({ centreVoxel: c, radiusMm: round3(R), oedema: round3(e), axes: axes.map(round3) });
  }
  return out;
}

/** Options of {@link makeRealBrainDataset}. */
export interface RealBrainDatasetOptions {
  /** Output folder (created if missing). */
  out: string;
  /** Number of subjects (≥ 1). Default 13 (5 training + 8 test). */
  n?: number;
  /** Seed of the set. Default 0. */
  seed?: number;
  /** Labels: `"hippocampus"` (default) or `"tumour"` (the pre-training proxy). */
  task?: RealBrainTask;
  /** Output grid. Default {@link MNI152_1MM}. */
  grid?: Grid;
  /** Folder of the template files. Default {@link MRICRON_TEMPLATES}. */
  templateDir?: string;
  /** A template already read (tests pass small synthetic ones); overrides `templateDir`. */
  template?: RealBrainTemplate;
  /** Deformation limits. */
  deformation?: DeformationOptions;
  /** Hippocampus: the number of subjects in `train.txt` (sub1…). Default min(5, n − 1). */
  nTrain?: number;
  /** Called after each subject is written. */
  onProgress?: (p: { done: number; n: number; id: string; seconds: number }) => void;
}

/** What {@link makeRealBrainDataset} wrote. */
export interface RealBrainDataset {
  /** The authors' layout root (`subN/subN_img.nii.gz`, `subN_mask.nii.gz`, list files). */
  root: string;
  /** The MSD layout root (`dataset.json`, `imagesTr/`, `labelsTr/`); its files are hard links where possible. */
  msd: string;
  /** Subject ids in order. */
  subjects: string[];
  /** The record written to `real_brain.json`. */
  record: Record<string, unknown>;
}

async function atomicNifti(path: string, volume: Volume, description: string): Promise<void> {
  const slash = path.lastIndexOf("/");
  const tmp = `${path.slice(0, slash + 1)}.tmp-${path.slice(slash + 1)}`;
  await writeNifti(tmp, volume, { description });
  await Deno.rename(tmp, path);
}

async function atomicText(path: string, text: string): Promise<void> {
  const slash = path.lastIndexOf("/");
  const tmp = `${path.slice(0, slash + 1)}.tmp-${path.slice(slash + 1)}`;
  await Deno.writeTextFile(tmp, text);
  await Deno.rename(tmp, path);
}

async function linkOrCopy(from: string, to: string): Promise<void> {
  await Deno.remove(to).catch(() => {});
  try {
    await Deno.link(from, to);
  } catch {
    await Deno.copyFile(from, to);
  }
}

/**
 * Writes a real-brain set of `n` subjects (see the module doc) in both
 * layouts the loaders read: the authors' under `out` (with `train.txt` and
 * `test.txt`; the tumour task lists every subject in `train.txt`, as
 * `lorapt pretrain` reads it) and MSD under `out/msd`. Subject `k` is made
 * from its own seed, drawn from `seed` and the task, so a set is
 * deterministic and its first subjects do not depend on `n`.
 * `real_brain.json` records the options and every subject's draws.
 *
 * @example
 * ```ts ignore
 * import { makeRealBrainDataset } from "./mod.ts";
 * await makeRealBrainDataset({ out: "data/real-brain", n: 13, seed: 0 }); // needs mricron-data
 * ```
 */
export async function makeRealBrainDataset(options: RealBrainDatasetOptions): Promise<RealBrainDataset> {
  const n = options.n ?? 13, seed = options.seed ?? 0, task = options.task ?? "hippocampus";
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`makeRealBrainDataset: n = ${n} must be a positive integer`);
  if (!Number.isInteger(seed)) throw new RangeError(`makeRealBrainDataset: seed ${seed} must be an integer`);
  if (task !== "hippocampus" && task !== "tumour") {
    throw new RangeError(`makeRealBrainDataset: task "${task}" is not hippocampus or tumour`);
  }
  const nTrain = task === "tumour" ? n : options.nTrain ?? Math.max(1, Math.min(5, n - 1));
  if (!Number.isInteger(nTrain) || nTrain < 1 || nTrain > n) {
    throw new RangeError(`makeRealBrainDataset: nTrain ${nTrain} does not fit n = ${n}`);
  }
  const template = options.template ?? await loadRealBrainTemplate(options.templateDir);
  const grid = options.grid ?? MNI152_1MM;
  const root = options.out.replace(/\/+$/, ""), msd = `${root}/msd`;
  // The task enters the seed so that tumour subjects are not the hippocampus subjects of the same seed.
  const rng = new Rng((seed ^ (task === "tumour" ? 0x7a3c5e11 : 0)) | 0);
  const seeds = Array.from({ length: n }, () => rng.next());
  await Deno.mkdir(`${msd}/imagesTr`, { recursive: true });
  await Deno.mkdir(`${msd}/labelsTr`, { recursive: true });
  const ids: string[] = [], subjects: Record<string, unknown>[] = [], t0 = performance.now();
  const width = Math.max(3, String(n).length), name = task === "tumour" ? "realbraintumour" : "realbrain";
  for (let s = 0; s < n; s++) {
    const id = `sub${s + 1}`, msdId = `${name}_${String(s + 1).padStart(width, "0")}`;
    const subject = makeRealBrainSubject(template, new Rng(seeds[s]), {
      task,
      grid,
      deformation: options.deformation ?? {},
    });
    await Deno.mkdir(`${root}/${id}`, { recursive: true });
    const description = `@lorapt/core real-brain ${task} seed ${seed} subject ${s + 1}`;
    const img = `${root}/${id}/${id}_img.nii.gz`, mask = `${root}/${id}/${id}_mask.nii.gz`;
    await atomicNifti(img, subject.image, description);
    await atomicNifti(mask, subject.label, description);
    await linkOrCopy(img, `${msd}/imagesTr/${msdId}.nii.gz`);
    await linkOrCopy(mask, `${msd}/labelsTr/${msdId}.nii.gz`);
    ids.push(id);
    subjects.push({ id, msd: msdId, seed: seeds[s], ...subject.info });
    options.onProgress?.({ done: s + 1, n, id, seconds: (performance.now() - t0) / 1000 });
  }
  await atomicText(`${root}/train.txt`, ids.slice(0, nTrain).map((x) => x + "\n").join(""));
  await atomicText(`${root}/test.txt`, ids.slice(nTrain).map((x) => x + "\n").join(""));
  await Deno.remove(`${root}/valid.txt`).catch(() => {});
  const structure = task === "tumour"
    ? "whole tumour (core, enhancing rim, oedema)"
    : `hippocampus (AICHAmc ${template.atlasLabels.join("+")})`;
  const json = {
    name: task === "tumour" ? "RealBrainTumour" : "RealBrainHippocampus",
    description: `Deformed Colin27 T1 subjects from @lorapt/core data/real_brain.ts; label: ${structure}`,
    reference: "Colin27 (ch2) and AICHA templates of Debian mricron-data; @lorapt/core data/real_brain.ts",
    licence: "see the mricron-data package",
    release: "1.0",
    tensorImageSize: "3D",
    modality: { "0": "T1" },
    labels: { "0": "background", "1": task },
    numTraining: n,
    numTest: 0,
    training: ids.map((_, s) => {
      const m = `${name}_${String(s + 1).padStart(width, "0")}`;
      return { image: `./imagesTr/${m}.nii.gz`, label: `./labelsTr/${m}.nii.gz` };
    }),
    test: [],
  };
  await atomicText(`${msd}/dataset.json`, JSON.stringify(json, null, 2) + "\n");
  const record = {
    generator: "@lorapt/core data/real_brain.ts",
    task,
    n,
    seed,
    grid: { shape: grid.shape, affine: grid.affine },
    template: { source: template.source, files: REAL_BRAIN_FILES, atlasLabels: template.atlasLabels },
    split: { train: ids.slice(0, nTrain), test: ids.slice(nTrain) },
    seconds: Math.round((performance.now() - t0) / 100) / 10,
    subjects,
  };
  await atomicText(`${root}/real_brain.json`, JSON.stringify(record, null, 2) + "\n");
  return { root, msd, subjects: ids, record };
}

/**
 * A miniature BraTS-layout folder built from tumour phantoms, for tests and
 * demos of pre-training: four modalities derived from the phantom image and
 * a seg with the BraTS labels 1 (NCR), 2 (ED) and 4 (ET).
 * @module
 */
import { edtSquared } from "./metrics.ts";
import { writeNifti } from "./nifti.ts";
import { makePhantom } from "./phantoms.ts";
import { connectedComponents } from "./postprocess.ts";
import { BRATS_MODALITIES, type BratsModality } from "./brats.ts";
import { Rng } from "../tensor/random.ts";
import type { Shape3, Volume } from "./volume.ts";

const join = (root: string, rel: string): string => `${root.replace(/\/+$/, "")}/${rel}`;

/** Options of {@link makeBratsPhantomDataset}. */
export interface BratsPhantomOptions {
  /** Output folder (created if missing). */
  dir: string;
  /** Number of subjects (≥ 1). */
  n: number;
  /** Grid size; a number means a cube. Default 240×240×155 (the BraTS grid). */
  size?: Shape3 | number;
  /** Seed of the subjects. Default 0. */
  seed?: number;
}

/**
 * Writes a miniature BraTS-layout folder of `n` tumour phantoms
 * ({@link makePhantom}, each with its own seed drawn from `seed`):
 * `BraTS2021_0000k/BraTS2021_0000k_{t1,t1ce,t2,flair}.nii.gz` (int16) and
 * `_seg.nii.gz` (uint8). The phantom image is T1ce-like; the other sequences
 * are fixed contrast maps of it (see `contrasts`). The seg splits each tumour
 * blob into shells by depth, as the phantom draws it: necrotic core (1), an
 * enhancing rim (4) and edema at the edge (2); merged it is the phantom's
 * label. Returns the subject ids.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeBratsPhantomDataset } from "./brats_phantoms.ts";
 * const dir = await Deno.makeTempDir();
 * const ids = await makeBratsPhantomDataset({ dir, n: 1, size: 12, seed: 3 });
 * assert.deepEqual(ids, ["BraTS2021_00000"]);
 * await Deno.stat(`${dir}/BraTS2021_00000/BraTS2021_00000_flair.nii.gz`);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function makeBratsPhantomDataset(options: BratsPhantomOptions): Promise<string[]> {
  const { dir, n } = options;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`makeBratsPhantomDataset: n = ${n} must be >= 1`);
  const rng = new Rng(options.seed ?? 0);
  const seeds = Array.from({ length: n }, () => rng.next());
  const ids: string[] = [];
  for (const [s, seed] of seeds.entries()) {
    const id = `BraTS2021_${String(s).padStart(5, "0")}`;
    const p = makePhantom({ task: "tumour", size: options.size ?? [240, 240, 155], seed });
    const seg = tumourShells(p.label);
    await Deno.mkdir(join(dir, id), { recursive: true });
    const description = `@lorapt/core BraTS phantom seed ${seed}`;
    for (const [m, data] of Object.entries(contrasts(p.image.data, seg.data))) {
      await writeNifti(join(dir, `${id}/${id}_${m}.nii.gz`), { ...p.image, data, datatype: "int16" }, { description });
    }
    await writeNifti(join(dir, `${id}/${id}_seg.nii.gz`), seg, { description });
    ids.push(id);
  }
  return ids;
}

/**
 * BraTS labels from a binary tumour mask: per 6-connected blob, a voxel at
 * depth d (distance to the nearest non-tumour voxel, 1 at the edge) with the
 * blob's largest depth D has relative depth t = (d − 1)/(D − 1) (0 when
 * D = 1); t ≤ 0.25 → ED 2, t ≤ 0.6 → ET 4, else NCR 1: the phantom's own
 * edge/rim/core radii (phantoms.ts `addTumours`), kept even for blobs a few
 * voxels wide.
 */
function tumourShells(label: Volume<Uint8Array>): Volume<Uint8Array> {
  const outside = label.data.map((v) => v ? 0 : 1);
  const d2 = edtSquared(outside, label.shape, [1, 1, 1]);
  const { labels, sizes } = connectedComponents(label.data, label.shape, 6);
  const depth = new Float64Array(sizes.length);
  for (let i = 0; i < d2.length; i++) if (labels[i]) depth[labels[i]] = Math.max(depth[labels[i]], Math.sqrt(d2[i]));
  const seg = new Uint8Array(label.data.length);
  for (let i = 0; i < seg.length; i++) {
    if (!labels[i]) continue;
    const big = depth[labels[i]];
    const t = big > 1 ? (Math.sqrt(d2[i]) - 1) / (big - 1) : 0;
    seg[i] = t <= 0.25 ? 2 : t <= 0.6 ? 4 : 1;
  }
  return { ...label, data: seg };
}

/**
 * Four sequences from the T1ce-like phantom `x` (u = x / brain median ≈ 1 in
 * white matter) and its seg, int16 with white matter near 1000, background 0
 * and brain ≥ 1: T1ce as is; T1 = u^1.2 (more grey/white contrast) without
 * enhancement (ET × 0.55); T2 inverted
 * (1.5 − u: CSF, core and edema bright), edema × 1.3; FLAIR = T2 with CSF
 * suppressed (× 0.2 where u < 0.35 outside the tumour) and edema × 1.6.
 */
function contrasts(x: Float32Array, seg: Uint8Array): Record<BratsModality, Int16Array> {
  const brain = x.filter((v) => v > 0).sort();
  const median = brain.length ? brain[brain.length >> 1] : 1;
  const out = Object.fromEntries(BRATS_MODALITIES.map((m) => [m, new Int16Array(x.length)])) as Record<
    BratsModality,
    Int16Array
  >;
  const put = (a: Int16Array, i: number, v: number) => a[i] = Math.min(32767, Math.max(1, Math.round(1000 * v)));
  for (let i = 0; i < x.length; i++) {
    if (!(x[i] > 0)) continue;
    const u = x[i] / median, t = seg[i];
    const t2 = Math.max(0.05, 1.5 - u) * (t === 2 ? 1.3 : 1);
    put(out.t1ce, i, u);
    put(out.t1, i, (t === 4 ? 0.55 : 1) * u ** 1.2);
    put(out.t2, i, t2);
    put(out.flair, i, t2 * (t === 0 && u < 0.35 ? 0.2 : t === 2 ? 1.6 / 1.3 : 1));
  }
  return out;
}

/**
 * Writes a folder of phantom subjects as NIfTI in one of the two dataset
 * layouts users bring (issue 7): the LoRA-PT authors' layout or the Medical
 * Segmentation Decathlon (MSD) layout.
 * @module
 */
import { Rng } from "../tensor/random.ts";
import { writeNifti } from "./nifti.ts";
import { makePhantom, type PhantomTask } from "./phantoms.ts";
import type { Shape3 } from "./volume.ts";

/** Options of {@link makePhantomDataset}. */
export interface PhantomDatasetOptions {
  /** Which structure the labels mark. */
  task: PhantomTask;
  /** Number of subjects (≥ 1). */
  n: number;
  /** Output folder (created if missing). */
  dir: string;
  /**
   * `"authors"`: `dir/subN/subN_img.nii.gz` + `subN_mask.nii.gz` and
   * `train.txt`/`valid.txt`/`test.txt` (one subject id per line).
   * `"msd"`: `dataset.json` + `imagesTr/` + `labelsTr/`. Default `"authors"`.
   */
  layout?: "authors" | "msd";
  /** Grid size; a number means a cube. Default 182×218×182. */
  size?: Shape3 | number;
  /** Seed of the subjects and the split. Default 0. */
  seed?: number;
  /** Authors' layout: training subjects. Default min(5, n − 1), at least 1. */
  nTrain?: number;
  /** Authors' layout: validation subjects (logging only, paper §4.3). Default 1 if room. */
  nValid?: number;
}

/** One written subject. */
export interface PhantomSubject {
  /** Subject id (`sub1`… or `hippocampus_001`…). */
  id: string;
  /** Image path. */
  image: string;
  /** Label path. */
  label: string;
}

/** What {@link makePhantomDataset} wrote. */
export interface PhantomDataset {
  /** The dataset folder. */
  root: string;
  /** The layout written. */
  layout: "authors" | "msd";
  /** Every subject, in id order. */
  subjects: PhantomSubject[];
  /** Authors' layout only: the split written to the three list files. */
  split?: { train: string[]; valid: string[]; test: string[] };
}

/**
 * Generates `n` phantom subjects (each from its own seed drawn from `seed`)
 * and writes them as `.nii.gz` in the chosen layout. In the authors' layout
 * the split is drawn by seed: `nTrain` training subjects, `nValid`
 * validation subjects, all others test (paper §5.2).
 */
export async function makePhantomDataset(
  options: PhantomDatasetOptions,
): Promise<PhantomDataset> {
  const { task, n, dir } = options;
  const layout = options.layout ?? "authors";
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`makePhantomDataset: n = ${n} must be a positive integer`);
  }
  if (layout !== "authors" && layout !== "msd") {
    throw new RangeError(`makePhantomDataset: unknown layout "${layout}"`);
  }
  const rng = new Rng(options.seed ?? 0);
  const seeds = Array.from({ length: n }, () => rng.next());
  const width = Math.max(3, String(n).length);
  const subjects: PhantomSubject[] = [];
  await Deno.mkdir(dir, { recursive: true });
  if (layout === "msd") {
    await Deno.mkdir(`${dir}/imagesTr`, { recursive: true });
    await Deno.mkdir(`${dir}/labelsTr`, { recursive: true });
  }
  for (let s = 0; s < n; s++) {
    const id = layout === "authors" ? `sub${s + 1}` : `${task}_${String(s + 1).padStart(width, "0")}`;
    const image = layout === "authors" ? `${dir}/${id}/${id}_img.nii.gz` : `${dir}/imagesTr/${id}.nii.gz`;
    const label = layout === "authors" ? `${dir}/${id}/${id}_mask.nii.gz` : `${dir}/labelsTr/${id}.nii.gz`;
    if (layout === "authors") await Deno.mkdir(`${dir}/${id}`, { recursive: true });
    const p = makePhantom({ task, size: options.size, seed: seeds[s] });
    const description = `@lorapt/core phantom ${task} seed ${seeds[s]}`;
    await writeNifti(image, p.image, { description });
    await writeNifti(label, p.label, { description });
    subjects.push({ id, image, label });
  }
  if (layout === "msd") {
    const json = {
      name: `Phantom${task[0].toUpperCase()}${task.slice(1)}`,
      description: `Synthetic T1-like brain phantoms (${task}) from @lorapt/core`,
      reference: "@lorapt/core data/phantoms.ts",
      licence: "CC0-1.0",
      release: "1.0",
      tensorImageSize: "3D",
      modality: { "0": "T1" },
      labels: { "0": "background", "1": task },
      numTraining: n,
      numTest: 0,
      training: subjects.map(({ id }) => ({
        image: `./imagesTr/${id}.nii.gz`,
        label: `./labelsTr/${id}.nii.gz`,
      })),
      test: [],
    };
    await Deno.writeTextFile(`${dir}/dataset.json`, JSON.stringify(json, null, 2) + "\n");
    return { root: dir, layout, subjects };
  }
  const nTrain = options.nTrain ?? Math.max(1, Math.min(5, n - 1));
  const nValid = options.nValid ?? (n - nTrain >= 2 ? 1 : 0);
  if (nTrain < 1 || nValid < 0 || nTrain + nValid > n) {
    throw new RangeError(
      `makePhantomDataset: nTrain ${nTrain} + nValid ${nValid} does not fit n = ${n}`,
    );
  }
  const order = rng.shuffle(subjects.map((s) => s.id));
  const byNumber = (a: string, b: string) => Number(a.slice(3)) - Number(b.slice(3));
  const split = {
    train: order.slice(0, nTrain).sort(byNumber),
    valid: order.slice(nTrain, nTrain + nValid).sort(byNumber),
    test: order.slice(nTrain + nValid).sort(byNumber),
  };
  for (const [name, ids] of Object.entries(split)) {
    await Deno.writeTextFile(`${dir}/${name}.txt`, ids.map((id) => id + "\n").join(""));
  }
  return { root: dir, layout, subjects, split };
}

/**
 * `lorapt data real-brain`: builds the real-brain data set on demand from
 * the Colin27 and AICHA templates of Debian's `mricron-data` package
 * (`data/real_brain.ts` does the work; this only turns flags into options
 * and prints progress).
 * @module
 */
import {
  makeRealBrainDataset,
  MissingTemplateError,
  MNI152_1MM,
  MRICRON_TEMPLATES,
  type RealBrainDataset,
  type Shape3,
} from "../data/mod.ts";
import { choice, type CommandSpec, flag, type FlagValues, need, num, UsageError } from "./args.ts";

/** The data sets `lorapt data` builds. */
export const DATA_SETS = ["real-brain"] as const;

/** `lorapt data`. */
export const DATA: CommandSpec = {
  name: "data",
  summary: "build a data set on demand: real-brain (deformed Colin27 T1 with AICHA hippocampus labels)",
  description: "lorapt data real-brain --out DIR [-n N] [--seed S] [--task hippocampus|tumour]. Needs Debian's\n" +
    "mricron-data (apt-get install mricron-data). Writes the authors' layout in DIR (subN/, train.txt,\n" +
    "test.txt) and the MSD layout in DIR/msd, plus DIR/real_brain.json; the same seed rebuilds the same set.",
  flags: {
    dataset: { type: "string", value: "NAME", help: `${DATA_SETS.join(" | ")} (or the first argument)` },
    out: { type: "string", value: "DIR", help: "output folder" },
    subjects: { type: "string", value: "N", short: "n", help: "number of subjects (-n N)", default: "13" },
    seed: { type: "string", value: "S", help: "seed of the deformations, intensities and noise", default: "0" },
    task: {
      type: "string",
      value: "NAME",
      help: "hippocampus (AICHA labels 159+160) | tumour (synthetic lesions, whole-tumour label, for pretrain)",
      default: "hippocampus",
    },
    "voxel-size": {
      type: "string",
      value: "MM",
      help: "output voxel size over the MNI152 field of view (1: the 182×218×182 grid of the paper)",
      default: "1",
    },
    templates: {
      type: "string",
      value: "DIR",
      help: "folder of ch2.nii.gz, ch2bet.nii.gz, AICHAmc.nii.gz",
      default: MRICRON_TEMPLATES,
    },
    quiet: { type: "boolean", help: "no progress lines" },
  },
};

/** The MNI152 field of view (182×218×182 mm, LAS) at `mm` voxels. */
function mniGrid(mm: number): { shape: Shape3; affine: number[][] } {
  if (mm === 1) return { shape: [...MNI152_1MM.shape], affine: MNI152_1MM.affine.map((r) => [...r]) };
  const shape = MNI152_1MM.shape.map((n) => Math.max(1, Math.round(n / mm))) as Shape3;
  // Same first voxel centre, coarser steps.
  return { shape, affine: [[-mm, 0, 0, 90], [0, mm, 0, -126], [0, 0, mm, -72], [0, 0, 0, 1]] };
}

/** Runs `lorapt data` with parsed flags. */
export async function runData(v: FlagValues): Promise<RealBrainDataset> {
  const name = v.dataset;
  if (typeof name !== "string") {
    throw new UsageError(`missing the data set: lorapt data ${DATA_SETS.join("|")} --out DIR`);
  }
  if (!(DATA_SETS as readonly string[]).includes(name)) {
    throw new UsageError(`unknown data set "${name}" (one of ${DATA_SETS.join(", ")})`);
  }
  const out = need(v, "out").replace(/\/+$/, "");
  const n = num(v, "subjects", { min: 1, integer: true });
  const seed = num(v, "seed", { integer: true });
  const task = choice(v, "task", ["hippocampus", "tumour"] as const);
  const mm = num(v, "voxel-size", { min: 0.5, max: 8 });
  const quiet = flag(v, "quiet");
  const grid = mniGrid(mm);
  if (!quiet) console.error(`data real-brain: ${n} ${task} subjects on a ${grid.shape.join("×")} grid → ${out}`);
  try {
    const r = await makeRealBrainDataset({
      out,
      n,
      seed,
      task,
      grid,
      templateDir: need(v, "templates"),
      onProgress: quiet ? undefined : (p) => console.error(`  ${p.id} (${p.done}/${p.n}) ${p.seconds.toFixed(1)} s`),
    });
    if (!quiet) {
      console.error(`data real-brain: authors' layout ${r.root} (lorapt finetune --data ${r.root}), MSD ${r.msd}`);
    }
    return r;
  } catch (e) {
    if (e instanceof MissingTemplateError) throw new UsageError(e.message);
    throw e;
  }
}

/**
 * Synthetic T1-like brain phantoms: the embedded default data for demos and
 * tests, standing in for the MNI-registered 182×218×182 1 mm volumes of
 * the paper's §4.1.2.
 *
 * Anatomy is defined in the coordinates of the 182×218×182 template (voxel
 * units = mm) and rasterised at any grid size, so a 64³ phantom is the same
 * brain, shrunk. A phantom has a skull-stripped brain (background exactly 0),
 * cortex, white matter, ventricles, deep grey nuclei, a hippocampal complex on
 * each side and a smooth multiplicative bias field with Rician noise. The
 * hippocampus is embedded in grey matter of nearly the same intensity (the
 * amygdala in front, parahippocampal cortex around), so finding it takes shape
 * and position, not a threshold.
 * @module
 */
import { Rng } from "../tensor/random.ts";
import { makeVolume, type Shape3, type Volume } from "./volume.ts";

/** The two phantom tasks: target (hippocampus) and pre-training (tumour). */
export type PhantomTask = "hippocampus" | "tumour";

/** Options of {@link makePhantom}. */
export interface PhantomOptions {
  /** Which structure the label marks. */
  task: PhantomTask;
  /** Grid size; a number means a cube. Default 182×218×182. */
  size?: Shape3 | number;
  /** Seed of every random choice. Default 0. */
  seed?: number;
}

/** A phantom subject, see {@link makePhantom}. */
export interface Phantom {
  /** T1-like float32 image, background exactly 0. */
  image: Volume<Float32Array>;
  /** Binary uint8 label map (1 = hippocampus or tumour). */
  label: Volume<Uint8Array>;
  /**
   * Labelled structures (left/right hippocampus or tumour blobs) with their
   * volumes in template mm³: voxel count × template voxels per grid voxel,
   * i.e. the volume the structure has at the default size.
   */
  structures: { name: string; templateMm3: number }[];
}

/** The default grid: MNI152 1 mm (paper §4.1.2). */
export const TEMPLATE_SHAPE: Shape3 = [182, 218, 182];

// Tissue classes, and their mean intensity relative to white matter.
const BG = 0, CSF = 1, GM = 2, DGM = 3, WM = 4, HIPPO = 5, CORE = 6, RIM = 7, EDEMA = 8;
const MEAN = [0, 0.22, 0.62, 0.72, 1, 0.64, 0.25, 1.3, 0.5];

/** A grid whose voxel centres map to template coordinates. */
class Frame {
  readonly scale: number[];
  constructor(readonly size: Shape3) {
    this.scale = size.map((s, i) => TEMPLATE_SHAPE[i] / s);
  }
  /** Template coordinate of grid index `i` along `axis`. */
  at(axis: number, i: number): number {
    return (i + 0.5) * this.scale[axis] - 0.5;
  }
  /** Calls `fn` for each grid voxel whose centre lies in a template box. */
  forBox(
    lo: number[],
    hi: number[],
    fn: (index: number, x: number, y: number, z: number) => void,
  ): void {
    const [nx, ny, nz] = this.size;
    const range = (a: number, n: number) => [
      Math.max(0, Math.ceil((lo[a] + 0.5) / this.scale[a] - 0.5)),
      Math.min(n - 1, Math.floor((hi[a] + 0.5) / this.scale[a] - 0.5)),
    ];
    const [x0, x1] = range(0, nx), [y0, y1] = range(1, ny);
    const [z0, z1] = range(2, nz);
    for (let k = z0; k <= z1; k++) {
      for (let j = y0; j <= y1; j++) {
        for (let i = x0; i <= x1; i++) {
          fn(i + nx * (j + ny * k), this.at(0, i), this.at(1, j), this.at(2, k));
        }
      }
    }
  }
  /** Template mm³ per grid voxel. */
  get voxelMm3(): number {
    return this.scale[0] * this.scale[1] * this.scale[2];
  }
}

/** A tube: union of axis-aligned ellipsoids centred on curve samples. */
interface Tube {
  pts: number[][];
  radii: number[][];
}

function tubeBox(t: Tube, grow: number): [number[], number[]] {
  const lo = [Infinity, Infinity, Infinity], hi = [-Infinity, -Infinity, -Infinity];
  t.pts.forEach((p, s) => {
    for (let a = 0; a < 3; a++) {
      lo[a] = Math.min(lo[a], p[a] - t.radii[s][a] - grow);
      hi[a] = Math.max(hi[a], p[a] + t.radii[s][a] + grow);
    }
  });
  return [lo, hi];
}

function inTube(t: Tube, x: number, y: number, z: number, grow: number): boolean {
  for (let s = 0; s < t.pts.length; s++) {
    const p = t.pts[s], r = t.radii[s];
    const dx = (x - p[0]) / (r[0] + grow), dy = (y - p[1]) / (r[1] + grow);
    const dz = (z - p[2]) / (r[2] + grow);
    if (dx * dx + dy * dy + dz * dz <= 1) return true;
  }
  return false;
}

/** Paints `cls` over brain voxels (class ≠ BG) of a tube; returns the count. */
function paintTube(
  f: Frame,
  cls: Uint8Array,
  t: Tube,
  value: number,
  grow = 0,
): number {
  const [lo, hi] = tubeBox(t, grow);
  let n = 0;
  f.forBox(lo, hi, (i, x, y, z) => {
    if (cls[i] !== BG && inTube(t, x, y, z, grow)) {
      cls[i] = value;
      n++;
    }
  });
  return n;
}

/**
 * One hippocampus: a curved, tapering tube from an anterior head to a tail
 * that rises and bends medially (template mm; MNI centre ≈ (±26, −22, −14)).
 * `side` is the direction of its hemisphere along x.
 */
function hippocampusShape(rng: Rng, head: number[], side: number) {
  const length = rng.uniformIn(34, 42), bend = rng.uniformIn(4, 9);
  const rise = rng.uniformIn(9, 16), yaw = rng.uniformIn(-0.15, 0.15);
  const flat = rng.uniformIn(0.55, 0.7);
  const waves = [0, 1].map(() => [rng.uniformIn(1, 3), rng.uniformIn(0, 6.3)]);
  return (r0: number): Tube => {
    const pts: number[][] = [], radii: number[][] = [];
    const m = 48;
    for (let s = 0; s <= m; s++) {
      const t = s / m;
      const dx = -side * bend * t * t, dy = -length * t;
      const wobble = 1 +
        waves.reduce((acc, [fr, ph]) => acc + 0.06 * Math.sin(6.283 * fr * t + ph), 0);
      const r = r0 * (1.25 - 0.7 * t) * wobble;
      pts.push([
        head[0] + dx * Math.cos(yaw) - dy * Math.sin(yaw),
        head[1] + dx * Math.sin(yaw) + dy * Math.cos(yaw),
        head[2] + rise * t * t,
      ]);
      radii.push([r, r, r * flat]);
    }
    return { pts, radii };
  };
}

/**
 * Makes one phantom subject. Deterministic by `seed`. The hippocampus task
 * labels two hippocampi of 3.0–4.5 cm³ each (at the default size); the
 * tumour task labels 1–3 irregular blobs (T1ce-like: dark core, bright rim,
 * hypo-intense edge), merged into one label as in the paper's §4.3. Anatomy scales
 * with the grid, so below about 32³ a hippocampus is only a few voxels.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makePhantom } from "./phantoms.ts";
 * const { image, label } = makePhantom({ task: "hippocampus", size: 24, seed: 1 });
 * assert.deepEqual(image.shape, [24, 24, 24]);
 * assert.equal(label.datatype, "uint8");
 * ```
 */
export function makePhantom(options: PhantomOptions): Phantom {
  const size: Shape3 = typeof options.size === "number"
    ? [options.size, options.size, options.size]
    : options.size ?? TEMPLATE_SHAPE;
  if (!size.every((s) => Number.isInteger(s) && s >= 8)) {
    throw new RangeError(`makePhantom: size [${size}] must be integers >= 8`);
  }
  if (options.task !== "hippocampus" && options.task !== "tumour") {
    throw new RangeError(`makePhantom: unknown task "${options.task}"`);
  }
  const rng = new Rng(options.seed ?? 0);
  const f = new Frame(size);
  const n = size[0] * size[1] * size[2];
  const cls = new Uint8Array(n);
  const label = new Uint8Array(n);
  const centre = [91, 106, 84].map((c) => c + rng.uniformIn(-3, 3));
  const brainR = [68, 86, 62].map((r) => r * rng.uniformIn(0.93, 1.05));
  const shapeCoef = Array.from({ length: 6 }, () => rng.uniformIn(-0.04, 0.04));
  const phase = Array.from({ length: 5 }, () => rng.uniformIn(0, 6.283));
  const ellipsoids: [number[], number[], number][] = [];
  for (const side of [-1, 1]) {
    const j = () => rng.uniformIn(-1.5, 1.5);
    ellipsoids.push([[9 * side + j(), 2 + j(), 12 + j()], [5, 22, 8], CSF]);
    ellipsoids.push([[12 * side + j(), -8 + j(), 2 + j()], [9, 13, 9], DGM]);
    ellipsoids.push([[24 * side + j(), 10 + j(), 4 + j()], [6, 15, 10], DGM]);
  }

  // Tissue by position: brain shape, cortex with folds, white matter, nuclei.
  f.forBox([-1, -1, -1], TEMPLATE_SHAPE, (i, x, y, z) => {
    const dx = (x - centre[0]) / brainR[0], dy = (y - centre[1]) / brainR[1];
    const dz = (z - centre[2]) / brainR[2] / (z < centre[2] ? 0.85 : 1);
    const rho0 = Math.sqrt(dx * dx + dy * dy + dz * dz);
    const ux = dx / (rho0 || 1), uy = dy / (rho0 || 1), uz = dz / (rho0 || 1);
    const c = shapeCoef;
    const rho = rho0 / (1 + c[0] * ux * uy + c[1] * uy * uz + c[2] * ux * uz +
      c[3] * uz * uz + c[4] * uy + c[5] * uz - 0.08 * Math.max(0, uy) * ux * ux);
    if (rho > 1) return;
    const fold = Math.sin(0.21 * x + phase[0]) * Math.sin(0.19 * y + phase[1]) *
      Math.sin(0.23 * z + phase[2]);
    const sulcus = Math.sin(0.33 * x + phase[3]) * Math.sin(0.29 * z + phase[4]);
    let t = WM;
    if (rho > 0.965 || (rho > 0.88 && sulcus > 0.8)) t = CSF;
    else if (rho > 0.8 + 0.06 * fold) t = GM;
    else {
      for (const [e, r, value] of ellipsoids) {
        const ex = (x - centre[0] - e[0]) / r[0], ey = (y - centre[1] - e[1]) / r[1];
        const ez = (z - centre[2] - e[2]) / r[2];
        if (ex * ex + ey * ey + ez * ez <= 1) t = value;
      }
    }
    cls[i] = t;
  });

  // Hippocampal complex: grey-matter sheath and amygdala, temporal horn, then
  // the hippocampus, its radius calibrated to a target volume.
  const structures: { name: string; templateMm3: number }[] = [];
  for (const side of [1, -1]) {
    const head = [
      centre[0] + side * rng.uniformIn(24, 30),
      centre[1] + rng.uniformIn(9, 15),
      centre[2] + rng.uniformIn(-31, -25),
    ];
    const build = hippocampusShape(rng, head, side);
    // Calibration lands within ~0.5% of the target; the margin keeps 3.0–4.5 cm³.
    const target = rng.uniformIn(3050, 4450);
    let r0 = 7.5, tube = build(r0);
    for (let it = 0; it < 4; it++) {
      let count = 0;
      const [lo, hi] = tubeBox(tube, 0);
      f.forBox(lo, hi, (_, x, y, z) => {
        if (inTube(tube, x, y, z, 0)) count++;
      });
      // Clamped: on coarse grids a few voxels more or less is a big ratio.
      r0 = Math.min(11, Math.max(4, r0 * Math.sqrt(target / Math.max(1, count * f.voxelMm3))));
      tube = build(r0);
    }
    paintTube(f, cls, tube, GM, 3.5);
    const amygdala: Tube = {
      pts: [[head[0], head[1] + 9, head[2] + 5]],
      radii: [[8, 7, 6.5]],
    };
    paintTube(f, cls, amygdala, GM);
    const horn: Tube = {
      pts: tube.pts.slice(6, 42).map((p, s) => [
        p[0] + side * 0.4 * tube.radii[s + 6][0],
        p[1],
        p[2] + tube.radii[s + 6][2] + 1.8,
      ]),
      radii: tube.pts.slice(6, 42).map(() => [1.6, 1.6, 1.2]),
    };
    paintTube(f, cls, horn, CSF);
    const voxels = paintTube(f, cls, tube, HIPPO);
    if (options.task === "hippocampus") {
      const name = side > 0 ? "hippocampus (+x)" : "hippocampus (−x)";
      structures.push({ name, templateMm3: voxels * f.voxelMm3 });
    }
  }
  if (options.task === "hippocampus") {
    for (let i = 0; i < n; i++) label[i] = cls[i] === HIPPO ? 1 : 0;
  } else {
    addTumours(rng, f, cls, label, centre, brainR, structures);
  }
  const image = renderIntensities(rng, f, cls, centre, brainR);
  const origin = [90 / 182, 126 / 218, 72 / 182].map((r, a) => Math.round(r * size[a]));
  const affine = [
    [-1, 0, 0, origin[0]],
    [0, 1, 0, -origin[1]],
    [0, 0, 1, -origin[2]],
    [0, 0, 0, 1],
  ];
  return {
    image: makeVolume(image, size, { affine }),
    label: makeVolume(label, size, { affine }),
    structures,
  };
}

/** 1–3 lobulated blobs: core, enhancing rim and edematous edge, all label 1. */
function addTumours(
  rng: Rng,
  f: Frame,
  cls: Uint8Array,
  label: Uint8Array,
  centre: number[],
  brainR: number[],
  structures: { name: string; templateMm3: number }[],
): void {
  const count = rng.int(1, 3);
  for (let b = 0; b < count; b++) {
    const radius = rng.uniformIn(8, 22);
    const c = brainR.map((r, a) => centre[a] + rng.uniformIn(-0.45, 0.45) * r);
    const lobes = Array.from({ length: 5 }, () => {
      const v = [rng.normal(), rng.normal(), rng.normal()];
      const len = Math.hypot(v[0], v[1], v[2]) || 1;
      return [v[0] / len, v[1] / len, v[2] / len, rng.uniformIn(0.2, 0.6)];
    });
    const reach = radius * (0.8 + lobes.reduce((s, l) => s + l[3], 0));
    let voxels = 0;
    f.forBox(c.map((v) => v - reach), c.map((v) => v + reach), (i, x, y, z) => {
      if (cls[i] === BG) return;
      const d = [x - c[0], y - c[1], z - c[2]];
      const dist = Math.hypot(d[0], d[1], d[2]);
      const u = d.map((v) => v / (dist || 1));
      // Radius per direction: a sphere with cubic lobes toward random axes.
      const r = radius * lobes.reduce(
        (s, l) => s + l[3] * Math.max(0, u[0] * l[0] + u[1] * l[1] + u[2] * l[2]) ** 3,
        0.8,
      );
      const q = dist / r;
      if (q > 1) return;
      if (!label[i]) voxels++;
      label[i] = 1;
      cls[i] = q < 0.4 ? CORE : q < 0.75 ? RIM : EDEMA;
    });
    structures.push({ name: `tumour ${b + 1}`, templateMm3: voxels * f.voxelMm3 });
  }
}

/** Class means × smooth bias field × gain, with Rician noise; 0 outside. */
function renderIntensities(
  rng: Rng,
  f: Frame,
  cls: Uint8Array,
  centre: number[],
  brainR: number[],
): Float32Array {
  const gain = 100 * rng.uniformIn(0.85, 1.15);
  const sigma = 0.035;
  const beta = Array.from({ length: 9 }, () => rng.uniformIn(-0.08, 0.08));
  const contrast = MEAN.map((m) => m * rng.uniformIn(0.97, 1.03));
  const out = new Float32Array(cls.length);
  f.forBox([-1, -1, -1], TEMPLATE_SHAPE, (i, x, y, z) => {
    const t = cls[i];
    if (t === BG) return;
    const u = (x - centre[0]) / brainR[0], v = (y - centre[1]) / brainR[1];
    const w = (z - centre[2]) / brainR[2];
    const bias = Math.exp(
      beta[0] * u + beta[1] * v + beta[2] * w + beta[3] * u * v +
        beta[4] * u * w + beta[5] * v * w + beta[6] * u * u +
        beta[7] * v * v + beta[8] * w * w,
    );
    // Box–Muller pair for the real and imaginary noise channels.
    const r = Math.sqrt(-2 * Math.log(1 - rng.uniform()));
    const th = 2 * Math.PI * rng.uniform();
    const re = contrast[t] * bias + sigma * r * Math.cos(th);
    const im = sigma * r * Math.sin(th);
    out[i] = Math.max(1e-6, gain * Math.sqrt(re * re + im * im));
  });
  return out;
}

/**
 * 3-D surface renderings of truth and prediction: the library's own surface
 * extraction ({@link marchingCubes} then Taubin smoothing), an orthographic
 * z-buffer rasteriser with Gouraud-interpolated Lambert shading, and a
 * composite in which the visible surface of truth ∪ prediction is coloured
 * like the slices: {@link OVERLAY_COLOURS} `overlap` where both surfaces
 * coincide (depths within `tolerance`), `falsePositive` where the prediction
 * lies in front of the truth (it sticks out), `falseNegative` where the truth
 * lies in front.
 *
 * Orientation: voxel axes are flipped to world signs as for the slices, so
 * for RAS+ data x = right, y = anterior, z = superior. A view's camera sits
 * at azimuth `a` (degrees about the superior axis, 0 = in front of the face,
 * 90 = at the subject's right) and elevation `e` (90 = above; straight above
 * or below, screen up is the azimuth's direction, anterior at 0, so the
 * superior view matches the axial slice: anterior up, the subject's right on
 * the right).
 * @module
 */
import type { Volume } from "../data/volume.ts";
import { segmentationMetrics } from "../data/metrics.ts";
import { drawText, hconcat, type Rgb } from "./draw.ts";
import { OVERLAY_COLOURS, STRIP_TEXT, withTitle } from "./legend.ts";
import { marchingCubes, type Mesh, smoothMesh } from "./marching_cubes.ts";
import { createRaster, type Raster } from "./png.ts";

/** A camera direction (degrees), see the module notes. */
export interface View {
  /** Degrees about the superior axis; 0 = anterior, 90 = the subject's right. */
  azimuth: number;
  /** Degrees above the axial plane; 90 = superior. */
  elevation: number;
  /** Caption drawn in the panel's corner. */
  label?: string;
}

/** The default views: from above, and obliquely from the front left. */
export const DEFAULT_VIEWS: readonly View[] = [
  { azimuth: 0, elevation: 90, label: "superior" },
  { azimuth: -45, elevation: 25, label: "anterior-left" },
];

/** Options of {@link renderSurfaces}. */
export interface SurfaceRenderOptions {
  /** Panel width and height in pixels, per view (default 360). */
  size?: number;
  /** Camera directions, one panel each (default {@link DEFAULT_VIEWS}). */
  views?: readonly View[];
  /** Depth difference (mm) under which the two surfaces count as one (default 0.5). */
  tolerance?: number;
  /** Panel background (default near-black). */
  background?: Rgb;
}

type Vec = [number, number, number];
const dot = (a: Vec, b: Vec) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const cross = (
  a: Vec,
  b: Vec,
): Vec => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const unit = (a: Vec): Vec => {
  const n = Math.hypot(...a) || 1;
  return [a[0] / n, a[1] / n, a[2] / n];
};

/** Camera basis: `right`, `up` on screen and `toward` the camera. */
function camera(view: View): { right: Vec; up: Vec; toward: Vec } {
  const a = (view.azimuth * Math.PI) / 180, e = (view.elevation * Math.PI) / 180;
  const toward: Vec = [Math.cos(e) * Math.sin(a), Math.cos(e) * Math.cos(a), Math.sin(e)];
  // Straight above (or below), screen up is the direction the azimuth faces: anterior at azimuth 0.
  const worldUp: Vec = Math.abs(Math.sin(e)) > 0.999 ? [Math.sin(a), Math.cos(a), 0] : [0, 0, 1];
  const forward: Vec = [-toward[0], -toward[1], -toward[2]];
  const right = unit(cross(forward, worldUp));
  return { right, up: cross(right, forward), toward };
}

/** Area-weighted unit normals per vertex. */
export function vertexNormals(mesh: Mesh): Float32Array {
  const p = mesh.positions, t = mesh.triangles, n = new Float32Array(p.length);
  for (let f = 0; f < t.length; f += 3) {
    const [a, b, c] = [3 * t[f], 3 * t[f + 1], 3 * t[f + 2]];
    const fn = cross(
      [p[b] - p[a], p[b + 1] - p[a + 1], p[b + 2] - p[a + 2]],
      [p[c] - p[a], p[c + 1] - p[a + 1], p[c + 2] - p[a + 2]],
    );
    for (const v of [a, b, c]) for (let k = 0; k < 3; k++) n[v + k] += fn[k];
  }
  for (let v = 0; v < n.length; v += 3) {
    const l = Math.hypot(n[v], n[v + 1], n[v + 2]) || 1;
    n[v] /= l, n[v + 1] /= l, n[v + 2] /= l;
  }
  return n;
}

/** Depth (larger = nearer) and shade per pixel of one mesh. */
interface Layer {
  depth: Float32Array;
  shade: Float32Array;
}

function rasterise(mesh: Mesh, view: ReturnType<typeof camera>, fit: (s: Vec) => Vec, w: number, h: number): Layer {
  const depth = new Float32Array(w * h).fill(-Infinity), shade = new Float32Array(w * h);
  const p = mesh.positions, t = mesh.triangles, normals = vertexNormals(mesh);
  const light = unit([
    view.toward[0] - 0.4 * view.right[0] + 0.5 * view.up[0],
    view.toward[1] - 0.4 * view.right[1] +
    0.5 * view.up[1],
    view.toward[2] - 0.4 * view.right[2] + 0.5 * view.up[2],
  ]);
  const nv = p.length / 3, screen = new Float32Array(3 * nv), lum = new Float32Array(nv);
  for (let v = 0; v < nv; v++) {
    const q: Vec = [p[3 * v], p[3 * v + 1], p[3 * v + 2]];
    const s = fit([dot(q, view.right), dot(q, view.up), dot(q, view.toward)]);
    screen.set(s, 3 * v);
    const nrm: Vec = [normals[3 * v], normals[3 * v + 1], normals[3 * v + 2]];
    lum[v] = 0.22 + 0.78 * Math.max(0, dot(nrm, light));
  }
  for (let f = 0; f < t.length; f += 3) {
    const [a, b, c] = [t[f], t[f + 1], t[f + 2]];
    const ax = screen[3 * a], ay = screen[3 * a + 1], bx = screen[3 * b], by = screen[3 * b + 1];
    const cx = screen[3 * c], cy = screen[3 * c + 1];
    // Screen y grows downwards, so a front face (counter-clockwise seen from outside) has negative area here.
    const area = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
    if (area >= 0) continue;
    const x0 = Math.max(0, Math.floor(Math.min(ax, bx, cx))), x1 = Math.min(w - 1, Math.ceil(Math.max(ax, bx, cx)));
    const y0 = Math.max(0, Math.floor(Math.min(ay, by, cy))), y1 = Math.min(h - 1, Math.ceil(Math.max(ay, by, cy)));
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const sx = x + 0.5, sy = y + 0.5;
        const wa = ((bx - sx) * (cy - sy) - (by - sy) * (cx - sx)) / area;
        const wb = ((cx - sx) * (ay - sy) - (cy - sy) * (ax - sx)) / area;
        const wc = 1 - wa - wb;
        if (wa < 0 || wb < 0 || wc < 0) continue;
        const z = wa * screen[3 * a + 2] + wb * screen[3 * b + 2] + wc * screen[3 * c + 2];
        const i = y * w + x;
        if (z > depth[i]) depth[i] = z, shade[i] = wa * lum[a] + wb * lum[b] + wc * lum[c];
      }
    }
  }
  return { depth, shade };
}

/** Scales the meshes' projected bounds into a `size`² panel with a margin (same scale for both). */
function fitter(meshes: Mesh[], view: ReturnType<typeof camera>, size: number): (s: Vec) => Vec {
  const lo = [Infinity, Infinity], hi = [-Infinity, -Infinity];
  for (const m of meshes) {
    for (let v = 0; v < m.positions.length; v += 3) {
      const q: Vec = [m.positions[v], m.positions[v + 1], m.positions[v + 2]];
      const s = [dot(q, view.right), dot(q, view.up)];
      for (let k = 0; k < 2; k++) lo[k] = Math.min(lo[k], s[k]), hi[k] = Math.max(hi[k], s[k]);
    }
  }
  if (!Number.isFinite(lo[0])) return (s) => s;
  const margin = 0.08 * size;
  const scale = (size - 2 * margin) / Math.max(hi[0] - lo[0], hi[1] - lo[1], 1e-6);
  const mx = (lo[0] + hi[0]) / 2, my = (lo[1] + hi[1]) / 2;
  return (s) => [size / 2 + (s[0] - mx) * scale, size / 2 - (s[1] - my) * scale, s[2]];
}

/**
 * Renders truth and prediction surfaces into one panel per view, coloured by
 * agreement as in the module notes. Mesh coordinates are taken as world
 * directions (x right, y anterior, z superior).
 */
export function renderSurfaces(truth: Mesh, prediction: Mesh, options: SurfaceRenderOptions = {}): Raster {
  const size = options.size ?? 360, tol = options.tolerance ?? 0.5;
  const background = options.background ?? [12, 12, 16];
  const panels = (options.views ?? DEFAULT_VIEWS).map((view) => {
    const cam = camera(view), fit = fitter([truth, prediction], cam, size);
    const lt = rasterise(truth, cam, fit, size, size), lp = rasterise(prediction, cam, fit, size, size);
    const out = createRaster(size, size, background);
    for (let i = 0; i < size * size; i++) {
      const zt = lt.depth[i], zp = lp.depth[i];
      if (zt === -Infinity && zp === -Infinity) continue;
      let colour: Rgb, s: number;
      if (Math.abs(zt - zp) <= tol) colour = OVERLAY_COLOURS.overlap, s = Math.max(lt.shade[i], lp.shade[i]);
      else if (zp > zt) colour = OVERLAY_COLOURS.falsePositive, s = lp.shade[i];
      else colour = OVERLAY_COLOURS.falseNegative, s = lt.shade[i];
      for (let c = 0; c < 3; c++) out.data[3 * i + c] = Math.round(Math.min(255, colour[c] * s));
    }
    if (view.label) drawText(out, 4, 4, view.label, STRIP_TEXT, 1);
    return out;
  });
  return hconcat(panels, 4);
}

/** Options of {@link renderSurfaceFigure}. */
export interface SurfaceFigureOptions extends SurfaceRenderOptions {
  /** Taubin smoothing iterations before rendering (default 10; 0 = raw voxel surface). */
  smooth?: number;
  /** First line of the title strip. */
  title?: string;
  /** Dice and HD95 to print; default computed with `segmentationMetrics`. */
  metrics?: { dice: number; hd95: number };
}

/** A mask's surface in world directions: positions multiplied by each voxel axis's sign in the affine. */
export function maskSurface(mask: Volume, smooth = 10): Mesh {
  const mesh = marchingCubes(mask.data, mask.shape, mask.spacing);
  const signs = [0, 1, 2].map((a) => {
    const col = [mask.affine[0][a], mask.affine[1][a], mask.affine[2][a]];
    const d = col.reduce((best, v, i) => (Math.abs(v) > Math.abs(col[best]) ? i : best), 0);
    return col[d] < 0 ? -1 : 1;
  });
  const p = mesh.positions;
  for (let v = 0; v < p.length; v++) p[v] *= signs[v % 3];
  // A mirror (odd number of flips) turns the winding inside out; restore outward winding.
  if (signs[0] * signs[1] * signs[2] < 0) {
    const t = mesh.triangles;
    for (let f = 0; f < t.length; f += 3) [t[f + 1], t[f + 2]] = [t[f + 2], t[f + 1]];
  }
  return smooth > 0 ? smoothMesh(mesh, smooth) : mesh;
}

/**
 * The 3-D figure of one case: surfaces of truth and prediction rendered from
 * each view, under a title strip with the Dice, HD95 and colour legend.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeVolume } from "../data/volume.ts";
 * import { renderSurfaceFigure } from "./surface_render.ts";
 * const truth = makeVolume(new Uint8Array(8 * 8 * 8), [8, 8, 8]);
 * for (let k = 2; k < 6; k++) for (let j = 2; j < 6; j++) for (let i = 2; i < 6; i++) truth.data[i + 8 * (j + 8 * k)] = 1;
 * const figure = renderSurfaceFigure(truth, truth, { size: 64, views: [{ azimuth: 30, elevation: 30 }] });
 * assert.equal(figure.width >= 64, true);
 * ```
 */
export function renderSurfaceFigure(truth: Volume, prediction: Volume, options: SurfaceFigureOptions = {}): Raster {
  if (truth.shape.some((n, i) => n !== prediction.shape[i])) {
    throw new RangeError(
      `renderSurfaceFigure: prediction shape [${prediction.shape}] differs from truth [${truth.shape}]`,
    );
  }
  const smooth = options.smooth ?? 10;
  const panel = renderSurfaces(maskSurface(truth, smooth), maskSurface(prediction, smooth), options);
  const m = options.metrics ?? segmentationMetrics(prediction.data, truth.data, truth.shape, truth.spacing);
  return withTitle(panel, { title: options.title ? `${options.title} · 3-D` : "3-D", dice: m.dice, hd95: m.hd95 })
    .raster;
}

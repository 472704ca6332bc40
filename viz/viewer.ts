/**
 * A self-contained HTML viewer: NiiVue (`npm:@niivue/niivue`, the standard
 * WebGL2 NIfTI viewer) showing the MRI with the truth and the prediction as
 * overlays, in one file that works from a local folder with no network.
 *
 * How it stays self-contained: NiiVue's package ships its whole ES-module
 * bundle, dependencies included, as a URL-encoded string (`esm` of the
 * package's `./min` export, meant for embedding). The page carries that
 * string in a script, turns it into a Blob URL and `import()`s it. The NIfTI
 * files are embedded as base64 (gzip-compressed first when they are not), so
 * the page needs no `fetch` (which `file://` pages may not use) and can be
 * mailed or archived as one file; the price is size: about 4/3 of the
 * compressed volumes plus 2.5 MB of NiiVue.
 *
 * The page sets `document.body.dataset.status` to `"ready"` once the volumes
 * are drawn (or `"error"`, with the message logged by `console.error`), which
 * is what automated checks wait for.
 * @module
 */
import { gzip, readNifti } from "../data/nifti.ts";
import { structureCentre } from "./slices.ts";

/** The NiiVue version embedded in viewer pages. */
export const NIIVUE_VERSION = "0.69.0";

/** NiiVue's bundled ES module source, URL-encoded as shipped. */
async function niivueEncoded(): Promise<string> {
  // Pinned in deno.json; loaded lazily, only when a page is written.
  const mod = await import("@niivue/niivue/min");
  return (mod as { esm: string }).esm;
}

/** The NIfTI files of a viewer page, as file bytes (`.nii` or `.nii.gz`). */
export interface ViewerVolumes {
  /** The MRI. */
  image: Uint8Array;
  /** Ground-truth label map (drawn blue). */
  truth?: Uint8Array;
  /** Predicted label map (drawn red). */
  prediction?: Uint8Array;
}

/** Options of {@link viewerHtml} and {@link writeViewer}. */
export interface ViewerOptions {
  /** Page title (default "lorapt viewer"). */
  title?: string;
  /** Voxel `[i, j, k]` where the crosshair starts (default: the volume's centre). */
  centre?: [number, number, number];
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

function base64(bytes: Uint8Array): string {
  const parts: string[] = [];
  for (let i = 0; i < bytes.length; i += 0x8000) {
    parts.push(String.fromCharCode(...bytes.subarray(i, i + 0x8000)));
  }
  return btoa(parts.join(""));
}

const isGzip = (b: Uint8Array) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

// The page's own script; NIIVUE (URL-encoded module source) and CENTRE are defined before it.
const PAGE_SCRIPT = `
const status = (s) => (document.body.dataset.status = s);
try {
  const url = URL.createObjectURL(new Blob([decodeURIComponent(NIIVUE)], { type: "text/javascript" }));
  const { Niivue, SLICE_TYPE } = await import(url);
  const bytes = (id) => {
    const text = atob(document.getElementById(id).textContent.trim());
    const out = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
    return out.buffer;
  };
  // loadVolumes takes the bytes as \`url\` (an ArrayBuffer) with the format from \`name\`.
  const layers = [{ id: "vol-image", name: "image.nii.gz", colormap: "gray" },
    { id: "vol-truth", name: "truth.nii.gz", colormap: "blue", opacity: 0.5, cal_min: 0.5, cal_max: 1 },
    { id: "vol-prediction", name: "prediction.nii.gz", colormap: "red", opacity: 0.5, cal_min: 0.5, cal_max: 1 }]
    .filter((l) => document.getElementById(l.id));
  const nv = new Niivue({
    backColor: [0, 0, 0, 1],
    crosshairColor: [1, 0.85, 0.2, 0.7],
    crosshairWidth: 1,
    show3Dcrosshair: true,
    isColorbar: false,
    logLevel: "error",
  });
  await nv.attachToCanvas(document.getElementById("gl"));
  await nv.loadVolumes(layers.map(({ id, ...l }) => ({ ...l, url: bytes(id) })));
  nv.setSliceType(SLICE_TYPE.MULTIPLANAR);
  if (CENTRE) nv.scene.crosshairPos = nv.vox2frac(CENTRE);
  nv.drawScene();
  for (const [i, l] of layers.entries()) {
    const box = document.getElementById("show-" + l.id.slice(4));
    if (box) box.onchange = () => nv.setOpacity(i, box.checked ? Number(document.getElementById("opacity").value) : 0);
  }
  document.getElementById("opacity").oninput = (e) => {
    layers.forEach((l, i) => i > 0 && document.getElementById("show-" + l.id.slice(4)).checked &&
      nv.setOpacity(i, Number(e.target.value)));
  };
  for (const b of document.querySelectorAll("button[data-slice]")) {
    b.onclick = () => nv.setSliceType(SLICE_TYPE[b.dataset.slice]);
  }
  requestAnimationFrame(() => requestAnimationFrame(() => status("ready")));
} catch (e) {
  console.error("viewer: " + (e && e.message ? e.message : e));
  status("error");
}
`;

/**
 * The viewer page for the given NIfTI bytes (see the module notes).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeVolume, writeNifti } from "../data/mod.ts";
 * import { viewerHtml } from "./viewer.ts";
 * const path = await Deno.makeTempFile({ suffix: ".nii.gz" });
 * await writeNifti(path, makeVolume(new Float32Array(8), [2, 2, 2]));
 * const html = await viewerHtml({ image: await Deno.readFile(path) }, { title: "a <test>" });
 * assert.match(html, /<title>a &lt;test&gt;<\/title>/);
 * assert.ok(!/<script[^>]+src=/.test(html)); // nothing loaded from elsewhere
 * await Deno.remove(path);
 * ```
 */
export async function viewerHtml(volumes: ViewerVolumes, options: ViewerOptions = {}): Promise<string> {
  const title = escapeHtml(options.title ?? "lorapt viewer");
  const blocks: string[] = [];
  for (const name of ["image", "truth", "prediction"] as const) {
    const bytes = volumes[name];
    if (!bytes) continue;
    const gz = isGzip(bytes) ? bytes : await gzip(bytes);
    blocks.push(`<script type="text/plain" id="vol-${name}">${base64(gz)}</script>`);
  }
  const toggle = (name: "truth" | "prediction", colour: string) =>
    volumes[name]
      ? `<label><input type="checkbox" id="show-${name}" checked><span class="sw" style="background:${colour}">` +
        `</span>${name}</label>`
      : "";
  const encoded = await niivueEncoded();
  if (!/^[A-Za-z0-9%._~!*'()-]*$/.test(encoded)) throw new Error("viewerHtml: unexpected NiiVue bundle encoding");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<meta name="generator" content="@lorapt/core viz/viewer.ts, NiiVue ${NIIVUE_VERSION}">
<style>
html,body{margin:0;height:100%;background:#111;color:#eee;font:14px system-ui,sans-serif}
body{display:flex;flex-direction:column}header{padding:6px 10px;display:flex;gap:14px;align-items:center;flex-wrap:wrap}
main{flex:1;min-height:300px}canvas{width:100%;height:100%;display:block}
.sw{display:inline-block;width:12px;height:12px;margin:0 4px;vertical-align:-1px}
</style></head>
<body data-status="loading">
<header><strong>${title}</strong>${toggle("truth", "#3c78ff")}${toggle("prediction", "#eb3232")}
<label>opacity <input type="range" id="opacity" min="0" max="1" step="0.05" value="0.5"></label>
<span>${
    ["MULTIPLANAR", "AXIAL", "CORONAL", "SAGITTAL", "RENDER"].map((s) =>
      `<button data-slice="${s}">${s.toLowerCase()}</button>`
    ).join(" ")
  }</span>
<span style="color:#999">overlap shows purple · drag to move the crosshair · NiiVue ${NIIVUE_VERSION}</span></header>
<main><canvas id="gl"></canvas></main>
${blocks.join("\n")}
<script type="module">
const NIIVUE = "${encoded}";
const CENTRE = ${options.centre ? JSON.stringify(options.centre) : "null"};
${PAGE_SCRIPT}</script>
</body></html>
`;
}

/**
 * Reads the NIfTI files at the given paths and writes the viewer page to
 * `out`, with the crosshair at the structure's centre (see
 * `structureCentre`) when a label map is given.
 */
export async function writeViewer(
  out: string,
  paths: { image: string; truth?: string; prediction?: string },
  options: ViewerOptions = {},
): Promise<void> {
  const volumes: ViewerVolumes = { image: await Deno.readFile(paths.image) };
  if (paths.truth) volumes.truth = await Deno.readFile(paths.truth);
  if (paths.prediction) volumes.prediction = await Deno.readFile(paths.prediction);
  let centre = options.centre;
  if (!centre && (paths.truth || paths.prediction)) {
    const a = await readNifti((paths.truth ?? paths.prediction)!);
    const b = paths.prediction && paths.truth ? await readNifti(paths.prediction) : a;
    if (b.shape.some((n, i) => n !== a.shape[i])) {
      throw new RangeError(`writeViewer: prediction shape [${b.shape}] differs from truth shape [${a.shape}]`);
    }
    centre = structureCentre(a.data, b.data, a.shape);
  }
  await Deno.writeTextFile(out, await viewerHtml(volumes, { ...options, centre }));
}

import assert from "node:assert/strict";
import { writeNifti } from "../../data/nifti.ts";
import { makePhantom } from "../../data/phantoms.ts";
import { makeVolume, type Volume } from "../../data/volume.ts";
import { renderCommand } from "../../cli/render_cmd.ts";
import { pixel } from "../../viz/draw.ts";
import { OVERLAY_COLOURS } from "../../viz/legend.ts";
import { decodePng } from "../../viz/png.ts";
import { addToReport, renderCase, type ReportEntry } from "../../viz/report.ts";

/** A 32³ phantom and a prediction shifted one voxel along x. */
function phantomCase(seed: number): { image: Volume; truth: Volume; prediction: Volume } {
  const { image, label } = makePhantom({ task: "hippocampus", size: 32, seed });
  const shifted = new Uint8Array(label.data.length);
  for (let v = 0; v + 1 < shifted.length; v++) shifted[v + 1] = label.data[v];
  return { image, truth: label, prediction: makeVolume(shifted, label.shape, { affine: label.affine }) };
}

Deno.test("renderCase writes decodable PNGs for the three planes, the panel and the 3-D view", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const input = phantomCase(1);
    const e = await renderCase(input, { outDir: dir, caseId: "s 01", method: "LoRA-PT", surfaceSize: 96 });
    assert.equal(e.files.axial, "s_01/LoRA-PT/axial.png");
    assert.ok(e.dice > 0.3 && e.dice < 1 && e.hd95 > 0);
    for (const path of Object.values(e.files)) {
      const png = await decodePng(await Deno.readFile(`${dir}/${path}`));
      assert.ok(png.width >= 64 && png.height >= 64, `${path}: ${png.width}x${png.height}`);
    }
    // 32 voxels of 182/32 mm at 2 px/mm, the slice sits under the title strip.
    const axial = await decodePng(await Deno.readFile(`${dir}/${e.files.axial}`));
    assert.ok(axial.height > Math.round(32 * input.image.spacing[1] * 2));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("addToReport builds one row per method and one column per case, replacing re-rendered entries", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const files = { axial: "a.png", coronal: "c.png", sagittal: "s.png", slices: "x.png", surface: "y.png" };
    const entry = (caseId: string, method: string, dice: number): ReportEntry => ({
      caseId,
      method,
      dice,
      hd95: 1,
      hdMax: 2,
      files,
    });
    await addToReport(dir, [entry("s01", "LoRA", 0.8), entry("s01", "Full", 0.7)]);
    const all = await addToReport(dir, [entry("s02", "LoRA", 0.9), entry("s01", "LoRA", 0.85)]);
    assert.equal(all.length, 3);
    const html = await Deno.readTextFile(`${dir}/report.html`);
    assert.equal(html.match(/<th class="method">/g)?.length, 2);
    assert.match(html, /<th>s01<\/th><th>s02<\/th>/);
    assert.match(html, /mean Dice 87\.50/); // LoRA: (0.85 + 0.9) / 2
    assert.match(html, /<td class="empty">/); // Full has no s02
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lorapt render: two methods of one case give report.html with relative images and known colours", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { image, truth, prediction } = phantomCase(2);
    await writeNifti(`${dir}/img.nii.gz`, image);
    await writeNifti(`${dir}/gt.nii.gz`, truth);
    await writeNifti(`${dir}/a.nii.gz`, prediction);
    await writeNifti(`${dir}/b.nii`, truth);
    const log: string[] = [], errors: string[] = [];
    const io = { log: (m: string) => log.push(m), error: (m: string) => errors.push(m) };
    const origLog = console.log;
    console.log = (m: string) => log.push(m);
    let code;
    try {
      code = await renderCommand([
        ...["--image", `${dir}/img.nii.gz`, "--truth", `${dir}/gt.nii.gz`, "--out", `${dir}/report`],
        ...["--pred", `shifted=${dir}/a.nii.gz,perfect=${dir}/b.nii`, "--size", "64"],
      ], io);
    } finally {
      console.log = origLog;
    }
    assert.equal(code, 0, errors.join("\n"));
    assert.match(log.at(-1)!, /report\.html \(2 entries\)/);
    const html = await Deno.readTextFile(`${dir}/report/report.html`);
    assert.match(html, /<img src="img\/shifted\/slices\.png"/);
    assert.match(html, /Dice 100\.00/);
    const perfect = await decodePng(await Deno.readFile(`${dir}/report/img/perfect/axial.png`));
    let top = 0; // first row under the title strip (which has a red legend swatch)
    while (pixel(perfect, 0, top).join() === "20,20,24") top++;
    let green = 0, red = 0;
    for (let y = top; y < perfect.height; y++) {
      for (let x = 0; x < perfect.width; x++) {
        const [r, g, b] = pixel(perfect, x, y);
        if (g > r + 40 && g > b + 40) green++;
        if (r > g + 80 && r > b + 80) red++;
      }
    }
    assert.ok(green > 0 && red === 0, `perfect prediction: ${green} overlap pixels, ${red} red`);
    assert.ok(OVERLAY_COLOURS.overlap[1] > OVERLAY_COLOURS.overlap[0]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lorapt render: mismatched grids and a bad --pred list are one-line usage errors", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { image, truth } = phantomCase(3);
    await writeNifti(`${dir}/img.nii.gz`, image);
    await writeNifti(`${dir}/gt.nii.gz`, truth);
    await writeNifti(`${dir}/small.nii.gz`, makeVolume(new Uint8Array(8), [2, 2, 2]));
    const errors: string[] = [];
    const io = { log: () => {}, error: (m: string) => errors.push(m) };
    const base = ["--image", `${dir}/img.nii.gz`, "--truth", `${dir}/gt.nii.gz`, "--out", `${dir}/r`];
    assert.equal(await renderCommand([...base, "--pred", `${dir}/small.nii.gz`], io), 2);
    assert.match(
      errors[0],
      /^lorapt render: --pred .*small\.nii\.gz shape \[2,2,2\] differs from --truth shape \[32,32,32\]$/,
    );
    assert.equal(await renderCommand([...base, "--pred", `a=${dir}/gt.nii.gz,=x`], io), 2);
    assert.match(errors[1], /--pred: "=x" is not METHOD=FILE/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

import assert from "node:assert/strict";
import { writeNifti } from "../../data/nifti.ts";
import { makePhantom } from "../../data/phantoms.ts";
import { makeVolume } from "../../data/volume.ts";
import { viewCommand } from "../../cli/view_cmd.ts";
import { decodePng } from "../../viz/png.ts";
import { NIIVUE_VERSION, viewerHtml } from "../../viz/viewer.ts";

// CHROMIUM overrides the browser path (browser_check.ts reads the same variable).
const CHROMIUM = Deno.env.get("CHROMIUM") ?? "/usr/bin/chromium";
const hasChromium = await Deno.stat(CHROMIUM).then((s) => s.isFile, () => false);
if (!hasChromium) {
  console.warn(
    `viewer_test: ${CHROMIUM} not found, skipping the headless-browser test (install Debian's chromium package, e.g. apt-get install chromium)`,
  );
}

/** A 48³ phantom case written as NIfTI files into `dir`; the prediction is the truth shifted by 2 voxels in y. */
async function writeCase(dir: string): Promise<{ image: string; truth: string; pred: string }> {
  const { image, label } = makePhantom({ task: "hippocampus", size: 48, seed: 4 });
  const shifted = new Uint8Array(label.data.length);
  for (let v = 0; v + 96 < shifted.length; v++) shifted[v + 96] = label.data[v];
  const paths = { image: `${dir}/image.nii.gz`, truth: `${dir}/truth.nii.gz`, pred: `${dir}/pred.nii` };
  await writeNifti(paths.image, image);
  await writeNifti(paths.truth, label);
  await writeNifti(paths.pred, makeVolume(shifted, label.shape, { affine: label.affine }));
  return paths;
}

Deno.test("the viewer page embeds NiiVue and every volume, gzip-compressed, and loads nothing from elsewhere", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const p = await writeCase(dir);
    const html = await viewerHtml({
      image: await Deno.readFile(p.image),
      truth: await Deno.readFile(p.truth),
      prediction: await Deno.readFile(p.pred),
    });
    for (const id of ["image", "truth", "prediction"]) {
      const m = new RegExp(`<script type="text/plain" id="vol-${id}">([A-Za-z0-9+/=]+)</script>`).exec(html);
      assert.ok(m, `vol-${id} embedded`);
      assert.equal(atob(m[1].slice(0, 4)).charCodeAt(0), 0x1f, `vol-${id} is gzip`);
    }
    assert.match(html, new RegExp(`NiiVue ${NIIVUE_VERSION.replaceAll(".", "\\.")}`));
    assert.ok(!/\b(src|href)="(https?:)?\/\//.test(html), "no remote scripts or styles");
    assert.ok(html.length > 2_000_000, "NiiVue's bundle is inlined");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "lorapt view: the page renders the volumes in headless Chromium with no console error and no network",
  ignore: !hasChromium,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const p = await writeCase(dir);
      const out = `${dir}/view.html`, shotPath = `${dir}/shot.png`;
      const errors: string[] = [];
      const io = { log: () => {}, error: (m: string) => errors.push(m) };
      const code = await viewCommand([
        "--image",
        p.image,
        "--truth",
        p.truth,
        "--pred",
        p.pred,
        "--out",
        out,
        "--quiet",
      ], io);
      assert.equal(code, 0, errors.join("\n"));

      const root = new URL("../../", import.meta.url).pathname;
      const run = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--quiet", "tests/viz/browser_check.ts", out, shotPath],
        cwd: root,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(run.stderr);
      assert.equal(run.code, 0, stderr);
      const result = JSON.parse(new TextDecoder().decode(run.stdout).trim().split("\n").at(-1)!);
      assert.deepEqual(result.consoleErrors, []);
      assert.equal(result.status, "ready");
      assert.deepEqual(result.remote, [], "the page fetched something from the network");

      const shot = await decodePng(await Deno.readFile(shotPath));
      assert.ok(shot.width > 400 && shot.height > 300, `canvas ${shot.width}x${shot.height}`);
      let sum = 0, sum2 = 0, reddish = 0;
      const n = shot.width * shot.height, c = shot.channels;
      for (let i = 0; i < n; i++) {
        const [r, g, b] = [shot.data[c * i], shot.data[c * i + 1], shot.data[c * i + 2]];
        const y = 0.299 * r + 0.587 * g + 0.114 * b;
        sum += y, sum2 += y * y;
        if (r > g + 60 && r > 120) reddish++;
      }
      const variance = sum2 / n - (sum / n) ** 2;
      assert.ok(variance > 200, `screenshot looks blank (luminance variance ${variance.toFixed(1)})`);
      assert.ok(reddish > 20, `no prediction overlay visible (${reddish} red pixels)`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

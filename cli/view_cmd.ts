/**
 * `lorapt view`: writes one self-contained HTML page that shows the MRI with
 * the truth and the prediction as overlays in NiiVue, with NiiVue and the
 * volumes embedded, so it opens from a local folder with no network.
 * @module
 */
import { NIIVUE_VERSION, writeViewer } from "../viz/viewer.ts";
import { asUserError, type CommandSpec, existingFile, flag, type FlagValues, need, str } from "./args.ts";
import { type CommandIO, runCommand } from "./run.ts";

/** `lorapt view`. */
export const VIEW: CommandSpec = {
  name: "view",
  summary: "write a self-contained HTML viewer (NiiVue) of an MRI with truth and prediction overlays",
  description: `The page embeds NiiVue ${NIIVUE_VERSION} and the volumes (base64), so it works offline from a\n` +
    "local file. Truth is drawn blue, prediction red (overlap purple).",
  flags: {
    image: { type: "string", value: "FILE", help: "the MRI (.nii or .nii.gz)" },
    truth: { type: "string", value: "FILE", help: "ground-truth label map (optional)" },
    pred: { type: "string", value: "FILE", help: "predicted label map (optional)" },
    out: { type: "string", value: "FILE", help: "the HTML page to write", default: "view.html" },
    title: { type: "string", value: "TEXT", help: "page title (default: the image file name)" },
    quiet: { type: "boolean", help: "print nothing but errors" },
  },
};

/** Writes the page and returns its path. */
export async function runView(v: FlagValues): Promise<string> {
  const image = await existingFile(need(v, "image"), "image");
  const truth = str(v, "truth") ? await existingFile(str(v, "truth")!, "truth") : undefined;
  const prediction = str(v, "pred") ? await existingFile(str(v, "pred")!, "pred") : undefined;
  const out = need(v, "out");
  const title = str(v, "title") ?? image.replace(/^.*\//, "");
  await asUserError("view", () => writeViewer(out, { image, truth, prediction }, { title }));
  if (!flag(v, "quiet")) console.log(`wrote ${out} (${((await Deno.stat(out)).size / 1e6).toFixed(1)} MB)`);
  return out;
}

/**
 * Runs `lorapt view` with the command-line `args` (flags only) and returns
 * the exit code: 0, 1 (internal error) or 2 (usage).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { viewCommand } from "./view_cmd.ts";
 * const errors: string[] = [];
 * assert.equal(await viewCommand(["--image", "/no/such.nii.gz"], { error: (m) => errors.push(m) }), 2);
 * assert.equal(errors[0], "lorapt view: --image: file /no/such.nii.gz does not exist");
 * ```
 */
export function viewCommand(args: string[], io: CommandIO = {}): Promise<number> {
  return runCommand(VIEW, runView, args, io);
}

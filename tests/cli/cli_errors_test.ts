/**
 * The command line's error policy: bad input names the flag or file and
 * exits with code 2 in one line, without a stack trace; --help works for
 * every command.
 */
import assert from "node:assert/strict";
import { makePhantomDataset, makeVolume, writeNifti } from "../../mod.ts";
import { COMMANDS, main } from "../../cli/mod.ts";

async function run(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [], err: string[] = [];
  const code = await main(args, { log: (m) => out.push(m), error: (m) => err.push(m) });
  return { code, out, err };
}

Deno.test("lorapt: every command has --help listing its flags, exit 0", async () => {
  for (const { spec } of COMMANDS) {
    const r = await run([spec.name, "--help"]);
    assert.equal(r.code, 0, spec.name);
    for (const flag of Object.keys(spec.flags)) assert.ok(r.out[0].includes(`--${flag}`), `${spec.name} --${flag}`);
  }
  const top = await run(["--help"]);
  assert.equal(top.code, 0);
  for (const { spec } of COMMANDS) assert.ok(top.out[0].includes(spec.name));
});

Deno.test("lorapt: unknown command, unknown flag, missing value and bad numbers exit 2 naming the culprit", async () => {
  const cases: [string[], RegExp][] = [
    [["train"], /^lorapt: unknown command "train"/],
    [["finetune", "--epoch", "3"], /^lorapt finetune: unknown flag --epoch \(see lorapt finetune --help\)$/],
    [["finetune", "--data"], /^lorapt finetune: flag --data needs a value$/],
    [["finetune", "stray"], /^lorapt finetune: unexpected argument "stray"/],
    [["finetune", "--data", "/no/such/dir"], /^lorapt finetune: --data: folder \/no\/such\/dir does not exist$/],
    [["predict", "--run", "/no/run"], /^lorapt predict: --run: folder \/no\/run does not exist$/],
    [["eval", "--pred", "."], /^lorapt eval: missing --truth$/],
  ];
  for (const [args, pattern] of cases) {
    const r = await run(args);
    assert.equal(r.code, 2, args.join(" "));
    assert.equal(r.err.length, 1, args.join(" "));
    assert.match(r.err[0], pattern);
  }
});

Deno.test("lorapt finetune: unknown method, missing weights, bad numbers and mismatched grids exit 2", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const data = `${dir}/data`;
    await makePhantomDataset({ task: "hippocampus", n: 3, dir: data, size: 12 });
    const weights = `${dir}/w.safetensors`;
    await Deno.writeFile(weights, new Uint8Array(8));
    const base = ["finetune", "--data", data, "--out", `${dir}/run`, "--backend", "cpu", "--quiet"];
    const cases: [string[], RegExp][] = [
      [[...base, "--pretrained", `${dir}/none.safetensors`], /--pretrained: file .*none\.safetensors does not exist/],
      [
        [...base, "--pretrained", `${dir}/data/train.txt`],
        /--pretrained .*train\.txt: expected a \.safetensors or \.pth/,
      ],
      [[...base, "--pretrained", weights, "--method", "magic"], /--method "magic" is not one of full, linear-probe/],
      [[...base, "--pretrained", weights, "--epochs", "two"], /--epochs "two" must be an integer in 1\.\.∞/],
      [[...base, "--pretrained", weights, "--train-size", "3"], /--train-size 3 leaves no test subject/],
      [[...base, "--pretrained", weights, "--train-size", "2"], /--pretrained: .*w\.safetensors: header is not valid/],
    ];
    for (const [args, pattern] of cases) {
      const r = await run(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.err}`);
      assert.match(r.err[0], pattern);
    }
    // A label on another grid than its image.
    await writeNifti(`${data}/sub1/sub1_mask.nii.gz`, makeVolume(new Uint8Array(8 * 8 * 8), [8, 8, 8]));
    const r = await run(["pretrain", "--data", data, "--model", "unetr-tiny", "--out", `${dir}/p`, "--quiet"]);
    assert.equal(r.code, 2);
    assert.match(r.err[0], /sub1_img\.nii\.gz .* and label .*sub1_mask\.nii\.gz .* are not on the same grid/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lorapt as a process: a user error is one line on stderr and exit code 2, no stack trace", async () => {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../../cli/main.ts", import.meta.url).pathname,
      "eval",
      "--pred",
      "/nope",
      "--truth",
      "/",
    ],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
  });
  const { code, stderr } = await cmd.output();
  const text = new TextDecoder().decode(stderr).trim();
  assert.equal(code, 2);
  assert.equal(text, "lorapt eval: --pred: folder /nope does not exist");
});

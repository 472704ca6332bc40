/**
 * Where the time of one UNETR training step goes, per op and shape.
 *
 * CPU backend: every op of one step (forward, soft Dice loss, backward, Adam)
 * is timed as it runs (kernels are synchronous). WebGPU: one step records the
 * ops it dispatches; each distinct (op, shapes, params) is then replayed
 * `reps` times on fresh random inputs and timed to the queue's completion, so
 * the per-op numbers carry no sync floor. Prints the top rows and the totals.
 *
 * ```sh
 * deno run -A bench/profile_step.ts [cpu|native|webgpu] [unetr-tiny|unetr-small] [batch] [top]
 * ```
 * @module
 */
import {
  Adam,
  blasStatus,
  createUnetr,
  fromArray,
  getBackend,
  gradients,
  initNative,
  initWebGPU,
  Rng,
  setBackend,
  softmaxDice2,
  tidy,
  type UnetrName,
} from "../mod.ts";
import type { KernelOp, OutputMeta } from "../tensor/kernel_types.ts";
import type { Tensor } from "../tensor/tensor.ts";

const backendName = (Deno.args[0] ?? "webgpu") as "cpu" | "native" | "webgpu";
const name = (Deno.args[1] ?? "unetr-small") as UnetrName;
const batch = Number(Deno.args[2] ?? 2), top = Number(Deno.args[3] ?? 30);
const size = name === "unetr-tiny" ? 32 : 64;

const gpu = backendName === "webgpu" ? await initWebGPU() : null;
if (backendName === "webgpu" && !gpu) throw new Error("profile_step: no WebGPU adapter");
if (backendName === "native" && !initNative()) throw new Error(`profile_step: ${blasStatus().reason}`);
setBackend(backendName);
const backend = getBackend();

interface Call {
  op: KernelOp;
  shapes: number[][];
  dtypes: string[];
  params: unknown;
  out: OutputMeta;
}
const calls: Call[] = [];
const cpuMs = new Map<string, number>();
const keyOf = (c: Call) =>
  `${c.op.name} ${c.shapes.map((s) => `[${s.join(",")}]`).join(" ")} ${
    JSON.stringify(c.params, (_k, v) => ArrayBuffer.isView(v) ? `<${(v as Float32Array).length}>` : v) ?? ""
  }`.slice(0, 160);

let recording = false;
const original = backend.run.bind(backend);
backend.run = (op, inputs, params, out) => {
  if (!recording) return original(op, inputs, params, out);
  const call: Call = {
    op,
    shapes: inputs.map((t) => [...t.shape]),
    dtypes: inputs.map((t) => t.dtype),
    params,
    out,
  };
  calls.push(call);
  const t0 = performance.now();
  const r = original(op, inputs, params, out);
  if (backendName !== "webgpu") {
    const k = keyOf(call);
    cpuMs.set(k, (cpuMs.get(k) ?? 0) + performance.now() - t0);
  }
  return r;
};

const rng = new Rng(1);
const model = createUnetr(name, { seed: 0 });
const n = batch * size ** 3;
const x = fromArray(Float32Array.from({ length: n }, () => rng.normal()), [batch, 1, size, size, size]);
const y = fromArray(Float32Array.from({ length: n }, () => rng.int(0, 1)), [batch, size, size, size]);
const params = model.parameters();
const opt = new Adam(params, { lr: 1e-3, weightDecay: 1e-5, amsgrad: true });
const step = async (record: boolean) => {
  recording = record;
  const t0 = performance.now();
  const l = tidy(() => {
    const loss = softmaxDice2(model.forward(x), y);
    opt.step(gradients(loss, params));
    return loss;
  });
  await l.item();
  l.dispose();
  recording = false;
  return performance.now() - t0;
};
await step(false);
const wall = await step(true);

const groups = new Map<string, { call: Call; count: number }>();
for (const c of calls) {
  const k = keyOf(c);
  const g = groups.get(k);
  if (g) g.count++;
  else groups.set(k, { call: c, count: 1 });
}

const rows: { key: string; op: string; count: number; ms: number }[] = [];
if (backendName !== "webgpu") {
  for (const [k, g] of groups) rows.push({ key: k, op: g.call.op.name, count: g.count, ms: cpuMs.get(k)! });
} else {
  const ctx = gpu!.ctx;
  const reps = 4;
  for (const [k, g] of groups) {
    const inputs: Tensor[] = g.call.shapes.map((s, i) => {
      const len = s.reduce((a, b) => a * b, 1);
      const dt = g.call.dtypes[i];
      if (dt === "float32") return fromArray(Float32Array.from({ length: len }, () => rng.normal() * 0.5 + 1), s);
      return fromArray(dt === "int32" ? new Int32Array(len) : new Uint8Array(len), s);
    });
    const once = () => {
      const h = original(g.call.op, inputs, g.call.params, g.call.out);
      if (!inputs.some((t) => t.storage.handle === h)) backend.free(h);
    };
    const timed = async (k: number) => {
      const t0 = performance.now();
      for (let r = 0; r < k; r++) once();
      ctx.flush();
      await ctx.device.queue.onSubmittedWorkDone();
      return performance.now() - t0;
    };
    await timed(1); // pipelines
    // The difference of 1 and 1 + reps runs cancels the submit-and-wait floor.
    const ms = Math.max(0, (await timed(1 + reps)) - (await timed(1))) / reps;
    rows.push({ key: k, op: g.call.op.name, count: g.count, ms: ms * g.count });
    for (const t of inputs) t.dispose();
  }
}
rows.sort((a, b) => b.ms - a.ms);
const total = rows.reduce((a, r) => a + r.ms, 0);
console.log(
  `${name} batch ${batch} on ${backendName}: step ${wall.toFixed(0)} ms wall, ${calls.length} ops, ` +
    `${groups.size} distinct; sum of per-op times ${total.toFixed(0)} ms`,
);
const byOp = new Map<string, number>();
for (const r of rows) byOp.set(r.op, (byOp.get(r.op) ?? 0) + r.ms);
console.log(
  "by op: " + [...byOp].sort((a, b) => b[1] - a[1]).slice(0, 15)
    .map(([o, ms]) => `${o} ${ms.toFixed(0)}`).join(", "),
);
for (const r of rows.slice(0, top)) {
  console.log(`${r.ms.toFixed(1).padStart(9)} ms ${String(r.count).padStart(4)}×  ${r.key}`);
}

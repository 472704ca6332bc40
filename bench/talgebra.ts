/**
 * Truncated t-SVD throughput and accuracy: a 768×768×48 and a 3072×768×12
 * float32 tensor (the shapes of LoRA-PT's attention and MLP groups), random
 * with tubal rank 8 plus 10% noise, truncated to r ∈ {1, 2, 32}. The peer is
 * numpy in the same run (`np.fft.fft` along mode 3 + `np.linalg.svd` of
 * every slice, via `peers/numpy_tsvd.py`) on the same data; the principal
 * part is compared with numpy's.
 *
 * Target: r = 1 in at most 0.5× numpy's full per-slice SVD time, principal
 * part within a relative 1e-4 of numpy's.
 *
 * Second part (`deno run -A bench/talgebra.ts lora-pt`
 * for it alone): LoRA-PT initialisation on a seeded `unetr-base`, i.e. the
 * truncated t-SVD (r = 1) of W_sa [768,768,48], W_up [3072,768,12] and
 * W_down [768,3072,12] in float64 (peft/layers/lora_pt.ts). PyTorch-style
 * initialisation gives Fourier slices with a nearly flat top spectrum
 * (σ₁/σ₂ ≈ 1.005), the hard case for a top-r solver. The principal parts are
 * compared with those of exact full SVDs of every slice: numpy's LAPACK SVD
 * in float64 (the Jacobi path gives the same to about 1e-12 but takes many
 * minutes at these sizes), or with `LORAPT_BENCH_JACOBI=1` our own Jacobi
 * path. Target: at most 5 s, principal parts within a relative 1e-4.
 * @module
 */
import {
  createUnetr,
  fdiag,
  planGroups,
  randn,
  Rng,
  stackGroup,
  type Tensor,
  tensor,
  tprod,
  tsvdTruncate,
  ttranspose,
} from "../mod.ts";
import { pythonJson } from "./peers/numpy.ts";

const RANKS = [1, 2, 32];
const SHAPES: [number, number, number][] = [[768, 768, 48], [3072, 768, 12]];

/** L + N with L = X*Y of tubal rank 8 and ‖N‖_F = 0.1‖L‖_F, float32. */
function testTensor(n1: number, n2: number, n3: number, rng: Rng): Tensor {
  const x = randn([n1, 8, n3], { rng, dtype: "float64" }), y = randn([8, n2, n3], { rng, dtype: "float64" });
  const l = tprod(x, y).dataSync();
  const noise = randn([n1, n2, n3], { rng, dtype: "float64" }).dataSync();
  let sl = 0, sn = 0;
  for (let i = 0; i < l.length; i++) (sl += l[i] * l[i], sn += noise[i] * noise[i]);
  const k = 0.1 * Math.sqrt(sl / sn), out = new Float32Array(l.length);
  for (let i = 0; i < l.length; i++) out[i] = l[i] + k * noise[i];
  return tensor(out, [n1, n2, n3]);
}

interface Peer {
  full: number;
  numpy: string;
  dtype: string;
  principal: Map<number, Float32Array>;
}

async function numpyPeer(a: Tensor): Promise<Peer | null> {
  const dir = await Deno.makeTempDir({ prefix: "talgebra_bench_" });
  try {
    await Deno.writeFile(`${dir}/a.f32`, new Uint8Array((await a.data()).buffer));
    const info = await pythonJson<Omit<Peer, "principal">>("numpy_tsvd.py", [
      `${dir}/a.f32`,
      ...a.shape.map(String),
      `${dir}/p`,
      RANKS.join(","),
    ]);
    if (!info) return null;
    const principal = new Map<number, Float32Array>();
    for (const r of RANKS) principal.set(r, new Float32Array((await Deno.readFile(`${dir}/p_r${r}.f32`)).buffer));
    return { ...info, principal };
  } catch {
    return null;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function relDiff(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < x.length; i++) (num += (x[i] - y[i]) ** 2, den += y[i] ** 2);
  return Math.sqrt(num / den);
}

/** ‖A − P‖²_F in float64. */
function residualEnergy(a: ArrayLike<number>, p: ArrayLike<number>): number {
  let e = 0;
  for (let i = 0; i < a.length; i++) e += (a[i] - p[i]) ** 2;
  return e;
}

/** Runs both parts: the truncated t-SVD benchmark (one line per shape and rank), then {@link benchLoraPtInit}. */
export async function benchTalgebra(): Promise<void> {
  await benchTruncation();
  await benchLoraPtInit();
}

async function benchTruncation(): Promise<void> {
  const rng = new Rng(0);
  for (const [n1, n2, n3] of SHAPES) {
    const a = testTensor(n1, n2, n3, rng);
    const peer = await numpyPeer(a), ad = await a.data();
    const name = `${n1}x${n2}x${n3}`;
    console.log(
      `# tsvdTruncate ${name} float32, tubal rank 8 + 10% noise; peer: ${
        peer
          ? `numpy ${peer.numpy} fft + svd of all ${n3} slices (${peer.dtype}) ${peer.full.toFixed(2)} s`
          : "none (python3/numpy missing)"
      }`,
    );
    for (const r of RANKS) {
      const t0 = performance.now();
      const t = await tsvdTruncate(a, r, { parts: true });
      const secs = (performance.now() - t0) / 1000;
      const p = await t.principal.data(), np = peer?.principal.get(r);
      // Where σ_r ≈ σ_{r+1} (r = 32 cuts into the noise bulk) the principal part is ill-conditioned, so
      // also report how much larger our truncation error ‖A − A_r‖² is than numpy's (0 = as good).
      const excess = np ? residualEnergy(ad, p) / residualEnergy(ad, np) - 1 : NaN;
      console.log(
        `talgebra tsvdTruncate ${name} r=${String(r).padEnd(2)} ${secs.toFixed(2).padStart(7)} s` +
          (np
            ? `   ratio ${(secs / peer!.full).toFixed(3)}× numpy full   principal rel diff ${
              relDiff(p, np).toExponential(2)
            }   error excess ${excess.toExponential(2)}`
            : ""),
      );
      for (const x of [t.U, t.S, t.V, t.principal, t.residual]) x.dispose();
    }
    a.dispose();
  }
}

/** The principal part of every Fourier slice from the exact SVD (numpy in float64, or our Jacobi path). */
async function exactPrincipal(w: Tensor, jacobi: boolean): Promise<{ p: Float64Array; by: string } | null> {
  if (jacobi) {
    const t = await tsvdTruncate(w, 1, { method: "jacobi", parts: true });
    return { p: await t.principal.data() as Float64Array, by: "Jacobi" };
  }
  const dir = await Deno.makeTempDir({ prefix: "lorapt_init_bench_" });
  try {
    await Deno.writeFile(`${dir}/w.f64`, new Uint8Array((await w.data()).buffer));
    const info = await pythonJson<{ numpy: string }>("numpy_tsvd.py", [
      `${dir}/w.f64`,
      ...w.shape.map(String),
      `${dir}/p`,
      "1",
      "f64",
    ]);
    if (!info) return null;
    return { p: new Float64Array((await Deno.readFile(`${dir}/p_r1.f32`)).buffer), by: `numpy ${info.numpy} LAPACK` };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** LoRA-PT initialisation on a seeded unetr-base: time of the three truncated t-SVDs and their agreement. */
export async function benchLoraPtInit(): Promise<void> {
  const model = createUnetr("unetr-base", { seed: 0 });
  const plans = planGroups(model, ["sa", "up", "down"], "code");
  let jacobi = false;
  try {
    jacobi = Deno.env.get("LORAPT_BENCH_JACOBI") === "1";
  } catch { /* no --allow-env */ }
  let total = 0, num = 0, den = 0, compared = true;
  const rows: string[] = [];
  for (const plan of plans) {
    const w = await stackGroup(model, plan);
    const t0 = performance.now();
    const t = await tsvdTruncate(w, 1);
    const secs = (performance.now() - t0) / 1000;
    total += secs;
    const ours = await tprod(tprod(t.U, fdiag(t.S)), ttranspose(t.V)).data();
    const ref = await exactPrincipal(w, jacobi);
    let row = `talgebra lora-pt init unetr-base W_${plan.name} [${w.shape}] r=1 ${secs.toFixed(2).padStart(6)} s`;
    if (ref) {
      let n = 0, d = 0;
      for (let i = 0; i < ours.length; i++) (n += (ours[i] - ref.p[i]) ** 2, d += ref.p[i] ** 2);
      (num += n, den += d);
      row += `   principal part vs ${ref.by} ${Math.sqrt(n / d).toExponential(2)}`;
    } else compared = false;
    rows.push(row);
    console.log(row);
  }
  console.log(
    `talgebra lora-pt init unetr-base total ${total.toFixed(2)} s (target ≤ 5 s)` +
      (compared ? `   principal parts vs exact ${Math.sqrt(num / den).toExponential(2)} (target ≤ 1e-4)` : "") +
      `   load ${Deno.loadavg()[0].toFixed(1)}`,
  );
}

if (import.meta.main) await (Deno.args[0] === "lora-pt" ? benchLoraPtInit() : benchTalgebra());

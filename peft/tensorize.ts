/**
 * LoRA-PT's tensorization of UNETR's transformer weights (paper
 * §3.1, in the slice order of the authors' `LoRA-PT.py`) and the principal part rebuilt from trainable
 * factors (§3.3).
 *
 * Orientation: PyTorch `[out, in]` weights are the frontal slices, so a
 * group tensor is W `[n1 = out, n2 = in, n3]` with W[:, :, l] = W_l. The
 * paper's x·W orientation transposes every slice, which gives the same
 * truncation with U and V swapped (§2, invariances).
 * @module
 */
import {
  concat,
  cpuBackend,
  fdiag,
  fromArray,
  matmul,
  narrow,
  permute,
  reshape,
  type Tensor,
  tprod,
  transpose,
  ttranspose,
} from "../tensor/mod.ts";
import type { Linear, Module, ModuleList } from "../models/mod.ts";
import type { LoraPtGroupName } from "./config.ts";

/** Where one frontal slice comes from: row block `block` (of n1 rows) of the weight of the Linear at `path`. */
export interface SliceSource {
  /** Dotted path of the Linear. */
  path: string;
  /** Row block: 0 for out_proj/linear1/linear2; 0, 1, 2 for q, k, v of the fused qkv. */
  block: number;
}

/** One tensor group: its shape and where each frontal slice comes from. */
export interface GroupPlan {
  /** `sa`, `up` or `down`. */
  name: LoraPtGroupName;
  /** Rows of a slice (out features). */
  n1: number;
  /** Columns of a slice (in features). */
  n2: number;
  /** Number of slices: 4L for sa, L for up and down. */
  n3: number;
  /** Slice l's source. */
  slices: SliceSource[];
}

const ATTN = { o: ["attn.out_proj", 0], q: ["attn.qkv", 0], k: ["attn.qkv", 1], v: ["attn.qkv", 2] } as const;

/**
 * The groups of a UNETR-like model (a ViT under `vit.blocks`). W_sa stacks
 * per layer O,Q,K,V (`"code"`: out_proj is registered before qkv, so the
 * authors' code meets it first) or Q,K,V,O (`"paper"`, Figure 1); the two
 * orders give different truncations (§2).
 */
export function planGroups(
  model: Module,
  groups: readonly LoraPtGroupName[],
  sliceOrder: "code" | "paper",
): GroupPlan[] {
  const blocks = model.getSubmodule("vit.blocks") as ModuleList;
  const L = blocks.length;
  const lin = (p: string) => model.getSubmodule(p) as Linear;
  const b0 = "vit.blocks.0";
  const d = lin(`${b0}.attn.out_proj`).outFeatures, mlp = lin(`${b0}.mlp.linear1`).outFeatures;
  const layers = Array.from({ length: L }, (_, b) => b);
  const order = sliceOrder === "code" ? (["o", "q", "k", "v"] as const) : (["q", "k", "v", "o"] as const);
  const all: Record<LoraPtGroupName, GroupPlan> = {
    sa: {
      name: "sa",
      n1: d,
      n2: d,
      n3: 4 * L,
      slices: layers.flatMap((b) => order.map((s) => ({ path: `vit.blocks.${b}.${ATTN[s][0]}`, block: ATTN[s][1] }))),
    },
    up: {
      name: "up",
      n1: mlp,
      n2: d,
      n3: L,
      slices: layers.map((b) => ({ path: `vit.blocks.${b}.mlp.linear1`, block: 0 })),
    },
    down: {
      name: "down",
      n1: d,
      n2: mlp,
      n3: L,
      slices: layers.map((b) => ({ path: `vit.blocks.${b}.mlp.linear2`, block: 0 })),
    },
  };
  return groups.map((g) => all[g]);
}

/** For each Linear in `plan`, the slice indices of its row blocks in row order (qkv: [l_q, l_k, l_v]). */
export function slicesByLayer(plan: GroupPlan): Map<string, number[]> {
  const out = new Map<string, number[]>();
  plan.slices.forEach(({ path, block }, l) => {
    const list = out.get(path) ?? [];
    list[block] = l;
    out.set(path, list);
  });
  return out;
}

/**
 * The group tensor `[n1, n2, n3]` of the weights currently in `model`, as a
 * float64 CPU tensor: W[i, j, l] is entry (i, j) of slice l's source.
 */
export async function stackGroup(model: Module, plan: GroupPlan): Promise<Tensor> {
  const { n1, n2, n3 } = plan, out = new Float64Array(n1 * n2 * n3);
  const host = new Map<string, ArrayLike<number>>();
  for (const [l, { path, block }] of plan.slices.entries()) {
    if (!host.has(path)) host.set(path, await model.getParameter(`${path}.weight`).data());
    const w = host.get(path)!, at = block * n1 * n2;
    for (let e = 0; e < n1 * n2; e++) out[e * n3 + l] = w[at + e];
  }
  return fromArray(out, [n1, n2, n3], cpuBackend);
}

/**
 * The principal rows of one layer, `[k·n1, n2]` for slices `[l_1…l_k]`, by
 * the exact FFT-free form of the paper's §3.3: with T = U * S (t-product),
 * W^PT_l = Σ_c T_{(l+c) mod n3} V_cᵀ = B_l Aᵀ, where A `[n2, n3·r]` lists
 * V_0…V_{n3−1} and B_l `[n1, n3·r]` lists T_l…T_{l+n3−1} (circularly).
 * Every op is differentiable, so gradients reach U, the tubes of S and V.
 */
export function principalRows(u: Tensor, sTubes: Tensor, v: Tensor, slices: readonly number[]): Tensor {
  const [n1, r, n3] = u.shape, n2 = v.shape[0];
  const t = permute(tprod(u, fdiag(sTubes)), [0, 2, 1]); // [n1, n3, r]: T_e is t[:, e, :]
  const a = reshape(permute(v, [0, 2, 1]), [n2, n3 * r]);
  const bs = slices.map((l) => {
    const rolled = l === 0 ? t : concat([narrow(t, 1, l, n3 - l), narrow(t, 1, 0, l)], 1);
    return reshape(rolled, [n1, n3 * r]);
  });
  return matmul(bs.length === 1 ? bs[0] : concat(bs, 0), transpose(a));
}

/** The whole principal tensor U * S * Vᵀ `[n1, n2, n3]` by t-products (the reference for {@link principalRows}). */
export function principalTensor(u: Tensor, sTubes: Tensor, v: Tensor): Tensor {
  return tprod(tprod(u, fdiag(sTubes)), ttranspose(v));
}

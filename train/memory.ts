/**
 * An estimate of a training step's memory, checked by `train` before any
 * allocation so that a run too large for the machine is refused with the
 * estimate instead of growing until the OOM killer ends it.
 *
 * The formula (bytes), for P parameters of which T train, batch B, crop
 * voxels V, UNETR feature size f, and a ViT of L layers, hidden size d, MLP
 * size m, h heads and N tokens per crop:
 *
 *   4·P  +  4·T·(3 + 2 + a)  +  B·V·(210 + 260·f)  +  4·L·B·((12·d + 3·m)·N + 3·h·N²)
 *
 * that is: the weights; per trainable parameter its gradient and update
 * temporaries (3), Adam's two moments (2) and AMSGrad's maximum (a = 1 with
 * AMSGrad, else 0); the saved activations of the convolutional encoder and
 * decoder per voxel; the ViT's per token and per attention entry. The
 * per-voxel constants were fitted to the peak resident memory of one step
 * on the cpu backend (unetr-tiny at 32³ and 48³, batch 1 and 2, feature size
 * 4 and 8); checked against unetr-small at 64³ (657 MB measured above the
 * runtime's own, 678 MB estimated) and unetr-base at 32³ (2.64 GB measured,
 * 2.74 GB estimated). It is an estimate: `--force` trains past it.
 * @module
 */

/** The sizes {@link estimateStepMemory} needs. */
export interface StepMemoryInput {
  /** Parameters of the model. */
  parameters: number;
  /** Trainable parameters. */
  trainable: number;
  /** Crops per step. */
  batchSize: number;
  /** Crop size `[x, y, z]`. */
  crop: readonly number[];
  /** AMSGrad keeps a third moment buffer. */
  amsgrad: boolean;
  /** The UNETR's sizes, when the model is one (else only the parameter terms count). */
  unetr?: {
    featureSize: number;
    hiddenSize: number;
    mlpDim: number;
    numHeads: number;
    numLayers: number;
    patchSize: number | readonly number[];
  };
}

/** The estimate in bytes, by part. */
export interface StepMemoryEstimate {
  /** Weights, gradients and optimizer state. */
  parameters: number;
  /** Saved activations of the forward pass. */
  activations: number;
  /** The sum. */
  total: number;
}

/**
 * The estimate of the module doc.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { estimateStepMemory } from "./memory.ts";
 * const e = estimateStepMemory({ parameters: 1000, trainable: 10, batchSize: 1, crop: [2, 2, 2], amsgrad: true });
 * assert.equal(e.parameters, 4 * 1000 + 4 * 10 * 6);
 * assert.equal(e.activations, 0);
 * ```
 */
export function estimateStepMemory(o: StepMemoryInput): StepMemoryEstimate {
  const parameters = 4 * o.parameters + 4 * o.trainable * (3 + 2 + (o.amsgrad ? 1 : 0));
  let activations = 0;
  const u = o.unetr;
  if (u) {
    const v = o.crop.reduce((a, b) => a * b, 1);
    const patch = typeof u.patchSize === "number" ? [u.patchSize, u.patchSize, u.patchSize] : u.patchSize;
    const n = o.crop.reduce((a, c, i) => a * Math.floor(c / patch[i]), 1);
    const b = o.batchSize;
    activations = b * v * (210 + 260 * u.featureSize) +
      4 * u.numLayers * b * ((12 * u.hiddenSize + 3 * u.mlpDim) * n + 3 * u.numHeads * n * n);
  }
  return { parameters, activations, total: parameters + activations };
}

/** Bytes as `12.3 GiB` / `456 MiB`. */
export function formatBytes(n: number): string {
  const gib = n / 2 ** 30;
  return gib >= 1 ? `${gib.toFixed(1)} GiB` : `${Math.ceil(n / 2 ** 20)} MiB`;
}

/**
 * Training: Adam/AdamW with AMSGrad, the poly schedule, the authors' losses,
 * the training loop with progress, JSONL log and resumable checkpoints, the
 * pipeline as library calls ({@link finetune}, {@link predict},
 * {@link evaluate}, {@link loadCheckpoint}), and the grids, results file,
 * tables and Fig. 3 plot of the paper's experiments (`experiment.ts`,
 * `experiment_report.ts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkpointPlan, polyLr } from "./mod.ts";
 * assert.equal(polyLr(1e-3, 0, 1000), 1e-3);
 * assert.deepEqual(checkpointPlan(1000).ensembleEpochs, [996, 997, 998, 999]);
 * ```
 * @module
 */
export { Adam, AdamW } from "./optim.ts";
export type { AdamOptions, OptimizerState } from "./optim.ts";
export { constantSchedule, polyLr, polySchedule } from "./schedule.ts";
export type { PolyScheduleOptions, Schedule, SchedulePoint } from "./schedule.ts";
export {
  crossEntropy,
  crossEntropy2,
  DICE_EPS,
  diceCrossEntropy,
  segmentationLoss,
  softDice,
  softmaxDice,
  softmaxDice2,
  sumAll,
} from "./losses.ts";
export type { DiceCrossEntropyOptions, LossName, SegmentationLossOptions } from "./losses.ts";
export {
  checkFiniteWeights,
  checkpointPlan,
  ensembleCheckpoints,
  epochCheckpointName,
  OPTIMIZER_PREFIX,
  readCheckpoint,
  removeStaleTemps,
  saveCheckpoint,
} from "./checkpoint.ts";
export type { Checkpoint, CheckpointInfo, CheckpointPlan, SaveCheckpointOptions } from "./checkpoint.ts";
export { DEFAULT_TRAIN_CONFIG, epochRng, setTrainMode, train } from "./loop.ts";
export { firstDifference, openRunFolder, TrainInputError, truncateLog } from "./run_folder.ts";
export { estimateStepMemory, formatBytes } from "./memory.ts";
export type { StepMemoryEstimate, StepMemoryInput } from "./memory.ts";
export type { OpenRunFolderOptions } from "./run_folder.ts";
export type { LazySamples, TrainConfig, TrainingModel, TrainOptions, TrainResult, TrainSample } from "./loop.ts";
export { formatDuration, ProgressBar } from "./progress.ts";
export type { ProgressOptions, ProgressUpdate } from "./progress.ts";
export { runVersions } from "./versions.ts";
export {
  autoPosFraction,
  checkCropSampling,
  DEFAULT_POS_FRACTION,
  DEFAULT_ROI_MARGIN_MM,
  PAPER_CROP,
  parsePosFraction,
  resolveCropSampling,
  resolveRoi,
  sampleLabels,
} from "./sampling.ts";
export type { CropSamplingRequest } from "./sampling.ts";
export type { Versions } from "./versions.ts";
export { ADAPTER_METHODS, BUILTIN_METHODS, METHODS, prepareMethod } from "./methods.ts";
export type { MethodOptions, PreparedMethod } from "./methods.ts";
export { InputError, inputErrors } from "./input_error.ts";
export {
  buildUnetr,
  loadCheckpoint,
  MODEL_KEY,
  MODEL_NAMES,
  presetConfig,
  pretrainedConfig,
  readPretrained,
  unetrFromRecord,
} from "./pretrained.ts";
export type { Pretrained } from "./pretrained.ts";
export { finetune, loadPreprocessed, toSample } from "./finetune.ts";
export type { FinetuneOptions, FinetuneResult } from "./finetune.ts";
export { bratsScan, findScans, niftiScan, openRun, predict, runTestIds } from "./predict.ts";
export type { PredictedScan, PredictOptions, PredictScan, Run, RunRecord } from "./predict.ts";
export { evaluate } from "./evaluate.ts";
export type { EvaluateOptions } from "./evaluate.ts";
export { imgTriple, validationDice } from "./validation.ts";
export type { ValidationSubject } from "./validation.ts";
export {
  appendResult,
  cellKey,
  configDifferences,
  DATASET_NAME,
  expandGrid,
  EXPERIMENT_PRESETS,
  EXPERIMENTS,
  gridAxes,
  GridError,
  METHOD_LABELS,
  PAPER_RANKS,
  parseIntList,
  parseResults,
  parseShard,
  RANKED_METHODS,
  readResults,
  shardCells,
} from "./experiment.ts";
export type {
  ExperimentCell,
  ExperimentName,
  ExperimentPreset,
  GridAxes,
  GridAxesOptions,
  MethodRank,
  ParsedResults,
  ResultRecord,
  Shard,
} from "./experiment.ts";
export { fig3Svg, resultsTable, summarizeResults } from "./experiment_report.ts";
export type { CellSummary, Fig3Options, MeanSd, ResultsTableOptions } from "./experiment_report.ts";
// Types from the layers below that appear in this API, re-exported (types only) so the docs are complete.
export type * from "../models/mod.ts";
export type { SafetensorsMetadata } from "../models/io/mod.ts";
export type { Datatype, Sample, Shape3, Spacing3, Volume, VoxelArray } from "../data/mod.ts";

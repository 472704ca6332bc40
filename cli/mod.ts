/**
 * The `lorapt` command line as a library: {@link main} runs a command line
 * and returns its exit code; each subcommand's runner and flag table is
 * exported for scripts and tests.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { main } from "./mod.ts";
 * const out: string[] = [];
 * assert.equal(await main(["eval", "--help"], { log: (m) => out.push(m) }), 0);
 * assert.match(out[0], /--pred DIR/);
 * ```
 * @module
 */
export { COMMANDS, main, usage } from "./main.ts";
export { runCommand } from "./run.ts";
export type { CommandIO } from "./run.ts";
export { helpText, parseFlags, UsageError } from "./args.ts";
export type { CommandSpec, FlagSpec, FlagValues } from "./args.ts";
export { FINETUNE, PRETRAIN, runFinetune, runPretrain } from "./train_cmd.ts";
export type { TrainCommandResult } from "./train_cmd.ts";
export { PREDICT, runPredict } from "./predict_cmd.ts";
export { EVAL, type EvalResult, formatSummary, runEval } from "./eval_cmd.ts";
export {
  DEMO,
  DEMO_METHODS,
  demoLr,
  type DemoResult,
  type DemoRow,
  demoTable,
  runDemo,
  shippedWeights,
} from "./demo.ts";
export {
  EXPERIMENT,
  type ExperimentRunResult,
  runExperiment,
  slurmScript,
  type SlurmScriptOptions,
} from "./experiment_cmd.ts";
export { DATA, DATA_SETS, runData } from "./data_cmd.ts";
// Types from the layers below that appear in this API, re-exported (types only) so the docs are complete.
export type { MetricName, MetricSummary, RealBrainDataset, Split, SubjectMetrics } from "../data/mod.ts";
export type { TrainResult } from "../train/mod.ts";

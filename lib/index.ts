// The public API of autoresearch: what a user of the package needs to train and score a model,
// prepare data, run experiments and research loops, and read their results. Everything the
// commands are built from beyond that (the git ratchet, results files, datasets, doctor and
// sizing, evaluation on prepared data, sampling, the dashboard server, constants) is in
// 'autoresearch/internals', without a promise of stability.

// The model, its optimizer, and the scorer of batches (val_bpb).
export { GPT, type GPTOptions } from './model/gpt';
export { Optimizer, type OptimizerConfig, type StepSettings } from './model/optimizer';
export { modelConfigFromDepth, type MlpActivation, type ModelConfig, type ModelSizing } from './config/model-config';
export type { TokenBatch } from './data/batch';
export { evaluateBpb, type BpbResult } from './runner/scorer';

// Data: preparing a dataset, its tokenizer, the loader of packed batches.
export { prepare, type PrepareOptions, type PrepareResult } from './data/prepare';
export type { PreparedMeta } from './data/prepared';
export { Tokenizer } from './data/tokenizer';
export { DataLoader, type DataLoaderOptions, type LoaderBatch, type TokenDtype } from './data/loader';

// One experiment, and the research loop over many.
export type { ExperimentConfig } from './config/experiment-config';
export { runExperiment, type RunOptions } from './runner/run-experiment';
export type { ExperimentResult, ExperimentSummary } from './runner/types';
export { researchLoop, type LoopOptions, type LoopOutcome } from './loop/loop';
export { readResults, type ResultRow, type ResultStatus } from './loop/results';

// Errors: each names the problem and the fix; the classes mark what a caller acts on.
export {
  AddonLoadError,
  AgentError,
  BranchExistsError,
  CheckpointError,
  ConfigError,
  DataIntegrityError,
  DisposedError,
  DownloadError,
  GitRepoError,
  LockHeldError,
  MissingDataError,
  ResultsError,
  TokenizerError,
} from './errors';

// The public API of autoresearch: what a user of the package needs to train, score and sample a
// model, run experiments and research loops, and read their results. Everything else (the git
// ratchet's plumbing, constants, format helpers) is in 'autoresearch/internals', without a
// promise of stability.

// The model and its optimizer.
export { GPT, type GPTOptions } from './model/gpt';
export { Optimizer, type OptimizerConfig, type StepSettings } from './model/optimizer';
export { modelConfigFromDepth, type MlpActivation, type ModelConfig, type ModelSizing } from './model-config';
export type { TokenBatch } from './data/batch';

// Data: preparing a dataset, its tokenizer, the loader of packed batches.
export { prepare, type PrepareOptions, type PrepareResult } from './data/prepare';
export type { PreparedMeta } from './data/prepared';
export { Tokenizer } from './data/tokenizer';
export { DataLoader, type DataLoaderOptions, type LoaderBatch, type TokenDtype } from './data/loader';

// Scoring (val_bpb) and sampling.
export { evaluateBpb, evaluateValBpb, type BpbResult, type ValBpbOptions, type ValBpbResult } from './runner/scorer';
export { evaluateCheckpoint, type EvaluateOptions, type EvaluateResult } from './cli/eval';
export { generate, sampleCheckpoint, type GenerateOptions, type GenerateResult, type SampleOptions } from './model/sample';

// One experiment, and the research loop over many.
export type { ExperimentConfig } from './experiment-config';
export { runExperiment, type RunOptions } from './runner/run-experiment';
export type { ExperimentResult, ExperimentSummary } from './runner/types';
export { researchLoop, type LoopOptions, type LoopOutcome } from './loop/loop';
export { readResults, type ResultRow, type ResultStatus } from './loop/results';
export { startDashboard, type Dashboard, type DashboardOptions } from './dashboard/server';

// Setting up: the machine report, a new research folder, the native runtime.
export { doctor, type DoctorReport } from './setup/doctor';
export { init, type InitOptions, type InitResult } from './setup/init';
export { getThreads, manualSeed, runtimeInfo, setThreads, type RuntimeInfo } from './native/runtime';

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

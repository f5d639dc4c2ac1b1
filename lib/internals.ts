// 'autoresearch/internals': the building blocks behind the public API (lib/index.ts), for
// tools, benchmarks and tests that need them: the git ratchet's plumbing, the results files,
// the agents, the data pipeline's pieces, the evaluator's parts, sizing and constants. These
// follow the code, not a stability promise.

// The model.
export { OPTIMIZER_DEFAULTS, type OptimizerGroup } from './model/optimizer';
export type { DeviceInfo, ParamCounts, ParameterInfo } from './model/gpt';
export { readHeader as readCheckpointHeader, type CheckpointHeader } from './model/checkpoint';
export {
  SAMPLE_DEFAULTS,
  generate,
  pickToken,
  sampleCheckpoint,
  type GenerateOptions,
  type GenerateResult,
  type SampleOptions,
  type SamplingOptions,
} from './model/sample';
export { evaluateCheckpoint, type EvaluateOptions, type EvaluateResult } from './cli/eval';
export { MODEL_DEFAULTS, resolveWindows, validateModelConfig } from './config/model-config';
export { REFERENCE_DEFAULTS, CONFIG_KEYS, SCHEDULE_KEYS } from './config/experiment-config';
export { KNOBS, KNOB_NAMES, MLP_ACTIVATIONS, NS_STEPS } from './config/knobs';
export { seededRandom } from './random';

// Data.
export { randomBatch } from './data/batch';
export { LOADER_DEFAULTS, type LoaderState } from './data/loader';
export { SANITY_TEXT, SPECIAL_TOKENS, SPLIT_PATTERN, TOKENIZER_FILES, type EncodeOptions, type TokenizerTrainOptions, type TrainingStats } from './data/tokenizer';
export { checkVocabulary, preparedTokenBytes, preparedTokenizer } from './data/prepared-tokenizer';
export { formatPrepareSummary } from './data/prepare';
export {
  checkConstants,
  datasetPaths,
  findPreparedDataset,
  listPreparedDatasets,
  readPreparedMeta,
  resolveCacheDir,
  resolvePreparedMeta,
  type DatasetPaths,
  type SplitMeta,
} from './data/prepared';
export {
  DATASETS,
  DEFAULT_DATASET,
  datasetDir,
  datasetNames,
  getDataset,
  resolveBaseUrl,
  shardsToFetch,
  shardUrl,
  type BuiltinDataset,
  type Dataset,
  type DatasetDefaults,
  type DatasetKind,
  type DatasetName,
  type ParquetDataset,
  type ShardRef,
  type ShardToFetch,
  type Split,
} from './data/datasets';
export { downloadShards, type DownloadEvent, type DownloadOptions, type DownloadResult } from './data/download';
export { countRows, isValidParquetFile, readParquetMetadata, readTextColumn, validateParquetFile } from './data/parquet';
export { documents, localShards, type DocumentsOptions } from './data/documents';
export { SOTU_VAL_EVERY, sotuDocuments, sotuSplit, type SotuDocument } from './data/sotu';
export type { ShardFailure, AgentErrorKind, LockHolder } from './errors';

// The scorer on prepared data (what a run and `autoresearch eval` report), and the runner.
export {
  evaluateValBpb,
  type ValBpbOptions,
  type ValBpbResult,
  EVALUATOR_VERSION,
  EVAL_BATCH_TOKENS,
  bitsPerByte,
  checkModelAgainstData,
  defaultEvalBatchSize,
  evalSteps,
  type BpbSource,
} from './runner/scorer';
export { DEFAULT_TIME_BUDGET, DEFAULT_TOTAL_TIME_LIMIT } from './runner/run-experiment';
export { SUMMARY_KEYS, type ExperimentStatus, type FailureKind } from './runner/types';
export { formatSummary } from './runner/summary';
export { validateExperimentConfig } from './runner/validate-config';

// The native runtime: process-wide facts and settings.
export { getThreads, manualSeed, measureMatmulFlops, measureMatmulFlopsSync, runtimeInfo, setThreads, type RuntimeInfo } from './native/runtime';

// The research loop: agents, the git ratchet, results files, lock, reports.
export {
  BuiltinAgent,
  CliAgent,
  OpenAIAgent,
  DEFAULT_AGENT,
  DEFAULT_OPENAI_BASE_URL,
  DESCRIPTION_FILE,
  agentKind,
  buildPrompt,
  configKey,
  createAgent,
  findKnobs,
  parseKnobs,
  setKnob,
  type Agent,
  type AgentContext,
  type BuiltinAgentOptions,
  type CliAgentOptions,
  type CreateAgentOptions,
  type FixedConstants,
  type HistoryEntry,
  type KnobSite,
  type KnobValue,
  type KnobValues,
  type OpenAIAgentOptions,
  type PromptOptions,
  type Proposal,
  type ProposeOptions,
  type ResultRow as AgentResultRow,
} from './loop/agents';
export {
  DEFAULT_AUTHOR,
  REQUIRED_FILES,
  branchName,
  changedFiles,
  checkedOutTag,
  commitFiles,
  createBranch,
  currentBranch,
  defaultTag,
  diffOf,
  fileAt,
  headSha,
  keepRef,
  keepRefName,
  keptRefs,
  openRepo,
  parentOf,
  resetHard,
  revertExcept,
  trackedFiles,
  type BranchInfo,
  type KeptRef,
  type RepoInfo,
} from './loop/git';
export { diffHunks, unifiedDiff, type UnifiedDiffOptions } from './loop/diff';
export { LOCK_FILE, LOOP_IGNORES, PROGRESS_SVG, RESULTS_JSONL, RESULTS_TSV, RUN_LOG, STATE_DIR } from './loop/paths';
export {
  RESULT_STATUSES,
  TSV_HEADER,
  appendResult,
  bestKept,
  countByStatus,
  ensureGitignore,
  flattenDescription,
  formatTsvRow,
  inferTags,
  lastKept,
  loadResults,
  nextExperimentNumber,
  parseResultsTsv,
  runningBest,
  toResultRow,
  type Fingerprint,
  type GitignoreUpdate,
  type NewResult,
  type ReadResultsOptions,
  type SummaryFields,
} from './loop/results';
export { acquireLock, isProcessAlive, lockPath, readLock, type LockInfo, type ReleaseLock } from './loop/lock';
export {
  allTagsReportJson,
  formatResultsReport,
  formatTagsReport,
  improvements,
  resultsReportJson,
  rowsByTag,
  summarizeResults,
  tagReportJson,
  type Improvement,
  type ReportOptions,
  type ResultsReportJson,
  type ResultsSummary,
  type TagRows,
} from './loop/report';
export { renderProgressSvg, type PlotOptions } from './loop/plot';
export { fingerprint, harnessDifferences } from './loop/fingerprint';
export { requestStop, withdrawStop, type StopRequest } from './loop/control';
export { DEFAULT_DASHBOARD_PORT, startDashboard, type Dashboard, type DashboardOptions } from './dashboard/server';
export { UnknownTagError } from './errors';

// Setting up: the machine report, a new research folder, sizing by timing.
export { doctor, formatDoctor, formatRecommendation, type DoctorOptions, type DoctorReport, type PreparedDatasetReport } from './setup/doctor';
export { init, type InitOptions, type InitResult } from './setup/init';
export {
  CPU_LOGIT_COST,
  CPU_TRAINING_EFFICIENCY,
  CPU_STEP_TOKENS,
  TARGET_STEPS,
  estimateFlopsPerToken,
  estimateParams,
  recommendConfig,
  recommendTimed,
  type Recommendation,
  type RecommendedKnobs,
  type RecommendInput,
  type RecommendOverrides,
} from './setup/recommend';
export { cpuTimer, timeTrainingSteps, type StepTimer, type StepTiming } from './setup/step-timer';

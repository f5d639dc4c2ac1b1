// Public API of autoresearch.
export { GPT, type GPTOptions, type DeviceInfo, type ParamCounts, type ParameterInfo } from './gpt';
export { Optimizer, OPTIMIZER_DEFAULTS, type OptimizerConfig, type OptimizerGroup, type StepSettings } from './optimizer';
export {
  MODEL_DEFAULTS,
  modelConfigFromDepth,
  resolveWindows,
  validateModelConfig,
  type MlpActivation,
  type ModelConfig,
  type ModelSizing,
} from './config/model-config';
export { batchFromRows, type TokenBatch } from './batch';
export {
  DataLoader,
  LOADER_DEFAULTS,
  type DataLoaderOptions,
  type LoaderBatch,
  type LoaderState,
  type TokenDtype,
} from './data/loader';
export { bitsPerByte, evaluateBpb, EVALUATOR_VERSION, type BpbResult, type BpbSource } from './bpb';
export { readHeader as readCheckpointHeader, type CheckpointHeader } from './checkpoint';
export { getThreads, manualSeed, measureMatmulFlops, measureMatmulFlopsSync, runtimeInfo, setThreads, type RuntimeInfo } from './runtime';
export {
  SANITY_TEXT,
  SPECIAL_TOKENS,
  SPLIT_PATTERN,
  TOKENIZER_FILES,
  Tokenizer,
  type EncodeOptions,
  type TokenizerTrainOptions,
  type TrainingStats,
} from './tokenizer';
export { AddonLoadError, CheckpointError, ConfigError, DisposedError, TokenizerError } from './errors';
export {
  doctor,
  formatDoctor,
  formatRecommendation,
  type DoctorOptions,
  type DoctorReport,
  type PreparedDatasetReport,
} from './doctor';
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
} from './recommend';
export { cpuTimer, randomBatch, timeTrainingSteps, type StepTimer, type StepTiming } from './step-timer';
export {
  EVAL_BATCH_TOKENS,
  checkModelAgainstData,
  checkVocabulary,
  defaultEvalBatchSize,
  evalSteps,
  evaluateCheckpoint,
  evaluateValBpb,
  preparedTokenizer,
  type EvaluateOptions,
  type EvaluateResult,
  type ValBpbOptions,
  type ValBpbResult,
} from './evaluate';
export {
  SAMPLE_DEFAULTS,
  generate,
  pickToken,
  sampleCheckpoint,
  seededRandom,
  type GenerateOptions,
  type GenerateResult,
  type SampleOptions,
  type SamplingOptions,
} from './sample';
export {
  checkConstants,
  datasetPaths,
  listPreparedDatasets,
  readPreparedMeta,
  resolveCacheDir,
  resolvePreparedMeta,
  type DatasetPaths,
  type PreparedMeta,
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
export { DataIntegrityError, DownloadError, MissingDataError, type ShardFailure } from './errors';
export type { ExperimentConfig } from './config/experiment-config';
export { REFERENCE_DEFAULTS, CONFIG_KEYS, SCHEDULE_KEYS } from './config/experiment-config';
export { runExperiment, DEFAULT_TIME_BUDGET, DEFAULT_TOTAL_TIME_LIMIT, type RunOptions } from './runner/run-experiment';
export { SUMMARY_KEYS, type ExperimentResult, type ExperimentStatus, type ExperimentSummary, type FailureKind } from './runner/types';
export { formatSummary, parseSummary } from './runner/summary';
export { validateExperimentConfig } from './runner/validate-config';
export { prepare, formatPrepareSummary, type PrepareOptions, type PrepareResult } from './data/prepare';
export { findPreparedDataset } from './data/prepared';
export { AgentError, type AgentErrorKind } from './errors';
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
export { init, type InitOptions, type InitResult } from './init';
export { BranchExistsError, GitRepoError, LockHeldError, ResultsError, type LockHolder } from './errors';
export {
  DEFAULT_AUTHOR,
  REQUIRED_FILES,
  branchName,
  changedFiles,
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
  lastKept,
  loadResults,
  nextExperimentNumber,
  parseResultsTsv,
  readResults,
  runningBest,
  toResultRow,
  type Fingerprint,
  type GitignoreUpdate,
  type NewResult,
  type ReadResultsOptions,
  type ResultRow,
  type ResultStatus,
  type SummaryFields,
} from './loop/results';
export { acquireLock, isProcessAlive, lockPath, readLock, type LockInfo, type ReleaseLock } from './loop/lock';
export { formatResultsReport, improvements, resultsReportJson, summarizeResults, type Improvement, type ReportOptions, type ResultsSummary } from './loop/report';
export { renderProgressSvg, type PlotOptions } from './loop/plot';
export { researchLoop, type LoopOptions, type LoopOutcome } from './loop/loop';
export { fingerprint, harnessDifferences } from './loop/fingerprint';

// The live dashboard of a research session, and the loop's stop control it uses.
export { DEFAULT_DASHBOARD_PORT, startDashboard, type Dashboard, type DashboardOptions } from './dashboard/server';
export { requestStop, withdrawStop, type StopRequest } from './loop/control';

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
} from './model-config';
export { batchFromRows, type TokenBatch } from './batch';
export {
  DataLoader,
  LOADER_DEFAULTS,
  type DataLoaderOptions,
  type LoaderBatch,
  type LoaderState,
  type TokenDtype,
} from './data/loader';
export { bitsPerByte, evaluateBpb, type BpbResult, type BpbSource } from './bpb';
export { readHeader as readCheckpointHeader, type CheckpointHeader } from './checkpoint';
export { getThreads, manualSeed, measureMatmulFlops, runtimeInfo, setThreads, type RuntimeInfo } from './runtime';
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
  MIN_TOTAL_BATCH,
  TARGET_STEPS,
  estimateFlopsPerToken,
  estimateParams,
  recommendConfig,
  type Recommendation,
  type RecommendedKnobs,
  type RecommendInput,
  type RecommendOverrides,
} from './recommend';
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
export { DownloadError, MissingDataError, type ShardFailure } from './errors';
export type { ExperimentConfig, MlpActivationName } from './experiment-config';
export { REFERENCE_DEFAULTS, CONFIG_KEYS, SCHEDULE_KEYS } from './experiment-config';

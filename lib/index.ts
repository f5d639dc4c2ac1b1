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
export { doctor, formatDoctor, type DoctorReport } from './doctor';

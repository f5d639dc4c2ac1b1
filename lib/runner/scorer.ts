// `autoresearch eval`: val_bpb of a saved checkpoint on the prepared validation split, computed
// the way every experiment is scored (SPEC §6):
// - rows of MAX_SEQ_LEN + 1 tokens from val.bin, packed BOS-aligned best-fit in file order
//   (shuffle: false), so every evaluation sees the same tokens;
// - steps = EVAL_TOKENS / (B x MAX_SEQ_LEN) batches (integer division, as the reference);
// - token_bytes from the prepared tokenizer, the sums of lib/bpb.ts.
// The loader fills rows one after another whatever B is, so the rows scored are the same for
// every B that divides EVAL_TOKENS / MAX_SEQ_LEN; B only sets how many go through at once.
import fs from 'node:fs/promises';
import path from 'node:path';

import { evaluateBpb, type BpbResult } from './bpb';
import { configFromHeader, readHeader } from './checkpoint';
import { DataLoader } from './data/loader';
import { datasetPaths, resolvePreparedMeta, type PreparedMeta } from './data/prepared';
import { ConfigError } from './errors';
import { GPT } from './gpt';
import type { ModelConfig } from './model-config';
import { Tokenizer, TOKENIZER_FILES } from './tokenizer';

/** Tokens per forward pass that the default evaluation batch size aims at (32 rows at 256). */
export const EVAL_BATCH_TOKENS = 8192;

/** The default rows per evaluation batch: EVAL_BATCH_TOKENS / MAX_SEQ_LEN, at least 1. */
export function defaultEvalBatchSize(maxSeqLen: number, evalTokens = Infinity): number {
  // Never more rows than EVAL_TOKENS holds: data prepared with a small EVAL_TOKENS still scores.
  return Math.max(1, Math.floor(Math.min(EVAL_BATCH_TOKENS, evalTokens) / maxSeqLen));
}

export interface ValBpbOptions {
  /** The prepared data (readPreparedMeta / resolvePreparedMeta). */
  meta: PreparedMeta;
  /** Cache directory holding it; default: AUTORESEARCH_CACHE_DIR or ~/.cache/autoresearch. */
  cacheDir?: string;
  /** Rows per batch (DEVICE_BATCH_SIZE in a run). Default defaultEvalBatchSize(MAX_SEQ_LEN). */
  batchSize?: number;
  /** token_bytes of the prepared tokenizer; read from the cache when not given. */
  tokenBytes?: Int32Array;
  /** Called after each batch with the batches done and the total. */
  onProgress?: (done: number, total: number) => void;
  /**
   * Evaluate on the calling thread (blocking it) instead of the thread pool: what a training
   * process does, so that its OpenMP work stays on one thread (GPT.bpbSumsSync).
   */
  onThisThread?: boolean;
}

export interface ValBpbResult extends BpbResult {
  /** Batches evaluated: EVAL_TOKENS / (batchSize x maxSeqLen). */
  steps: number;
  batchSize: number;
  maxSeqLen: number;
  /** Positions scored: steps x batchSize x maxSeqLen (targets of special tokens included). */
  evaluatedTokens: number;
  /** Wall-clock seconds of the evaluation (loader and forward passes). */
  seconds: number;
}

export interface EvaluateOptions {
  /** A safetensors checkpoint written by GPT.save. */
  checkpoint: string;
  /** Prepared dataset; default: the only or most recently prepared one in the cache. */
  dataset?: string;
  cacheDir?: string;
  /** Rows per batch. Default defaultEvalBatchSize(MAX_SEQ_LEN). */
  batchSize?: number;
  /** 'auto' | 'cpu' | 'cuda' | 'cuda:N'. Default: AUTORESEARCH_DEVICE or auto. */
  device?: string;
  onProgress?: (done: number, total: number) => void;
}

export interface EvaluateResult extends ValBpbResult {
  checkpoint: string;
  dataset: string;
  evalTokens: number;
  /** The device the model ran on, e.g. "cpu". */
  device: string;
  /** Things worth knowing about this evaluation (e.g. a model built for a longer context). */
  notes: string[];
}

/** The prepared tokenizer of a dataset, checked against the vocabulary meta.json records. */
export async function preparedTokenizer(meta: PreparedMeta, cacheDir?: string): Promise<Tokenizer> {
  const tokenizer = await Tokenizer.load(datasetPaths(meta.dataset, cacheDir).tokenizer);
  if (tokenizer.vocabSize !== meta.vocabSize) {
    throw new ConfigError(
      `the '${meta.dataset}' tokenizer has ${tokenizer.vocabSize} tokens but meta.json records ${meta.vocabSize}: ` +
        `run \`autoresearch prepare --dataset ${meta.dataset}\` again`,
    );
  }
  return tokenizer;
}

/**
 * token_bytes.bin of a dataset's prepared tokenizer (SPEC §3), all the evaluation needs of it:
 * read directly, without building the tokenizer (~0.4 s at vocab 8192).
 */
export async function preparedTokenBytes(meta: PreparedMeta, cacheDir?: string): Promise<Int32Array> {
  const file = path.join(datasetPaths(meta.dataset, cacheDir).tokenizer, TOKENIZER_FILES.tokenBytes);
  const data = await fs.readFile(file).catch((err: NodeJS.ErrnoException) => {
    throw new ConfigError(`cannot read ${file} (${err.code ?? err.message}): run \`autoresearch prepare --dataset ${meta.dataset}\` again`);
  });
  if (data.length !== meta.vocabSize * 4) {
    throw new ConfigError(
      `${file} holds ${data.length / 4} token lengths but meta.json records a vocabulary of ${meta.vocabSize}: ` +
        `run \`autoresearch prepare --dataset ${meta.dataset}\` again`,
    );
  }
  return Int32Array.from({ length: meta.vocabSize }, (_, id) => data.readInt32LE(id * 4));
}

/** Refuses a model whose vocabulary is not the prepared one: its ids would mean other tokens. */
export function checkVocabulary(config: ModelConfig, meta: PreparedMeta, what = 'the model'): void {
  if (config.vocabSize !== meta.vocabSize) {
    throw new ConfigError(
      `${what} has a vocabulary of ${config.vocabSize} tokens but the prepared '${meta.dataset}' data has ${meta.vocabSize}: ` +
        'use a checkpoint trained on this data, or name the dataset it was trained on (--dataset)',
    );
  }
}

/**
 * Refuses a model that cannot be scored on this data: another vocabulary, or a context
 * shorter than MAX_SEQ_LEN (the evaluation sequence length).
 */
export function checkModelAgainstData(config: ModelConfig, meta: PreparedMeta, what = 'the model'): void {
  checkVocabulary(config, meta, what);
  if (config.sequenceLen < meta.maxSeqLen) {
    throw new ConfigError(
      `${what} was built for sequences of ${config.sequenceLen} tokens but the prepared '${meta.dataset}' data ` +
        `evaluates at MAX_SEQ_LEN ${meta.maxSeqLen}: use a checkpoint trained on this data, or data prepared with --seq-len ${config.sequenceLen}`,
    );
  }
}

/** Steps of an evaluation: EVAL_TOKENS / (B x MAX_SEQ_LEN); throws when B is too large. */
export function evalSteps(meta: PreparedMeta, batchSize: number): number {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new ConfigError(`batch size must be a positive integer (got ${batchSize})`);
  }
  const steps = Math.floor(meta.evalTokens / (batchSize * meta.maxSeqLen));
  if (steps < 1) {
    const most = Math.max(1, Math.floor(meta.evalTokens / meta.maxSeqLen));
    throw new ConfigError(
      `batch size ${batchSize} x MAX_SEQ_LEN ${meta.maxSeqLen} is more than EVAL_TOKENS ${meta.evalTokens}: use a batch size of at most ${most}`,
    );
  }
  return steps;
}

/**
 * val_bpb of a model on the prepared validation split (see the file comment): the number an
 * experiment reports. The model must match the data (checkModelAgainstData).
 */
export async function evaluateValBpb(model: GPT, options: ValBpbOptions): Promise<ValBpbResult> {
  const { meta } = options;
  checkModelAgainstData(model.config, meta);
  const batchSize = options.batchSize ?? defaultEvalBatchSize(meta.maxSeqLen, meta.evalTokens);
  const steps = evalSteps(meta, batchSize);
  const tokenBytes = options.tokenBytes ?? (await preparedTokenBytes(meta, options.cacheDir));
  const started = performance.now();
  using loader = DataLoader.open(path.join(datasetPaths(meta.dataset, options.cacheDir).tokens, meta.val.file), {
    batchSize,
    seqLen: meta.maxSeqLen,
    bosId: meta.bosId,
    dtype: meta.dtype,
    shuffle: false,
  });
  function* batches() {
    for (let step = 0; step < steps; step++) {
      yield loader.next();
      options.onProgress?.(step + 1, steps); // resumed: that batch is scored
    }
  }
  return {
    ...(await evaluateBpb(options.onThisThread ? { bpbSums: async (b, t) => model.bpbSumsSync(b, t) } : model, batches(), tokenBytes)),
    steps,
    batchSize,
    maxSeqLen: meta.maxSeqLen,
    evaluatedTokens: steps * batchSize * meta.maxSeqLen,
    seconds: (performance.now() - started) / 1000,
  };
}

/** Loads a checkpoint and evaluates it on the prepared validation split (`autoresearch eval`). */
export async function evaluateCheckpoint(options: EvaluateOptions): Promise<EvaluateResult> {
  const meta = await resolvePreparedMeta(options.dataset, options.cacheDir);
  // The header alone says whether the model fits the data: refuse before loading the weights.
  const config = configFromHeader(options.checkpoint, await readHeader(options.checkpoint));
  checkModelAgainstData(config, meta, `checkpoint '${options.checkpoint}'`);
  const tokenBytes = await preparedTokenBytes(meta, options.cacheDir);
  using model = await GPT.load(options.checkpoint, { device: options.device });
  const result = await evaluateValBpb(model, {
    meta,
    cacheDir: options.cacheDir,
    batchSize: options.batchSize,
    tokenBytes,
    onProgress: options.onProgress,
  });
  const notes =
    config.sequenceLen > meta.maxSeqLen
      ? [
          `the model was built for ${config.sequenceLen}-token sequences and is scored at MAX_SEQ_LEN ${meta.maxSeqLen}: ` +
            'its attention windows are relative to its own length, so this is not the number a run on this data would report',
        ]
      : [];
  return {
    ...result,
    checkpoint: path.resolve(options.checkpoint),
    dataset: meta.dataset,
    evalTokens: meta.evalTokens,
    device: model.device.device,
    notes,
  };
}

// The frozen scorer: val_bpb, the number every experiment is judged by (SPEC §6). Runs, `autoresearch
// eval` and the tests all score through evaluateValBpb (or, for hand-made batches, evaluateBpb).
//   val_bpb = sum(loss_nats * [bytes > 0]) / (ln 2 * sum(bytes)),  bytes = token_bytes[target]
// Dividing by bytes instead of tokens makes the number independent of the vocabulary, so
// tokenizers of different sizes compare fairly. Special tokens decode to no bytes: they are
// left out of both sums (predicting BOS is not compression of text). Targets of -1 are ignored.
// The per-batch sums are computed natively (GPT.bpbSums, native/bpb.cc) next to the per-token
// losses. What is scored:
// - rows of MAX_SEQ_LEN + 1 tokens from val.bin, packed BOS-aligned best-fit in file order
//   (shuffle: false), so every evaluation sees the same tokens;
// - steps = EVAL_TOKENS / (B x MAX_SEQ_LEN) batches (integer division, as the reference);
// - token_bytes from the prepared tokenizer.
// The loader fills rows one after another whatever B is, so the rows scored are the same for
// every B that divides EVAL_TOKENS / MAX_SEQ_LEN; B only sets how many go through at once.
import path from 'node:path';

import type { TokenBatch } from '../data/batch';
import { DataLoader } from '../data/loader';
import { datasetPaths, type PreparedMeta } from '../data/prepared';
import { checkVocabulary, preparedTokenBytes } from '../data/prepared-tokenizer';
import { ConfigError } from '../errors';
import type { GPT } from '../model/gpt';
import type { ModelConfig } from '../config/model-config';
import type { NativeBpbSums } from '../native/addon';

/**
 * The evaluator's version: raised whenever a change to what turns a model and the validation
 * data into val_bpb (this module, native/eval/scorer.cc, the per-token losses of
 * native/model/softcap_cross_entropy.cc) can move the number for the same model and data. Results
 * scored by different evaluators are not compared: the research loop's harness fingerprint
 * carries it (lib/loop/fingerprint.ts).
 * - 1: the soft-capped softmax in fp32 with fast polynomial exp and tanh, its last bits
 *   depending on the SIMD variant the CPU picked.
 * - 2: on the CPU, everything after the head's fp32 matmul in double precision with exact
 *   exp, log and tanh, the same in every SIMD variant (native/model/exact_math.h).
 */
export const EVALUATOR_VERSION = 2;

/** val_bpb and the sums it is made of. */
export interface BpbResult {
  /** Bits per byte over every counted token. */
  bpb: number;
  /** Summed loss in nats over counted tokens. */
  nats: number;
  /** Summed UTF-8 bytes of counted target tokens. */
  bytes: number;
  /** Counted tokens (targets with bytes > 0). */
  tokens: number;
}

/** val_bpb from accumulated sums; NaN-free: throws when nothing was counted. */
export function bitsPerByte(sums: NativeBpbSums): BpbResult {
  if (!(sums.bytes > 0)) {
    throw new Error('val_bpb is undefined: no target token with a byte length was evaluated (empty validation data?)');
  }
  return { bpb: sums.nats / (Math.LN2 * sums.bytes), nats: sums.nats, bytes: sums.bytes, tokens: sums.tokens };
}

/** Anything that can compute the native sums for one batch (a GPT). */
export interface BpbSource {
  bpbSums(batch: TokenBatch, tokenBytes: Int32Array): Promise<NativeBpbSums>;
}

/**
 * Evaluates val_bpb over batches, one at a time, off the JavaScript thread.
 * @param tokenBytes UTF-8 byte length of each token id (0 for special tokens).
 */
export async function evaluateBpb(
  model: BpbSource,
  batches: Iterable<TokenBatch> | AsyncIterable<TokenBatch>,
  tokenBytes: Int32Array,
): Promise<BpbResult> {
  const total: NativeBpbSums = { nats: 0, bytes: 0, tokens: 0 };
  for await (const batch of batches) {
    const sums = await model.bpbSums(batch, tokenBytes);
    total.nats += sums.nats;
    total.bytes += sums.bytes;
    total.tokens += sums.tokens;
  }
  return bitsPerByte(total);
}

/** Tokens per forward pass that the default evaluation batch size aims at (32 rows at 256). */
export const EVAL_BATCH_TOKENS = 8192;

/** The default rows per evaluation batch: EVAL_BATCH_TOKENS / MAX_SEQ_LEN, at least 1. */
export function defaultEvalBatchSize(maxSeqLen: number, evalTokens = Infinity): number {
  // Never more rows than EVAL_TOKENS holds: data prepared with a small EVAL_TOKENS still scores.
  return Math.max(1, Math.floor(Math.min(EVAL_BATCH_TOKENS, evalTokens) / maxSeqLen));
}

/** The prepared data to score on and how (batch size, thread, progress). */
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

/** val_bpb on the validation split, with the batches scored and the time it took. */
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

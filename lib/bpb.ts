// Bits per byte, the score of every experiment (SPEC §6). A frozen contract:
//   val_bpb = sum(loss_nats * [bytes > 0]) / (ln 2 * sum(bytes)),  bytes = token_bytes[target]
// Dividing by bytes instead of tokens makes the number independent of the vocabulary, so
// tokenizers of different sizes compare fairly. Special tokens decode to no bytes: they are
// left out of both sums (predicting BOS is not compression of text). Targets of -1 are ignored.
// The per-batch sums are computed natively (native/bpb.cc) next to the per-token losses.
import type { TokenBatch } from './batch';
import type { NativeBpbSums } from './native/addon';

/**
 * The evaluator's version: raised whenever a change to what turns a model and the validation
 * data into val_bpb (these sums, native/bpb.cc, the per-token losses of
 * native/softcap_cross_entropy.cc) can move the number for the same model and data. Results
 * scored by different evaluators are not compared: the research loop's harness fingerprint
 * carries it (lib/loop/fingerprint.ts).
 * - 1: the soft-capped softmax in fp32 with fast polynomial exp and tanh, its last bits
 *   depending on the SIMD variant the CPU picked.
 * - 2: on the CPU, everything after the head's fp32 matmul in double precision with exact
 *   exp, log and tanh, the same in every SIMD variant (native/exact_math.h).
 */
export const EVALUATOR_VERSION = 2;

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

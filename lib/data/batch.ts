// Token batches, and pseudo-random ones for timings and tests.
import { seededRandom } from '../random';

/** A batch of token ids as the model takes it: B rows of T ids each, row-major. */
export interface TokenBatch {
  /** B x T input ids, row-major. */
  inputs: Int32Array;
  /** B x T target ids (the next token); -1 marks a position to ignore. */
  targets: Int32Array;
  batchSize: number;
  seqLen: number;
}

/**
 * A batch of pseudo-random ids, the same for the same arguments: each row is a random stream
 * and its targets are the stream's next tokens, as in real data. For timings and tests.
 */
export function randomBatch(batchSize: number, seqLen: number, vocabSize: number, seed = 1): TokenBatch {
  const random = seededRandom(seed);
  const next = () => Math.floor(random() * vocabSize);
  const inputs = new Int32Array(batchSize * seqLen);
  const targets = new Int32Array(batchSize * seqLen);
  for (let b = 0; b < batchSize; b++) {
    let prev = next();
    for (let t = 0; t < seqLen; t++) {
      const cur = next();
      inputs[b * seqLen + t] = prev;
      targets[b * seqLen + t] = cur;
      prev = cur;
    }
  }
  return { inputs, targets, batchSize, seqLen };
}

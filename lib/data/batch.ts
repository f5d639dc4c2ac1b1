// A batch of token ids as the model takes it: B rows of T ids each, row-major.
import { ConfigError } from './errors';

export interface TokenBatch {
  /** B x T input ids, row-major. */
  inputs: Int32Array;
  /** B x T target ids (the next token); -1 marks a position to ignore. */
  targets: Int32Array;
  batchSize: number;
  seqLen: number;
}

/**
 * Splits packed rows of T + 1 tokens (as the data loader produces them) into
 * inputs = row[:, :-1] and targets = row[:, 1:].
 */
export function batchFromRows(rows: Int32Array, batchSize: number, seqLen: number): TokenBatch {
  if (rows.length !== batchSize * (seqLen + 1)) {
    throw new ConfigError(`rows hold ${rows.length} ids, expected batchSize ${batchSize} x (seqLen ${seqLen} + 1)`);
  }
  const inputs = new Int32Array(batchSize * seqLen);
  const targets = new Int32Array(batchSize * seqLen);
  for (let b = 0; b < batchSize; b++) {
    const row = rows.subarray(b * (seqLen + 1), (b + 1) * (seqLen + 1));
    inputs.set(row.subarray(0, seqLen), b * seqLen);
    targets.set(row.subarray(1), b * seqLen);
  }
  return { inputs, targets, batchSize, seqLen };
}

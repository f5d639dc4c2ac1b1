// The tokenizer of a prepared dataset, read from the cache, and the vocabulary check that a
// model's ids mean that tokenizer's tokens. Scoring needs only token_bytes.bin; sampling
// needs the whole tokenizer.
import fs from 'node:fs/promises';
import path from 'node:path';

import { ConfigError } from '../errors';
import type { ModelConfig } from '../config/model-config';
import { datasetPaths, type PreparedMeta } from './prepared';
import { Tokenizer, TOKENIZER_FILES } from './tokenizer';

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
 * read directly, without building the whole tokenizer.
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

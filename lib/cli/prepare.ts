// `autoresearch prepare`: download, tokenizer, token files; see lib/data/prepare.ts.
import type { CommandModule } from 'yargs';

import { formatPrepareSummary, prepare } from '../data/prepare';

interface PrepareArgs {
  dataset?: string;
  'num-shards'?: number;
  'download-workers': number;
  'seq-len'?: number;
  'eval-tokens'?: number;
  'vocab-size'?: number;
  'cache-dir'?: string;
  'base-url'?: string;
  json: boolean;
}

export const prepareCommand: CommandModule<object, PrepareArgs> = {
  command: 'prepare',
  describe: 'Download a dataset, train the tokenizer and tokenize the data once',
  builder: (y) =>
    y
      .option('dataset', { type: 'string', describe: 'climbmix | fineweb-edu | tinystories | sotu (built-in, offline); default: climbmix with a CUDA GPU, sotu on a CPU (never decided by the network)' })
      .option('num-shards', { type: 'number', describe: 'training shards to download (-1 = all)' })
      .option('download-workers', { type: 'number', default: 8, describe: 'parallel downloads' })
      .option('seq-len', { type: 'number', describe: 'MAX_SEQ_LEN (default: the dataset\'s)' })
      .option('eval-tokens', { type: 'number', describe: 'EVAL_TOKENS (default: the dataset\'s)' })
      .option('vocab-size', { type: 'number', describe: 'tokenizer vocabulary incl. 4 special tokens (default: the dataset\'s)' })
      .option('cache-dir', { type: 'string', describe: 'default: AUTORESEARCH_CACHE_DIR or ~/.cache/autoresearch' })
      .option('base-url', { type: 'string', describe: 'mirror of the dataset host' })
      .option('json', { type: 'boolean', default: false, describe: 'print the prepared metadata as JSON' }),
  handler: async (argv) => {
    const result = await prepare({
      dataset: argv.dataset,
      numShards: argv['num-shards'],
      downloadWorkers: argv['download-workers'],
      seqLen: argv['seq-len'],
      evalTokens: argv['eval-tokens'],
      vocabSize: argv['vocab-size'],
      cacheDir: argv['cache-dir'],
      baseUrl: argv['base-url'],
    });
    process.stdout.write((argv.json ? JSON.stringify(result.meta, null, 2) : formatPrepareSummary(result)) + '\n');
  },
};

// `autoresearch sample`: stream a continuation of a prompt from a checkpoint; see lib/model/sample.ts.
import type { CommandModule } from 'yargs';

import { SAMPLE_DEFAULTS, sampleCheckpoint } from '../model/sample';

interface SampleArgs {
  checkpoint: string;
  prompt: string;
  'max-tokens': number;
  temperature: number;
  'top-k': number;
  seed: number;
  dataset?: string;
  'cache-dir'?: string;
  json: boolean;
}

export const sampleCommand: CommandModule<object, SampleArgs> = {
  command: 'sample',
  describe: 'Generate text from a checkpoint with the prepared tokenizer',
  builder: (y) =>
    y
      .option('checkpoint', { type: 'string', demandOption: true, describe: 'safetensors file written by a run (or GPT.save)' })
      .option('prompt', { type: 'string', demandOption: true, describe: 'text to continue ("" starts a new document)' })
      .option('max-tokens', { type: 'number', default: SAMPLE_DEFAULTS.maxTokens, describe: 'new tokens to generate' })
      .option('temperature', { type: 'number', default: SAMPLE_DEFAULTS.temperature, describe: '0 = greedy (always the most likely token)' })
      .option('top-k', { type: 'number', default: SAMPLE_DEFAULTS.topK, describe: 'sample among the k most likely tokens (0 = all)' })
      .option('seed', { type: 'number', default: SAMPLE_DEFAULTS.seed, describe: 'seed of the sampling: the same seed gives the same text' })
      .option('dataset', { type: 'string', describe: 'prepared dataset whose tokenizer to use (default: the only or most recent)' })
      .option('cache-dir', { type: 'string', describe: 'default: AUTORESEARCH_CACHE_DIR or ~/.cache/autoresearch' })
      .option('json', { type: 'boolean', default: false, describe: 'print { text, completion, tokens, ... } as JSON instead of streaming' }),
  handler: async (argv) => {
    // The prompt goes out with the first piece of text, after the checkpoint has loaded.
    let started = false;
    const write = (text: string) => {
      if (!started) process.stdout.write(argv.prompt);
      started = true;
      process.stdout.write(text);
    };
    const result = await sampleCheckpoint({
      checkpoint: argv.checkpoint,
      prompt: argv.prompt,
      maxTokens: argv['max-tokens'],
      temperature: argv.temperature,
      topK: argv['top-k'],
      seed: argv.seed,
      dataset: argv.dataset,
      cacheDir: argv['cache-dir'],
      onText: argv.json ? undefined : write,
    });
    if (argv.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    else write('\n');
  },
};

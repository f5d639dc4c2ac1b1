// `autoresearch eval`: val_bpb of a checkpoint on the prepared validation split; see lib/evaluate.ts.
import type { CommandModule } from 'yargs';

import { evaluateCheckpoint } from '../evaluate';
import { ProgressBar } from './progress';

interface EvalArgs {
  checkpoint: string;
  dataset?: string;
  'cache-dir'?: string;
  'batch-size'?: number;
  json: boolean;
}

export const evalCommand: CommandModule<object, EvalArgs> = {
  command: 'eval',
  describe: 'Score a checkpoint: val_bpb on the prepared validation split, as a run would',
  builder: (y) =>
    y
      .option('checkpoint', { type: 'string', demandOption: true, describe: 'safetensors file written by a run (or GPT.save)' })
      .option('dataset', { type: 'string', describe: 'prepared dataset (default: the only or most recently prepared one)' })
      .option('cache-dir', { type: 'string', describe: 'default: AUTORESEARCH_CACHE_DIR or ~/.cache/autoresearch' })
      .option('batch-size', { type: 'number', describe: 'rows per batch (default: 8192 / MAX_SEQ_LEN); val_bpb does not depend on it' })
      .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON' }),
  handler: async (argv) => {
    let bar: ProgressBar | null = null;
    const result = await evaluateCheckpoint({
      checkpoint: argv.checkpoint,
      dataset: argv.dataset,
      cacheDir: argv['cache-dir'],
      batchSize: argv['batch-size'],
      onProgress: (done, total) => {
        if (!process.stderr.isTTY) return;
        bar ??= new ProgressBar('evaluating', total);
        bar.update(done, 'batches');
      },
    });
    (bar as ProgressBar | null)?.finish();
    for (const note of result.notes) process.stderr.write(`note: ${note}\n`);
    if (argv.json) {
      process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    } else {
      process.stderr.write(
        `${result.dataset}: ${result.steps} batches of ${result.batchSize} x ${result.maxSeqLen} tokens, ` +
          `${result.tokens} scored tokens, ${result.bytes} bytes, ${result.seconds.toFixed(1)} s on ${result.device}\n`,
      );
      process.stdout.write(`val_bpb: ${result.bpb.toFixed(6)}\n`);
    }
  },
};

// `autoresearch eval`: val_bpb of a checkpoint on the prepared validation split, scored as a run
// scores its model (lib/runner/scorer.ts).
import path from 'node:path';

import type { CommandModule } from 'yargs';

import { resolvePreparedMeta } from '../data/prepared';
import { preparedTokenBytes } from '../data/prepared-tokenizer';
import { configFromHeader, readHeader } from '../model/checkpoint';
import { GPT } from '../model/gpt';
import { ProgressBar } from '../progress';
import { checkModelAgainstData, evaluateValBpb, type ValBpbResult } from '../runner/scorer';

/** The checkpoint to score and the prepared data to score it on. */
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

/** val_bpb of a checkpoint, with the data and device it was scored on. */
export interface EvaluateResult extends ValBpbResult {
  checkpoint: string;
  dataset: string;
  evalTokens: number;
  /** The device the model ran on, e.g. "cpu". */
  device: string;
  /** Things worth knowing about this evaluation (e.g. a model built for a longer context). */
  notes: string[];
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

// `autoresearch smoke`: prepare a tiny offline dataset, write a DEPTH 1 config, run a
// few-second experiment (lib/setup/smoke.ts). Exit 0 when it ends with a val_bpb, 1 when it crashed.
import type { CommandModule } from 'yargs';

import { smoke } from '../setup/smoke';
import { EXIT, positiveSeconds, UsageError } from './exit';
import { plainRunOutput } from './progress';

interface SmokeArgs {
  'cache-dir'?: string;
  dir?: string;
  'time-budget': string;
  device?: string;
  keep: boolean;
  json: boolean;
}

export const smokeCommand: CommandModule<object, SmokeArgs> = {
  command: 'smoke',
  describe: 'Check the install end to end in seconds, offline: tiny built-in dataset, DEPTH 1 config, a 3 s experiment',
  builder: (y) =>
    y
      .option('cache-dir', { type: 'string', describe: 'prepare the data here (default: a temporary folder, removed afterwards)' })
      .option('dir', { type: 'string', describe: 'write train/config.ts and run.log here (default: a temporary folder, removed afterwards)' })
      .option('time-budget', { type: 'string', default: '3', describe: 'training seconds' })
      .option('device', { type: 'string', describe: 'auto | cpu | cuda | cuda:N (default: AUTORESEARCH_DEVICE or auto)' })
      .option('keep', { type: 'boolean', default: false, describe: 'keep the temporary folders (their paths are printed)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON (status, summary, seconds, folders)' }),
  handler: async (argv) => {
    let timeBudget: number;
    try {
      timeBudget = positiveSeconds('time-budget', argv['time-budget'])!;
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const controller = new AbortController();
    let interrupted = false;
    process.once('SIGINT', () => {
      interrupted = true;
      controller.abort();
    });
    const result = await smoke({
      cacheDir: argv['cache-dir'],
      dir: argv.dir,
      timeBudget,
      device: argv.device,
      keep: argv.keep,
      signal: controller.signal,
      log: (line) => process.stderr.write(line + '\n'),
      onOutput: argv.json ? undefined : plainRunOutput((text) => process.stderr.write(text), !!process.stderr.isTTY),
    });
    if (argv.json) {
      process.stdout.write(JSON.stringify({ ...result, interrupted }, null, 2) + '\n');
    } else if (result.status === 'ok') {
      const s = result.run.summary!;
      process.stdout.write(
        `smoke: ok: val_bpb ${s.val_bpb.toFixed(6)} after ${s.num_steps} steps; ` +
          `${result.seconds.total.toFixed(1)} s in all (prepare ${result.seconds.prepare.toFixed(1)} s, run ${result.seconds.run.toFixed(1)} s)` +
          (result.kept ? `; kept ${result.dir} and ${result.cacheDir}` : '') +
          '\n',
      );
    } else {
      process.stderr.write(`smoke: the experiment crashed: ${result.run.cause ?? 'see the log'}\n${result.run.errorExcerpt ?? ''}\n`);
    }
    process.exitCode = interrupted ? EXIT.interrupted : result.status === 'ok' ? EXIT.ok : EXIT.crashed;
  },
};

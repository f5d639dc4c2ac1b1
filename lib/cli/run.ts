// `autoresearch run`: one experiment in the current directory; the summary on stdout and exit
// code 1 on a crash (2: usage or set-up error, nothing run; 130: interrupted).
import fs from 'node:fs';
import path from 'node:path';

import type { CommandModule } from 'yargs';

import { ConfigError } from '../errors';
import { parseAssignments } from '../runner/overrides';
import { runExperiment } from '../runner/run-experiment';
import { EXIT, positiveSeconds, UsageError } from './exit';
import { plainRunOutput } from './progress';

interface RunArgs {
  dir: string;
  'time-budget'?: string;
  dataset?: string;
  'cache-dir'?: string;
  config?: string;
  set?: string[];
  log: string;
  save?: string;
  device?: string;
  'time-limit': string;
  json: boolean;
}

/** The config a run would use, or a ConfigError saying to run init (checked before anything is written). */
function requireConfig(dir: string, config?: string): string {
  const file = path.resolve(dir, config ?? path.join('train', 'config.ts'));
  if (!fs.existsSync(file)) {
    throw new ConfigError(
      `${file} does not exist: write a config first with \`autoresearch init${dir === '.' ? '' : ` ${dir}`}\`` +
        (config ? ' or pass --config with an existing file' : ''),
    );
  }
  return file;
}

export const runCommand: CommandModule<object, RunArgs> = {
  command: 'run',
  describe: 'Run one experiment with <dir>/train/config.ts and print its summary',
  builder: (y) =>
    y
      .option('dir', { type: 'string', default: '.', describe: 'experiment directory (holds train/config.ts)' })
      .option('time-budget', { type: 'string', describe: 'training seconds, a positive number (default: AUTORESEARCH_TIME_BUDGET or 300)' })
      .option('dataset', { type: 'string', describe: 'prepared dataset (default: the most recently prepared)' })
      .option('cache-dir', { type: 'string', describe: 'where prepared data lives (default: AUTORESEARCH_CACHE_DIR or ~/.cache/autoresearch)' })
      .option('config', { type: 'string', describe: 'config module, relative to --dir (default: train/config.ts)' })
      .option('set', { type: 'string', array: true, describe: 'override a config value for this run only, NAME=VALUE (repeatable), e.g. --set DEPTH=1' })
      .option('log', { type: 'string', default: 'run.log', describe: 'log file, relative to --dir' })
      .option('save', { type: 'string', describe: 'save the final weights here (safetensors)' })
      .option('device', { type: 'string', describe: 'auto | cpu | cuda | cuda:N (default: AUTORESEARCH_DEVICE or auto)' })
      .option('time-limit', { type: 'string', default: '600', describe: 'kill the run after this many seconds in total' })
      .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON (no live output)' }),
  handler: async (argv) => {
    let timeBudget: number | undefined;
    let timeLimit: number;
    let overrides;
    try {
      timeBudget = positiveSeconds('time-budget', argv['time-budget']);
      timeLimit = positiveSeconds('time-limit', argv['time-limit'])!;
      overrides = argv.set && argv.set.length > 0 ? parseAssignments(argv.set) : undefined;
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    requireConfig(argv.dir, argv.config);
    const controller = new AbortController();
    let interrupted = false;
    process.once('SIGINT', () => {
      interrupted = true;
      controller.abort();
    });
    const result = await runExperiment({
      dir: argv.dir,
      timeBudget,
      dataset: argv.dataset,
      cacheDir: argv['cache-dir'],
      configPath: argv.config,
      overrides,
      logPath: argv.log,
      saveCheckpoint: argv.save,
      device: argv.device,
      totalTimeLimit: timeLimit,
      signal: controller.signal,
      onOutput: argv.json ? undefined : plainRunOutput((text) => process.stdout.write(text), !!process.stdout.isTTY),
    });
    if (interrupted) {
      process.stderr.write(`\nautoresearch: interrupted; the run was stopped (log: ${result.logPath})\n`);
      process.exitCode = EXIT.interrupted;
      if (argv.json) process.stdout.write(JSON.stringify({ ...result, interrupted: true }, null, 2) + '\n');
      return;
    }
    if (argv.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    if (result.status === 'crash') {
      if (!argv.json) process.stderr.write(`\nautoresearch: the run crashed: ${result.cause ?? 'see the log'} (full log: ${result.logPath})\n`);
      process.exitCode = result.failure === 'data' ? EXIT.usage : EXIT.crashed;
    }
  },
};

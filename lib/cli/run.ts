// `autoresearch run`: one experiment in the current directory; the summary on stdout and a
// non-zero exit code on a crash.
import type { CommandModule } from 'yargs';

import { runExperiment } from '../runner/run-experiment';

interface RunArgs {
  dir: string;
  'time-budget'?: number;
  dataset?: string;
  'cache-dir'?: string;
  config?: string;
  log: string;
  save?: string;
  device?: string;
  'time-limit': number;
  json: boolean;
}

export const runCommand: CommandModule<object, RunArgs> = {
  command: 'run',
  describe: 'Run one experiment with <dir>/train/config.ts and print its summary',
  builder: (y) =>
    y
      .option('dir', { type: 'string', default: '.', describe: 'experiment directory (holds train/config.ts)' })
      .option('time-budget', { type: 'number', describe: 'training seconds (default: AUTORESEARCH_TIME_BUDGET or 300)' })
      .option('dataset', { type: 'string', describe: 'prepared dataset (default: the most recently prepared)' })
      .option('cache-dir', { type: 'string', describe: 'default: AUTORESEARCH_CACHE_DIR or ~/.cache/autoresearch' })
      .option('config', { type: 'string', describe: 'config module (default: train/config.ts)' })
      .option('log', { type: 'string', default: 'run.log', describe: 'log file' })
      .option('save', { type: 'string', describe: 'save the final weights (safetensors)' })
      .option('device', { type: 'string', describe: 'auto | cpu | cuda | cuda:N' })
      .option('time-limit', { type: 'number', default: 600, describe: 'kill the run after this many seconds in total' })
      .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON (no live output)' }),
  handler: async (argv) => {
    const controller = new AbortController();
    process.once('SIGINT', () => controller.abort());
    const result = await runExperiment({
      dir: argv.dir,
      timeBudget: argv['time-budget'],
      dataset: argv.dataset,
      cacheDir: argv['cache-dir'],
      configPath: argv.config,
      logPath: argv.log,
      saveCheckpoint: argv.save,
      device: argv.device,
      totalTimeLimit: argv['time-limit'],
      signal: controller.signal,
      onOutput: argv.json ? undefined : (text) => process.stdout.write(text),
    });
    if (argv.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    if (result.status === 'crash') {
      if (!argv.json) process.stderr.write(`\nautoresearch: the run crashed (full log: ${result.logPath})\n`);
      process.exitCode = 1;
    }
  },
};

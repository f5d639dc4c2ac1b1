// `autoresearch loop`: the research loop in the current repository; see lib/loop/loop.ts.
import type { CommandModule } from 'yargs';

import { ProgressBar } from './progress';
import { researchLoop } from '../loop/loop';

interface LoopArgs {
  dir: string;
  tag?: string;
  max?: number;
  'max-hours'?: number;
  agent: string;
  'base-url'?: string;
  'agent-timeout': number;
  resume: boolean;
  'min-delta': number;
  'noise-runs': number;
  confirm: boolean;
  'time-budget'?: number;
  'time-limit': number;
  dataset?: string;
  'cache-dir'?: string;
  device?: string;
  seed: number;
}

export const loopCommand: CommandModule<object, LoopArgs> = {
  command: 'loop',
  describe: 'Run the research loop: propose, commit, run, keep or reset, forever (or --max)',
  builder: (y) =>
    y
      .option('dir', { type: 'string', default: '.', describe: 'the repository (train/config.ts, program.md)' })
      .option('tag', { type: 'string', describe: 'run tag; branch autoresearch/<tag> (default: today, e.g. nov22)' })
      .option('max', { type: 'number', describe: 'stop after N experiments after the baseline' })
      .option('max-hours', { type: 'number', describe: 'stop starting experiments after H hours' })
      .option('agent', { type: 'string', default: 'builtin', describe: "builtin | openai:<model> | '<agent command line>'" })
      .option('base-url', { type: 'string', describe: 'OpenAI-compatible endpoint for openai:<model>' })
      .option('agent-timeout', { type: 'number', default: 600, describe: 'seconds per proposal' })
      .option('resume', { type: 'boolean', default: false, describe: 'continue an existing run (after a crash or kill)' })
      .option('min-delta', { type: 'number', default: 0, describe: 'required val_bpb improvement to keep' })
      .option('noise-runs', { type: 'number', default: 0, describe: 'measure seed-to-seed spread with K baseline runs' })
      .option('confirm', { type: 'boolean', default: false, describe: 're-run a winner with another seed before keeping it' })
      .option('time-budget', { type: 'number', describe: 'training seconds per experiment (default 300)' })
      .option('time-limit', { type: 'number', default: 600, describe: 'kill an experiment after this many seconds in total' })
      .option('dataset', { type: 'string' })
      .option('cache-dir', { type: 'string' })
      .option('device', { type: 'string' })
      .option('seed', { type: 'number', default: 42, describe: "the builtin agent's seed" }),
  handler: async (argv) => {
    const controller = new AbortController();
    let interrupts = 0;
    process.on('SIGINT', () => {
      interrupts++;
      if (interrupts > 1) process.exit(130);
      process.stderr.write('\nstopping: cleaning up (Ctrl-C again to quit at once)\n');
      controller.abort();
    });
    let bar: ProgressBar | null = null;
    const outcome = await researchLoop({
      dir: argv.dir,
      tag: argv.tag,
      max: argv.max,
      maxHours: argv['max-hours'],
      agent: argv.agent,
      agentOptions: { baseUrl: argv['base-url'] },
      agentTimeout: argv['agent-timeout'],
      resume: argv.resume,
      minDelta: argv['min-delta'],
      noiseRuns: argv['noise-runs'],
      confirm: argv.confirm,
      timeBudget: argv['time-budget'],
      totalTimeLimit: argv['time-limit'],
      dataset: argv.dataset,
      cacheDir: argv['cache-dir'],
      device: argv.device,
      seed: argv.seed,
      signal: controller.signal,
      log: (line) => {
        bar = null;
        process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[K' : ''}${line}\n`);
      },
      onRunOutput: process.stderr.isTTY
        ? (text) => {
            const match = /^step (\d+) \(([\d.]+)%\) \| loss: ([\d.]+)/m.exec(text.split('\n').filter(Boolean).pop() ?? '');
            if (!match) return;
            bar ??= new ProgressBar('training', 100);
            bar.update(Number(match[2]), `step ${Number(match[1])} loss ${match[3]}`);
          }
        : undefined,
    });
    const best = outcome.best;
    process.stdout.write(
      `${outcome.stoppedBecause === 'aborted' ? 'stopped' : 'done'}: ${outcome.recorded} experiment(s) recorded on ${outcome.branch}` +
        (best ? `; best val_bpb ${best.val_bpb?.toFixed(6)} at ${best.commit.slice(0, 7)} (${best.description})` : '') +
        '\n',
    );
  },
};

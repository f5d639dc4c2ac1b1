// `autoresearch loop`: the research loop in the current repository; see lib/loop/loop.ts.
import type { CommandModule } from 'yargs';

import { EXIT, positiveSeconds, UsageError } from './exit';
import { PLAIN_PROGRESS_SECONDS, ProgressBar } from '../progress';
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
  'time-budget'?: string;
  'time-limit': string;
  dataset?: string;
  'cache-dir'?: string;
  device?: string;
  seed: number;
  json: boolean;
  workers: number;
  executor: string;
  devices?: string;
  'threads-per-worker'?: number;
  'slurm-partition'?: string;
  'slurm-gres'?: string;
  'slurm-time'?: string;
  'slurm-args'?: string;
}

export const loopCommand: CommandModule<object, LoopArgs> = {
  command: 'loop',
  describe: 'Run the research loop: propose, commit, run, keep or reset, forever (or --max)',
  builder: (y) =>
    y
      .option('dir', { type: 'string', default: '.', describe: 'the research folder (train/config.ts, program.md committed): a repository, or a folder inside one' })
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
      .option('time-budget', { type: 'string', describe: 'training seconds per experiment (default: AUTORESEARCH_TIME_BUDGET or 300)' })
      .option('time-limit', { type: 'string', default: '600', describe: 'kill an experiment after this many seconds in total' })
      .option('dataset', { type: 'string', describe: 'prepared dataset (default: the most recently prepared)' })
      .option('cache-dir', { type: 'string', describe: 'where prepared data lives (default: AUTORESEARCH_CACHE_DIR or ~/.cache/autoresearch)' })
      .option('device', { type: 'string', describe: 'auto | cpu | cuda | cuda:N (default: AUTORESEARCH_DEVICE or auto)' })
      .option('seed', { type: 'number', default: 42, describe: "the builtin agent's seed" })
      .option('json', { type: 'boolean', default: false, describe: 'print the outcome as JSON at the end (tag, branch, recorded, best, threshold, stoppedBecause)' })
      .option('workers', { type: 'number', default: 1, describe: 'experiments in flight at once' })
      .option('executor', { type: 'string', default: 'local', choices: ['local', 'slurm'], describe: 'where experiments run: children of this process, or sbatch jobs' })
      .option('devices', { type: 'string', describe: 'local devices, one per worker, comma-separated (default: cuda:0… with GPUs, else cpu)' })
      .option('threads-per-worker', { type: 'number', describe: 'threads per CPU worker (default: the cores divided between them); Slurm: --cpus-per-task' })
      .option('slurm-partition', { type: 'string', describe: 'sbatch --partition' })
      .option('slurm-gres', { type: 'string', describe: 'sbatch --gres, e.g. gpu:1' })
      .option('slurm-time', { type: 'string', describe: 'sbatch --time per experiment (default: the time limit plus a minute)' })
      .option('slurm-args', { type: 'string', describe: 'more sbatch arguments, passed as they are' }),
  handler: async (argv) => {
    let timeBudget: number | undefined;
    let timeLimit: number;
    try {
      timeBudget = positiveSeconds('time-budget', argv['time-budget']);
      timeLimit = positiveSeconds('time-limit', argv['time-limit'])!;
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    if (!Number.isInteger(argv.workers) || argv.workers < 1) throw new UsageError(`--workers must be a positive integer (got ${argv.workers})`);
    const threadsPerWorker = argv['threads-per-worker'];
    if (threadsPerWorker !== undefined && (!Number.isInteger(threadsPerWorker) || threadsPerWorker < 1)) {
      throw new UsageError(`--threads-per-worker must be a positive integer (got ${threadsPerWorker})`);
    }
    const controller = new AbortController();
    let interrupts = 0;
    process.on('SIGINT', () => {
      interrupts++;
      if (interrupts > 1) process.exit(EXIT.interrupted);
      process.stderr.write('\nstopping: cleaning up (Ctrl-C again to quit at once)\n');
      controller.abort();
    });
    let bar: ProgressBar | null = null;
    let lastPlain = 0;
    // A run's phase from its latest line: starting, warm-up, training, evaluating.
    const phase = (text: string): { percent: number; detail: string } | null => {
      const line = text.split('\n').filter(Boolean).pop() ?? '';
      const step = /^step (\d+) \(([\d.]+)%\) \| loss: ([\d.]+)/.exec(line);
      if (step) {
        const n = Number(step[1]);
        return { percent: Number(step[2]), detail: `${n <= 10 ? 'warm-up ' : ''}step ${n} loss ${step[3]}` };
      }
      if (/^(evaluating|warm-up:)/.test(line)) return { percent: 100, detail: 'evaluating val_bpb' };
      if (/^(data|model|startup|config|overrides)/.test(line)) return { percent: 0, detail: 'starting' };
      return null;
    };
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
      timeBudget,
      totalTimeLimit: timeLimit,
      dataset: argv.dataset,
      cacheDir: argv['cache-dir'],
      device: argv.device,
      seed: argv.seed,
      workers: argv.workers,
      executor: argv.executor as 'local' | 'slurm',
      devices: argv.devices?.split(',').map((d) => d.trim()).filter(Boolean),
      threadsPerWorker,
      slurm: {
        partition: argv['slurm-partition'],
        gres: argv['slurm-gres'],
        time: argv['slurm-time'],
        args: argv['slurm-args']?.split(/\s+/).filter(Boolean),
      },
      signal: controller.signal,
      log: (line) => {
        bar = null;
        process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[K' : ''}${line}\n`);
      },
      onRunOutput: (text) => {
        const p = phase(text);
        if (!p) return;
        if (process.stderr.isTTY) {
          bar ??= new ProgressBar('experiment', 100);
          bar.update(p.percent, p.detail);
        } else if (Date.now() - lastPlain >= PLAIN_PROGRESS_SECONDS * 1000) {
          lastPlain = Date.now();
          process.stderr.write(`experiment: ${p.percent.toFixed(0)}% ${p.detail}\n`);
        }
      },
    });
    const best = outcome.best;
    if (argv.json) {
      process.stdout.write(JSON.stringify(outcome, null, 2) + '\n');
    } else {
      process.stdout.write(
        `${outcome.stoppedBecause === 'aborted' ? 'stopped' : 'done'}: ${outcome.recorded} experiment(s) recorded on ${outcome.branch}` +
          (best ? `; best val_bpb ${best.val_bpb?.toFixed(6)} at ${best.commit.slice(0, 7)} (${best.description})` : '') +
          '\n',
      );
    }
    if (outcome.stoppedBecause === 'aborted') process.exitCode = EXIT.interrupted;
  },
};

// `autoresearch worker --job FILE`: run one experiment job of a parallel loop and write its
// result file (lib/runner/job.ts). What `autoresearch loop --executor slurm` submits with
// sbatch; it is not meant to be typed by hand. Exit 0 when a result was written (a crashed
// experiment is a result), 1 when none could be, 130 when interrupted (scancel sends SIGTERM).
import type { CommandModule } from 'yargs';

import { readJob, runJob } from '../runner/job';
import { EXIT, UsageError } from './exit';

interface WorkerArgs {
  job: string;
}

export const workerCommand: CommandModule<object, WorkerArgs> = {
  command: 'worker',
  describe: 'Run one experiment job of a parallel loop (what `loop --executor slurm` submits)',
  builder: (y) => y.option('job', { type: 'string', demandOption: true, describe: 'the job file written by the loop' }),
  handler: async (argv) => {
    let job;
    try {
      job = readJob(argv.job);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const controller = new AbortController();
    let interrupted = false;
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        interrupted = true;
        controller.abort();
      });
    }
    process.stderr.write(`worker: experiment ${job.id} on ${job.device}, log ${job.logPath}\n`);
    const { result } = await runJob(job, { signal: controller.signal });
    process.stderr.write(`worker: experiment ${job.id}: ${result.status}${result.summary ? ` val_bpb ${result.summary.val_bpb.toFixed(6)}` : `: ${result.cause}`}\n`);
    process.exitCode = interrupted ? EXIT.interrupted : EXIT.ok;
  },
};

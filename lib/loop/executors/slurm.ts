// The Slurm executor: each experiment is one `sbatch` of `autoresearch worker --job FILE` on a
// filesystem the cluster's nodes share with the coordinator (the repository's
// .autoresearch/jobs/). The worker writes the result file atomically; the coordinator follows
// the job with squeue while it is queued or running, then reads the result file. A job that
// ends without one (cancelled, timed out, node failure, out of memory) is reported lost with
// the state Slurm gives (scontrol, else sacct); never dropped silently.
import { execFile } from 'node:child_process';
import fs from 'node:fs';

import { ConfigError } from '../../errors';
import { readJobResult, writeJob, type ExperimentJob } from '../../runner/job';
import type { Executor, JobEnd, JobRun, WorkerSlot } from './types';

export interface SlurmExecutorOptions {
  workers: number;
  partition?: string;
  /** e.g. 'gpu:1'. */
  gres?: string;
  /** Job time limit as Slurm takes it (default: the experiment's total time limit, rounded up to minutes). */
  time?: string;
  /** More sbatch arguments, passed as they are (split on spaces). */
  extraArgs?: string[];
  /** CPUs per job (also the job's intra-op threads). */
  cpusPerTask?: number;
  /** The worker's command line before `worker --job FILE` (default: this node and this autoresearch). */
  workerCommand: string[];
  /** Where job files, results and Slurm's output go (the repository's .autoresearch/jobs). */
  jobsDir: string;
  /** Name prefix of the jobs (`autoresearch-<tag>`). */
  jobName: string;
  /** How often squeue is asked, in ms (default 1000). */
  pollMs?: number;
  /** Environment of the Slurm commands (default: this process's; SLURM_CONF picks a cluster). */
  env?: NodeJS.ProcessEnv;
}

/** Quotes one word for the shell line that sbatch --wrap runs. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { env, timeout: 30_000 }, (err, stdout, stderr) => resolve({ ok: !err, stdout: String(stdout), stderr: String(stderr || (err?.message ?? '')) }));
  });
}

/** Slurm states after which a job runs no more. */
const ENDED = /^(COMPLETED|CANCELLED|FAILED|TIMEOUT|NODE_FAIL|PREEMPTED|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|REVOKED|SPECIAL_EXIT)/;

export class SlurmExecutor implements Executor {
  readonly name = 'slurm';
  readonly slots: readonly WorkerSlot[];
  private readonly env: NodeJS.ProcessEnv;

  constructor(private readonly o: SlurmExecutorOptions) {
    if (!Number.isInteger(o.workers) || o.workers < 1) throw new ConfigError(`--workers must be a positive integer (got ${o.workers})`);
    this.slots = Array.from({ length: o.workers }, (_, index) => ({ index, device: 'auto', threads: o.cpusPerTask }));
    this.env = o.env ?? process.env;
  }

  /** Refuses to start when sbatch or squeue do not answer (no Slurm here, or SLURM_CONF wrong). */
  async check(): Promise<void> {
    const probe = await run('squeue', ['-h', '-o', '%i', '-j', '0'], this.env).catch(() => null);
    const sinfo = await run('sinfo', ['-h', '-o', '%P'], this.env);
    if (!sinfo.ok || probe === null) {
      throw new ConfigError(
        `Slurm does not answer (sinfo: ${sinfo.stderr.trim().split('\n')[0] || 'not found'}): run the loop on a machine of the cluster, ` +
          'or start a one-host cluster with `bash scripts/slurm-local.sh start` and export the SLURM_CONF it prints',
      );
    }
  }

  private files(job: ExperimentJob): { jobFile: string; output: string } {
    return { jobFile: `${this.o.jobsDir}/${job.id}.json`, output: `${this.o.jobsDir}/${job.id}.slurm.out` };
  }

  async start(job: ExperimentJob, slot: WorkerSlot): Promise<JobRun> {
    const placed: ExperimentJob = { ...job, device: slot.device, threads: slot.threads };
    const { jobFile, output } = this.files(job);
    // A result file from an earlier attempt must not be taken for this one's.
    fs.rmSync(job.resultPath, { force: true });
    writeJob(jobFile, placed);
    const minutes = Math.ceil((job.totalTimeLimit + 60) / 60);
    const args = [
      '--parsable',
      `--job-name=${this.o.jobName}-${job.id}`,
      `--output=${output}`,
      `--time=${this.o.time ?? minutes}`,
      ...(this.o.partition ? [`--partition=${this.o.partition}`] : []),
      ...(this.o.gres ? [`--gres=${this.o.gres}`] : []),
      ...(this.o.cpusPerTask ? [`--cpus-per-task=${this.o.cpusPerTask}`] : []),
      ...(this.o.extraArgs ?? []),
      `--wrap=${[...this.o.workerCommand, 'worker', '--job', jobFile].map(shellWord).join(' ')}`,
    ];
    const submitted = await run('sbatch', args, this.env);
    const id = submitted.stdout.trim().split(';')[0]!;
    if (!submitted.ok || !/^\d+$/.test(id)) {
      return { worker: 'slurm:-', done: Promise.resolve({ kind: 'lost', reason: `sbatch refused the job: ${submitted.stderr.trim() || submitted.stdout.trim()}` }), cancel: () => undefined };
    }
    return this.follow(placed, id);
  }

  async adopt(job: ExperimentJob, worker: string): Promise<JobRun | null> {
    const id = /^slurm:(\d+)$/.exec(worker)?.[1];
    return id ? this.follow(job, id) : null;
  }

  private follow(job: ExperimentJob, id: string): JobRun {
    let cancelled = false;
    let wake: () => void = () => undefined;
    const done = (async (): Promise<JobEnd> => {
      for (;;) {
        const state = await this.queueState(id);
        if (state === null || ENDED.test(state)) break;
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, this.o.pollMs ?? 1000);
        });
      }
      // Ended: the result file, given a moment to appear on a shared filesystem.
      for (let tries = 0; ; tries++) {
        const result = readJobResult(job.resultPath);
        if (result && !cancelled) return { kind: 'result', result };
        if (cancelled || tries >= 10) break;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      const final = await this.finalState(id);
      if (cancelled) return { kind: 'lost', reason: `stopped by the loop (scancel ${id})` };
      return { kind: 'lost', reason: `Slurm job ${id} ended ${final ?? 'without a state Slurm still knows'} and wrote no result (see ${this.files(job).output})` };
    })().catch((err: unknown) => ({ kind: 'lost', reason: `following Slurm job ${id} failed: ${(err as Error).message}` }) as const);
    return {
      worker: `slurm:${id}`,
      done,
      cancel: () => {
        cancelled = true;
        void run('scancel', [id], this.env).then(() => wake());
      },
    };
  }

  /** The job's state while squeue lists it; null once it does not. */
  private async queueState(id: string): Promise<string | null> {
    const q = await run('squeue', ['-h', '-j', id, '-o', '%T'], this.env);
    // squeue exits non-zero for an id it no longer knows.
    const state = q.ok ? q.stdout.trim() : '';
    return state === '' ? null : state;
  }

  /** How an ended job ended: scontrol while the controller remembers it, else sacct. */
  private async finalState(id: string): Promise<string | null> {
    const show = await run('scontrol', ['show', 'job', '-o', id], this.env);
    const fromShow = /JobState=(\S+)(?:.*?Reason=(\S+))?/.exec(show.stdout);
    if (show.ok && fromShow) return fromShow[2] && fromShow[2] !== 'None' ? `${fromShow[1]} (${fromShow[2]})` : fromShow[1]!;
    const acct = await run('sacct', ['-n', '-X', '-P', '-j', id, '-o', 'State'], this.env);
    const state = acct.ok ? acct.stdout.trim().split('\n')[0]?.trim() : '';
    return state ? state : null;
  }
}

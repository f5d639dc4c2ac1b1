// An experiment as a pure job: the config's text, a seed and the harness it must run on ->
// one result. This is what a worker of `autoresearch loop --workers N` runs, in a local child
// or as a Slurm job (`autoresearch worker --job FILE`); a worker never touches git.
//
// The job file is written by the coordinator; the result file is written here, atomically
// (a temporary file renamed into place), so a reader sees a whole result or none. The score
// in it comes from runExperiment(): the config is still compiled here and run in the
// experiment process's sandbox, and the result still travels only over that process's IPC
// channel; the config never sees these files.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { writeFileAtomic } from '../atomic-file';
import { runExperiment } from './run-experiment';
import type { ExperimentResult } from './types';

export const JOB_VERSION = 1;

/** One experiment to run, as the coordinator writes it. */
export interface ExperimentJob {
  version: typeof JOB_VERSION;
  /** The experiment number. */
  id: number;
  /** The text of train/config.ts to run. */
  configSource: string;
  /** Replaces the config's SEED (noise and confirmation runs). */
  seed?: number;
  dataset: string;
  cacheDir?: string;
  timeBudget: number;
  totalTimeLimit: number;
  /** 'cpu', 'cuda', 'cuda:N' or 'auto'. */
  device: string;
  /** Intra-op threads (the worker's share of a CPU). */
  threads?: number;
  /** The run's log (absolute). */
  logPath: string;
  /** Where the result is written (absolute). */
  resultPath: string;
}

/** What a worker reports: the run's result and where it ran. */
export interface JobResult {
  version: typeof JOB_VERSION;
  id: number;
  result: ExperimentResult;
  /** Host name of the machine that ran it. */
  node: string;
  device: string;
  /** When the run started and ended there (ms since the epoch, that machine's clock). */
  startedAt: number;
  endedAt: number;
}

/** Writes a job file (atomically), creating its folder. */
export function writeJob(file: string, job: ExperimentJob): void {
  writeFileAtomic(file, JSON.stringify(job, null, 2) + '\n');
}

/** Reads and checks a job file; a clear error when it is not one. */
export function readJob(file: string): ExperimentJob {
  let job: Partial<ExperimentJob>;
  try {
    job = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<ExperimentJob>;
  } catch (err) {
    throw new Error(`${file} is not a readable job file: ${(err as Error).message}`);
  }
  const problems: string[] = [];
  if (job.version !== JOB_VERSION) problems.push(`version ${String(job.version)} (this autoresearch reads ${JOB_VERSION})`);
  if (!Number.isInteger(job.id)) problems.push('id');
  for (const key of ['configSource', 'dataset', 'device', 'logPath', 'resultPath'] as const) {
    if (typeof job[key] !== 'string') problems.push(key);
  }
  for (const key of ['timeBudget', 'totalTimeLimit'] as const) {
    if (typeof job[key] !== 'number' || !(job[key]! > 0)) problems.push(key);
  }
  if (problems.length > 0) throw new Error(`${file} is not a valid job file (bad or missing: ${problems.join(', ')})`);
  return job as ExperimentJob;
}

/** The result of a job, or null while there is none (a partial file is never seen). */
export function readJobResult(file: string): JobResult | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const parsed = JSON.parse(text) as JobResult;
  if (parsed.version !== JOB_VERSION || typeof parsed.result?.status !== 'string') throw new Error(`${file} is not a job result`);
  return parsed;
}

/** Runs a job and writes its result file (unless aborted); resolves with the result (a crash is a result too). */
export async function runJob(job: ExperimentJob, options: { signal?: AbortSignal; onOutput?: (text: string) => void } = {}): Promise<JobResult> {
  fs.mkdirSync(path.dirname(job.logPath), { recursive: true });
  const startedAt = Date.now();
  const result = await runExperiment({
    dir: path.dirname(job.logPath),
    configSource: job.configSource,
    dataset: job.dataset,
    cacheDir: job.cacheDir,
    timeBudget: job.timeBudget,
    totalTimeLimit: job.totalTimeLimit,
    device: job.device,
    threads: job.threads,
    seed: job.seed,
    logPath: job.logPath,
    signal: options.signal,
    onOutput: options.onOutput,
  });
  const out: JobResult = { version: JOB_VERSION, id: job.id, result, node: os.hostname(), device: job.device, startedAt, endedAt: Date.now() };
  // An interrupted run is not the experiment's result: the coordinator records the interruption.
  if (options.signal?.aborted) return out;
  writeFileAtomic(job.resultPath, JSON.stringify(out) + '\n');
  return out;
}

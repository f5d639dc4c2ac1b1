// runExperiment(): one experiment in an isolated child process. A crash, an abort or an OOM
// kill in native code ends the child, never the caller.
//
// The harness owns the score: the config is compiled here and evaluated in the worker's
// sandbox; the result comes only over the worker's IPC channel (never parsed from its
// output); and this process times the counted training with its own clock. A run whose clock
// disagrees with that one over the counted training by more than clockTolerance() (or that
// counts more step time than passed), or that trains past the budget by more than
// overrunMargin(), is a crash. (The steps' counted time excludes the progress lines between
// them, which add up with many tiny steps: the comparison is of the interval, not of the sum.) The summary block in the
// log and on onOutput is written here, from the checked result. The worker writes its progress
// to the log itself (run-log.ts); onOutput reads it back from there.
import fs from 'node:fs';
import path from 'node:path';

import { env } from '../env';
import { ConfigError } from '../errors';
import { compileConfig, compileConfigSource } from './config-compile';
import { checkOverrides, type ConfigOverrides } from './overrides';
import { RunLog } from './run-log';
import { formatSummary, roundSummary } from './summary';
import type { ExperimentResult, ExperimentSummary, FailureKind } from './types';
import { runWorker, type WorkerFailure, type WorkerMessage, type WorkerRequest } from './worker-process';

/** Where and how runExperiment runs: the folder and config, the data, the budget and limits, the device. */
export interface RunOptions {
  /** Directory holding train/config.ts (default: the current directory). */
  dir?: string;
  /** The config module (default: <dir>/train/config.ts). */
  configPath?: string;
  /** The config's text, run instead of the file (a job of the parallel loop). */
  configSource?: string;
  /** Intra-op threads of the run (default: AUTORESEARCH_THREADS or the machine's cores). */
  threads?: number;
  /** Prepared dataset (default: the only or most recently prepared one). */
  dataset?: string;
  cacheDir?: string;
  /** TIME_BUDGET in seconds (default: AUTORESEARCH_TIME_BUDGET or 300). */
  timeBudget?: number;
  /** Kill the run after this many seconds in total (default 600). */
  totalTimeLimit?: number;
  /** Log file (default: <dir>/run.log). */
  logPath?: string;
  /** 'auto' | 'cpu' | 'cuda' | 'cuda:N' (default: AUTORESEARCH_DEVICE or auto). */
  device?: string;
  /** Save the final weights here (safetensors). */
  saveCheckpoint?: string;
  /** Replaces the config's SEED for this run. */
  seed?: number;
  /** Knob values replacing the config's for this run only (e.g. `{ DEPTH: 1 }`); validated like the config. */
  overrides?: ConfigOverrides;
  /** Hash the training tokens in full before training (the loop does it once per session). */
  verifyTrainInFull?: boolean;
  /** Aborting kills the run; it then counts as a crash. */
  signal?: AbortSignal;
  /**
   * Receives the run's output (progress lines, summary) as it is written to the log, read back
   * every FOLLOW_INTERVAL_MS (half a second).
   */
  onOutput?: (text: string) => void;
}

export const DEFAULT_TIME_BUDGET = 300;
export const DEFAULT_TOTAL_TIME_LIMIT = 600;
const EXCERPT_LINES = 50;

/** Largest allowed gap between the worker's counted training time and this process's clock. */
export function clockTolerance(timeBudget: number): number {
  return 1 + 0.02 * timeBudget;
}

/** How far past the budget counted training may run before the run is stopped. */
function overrunMargin(timeBudget: number): number {
  return 20 + 0.1 * timeBudget;
}

const DIED = 'the experiment process was';

/**
 * True when the run's process died without reporting (killed by a signal, or exited without a
 * result): a parallel loop's worker retries such a run once before recording the crash.
 */
export function processDied(result: ExperimentResult): boolean {
  return result.status === 'crash' && result.failure === 'crash' && (result.cause ?? '').startsWith(`${DIED} `);
}

function checkThreads(value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new ConfigError(`threads must be a positive integer (got ${value})`);
  return value;
}

function checkTimeBudget(value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ConfigError(`the time budget must be a positive number of seconds (got ${value}); the default is ${DEFAULT_TIME_BUDGET}`);
  }
}

/** Runs one experiment; resolves (never rejects) with its result. */
export async function runExperiment(options: RunOptions = {}): Promise<ExperimentResult> {
  const dir = path.resolve(options.dir ?? process.cwd());
  const logPath = path.resolve(dir, options.logPath ?? 'run.log');
  const limit = options.totalTimeLimit ?? DEFAULT_TOTAL_TIME_LIMIT;
  const timeBudget = options.timeBudget ?? env.timeBudget() ?? DEFAULT_TIME_BUDGET;
  const started = performance.now();
  await fs.promises.mkdir(path.dirname(logPath), { recursive: true });
  const log = new RunLog(logPath);
  if (options.onOutput) log.follow(options.onOutput);
  /** The excerpt of a failed run; closes the log. */
  const excerpt = (): string => {
    const lines = log.lastLines(EXCERPT_LINES);
    log.close();
    return lines;
  };
  const crash = async (cause: string, failure: FailureKind): Promise<ExperimentResult> => {
    log.append(`crash: ${cause}\n`);
    return {
      status: 'crash',
      summary: null,
      logPath,
      errorExcerpt: excerpt(),
      wallSeconds: (performance.now() - started) / 1000,
      cause,
      failure,
    };
  };

  let request: WorkerRequest;
  try {
    checkTimeBudget(timeBudget);
    request = {
      config:
        options.configSource !== undefined
          ? await compileConfigSource(options.configSource)
          : await compileConfig(path.resolve(dir, options.configPath ?? path.join('train', 'config.ts'))),
      dataset: options.dataset,
      // Relative paths are the caller's (its working directory), not the worker's (dir).
      cacheDir: options.cacheDir === undefined ? undefined : path.resolve(options.cacheDir),
      timeBudget,
      device: options.device ?? env.device(),
      saveCheckpoint: options.saveCheckpoint ? path.resolve(dir, options.saveCheckpoint) : undefined,
      seed: options.seed,
      overrides: options.overrides === undefined ? undefined : checkOverrides(options.overrides),
      verifyTrainInFull: options.verifyTrainInFull,
      threads: options.threads === undefined ? undefined : checkThreads(options.threads),
    };
  } catch (err) {
    if (!(err instanceof ConfigError)) {
      log.close();
      throw err;
    }
    return crash(err.message, 'config');
  }

  let summary: ExperimentSummary | null = null;
  let failure: { kind: WorkerFailure; message: string } | null = null;
  let countingSince: number | null = null;
  let clockProblem: string | null = null;
  let overrunTimer: NodeJS.Timeout | undefined;
  const margin = overrunMargin(timeBudget);
  const onMessage = (m: WorkerMessage, kill: (reason: string) => void) => {
    if (m.type === 'counting' && countingSince === null) {
      countingSince = performance.now();
      overrunTimer = setTimeout(
        () => kill(`stopped: training ran past the ${timeBudget} s budget by more than ${margin.toFixed(0)} s (by this process's clock)`),
        (timeBudget + margin) * 1000,
      );
    } else if (m.type === 'trained') {
      clearTimeout(overrunTimer);
      const measured = countingSince === null ? null : (performance.now() - countingSince) / 1000;
      const tolerance = clockTolerance(timeBudget);
      if (measured === null && m.trainingSeconds > 0) {
        clockProblem = 'the worker reported training time without reporting when counted training started';
      } else if (measured !== null && !(Math.abs(measured - m.wallSeconds) <= tolerance)) {
        // The worker's clock against this one over the same interval: the steps it counted
        // (a part of that interval) were timed by the same clock.
        clockProblem =
          `the worker's clock read ${m.wallSeconds.toFixed(1)} s for counted training (${m.trainingSeconds.toFixed(1)} s in steps) ` +
          `but this process measured ${measured.toFixed(1)} s (tolerance ${tolerance.toFixed(1)} s): the run's clock cannot be trusted`;
      } else if (!(m.trainingSeconds <= m.wallSeconds + 0.5)) {
        clockProblem = `the worker counted ${m.trainingSeconds.toFixed(1)} s of training in ${m.wallSeconds.toFixed(1)} s: the run's clock cannot be trusted`;
      }
    } else if (m.type === 'summary') {
      summary = roundSummary(m.summary);
    } else if (m.type === 'error') {
      failure = { kind: m.kind, message: m.message };
    }
  };

  const { code, signal, spawnError, killedFor } = await runWorker(request, {
    cwd: dir,
    outputFd: log.fd,
    onMessage,
    timeLimit: { ms: limit * 1000, reason: `killed after the total time limit of ${limit} s` },
    signal: options.signal,
  });
  clearTimeout(overrunTimer);

  const done = summary as ExperimentSummary | null;
  const failed = failure as { kind: WorkerFailure; message: string } | null;
  if (spawnError) return crash(`could not start the experiment process: ${spawnError.message}`, 'crash');
  if (killedFor) return crash(killedFor, 'crash');
  if (failed) {
    // The worker printed `crash: <message>` itself; say it once more only in the result.
    return {
      status: 'crash',
      summary: null,
      logPath,
      errorExcerpt: excerpt(),
      wallSeconds: (performance.now() - started) / 1000,
      cause: failed.message,
      failure: failed.kind,
    };
  }
  if (signal) return crash(`${DIED} killed by ${signal} (out of memory, or a native crash)`, 'crash');
  if (code !== 0) return crash(`${DIED} exited with code ${code} without reporting why`, 'crash');
  if (clockProblem) return crash(clockProblem, 'clock');
  if (!done) return crash('the run ended without reporting a result', 'crash');
  if (countingSince === null) return crash('the run reported a result without reporting its training phases', 'clock');
  log.append(formatSummary(done) + '\n');
  log.close();
  return { status: 'ok', summary: done, logPath, errorExcerpt: null, wallSeconds: (performance.now() - started) / 1000, cause: null, failure: null };
}

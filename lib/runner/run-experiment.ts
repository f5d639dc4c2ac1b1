// runExperiment(): one experiment in an isolated child process. A crash, an abort or an OOM
// kill in native code ends the child, never the caller. The child's output is streamed to
// run.log (and to onOutput); the summary block is read back from it. After the total time
// limit (default 10 minutes) or on abort, the child's whole process group is killed and the
// run counts as a crash.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { env } from '../env';
import { parseSummary } from './summary';
import type { ExperimentResult } from './types';
import type { WorkerRequest } from './worker';

export interface RunOptions {
  /** Directory holding train/config.ts (default: the current directory). */
  dir?: string;
  /** The config module (default: <dir>/train/config.ts). */
  configPath?: string;
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
  /** Aborting kills the run; it then counts as a crash. */
  signal?: AbortSignal;
  /** Receives the child's output as it arrives (progress lines, summary). */
  onOutput?: (text: string) => void;
}

export const DEFAULT_TIME_BUDGET = 300;
export const DEFAULT_TOTAL_TIME_LIMIT = 600;
const EXCERPT_LINES = 50;

function workerCommand(): string[] {
  const ext = path.extname(__filename); // .ts when run from sources, .js when built
  return ['--require', require.resolve('tsx/cjs'), path.join(__dirname, `worker${ext}`)];
}

function lastLines(text: string, n: number): string {
  const lines = text.replace(/\s+$/, '').split('\n');
  return lines.slice(-n).join('\n');
}

/** Runs one experiment; resolves (never rejects) with its result. */
export async function runExperiment(options: RunOptions = {}): Promise<ExperimentResult> {
  const dir = path.resolve(options.dir ?? process.cwd());
  const logPath = path.resolve(dir, options.logPath ?? 'run.log');
  const limit = options.totalTimeLimit ?? DEFAULT_TOTAL_TIME_LIMIT;
  const request: WorkerRequest = {
    configPath: path.resolve(dir, options.configPath ?? path.join('train', 'config.ts')),
    dataset: options.dataset,
    cacheDir: options.cacheDir,
    timeBudget: options.timeBudget ?? env.timeBudget() ?? DEFAULT_TIME_BUDGET,
    device: options.device ?? env.device(),
    saveCheckpoint: options.saveCheckpoint ? path.resolve(dir, options.saveCheckpoint) : undefined,
    seed: options.seed,
  };
  await fs.promises.mkdir(path.dirname(logPath), { recursive: true });
  const log = fs.createWriteStream(logPath);
  let text = '';
  const output = (chunk: Buffer | string) => {
    const s = chunk.toString();
    text += s;
    log.write(s);
    options.onOutput?.(s);
  };

  const started = performance.now();
  const child = spawn(process.execPath, workerCommand(), {
    cwd: dir,
    env: { ...process.env, AUTORESEARCH_WORKER_REQUEST: JSON.stringify(request) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: the whole tree can be killed at once
  });
  child.stdout.on('data', output);
  child.stderr.on('data', output);

  let killedFor: string | null = null;
  const killTree = (reason: string) => {
    if (killedFor || child.exitCode !== null || child.signalCode !== null) return;
    killedFor = reason;
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  };
  const timer = setTimeout(() => killTree(`killed after the total time limit of ${limit} s`), limit * 1000);
  const onAbort = () => killTree('aborted');
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  // If the caller exits (Ctrl-C, crash), take the experiment down with it.
  const onExit = () => killTree('the calling process exited');
  process.once('exit', onExit);

  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', (err) => {
      output(`crash: could not start the experiment process: ${err.message}\n`);
      resolve({ code: null, signal: null });
    });
    child.once('close', (c, s) => resolve({ code: c, signal: s }));
  });
  clearTimeout(timer);
  options.signal?.removeEventListener('abort', onAbort);
  process.removeListener('exit', onExit);
  // Sweep up anything the child left in its group (e.g. a grandchild), quietly.
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // group already gone
  }

  const summary = code === 0 ? parseSummary(text) : null;
  if (!summary) {
    const cause =
      killedFor ??
      (signal ? `the experiment process was killed by ${signal} (out of memory, or a native crash)` : null) ??
      (code === 0 ? 'the run ended without a summary block' : null);
    if (cause) output(`crash: ${cause}\n`);
  }
  await new Promise<void>((resolve) => log.end(resolve));
  return {
    status: summary ? 'ok' : 'crash',
    summary,
    logPath,
    errorExcerpt: summary ? null : lastLines(text, EXCERPT_LINES),
    wallSeconds: (performance.now() - started) / 1000,
  };
}

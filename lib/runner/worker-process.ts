// Starting the experiment worker (worker.ts) and talking to it. The worker runs in its own
// process group, so a kill takes everything it started with it. Its stdout and stderr are
// progress for people (written straight to a run's log, or piped to a caller); what it
// reports (config checked, training phases, the summary, the cause of a failure) comes only
// over the IPC channel, which the config cannot reach.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import type { CompiledConfig } from './config-compile';
import type { ConfigOverrides } from './overrides';
import type { ExperimentSummary, FailureKind } from './types';

/** What the parent asks of a worker. */
export interface WorkerRequest {
  /** train/config.ts, compiled by config-compile.ts in the parent. */
  config: CompiledConfig;
  dataset?: string;
  cacheDir?: string;
  timeBudget: number;
  device: string;
  saveCheckpoint?: string;
  /** Replaces the config's SEED (seed-to-seed noise runs, confirmation runs). */
  seed?: number;
  /** Knob values replacing the config's (runExperiment's `overrides`, `run --set`). */
  overrides?: ConfigOverrides;
  /** Only load and validate the config, report `config-ok`, and exit. */
  checkOnly?: boolean;
  /** Hash the training tokens in full (not only size, mtime and sampled blocks). */
  verifyTrainInFull?: boolean;
  /** Intra-op threads (a worker of the parallel loop gets its share of the cores). */
  threads?: number;
}

/** Why a worker failed, as it reports it. */
export type WorkerFailure = Exclude<FailureKind, 'clock'>;

/** Messages from the worker, in the order they can arrive. */
export type WorkerMessage =
  | { type: 'config-ok' }
  /** The first counted training step starts now (the warm-up steps are over). */
  | { type: 'counting' }
  /** Training ended: the counted seconds by the worker's clock. */
  /** Counted training ended: the steps' time, and this worker's clock since `counting`. */
  | { type: 'trained'; trainingSeconds: number; wallSeconds: number; steps: number }
  | { type: 'summary'; summary: ExperimentSummary }
  | { type: 'error'; kind: WorkerFailure; message: string };

/** Messages from the parent. */
export type ParentMessage = { type: 'request'; request: WorkerRequest };

/** How a worker ended. */
export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started. */
  spawnError: Error | null;
  /** The reason it was killed for (time limit, abort, the caller's exit...), or null. */
  killedFor: string | null;
}

export interface RunWorkerOptions {
  cwd?: string;
  /** A file the worker's stdout and stderr are written to (a run's log); onOutput is then not called. */
  outputFd?: number;
  /** The worker's stdout and stderr, as they arrive through a pipe. */
  onOutput?: (text: string) => void;
  /** Each message, with the means to stop the worker because of it. */
  onMessage?: (message: WorkerMessage, kill: (reason: string) => void) => void;
  /** Kill the worker after `ms` milliseconds, for `reason`. */
  timeLimit: { ms: number; reason: string };
  /** Aborting kills the worker. */
  signal?: AbortSignal;
}

interface WorkerHandle {
  /** Resolves when the process has exited and its output is read. */
  exited: Promise<Omit<WorkerExit, 'killedFor'>>;
  /** Kills the worker's whole process group; the first reason given is kept. */
  kill(reason: string): void;
  /** The reason given to kill(), or null. */
  killedFor(): string | null;
}

function workerArgs(): string[] {
  const ext = path.extname(__filename); // .ts when run from sources, .js when built
  const script = path.join(__dirname, `worker${ext}`);
  return ext === '.ts' ? ['--require', require.resolve('tsx/cjs'), script] : [script];
}

const SETPRIV = '/usr/bin/setpriv';
let setprivWorks: boolean | undefined;

/**
 * The worker's command. Where util-linux's setpriv is present, the kernel kills the worker
 * when this process dies (PR_SET_PDEATHSIG, kept across exec): even inside a synchronous
 * training step, when no timer of its own could fire. Elsewhere the worker watches for its
 * parent from its event loop.
 */
function workerCommand(): { file: string; args: string[] } {
  if (setprivWorks === undefined) {
    setprivWorks = fs.existsSync(SETPRIV) && spawnSync(SETPRIV, ['--pdeathsig', 'KILL', '--', 'true']).status === 0;
  }
  const node = [process.execPath, ...workerArgs()];
  return setprivWorks ? { file: SETPRIV, args: ['--pdeathsig', 'KILL', '--', ...node] } : { file: node[0]!, args: node.slice(1) };
}

/**
 * Runs a worker on a request to its end, the one way experiments and config checks start one:
 * killed at the time limit, on abort, and when the calling process exits.
 */
export async function runWorker(request: WorkerRequest, options: RunWorkerOptions): Promise<WorkerExit> {
  const worker = startWorker(request, {
    cwd: options.cwd,
    outputFd: options.outputFd,
    onOutput: options.onOutput,
    onMessage: (message) => options.onMessage?.(message, worker.kill),
  });
  const timer = setTimeout(() => worker.kill(options.timeLimit.reason), options.timeLimit.ms);
  const onAbort = () => worker.kill('aborted');
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  // If the caller exits (Ctrl-C, crash), take the worker down with it.
  const onExit = () => worker.kill('the calling process exited');
  process.once('exit', onExit);
  try {
    return { ...(await worker.exited), killedFor: worker.killedFor() };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
    process.removeListener('exit', onExit);
  }
}

function startWorker(
  request: WorkerRequest,
  options: { cwd?: string; outputFd?: number; onOutput?: (text: string) => void; onMessage?: (message: WorkerMessage) => void },
): WorkerHandle {
  const command = workerCommand();
  const output = options.outputFd ?? 'pipe';
  const child = spawn(command.file, command.args, {
    cwd: options.cwd,
    env: process.env,
    stdio: ['ignore', output, output, 'ipc'],
    detached: true, // its own process group: the whole tree can be killed at once
    serialization: 'advanced',
  });
  child.stdout?.on('data', (chunk: Buffer) => options.onOutput?.(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => options.onOutput?.(chunk.toString()));
  child.on('message', (message) => options.onMessage?.(message as WorkerMessage));
  let reason: string | null = null;
  const kill = (why: string) => {
    if (reason !== null || child.exitCode !== null || child.signalCode !== null) return;
    reason = why;
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  };
  const exited = new Promise<Omit<WorkerExit, 'killedFor'>>((resolve) => {
    child.once('error', (err) => resolve({ code: null, signal: null, spawnError: err }));
    child.once('exit', (code, signal) => {
      // Sweep up anything the worker left in its group (e.g. a grandchild), quietly; then give
      // its pipes a moment to drain (a process that left the group may still hold them).
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // group already gone
      }
      const done = () => resolve({ code, signal, spawnError: null });
      const drained = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        done();
      }, 2000);
      child.once('close', () => {
        clearTimeout(drained);
        done();
      });
    });
  });
  child.send({ type: 'request', request } satisfies ParentMessage, (err) => {
    if (err) kill(`the request could not be sent to the experiment process: ${err.message}`);
  });
  return { exited, kill, killedFor: () => reason };
}

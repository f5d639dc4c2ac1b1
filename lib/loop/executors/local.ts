// The local executor: each worker slot runs its job as an experiment process on this machine
// (runExperiment's sandboxed child), on its own device, or on its share of the CPU's cores.
import os from 'node:os';

import { ConfigError } from '../../errors';
import { runJob, type ExperimentJob } from '../../runner/job';
import type { Executor, JobRun, WorkerSlot } from './types';

export interface LocalExecutorOptions {
  workers: number;
  /** The devices to use, one per worker (default: cuda:0…cuda:N-1 on a GPU machine, else cpu for all). */
  devices?: string[];
  /** Threads per worker on a CPU (default: the cores divided between the workers, at least 1). */
  threadsPerWorker?: number;
  /** Whether this machine has CUDA devices, and how many (for the default devices). */
  cudaDevices?: number;
}

/** The slots of `workers` local workers: one device each, or the CPU's cores divided between them. */
export function localSlots(o: LocalExecutorOptions): WorkerSlot[] {
  if (!Number.isInteger(o.workers) || o.workers < 1) throw new ConfigError(`--workers must be a positive integer (got ${o.workers})`);
  const cuda = o.cudaDevices ?? 0;
  const devices = o.devices ?? Array.from({ length: o.workers }, (_, i) => (cuda > 0 ? `cuda:${i % cuda}` : 'cpu'));
  if (devices.length !== o.workers) {
    throw new ConfigError(`--devices names ${devices.length} device(s) for ${o.workers} worker(s): give one per worker`);
  }
  const cpuWorkers = devices.filter((d) => d === 'cpu').length;
  const threads = o.threadsPerWorker ?? (cpuWorkers > 0 ? Math.max(1, Math.floor(os.availableParallelism() / cpuWorkers)) : undefined);
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) {
    throw new ConfigError(`--threads-per-worker must be a positive integer (got ${threads})`);
  }
  return devices.map((device, index) => ({ index, device, threads: device === 'cpu' ? threads : undefined }));
}

export class LocalExecutor implements Executor {
  readonly name = 'local';
  readonly slots: readonly WorkerSlot[];

  constructor(options: LocalExecutorOptions) {
    this.slots = localSlots(options);
  }

  async start(job: ExperimentJob, slot: WorkerSlot): Promise<JobRun> {
    const controller = new AbortController();
    const placed: ExperimentJob = { ...job, device: slot.device, threads: slot.threads };
    const done = runJob(placed, { signal: controller.signal }).then(
      (result) => (controller.signal.aborted ? ({ kind: 'lost', reason: 'stopped by the loop' } as const) : ({ kind: 'result', result } as const)),
      (err: unknown) => ({ kind: 'lost', reason: `the worker failed: ${(err as Error).message}` }) as const,
    );
    return { worker: `local:${slot.index}`, done, cancel: () => controller.abort() };
  }

  /** A local child dies with its coordinator (it is spawned to): nothing to follow. */
  async adopt(): Promise<JobRun | null> {
    return null;
  }
}

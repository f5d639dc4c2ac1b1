// The executor `researchLoop()`'s options ask for.
import { existsSync } from 'node:fs';
import path from 'node:path';

import { ConfigError } from '../../errors';
import { packageRoot } from '../../native/load';
import { runtimeInfo } from '../../native/runtime';
import type { LoopOptions } from '../options';
import { STATE_DIR } from '../paths';
import { LocalExecutor } from './local';
import { SlurmExecutor } from './slurm';
import type { Executor } from './types';

/** The executor the options ask for (local by default: one worker on the run's device). */
export async function createExecutor(o: LoopOptions, at: { home: string; tag: string; device: string }): Promise<Executor> {
  const workers = o.workers ?? 1;
  if ((o.executor ?? 'local') === 'slurm') {
    const slurm = new SlurmExecutor({
      workers,
      partition: o.slurm?.partition,
      gres: o.slurm?.gres,
      time: o.slurm?.time,
      extraArgs: o.slurm?.args,
      cpusPerTask: o.threadsPerWorker,
      workerCommand: o.slurm?.workerCommand ?? defaultWorkerCommand(),
      jobsDir: path.join(at.home, STATE_DIR, 'jobs'),
      jobName: `autoresearch-${at.tag}`,
    });
    await slurm.check();
    return slurm;
  }
  if (o.executor !== undefined && o.executor !== 'local') throw new ConfigError(`unknown executor '${o.executor}': use local or slurm`);
  const cudaDevices = at.device === 'cpu' || workers === 1 ? 0 : runtimeInfo().cudaDevices.length;
  return new LocalExecutor({ workers, devices: o.devices ?? (workers === 1 ? [at.device] : undefined), threadsPerWorker: o.threadsPerWorker, cudaDevices });
}

/** This autoresearch's own command line (the built one, or the sources through tsx in a clone). */
function defaultWorkerCommand(): string[] {
  const root = packageRoot();
  const built = path.join(root, 'dist', 'bin', 'autoresearch.js');
  if (existsSync(built)) return [process.execPath, built];
  return [process.execPath, '-r', require.resolve('tsx/cjs'), path.join(root, 'bin', 'autoresearch.ts')];
}

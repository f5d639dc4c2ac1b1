// Where the experiments of a parallel loop run. The loop (the coordinator) owns git, the agent,
// the results and the queue; an executor only runs jobs (lib/runner/job.ts) and says how each
// ended. Two executors: `local` (a child per worker on this machine) and `slurm` (an sbatch
// job per experiment on a cluster with a shared filesystem).
import type { ExperimentJob, JobResult } from '../../runner/job';

/**
 * How a job ended: with a result (a crashed experiment is a result; the loop retries once a run
 * whose process died without reporting, see processDied()), or without one.
 */
export type JobEnd =
  | { kind: 'result'; result: JobResult }
  /** No result: the worker died, or the scheduler cancelled, timed out or lost the job. */
  | { kind: 'lost'; reason: string };

/** A job in flight. */
export interface JobRun {
  /** Which worker runs it: `local:0`, `slurm:1234` (the Slurm job id). */
  readonly worker: string;
  /** Resolves (never rejects) when the job has ended. */
  readonly done: Promise<JobEnd>;
  /** Stops it (Ctrl-C): the process group locally, `scancel` on Slurm. `done` then resolves lost. */
  cancel(): void;
}

/** One worker slot: the device its jobs get and their share of the cores. */
export interface WorkerSlot {
  /** 0-based slot number. */
  index: number;
  /** 'cpu', 'cuda:N', or 'auto' (the node decides, e.g. a GPU Slurm allocated). */
  device: string;
  /** Intra-op threads of a job on this slot (undefined: the machine's default). */
  threads?: number;
}

export interface Executor {
  readonly name: 'local' | 'slurm';
  readonly slots: readonly WorkerSlot[];
  /** Starts a job on a slot (the job's device and threads are the slot's). */
  start(job: ExperimentJob, slot: WorkerSlot): Promise<JobRun>;
  /**
   * A job that a killed coordinator left behind, by the worker name it recorded: still
   * running, or ended with its result file. Null when it cannot be followed (a local child died
   * with the coordinator): the loop then runs it again.
   */
  adopt(job: ExperimentJob, worker: string, slot: WorkerSlot): Promise<JobRun | null>;
}

// What `researchLoop()` takes and returns.
import type { CreateAgentOptions } from './agents/factory';
import type { ResultRow } from './results';

/** The research loop's repository, agent, data, budgets and limits. */
export interface LoopOptions {
  /** The repository (holds train/config.ts and program.md). */
  dir: string;
  /** Run tag; the branch is autoresearch/<tag>. Default: today, like `nov22`. */
  tag?: string;
  /** Stop after this many experiments after the baseline. */
  max?: number;
  /** Stop starting new experiments after this many hours. */
  maxHours?: number;
  /** 'builtin' (default) | 'openai:<model>' | a command line. */
  agent?: string;
  agentOptions?: CreateAgentOptions;
  /** Seconds an agent may take per proposal (default 600). */
  agentTimeout?: number;
  /** Continue an existing branch and results. */
  resume?: boolean;
  /** Required improvement over the best kept val_bpb (default 0: strictly lower). */
  minDelta?: number;
  /** Measure the baseline's seed-to-seed spread with K runs and require more than that. */
  noiseRuns?: number;
  /** Re-run a winner with another seed; keep it only if it wins again. */
  confirm?: boolean;
  timeBudget?: number;
  totalTimeLimit?: number;
  dataset?: string;
  cacheDir?: string;
  device?: string;
  /** Seed of the builtin agent. */
  seed?: number;
  /** Ctrl-C: the running experiment is killed and the branch left at the best kept commit. */
  signal?: AbortSignal;
  /** Status lines (default: stderr). */
  log?: (line: string) => void;
  /** Output of each run as it arrives (progress lines; with one worker only). */
  onRunOutput?: (text: string) => void;
  /** Experiments in flight at once (default 1: one at a time). */
  workers?: number;
  /** Where experiments run: 'local' (default: children of this process) or 'slurm' (sbatch jobs). */
  executor?: 'local' | 'slurm';
  /** Local devices, one per worker (default: cuda:0… on a GPU machine, else the CPU for all). */
  devices?: string[];
  /** Intra-op threads per worker (local CPU workers; Slurm: --cpus-per-task). */
  threadsPerWorker?: number;
  /** The Slurm executor's settings. */
  slurm?: SlurmLoopOptions;
}

/** `--executor slurm`: how each experiment is submitted. */
export interface SlurmLoopOptions {
  partition?: string;
  /** e.g. 'gpu:1'. */
  gres?: string;
  /** Time limit per job, as sbatch takes it (default: the run's total time limit plus a minute). */
  time?: string;
  /** More sbatch arguments, as they are. */
  args?: string[];
  /** The worker's command before `worker --job FILE` (default: this node binary and this autoresearch). */
  workerCommand?: string[];
}

/** How a research loop ended: its tag and branch, the experiments run and the best kept. */
export interface LoopOutcome {
  tag: string;
  branch: string;
  /** Experiments recorded by this call (baseline included when it ran). */
  recorded: number;
  best: ResultRow | null;
  /** The seed-to-seed noise threshold in use (0 when not measured). */
  threshold: number;
  /** 'stop-requested': the control file (.autoresearch/stop) asked it to stop between experiments. */
  stoppedBecause: 'max' | 'max-hours' | 'aborted' | 'stop-requested';
}

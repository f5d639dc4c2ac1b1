// What one experiment returns. The nine summary keys are the reference's, in its order
// (SPEC §6); on the CPU peak_vram_mb holds the process's peak resident memory instead.

export const SUMMARY_KEYS = [
  'val_bpb',
  'training_seconds',
  'total_seconds',
  'peak_vram_mb',
  'mfu_percent',
  'total_tokens_M',
  'num_steps',
  'num_params_M',
  'depth',
] as const;

export type SummaryKey = (typeof SUMMARY_KEYS)[number];

/** The summary block of a finished run. */
export type ExperimentSummary = Record<SummaryKey, number>;

export type ExperimentStatus = 'ok' | 'crash';

/**
 * Why a run crashed: the config was refused ('config'), the prepared data failed its check
 * against meta.json ('data': not the experiment's fault; the loop stops rather than record
 * it), the loss diverged, the counted training time disagreed with the caller's clock
 * ('clock'), or anything else ('crash': a native crash, a kill, the time limit).
 */
export type FailureKind = 'config' | 'data' | 'diverged' | 'clock' | 'crash';

/** What one experiment came to: its summary when it finished, the cause and the end of its log when it crashed. */
export interface ExperimentResult {
  status: ExperimentStatus;
  /** The summary block; null when the run crashed before printing it. */
  summary: ExperimentSummary | null;
  /** Where the full log of the run was written. */
  logPath: string;
  /** On a crash: the last 50 lines of the log, with the cause. */
  errorExcerpt: string | null;
  /** Wall-clock seconds of the whole child process, as seen by the caller. */
  wallSeconds: number;
  /** On a crash: the cause in one line (also the log's last `crash:` line). */
  cause: string | null;
  /** On a crash: its kind. */
  failure: FailureKind | null;
}

// The command line's exit codes, and which errors are the user's set-up rather than a crash.
//
//   0    ok
//   1    the experiment crashed (or an unexpected error)
//   2    usage or set-up error: a bad option, a missing config or prepared data, libtorch not
//        found, a repository the loop cannot use; nothing was run, nothing was changed
//   130  interrupted (Ctrl-C)
import {
  AddonLoadError,
  BranchExistsError,
  CheckpointError,
  ConfigError,
  DataIntegrityError,
  DownloadError,
  GitRepoError,
  LockHeldError,
  MissingDataError,
  ResultsError,
  TokenizerError,
} from '../errors';

export const EXIT = { ok: 0, crashed: 1, usage: 2, interrupted: 130 } as const;

/** A wrong option value or combination: exit code 2, with the command's usage hint. */
export class UsageError extends Error {
  override name = 'UsageError';
}

const SETUP_ERRORS = [
  UsageError,
  AddonLoadError,
  BranchExistsError,
  CheckpointError,
  ConfigError,
  DataIntegrityError,
  DownloadError,
  GitRepoError,
  LockHeldError,
  MissingDataError,
  ResultsError,
  TokenizerError,
];

/** 2 for the errors that mean "fix the set-up or the command line", else 1. */
export function exitCodeFor(error: unknown): number {
  return SETUP_ERRORS.some((cls) => error instanceof cls) ? EXIT.usage : EXIT.crashed;
}

/** A positive number of seconds from an option, or a UsageError naming the option. */
export function positiveSeconds(option: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n) || n <= 0) {
    throw new UsageError(`--${option} ${String(value)} is not a positive number of seconds (e.g. --${option} 300)`);
  }
  return n;
}


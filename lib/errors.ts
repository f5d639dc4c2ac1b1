// Named errors for the cases users act on. Everything the addon throws arrives as a plain
// Error whose message names the problem and the fix; these classes mark the situations a
// caller may want to tell apart programmatically.

/** The native addon could not be loaded; the message lists the concrete fixes. */
export class AddonLoadError extends Error {
  override name = 'AddonLoadError';
  constructor(
    message: string,
    /** The fixes that apply to the cause found, one per entry. */
    readonly fixes: string[],
    options?: { cause?: unknown },
  ) {
    super(`${message}\nPossible solutions:\n${fixes.map((f) => `- ${f}`).join('\n')}`, options);
  }
}

/** A configuration value is invalid; the message says which and what would work. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** A checkpoint file is missing, truncated or not a checkpoint of this model. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

/** An object was used after dispose(). */
export class DisposedError extends Error {
  override name = 'DisposedError';
}

/** One shard that could not be downloaded, with the last error seen for it. */
export interface ShardFailure {
  /** The shard's file name, e.g. `shard_00003.parquet`. */
  readonly shard: string;
  /** The URL it was fetched from. */
  readonly url: string;
  /** How many attempts were made. */
  readonly attempts: number;
  /** The error of the last attempt. */
  readonly error: Error;
}

/**
 * Some shards could not be downloaded after every attempt. The other shards completed; the
 * failed ones left nothing behind (no `.tmp`, no partial file), so running again resumes.
 */
export class DownloadError extends Error {
  override name = 'DownloadError';
  constructor(
    /** The shards that failed, in the order they were requested. */
    readonly failures: readonly ShardFailure[],
    /** The shards that are complete on disk (downloaded now or already present). */
    readonly completed: readonly string[],
  ) {
    const lines = failures.map((f) => `- ${f.shard} (${f.attempts} attempt${f.attempts === 1 ? '' : 's'}): ${f.error.message}`);
    super(
      `${failures.length} shard${failures.length === 1 ? '' : 's'} could not be downloaded:\n${lines.join('\n')}\n` +
        'Run the same command again to fetch only what is missing; if the host is unreachable, set ' +
        'AUTORESEARCH_DATA_BASE_URL to a mirror.',
    );
  }
}

/** Data a step needs is not on disk (shards not downloaded, or the directory is wrong). */
export class MissingDataError extends Error {
  override name = 'MissingDataError';
}

/** A tokenizer directory is missing a file or holds a corrupt one; the message names the file. */
export class TokenizerError extends Error {
  override name = 'TokenizerError';
}

/** How an agent's proposal went wrong; the loop counts each kind and moves on. */
export type AgentErrorKind =
  /** The agent could not run or exited with an error (message: the cause, e.g. a stderr tail). */
  | 'failed'
  /** The agent did not finish within its time limit (its processes were killed). */
  | 'timeout'
  /** The agent finished but train/config.ts is unchanged. */
  | 'no-change'
  /** The agent answered, but not in the form asked for (e.g. no config module in the reply). */
  | 'bad-reply';

/** An agent failed to propose an experiment; `kind` says how, the message says why. */
export class AgentError extends Error {
  override name = 'AgentError';
  constructor(
    /** How the proposal failed. */
    readonly kind: AgentErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A directory cannot be used by the research loop's git ratchet: not a git repository, no
 * commit yet, a required file untracked, a detached HEAD, or a layout isomorphic-git cannot
 * work with. The message names the cause and the git command that fixes it.
 */
export class GitRepoError extends Error {
  override name = 'GitRepoError';
}

/** The run's branch `autoresearch/<tag>` exists already: resume it or pick another tag. */
export class BranchExistsError extends Error {
  override name = 'BranchExistsError';
  constructor(
    /** The full branch name, e.g. `autoresearch/nov22`. */
    readonly branch: string,
  ) {
    super(`Branch ${branch} already exists. Resume it (--resume) or choose another tag (--tag).`);
  }
}

/** Who holds a research loop's lock (the content of `.autoresearch/loop.lock`). */
export interface LockHolder {
  /** Process id of the holder. */
  readonly pid: number;
  /** Host name the holder runs on. */
  readonly host: string;
  /** When it took the lock, ISO 8601. */
  readonly started: string;
}

/** Another research loop is running on the same repository. */
export class LockHeldError extends Error {
  override name = 'LockHeldError';
  constructor(
    message: string,
    /** The lock file. */
    readonly lockPath: string,
    /** Its holder. */
    readonly holder: LockHolder,
  ) {
    super(message);
  }
}

/** `results.jsonl` or `results.tsv` holds a line that is not a result row; the message names it. */
export class ResultsError extends Error {
  override name = 'ResultsError';
}

/**
 * The prepared data no longer matches the digests `prepare` recorded in meta.json (a file was
 * changed, truncated or replaced). Not an experiment's fault: nothing is recorded as a result.
 */
export class DataIntegrityError extends Error {
  override name = 'DataIntegrityError';
}

/** A loop tag was asked for (`--tag`) that no experiment has; the message lists the tags present. */
export class UnknownTagError extends Error {
  override name = 'UnknownTagError';
}

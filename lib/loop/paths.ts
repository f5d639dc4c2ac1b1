// Where the research loop keeps its own files, relative to the repository's top directory.
// None of them is ever committed: ensureGitignore() lists them in .gitignore, and the ratchet
// (changedFiles, revertExcept) leaves them alone even before that is done.

/** The reference's results table (SPEC §7). */
export const RESULTS_TSV = 'results.tsv';
/** One JSON object per experiment: every field, the diff, the fingerprint. */
export const RESULTS_JSONL = 'results.jsonl';
/** The output of the experiment being run. */
export const RUN_LOG = 'run.log';
/** The loop's private state (the lock). */
export const STATE_DIR = '.autoresearch';
/** Every run's log, kept: `<n>.log` (and `<n>.confirm.log`, `<n>.noise-<k>.log`). */
export const LOGS_DIR = `${STATE_DIR}/logs`;
/** The lock of a running loop. */
export const LOCK_FILE = `${STATE_DIR}/loop.lock`;
/** Where `autoresearch plot` writes by default. */
export const PROGRESS_SVG = 'progress.svg';

/**
 * The .gitignore entries the loop needs. Beyond the loop's files: `node_modules/`, because an
 * untracked, unignored dependency folder would otherwise count as a stray change to revert.
 */
export const LOOP_IGNORES = [RESULTS_TSV, RESULTS_JSONL, RUN_LOG, `${STATE_DIR}/`, PROGRESS_SVG, 'node_modules/'] as const;

/**
 * True for a path (relative, `/`-separated) the ratchet never reports or reverts: the loop's
 * own files, and anything under `node_modules/` (deleting a dependency folder is never what
 * undoing a stray edit means).
 */
export function isOutsideRatchet(filepath: string): boolean {
  return isLoopPath(filepath) || filepath.split('/').includes('node_modules');
}

/**
 * True for a path (relative, `/`-separated) that belongs to the loop, not to the experiment:
 * at the top of the repository or of a research folder inside it (`exp/results.tsv`).
 */
export function isLoopPath(filepath: string): boolean {
  const parts = filepath.split('/');
  const name = parts[parts.length - 1]!;
  return (
    parts.includes(STATE_DIR) ||
    name === RESULTS_TSV ||
    name === RESULTS_JSONL ||
    name === RUN_LOG ||
    filepath === PROGRESS_SVG // a chart elsewhere (docs/progress.svg) may well be tracked on purpose
  );
}

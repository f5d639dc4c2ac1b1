// The loop's start: every check a start can fail, before anything is written, then the run's
// branch. The per-run state file it reads is in run-state.ts.
import { findPreparedDataset, readPreparedMeta } from '../data/prepared';
import { verifyPreparedData } from '../data/verify';
import { env } from '../env';
import { BranchExistsError, ConfigError, GitRepoError } from '../errors';
import { DEFAULT_TIME_BUDGET } from '../runner/run-experiment';
import { fingerprint, harnessDifferences, type Fingerprint } from './fingerprint';
import { branchName, changedFiles, checkTag, createBranch, defaultTag, revertExcept, trackedFiles, type RepoInfo } from './git';
import type { LoopOptions } from './options';
import { isLoopPath } from './paths';
import { ensureGitignore, readResults } from './results';
import { readState, type RunState } from './run-state';

export const CONFIG = 'train/config.ts';

/** What start-up established: every check passed, the run's branch checked out. */
export interface StartUp {
  /** The repository's top directory (git works here; CONFIG is relative to it). */
  dir: string;
  /** The research folder: train/config.ts, program.md, results, run.log, the loop's state. */
  home: string;
  /** train/config.ts relative to the top directory (`exp/train/config.ts` in a subfolder). */
  configFile: string;
  tag: string;
  branch: string;
  previous: RunState | null;
  dataset: string;
  meta: Awaited<ReturnType<typeof readPreparedMeta>>;
  timeBudget: number;
  device: string;
  fp: Fingerprint;
}

/**
 * Every check a start can fail, before anything is written: the repository and the research
 * folder, the tag, a dirty tree, the loop's files not tracked, the prepared data and its
 * digests, results of another harness. Only then the run's branch is created (or checked out
 * on --resume) and .gitignore committed there: a refused start leaves the user's branch, index,
 * working tree and refs as they were.
 */
export async function startUp(o: LoopOptions, log: (line: string) => void, repo: RepoInfo): Promise<StartUp> {
  const { dir, research: home, prefix } = repo;
  const configFile = prefix ? `${prefix}/${CONFIG}` : CONFIG;
  const previous = await readState(home);
  const tag = o.tag ?? (o.resume && previous ? previous.tag : defaultTag());
  checkTag(tag);
  const branch = branchName(tag);
  const branchExists = await refExists(dir, `refs/heads/${branch}`);
  if (branchExists && !o.resume) throw new BranchExistsError(branch);
  const dirty = await changedFiles(dir);
  if (dirty.length > 0 && !o.resume) {
    throw new ConfigError(`uncommitted changes in ${dirty.join(', ')}: commit or stash them before starting a loop`);
  }
  const trackedLoopFiles = (await trackedFiles(dir)).filter(isLoopPath);
  if (trackedLoopFiles.length > 0) {
    throw new GitRepoError(
      `${trackedLoopFiles.join(', ')} ${trackedLoopFiles.length === 1 ? 'is' : 'are'} tracked by git, but the loop rewrites ${trackedLoopFiles.length === 1 ? 'it' : 'them'}: ` +
        `\`git rm --cached ${trackedLoopFiles.join(' ')} && git commit -m "untrack the loop's files"\``,
    );
  }
  const dataset = o.dataset ?? (await findPreparedDataset(o.cacheDir));
  const meta = await readPreparedMeta(dataset, o.cacheDir);
  const timeBudget = o.timeBudget ?? env.timeBudget() ?? DEFAULT_TIME_BUDGET;
  if (!Number.isFinite(timeBudget) || timeBudget <= 0) {
    throw new ConfigError(`the time budget must be a positive number of seconds (got ${timeBudget}); the default is ${DEFAULT_TIME_BUDGET}`);
  }
  const device = o.device ?? env.device();
  const fp = await fingerprint({ dataset, cacheDir: o.cacheDir, timeBudget, device });
  // Once per session, every prepared file in full (runs check the training tokens by samples).
  await verifyPreparedData(meta, o.cacheDir, { trainInFull: true });
  if (o.resume && previous && previous.tag === tag) {
    for (const row of (await readResults(home, { repair: false })).filter((r) => r.experiment >= previous.firstExperiment)) {
      const diff = harnessDifferences(row.fingerprint.harness as Fingerprint['harness'], fp.harness);
      if (diff.length > 0) {
        throw new ConfigError(
          `experiment ${row.experiment} of '${tag}' ran on another harness (${diff.join(', ')}); its results cannot be compared: ` +
            'start a new tag (without --resume), or restore the data and settings it ran with',
        );
      }
    }
  }

  // Checks done: the first writes, all on the run's branch.
  await createBranch(dir, tag, { resume: o.resume });
  if (o.resume) {
    const reverted = await revertExcept(dir, []);
    if (reverted.length > 0) log(`resume: reverted uncommitted changes in ${reverted.join(', ')}`);
  }
  const ignored = await ensureGitignore(dir);
  if (ignored.commit) log(`committed .gitignore on ${branch} (${ignored.added.join(', ')}): the loop's own files are never committed`);
  return { dir, home, configFile, tag, branch, previous, dataset, meta, timeBudget, device, fp };
}

async function refExists(dir: string, ref: string): Promise<boolean> {
  return trackedFiles(dir, ref).then(
    () => true,
    () => false,
  );
}

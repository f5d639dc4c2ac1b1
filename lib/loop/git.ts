// The git ratchet of the research loop (SPEC §7): a branch per run, one commit per
// experiment, a hard reset when it does not improve, and a ref per experiment so discarded and
// crashed changes stay reachable after the reset. All through isomorphic-git (no git binary
// needed), with writes inside .git made atomic (./git-fs), so the git CLI can read the
// repository at any moment. `dir` is always the repository's top directory (openRepo returns it).
//
// Semantics follow the git CLI: changedFiles ~ `git status --porcelain` (untracked, unignored
// files included), revertExcept ~ `git checkout HEAD -- <path>` / `git clean` per path,
// resetHard ~ `git reset --hard <sha>` (untracked files are left alone).
import fs from 'node:fs';
import path from 'node:path';

import * as git from 'isomorphic-git';

import { BranchExistsError, ConfigError, GitRepoError } from '../errors';
import { unifiedDiff } from './diff';
import { gitFsClient } from './git-fs';
import { isOutsideRatchet } from './paths';

/** The files a research repository must track. */
export const REQUIRED_FILES = ['train/config.ts', 'program.md'] as const;

/** The author of the loop's commits when the repository's git config names no user. */
export const DEFAULT_AUTHOR = { name: 'autoresearch', email: 'autoresearch@localhost' } as const;

/** What {@link openRepo} found. */
export interface RepoInfo {
  /** The repository's top directory (absolute); pass it to every other function here. */
  dir: string;
  /** The commit HEAD points at. */
  head: string;
  /** The current branch (short name), or null when HEAD is detached. */
  branch: string | null;
  /**
   * The research folder (absolute): the folder named, when it holds train/config.ts and
   * program.md at HEAD (e.g. `exp/` of a larger repository), else the top directory.
   */
  research: string;
  /** The research folder relative to the top directory, `/`-separated; '' at the top. */
  prefix: string;
}

/** What {@link createBranch} did. */
export interface BranchInfo {
  /** The full branch name, `autoresearch/<tag>`. */
  branch: string;
  /** False when an existing branch was resumed. */
  created: boolean;
  /** The commit the branch points at. */
  head: string;
}

/** One experiment ref written by {@link keepRef}. */
export interface KeptRef {
  /** The experiment number. */
  experiment: number;
  /** The full ref name, `refs/autoresearch/<tag>/<n>`. */
  ref: string;
  /** The commit it points at. */
  sha: string;
}

interface Repo {
  fs: { promises: typeof fs.promises };
  dir: string;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

function gitdirOf(dir: string): string {
  const dotgit = path.join(dir, '.git');
  try {
    if (fs.statSync(dotgit).isFile()) {
      const target = fs.readFileSync(dotgit, 'utf8').trim().replace(/^gitdir:\s*/, '');
      return path.resolve(dir, target);
    }
  } catch {
    // no .git: isomorphic-git reports it
  }
  return dotgit;
}

function repo(dir: string): Repo {
  const root = path.resolve(dir);
  return { fs: gitFsClient(gitdirOf(root)), dir: root };
}

function isGitError(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

function normalizePath(filepath: string): string {
  return filepath.replace(/\\/g, '/').replace(/^\.\//, '');
}

/** A run tag from a date: lowercase month abbreviation and day of the month, e.g. `nov22`. */
export function defaultTag(date: Date = new Date()): string {
  return `${MONTHS[date.getMonth()]}${date.getDate()}`;
}

/** The branch of a run: `autoresearch/<tag>`. */
export function branchName(tag: string): string {
  return `autoresearch/${tag}`;
}

/** Throws ConfigError unless `tag` can be part of a branch name. */
export function checkTag(tag: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(tag) || tag.includes('..') || tag.endsWith('.lock') || tag.endsWith('.')) {
    throw new ConfigError(`Run tag '${tag}' cannot be part of a branch name: use letters, digits, '.', '_' or '-' (e.g. '${defaultTag()}').`);
  }
}

/**
 * Checks that `dir` (or a folder above it) is a git repository the loop can work on: it has
 * at least one commit and tracks train/config.ts and program.md. Throws a GitRepoError naming
 * what is missing and the command that fixes it.
 */
export async function openRepo(dir: string): Promise<RepoInfo> {
  const start = path.resolve(dir);
  let root: string;
  try {
    root = await git.findRoot({ fs, filepath: start });
  } catch {
    throw new GitRepoError(
      `${start} is not inside a git repository. Create one with \`git init\`, then commit program.md and train/config.ts.`,
    );
  }
  const gitdir = gitdirOf(root);
  if (fs.existsSync(path.join(gitdir, 'commondir'))) {
    throw new GitRepoError(
      `${root} is a linked worktree (git worktree add), which isomorphic-git cannot work with: it does not ` +
        'follow .git/commondir to the shared refs and objects. Use a clone instead (`git clone --local <repo> <dir>`).',
    );
  }
  checkIndexVersion(path.join(gitdir, 'index'));
  const r = repo(root);
  let head: string;
  try {
    head = await git.resolveRef({ ...r, ref: 'HEAD' });
  } catch {
    throw new GitRepoError(`${root} has no commit yet. Commit program.md and train/config.ts first: \`git add program.md train/config.ts && git commit -m baseline\`.`);
  }
  const tracked = new Set(await git.listFiles({ ...r, ref: head }));
  // The folder named holds the research files (a subfolder of a larger repository), or the
  // top directory does (the folder named is somewhere inside it).
  const named = path.relative(fs.realpathSync(root), fs.realpathSync(fs.existsSync(start) ? start : root)).split(path.sep).join('/');
  const missingUnder = (prefix: string) => REQUIRED_FILES.map((f) => (prefix ? `${prefix}/${f}` : f)).filter((f) => !tracked.has(f));
  const prefix = named !== '' && missingUnder(named).length < REQUIRED_FILES.length ? named : missingUnder('').length === 0 ? '' : named;
  const missing = missingUnder(prefix);
  if (missing.length > 0) {
    const list = missing.join(' and ');
    throw new GitRepoError(
      `${list} ${missing.length === 1 ? 'is' : 'are'} not tracked at HEAD in ${root}. ` +
        `Write ${missing.length === 1 ? 'it' : 'them'} (\`autoresearch init${prefix ? ` ${prefix}` : ''}\` writes both) and commit, ` +
        `from ${root}: \`git add ${missing.join(' ')} && git commit -m "research setup"\`.`,
    );
  }
  return { dir: root, head, branch: await currentBranch(root), research: prefix ? path.join(root, prefix) : root, prefix };
}

function checkIndexVersion(indexPath: string): void {
  let header: Buffer;
  try {
    const fd = fs.openSync(indexPath, 'r');
    try {
      header = Buffer.alloc(8);
      fs.readSync(fd, header, 0, 8, 0);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return; // no index yet
  }
  const version = header.readUInt32BE(4);
  if (header.toString('latin1', 0, 4) === 'DIRC' && version !== 2 && version !== 3) {
    throw new GitRepoError(
      `The git index of this repository is version ${version}, which isomorphic-git cannot read. ` +
        'Convert it: `git update-index --index-version 2` (and unset feature.manyFiles / index.version if set).',
    );
  }
}

/** The commit HEAD points at. */
export async function headSha(dir: string): Promise<string> {
  return git.resolveRef({ ...repo(dir), ref: 'HEAD' });
}

/** The current branch's short name (e.g. `autoresearch/nov22`), or null when HEAD is detached. */
export async function currentBranch(dir: string): Promise<string | null> {
  const name = await git.currentBranch({ ...repo(dir), fullname: false });
  return name ?? null;
}

/**
 * The tag of the run branch checked out in the repository holding `dir` (`autoresearch/<tag>`),
 * or null: another branch, a detached HEAD, or no repository at all (a results.tsv alone).
 */
export async function checkedOutTag(dir: string): Promise<string | null> {
  try {
    const root = await git.findRoot({ fs, filepath: path.resolve(dir) });
    const branch = await currentBranch(root);
    const prefix = branchName('');
    return branch !== null && branch.startsWith(prefix) && branch.length > prefix.length ? branch.slice(prefix.length) : null;
  } catch {
    return null;
  }
}

// Branches are always named in full (refs/heads/…) when handed to isomorphic-git: see resetHard.

/**
 * Creates the run's branch `autoresearch/<tag>` at HEAD and checks it out. An existing branch
 * is refused with a BranchExistsError unless `resume`, in which case it is checked out (a
 * GitRepoError names local changes that would be overwritten).
 */
export async function createBranch(dir: string, tag: string, options: { resume?: boolean } = {}): Promise<BranchInfo> {
  checkTag(tag);
  const r = repo(dir);
  const branch = branchName(tag);
  const exists = await git
    .resolveRef({ ...r, ref: `refs/heads/${branch}` })
    .then(() => true)
    .catch(() => false);
  if (exists) {
    if (!options.resume) throw new BranchExistsError(branch);
    if ((await currentBranch(dir)) !== branch) {
      try {
        await git.checkout({ ...r, ref: `refs/heads/${branch}` });
      } catch (error) {
        if (isGitError(error, 'CheckoutConflictError')) {
          const files = (error as { data?: { filepaths?: string[] } }).data?.filepaths ?? [];
          throw new GitRepoError(
            `Cannot resume ${branch}: local changes to ${files.join(', ')} would be overwritten. Commit them or discard them (\`git checkout -- <file>\`) first.`,
          );
        }
        throw error;
      }
    }
    return { branch, created: false, head: await headSha(dir) };
  }
  await git.branch({ ...r, ref: branch, checkout: true });
  return { branch, created: true, head: await headSha(dir) };
}

/**
 * Paths (relative, `/`-separated, sorted) whose working-tree or staged state differs from
 * HEAD: modified, deleted, and new untracked files that .gitignore does not exclude. The
 * loop's own files (results, run.log, .autoresearch/) and node_modules/ are never listed.
 */
export async function changedFiles(dir: string): Promise<string[]> {
  const matrix = await git.statusMatrix({ ...repo(dir) });
  return matrix
    .filter(([filepath, head, workdir, stage]) => !(head === 1 && workdir === 1 && stage === 1) && !isOutsideRatchet(filepath))
    .map(([filepath]) => filepath)
    .sort();
}

interface HeadEntry {
  oid: string;
  mode: string;
}

async function treeEntry(r: Repo, commit: string, filepath: string): Promise<HeadEntry | null> {
  const dirname = path.posix.dirname(filepath);
  try {
    const { tree } = await git.readTree({ ...r, oid: commit, filepath: dirname === '.' ? undefined : dirname });
    const entry = tree.find((e) => e.path === path.posix.basename(filepath));
    return entry && entry.type === 'blob' ? { oid: entry.oid, mode: entry.mode } : null;
  } catch (error) {
    if (isGitError(error, 'NotFoundError') || isGitError(error, 'ObjectTypeError')) return null;
    throw error;
  }
}

/** Removes the now-empty folders above a deleted file, as git does; stops at the first non-empty one. */
function removeEmptyParents(root: string, filepath: string): void {
  let parent = path.posix.dirname(filepath);
  while (parent !== '.' && parent !== '/') {
    try {
      fs.rmdirSync(path.join(root, parent));
    } catch {
      return;
    }
    parent = path.posix.dirname(parent);
  }
}

/**
 * Restores every changed path except `allowed` to its HEAD state: modified and deleted files
 * get HEAD's content (and mode) back, new files are deleted, and the index entry is reset.
 * Returns the paths it reverted (sorted). The loop's own files are never touched.
 */
export async function revertExcept(dir: string, allowed: readonly string[] = ['train/config.ts']): Promise<string[]> {
  const r = repo(dir);
  const keep = new Set(allowed.map(normalizePath));
  const head = await headSha(dir);
  const targets = (await changedFiles(dir)).filter((p) => !keep.has(p));
  const plans = await Promise.all(targets.map(async (p) => ({ path: p, entry: await treeEntry(r, head, p) })));
  // Deletions first: a tracked file may come back where an untracked folder now stands.
  plans.sort((a, b) => Number(a.entry !== null) - Number(b.entry !== null));
  for (const { path: p, entry } of plans) {
    const abs = path.join(r.dir, p);
    if (entry === null) {
      fs.rmSync(abs, { force: true });
      await git.resetIndex({ ...r, filepath: p });
      removeEmptyParents(r.dir, p);
      continue;
    }
    const { blob } = await git.readBlob({ ...r, oid: entry.oid });
    fs.rmSync(abs, { force: true, recursive: true });
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    if (entry.mode === '120000') fs.symlinkSync(Buffer.from(blob).toString('utf8'), abs);
    else fs.writeFileSync(abs, blob, { mode: entry.mode === '100755' ? 0o755 : 0o644 });
    await git.resetIndex({ ...r, filepath: p });
  }
  return targets.sort();
}

/** Index entries that differ from HEAD (staged changes), as paths. */
async function stagedPaths(r: Repo): Promise<string[]> {
  const out: string[] = [];
  await git.walk({
    ...r,
    trees: [git.TREE({ ref: 'HEAD' }), git.STAGE()],
    map: async (filepath, [head, stage]) => {
      if (filepath === '.') return true;
      const [headType, stageType] = await Promise.all([head?.type(), stage?.type()]);
      if (headType === 'tree' || stageType === 'tree') return true;
      const [headOid, stageOid, headMode, stageMode] = await Promise.all([head?.oid(), stage?.oid(), head?.mode(), stage?.mode()]);
      if (headOid !== stageOid || headMode !== stageMode) out.push(filepath);
      return true;
    },
  });
  return out;
}

async function commitAuthor(r: Repo): Promise<{ name: string; email: string }> {
  const name: unknown = await git.getConfig({ ...r, path: 'user.name' });
  const email: unknown = await git.getConfig({ ...r, path: 'user.email' });
  if (typeof name === 'string' && name !== '') return { name, email: typeof email === 'string' ? email : '' };
  return { ...DEFAULT_AUTHOR };
}

/**
 * Commits exactly `files` (their working-tree state; a file missing on disk is committed as
 * deleted) on the current branch and returns the new commit's sha. Other staged changes are
 * unstaged first, so nothing else slips into the commit. The author is the repository's git
 * user (.git/config user.name/user.email; isomorphic-git does not read ~/.gitconfig), else
 * `autoresearch <autoresearch@localhost>`. A GitRepoError when nothing would change, unless
 * `allowEmpty`.
 */
export async function commitFiles(dir: string, files: readonly string[], message: string, options: { allowEmpty?: boolean } = {}): Promise<string> {
  const r = repo(dir);
  if ((await currentBranch(dir)) === null) {
    throw new GitRepoError('HEAD is detached: check out the run\'s branch (`git checkout autoresearch/<tag>`) before committing.');
  }
  const wanted = new Set(files.map(normalizePath));
  for (const filepath of wanted) {
    if (fs.existsSync(path.join(r.dir, filepath))) await git.add({ ...r, filepath, force: true });
    else await git.remove({ ...r, filepath });
  }
  const staged = await stagedPaths(r);
  for (const filepath of staged.filter((p) => !wanted.has(p))) await git.resetIndex({ ...r, filepath });
  if (!options.allowEmpty && !staged.some((p) => wanted.has(p))) {
    throw new GitRepoError(`Nothing to commit: ${[...wanted].join(', ') || 'no files'} ${wanted.size === 1 ? 'is' : 'are'} unchanged from HEAD.`);
  }
  const author = await commitAuthor(r);
  return git.commit({ ...r, message, author, committer: author });
}

/**
 * Moves the current branch to `sha` and makes the index and working tree match it, like
 * `git reset --hard <sha>`: tracked changes are discarded, files not in `sha` are deleted,
 * untracked files are left alone.
 */
export async function resetHard(dir: string, sha: string): Promise<void> {
  const r = repo(dir);
  const branch = await currentBranch(dir);
  if (branch === null) {
    throw new GitRepoError('HEAD is detached: check out the run\'s branch (`git checkout autoresearch/<tag>`) before resetting it.');
  }
  try {
    await git.readCommit({ ...r, oid: sha });
  } catch {
    throw new GitRepoError(`${sha} is not a commit of this repository: pass the full sha of a commit on ${branch}.`);
  }
  const before = await git.listFiles({ ...r });
  const target = await git.listFiles({ ...r, ref: sha });
  await git.writeRef({ ...r, ref: `refs/heads/${branch}`, value: sha, force: true });
  // Naming the paths keeps checkout from walking untracked trees (node_modules, data). The
  // full ref name matters: isomorphic-git expands a short `autoresearch/<tag>` to the folder
  // refs/autoresearch/<tag> of the experiment refs, and would detach HEAD.
  const paths = [...new Set([...before, ...target])];
  if (paths.length > 0) await git.checkout({ ...r, ref: `refs/heads/${branch}`, force: true, filepaths: paths });
  const kept = new Set(target);
  for (const p of before) if (!kept.has(p)) removeEmptyParents(r.dir, p);
}

/** The ref that keeps experiment `n` of run `tag` reachable: `refs/autoresearch/<tag>/<n>`. */
export function keepRefName(tag: string, experimentNumber: number): string {
  return `refs/autoresearch/${tag}/${experimentNumber}`;
}

/**
 * Points `refs/autoresearch/<tag>/<n>` at `sha`, so the experiment's commit (and its diff)
 * stays reachable after a reset and survives `git gc`. Overwrites an existing ref of the same
 * number (a retried experiment). Returns the ref name.
 */
export async function keepRef(dir: string, tag: string, experimentNumber: number, sha: string): Promise<string> {
  checkTag(tag);
  if (!Number.isInteger(experimentNumber) || experimentNumber < 0) {
    throw new ConfigError(`Experiment number ${experimentNumber} is not a non-negative integer.`);
  }
  const ref = keepRefName(tag, experimentNumber);
  await git.writeRef({ ...repo(dir), ref, value: sha, force: true });
  return ref;
}

/** The experiment refs of run `tag`, by experiment number. */
export async function keptRefs(dir: string, tag: string): Promise<KeptRef[]> {
  checkTag(tag);
  const r = repo(dir);
  const names = await git.listRefs({ ...r, filepath: `refs/autoresearch/${tag}` });
  const out: KeptRef[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const ref = `refs/autoresearch/${tag}/${name}`;
    out.push({ experiment: Number(name), ref, sha: await git.resolveRef({ ...r, ref }) });
  }
  return out.sort((a, b) => a.experiment - b.experiment);
}

/** The files (relative, `/`-separated) tracked in commit `ref` (a sha or a full ref name; default HEAD). */
export async function trackedFiles(dir: string, ref = 'HEAD'): Promise<string[]> {
  return git.listFiles({ ...repo(dir), ref });
}

/** The first line of commit `sha`'s message. */
export async function commitSubject(dir: string, sha: string): Promise<string> {
  const { commit } = await git.readCommit({ ...repo(dir), oid: sha });
  return commit.message.split('\n')[0]!.trim();
}

/** The first parent of commit `sha`, or null for a root commit. */
export async function parentOf(dir: string, sha: string): Promise<string | null> {
  const { commit } = await git.readCommit({ ...repo(dir), oid: sha });
  return commit.parent[0] ?? null;
}

/** The content of `filepath` in commit `sha` (UTF-8), or null when the commit has no such file. */
export async function fileAt(dir: string, sha: string, filepath: string): Promise<string | null> {
  try {
    const { blob } = await git.readBlob({ ...repo(dir), oid: sha, filepath: normalizePath(filepath) });
    return Buffer.from(blob).toString('utf8');
  } catch (error) {
    if (isGitError(error, 'NotFoundError') || isGitError(error, 'ObjectTypeError')) return null;
    throw error;
  }
}

/**
 * The unified diff (3 lines of context) of `filepath` between the first parent of `sha` and
 * `sha`, from the `--- a/…` line on, as `git diff <sha>^ <sha> -- <filepath>` prints it; '' when
 * the commit did not change the file. A root commit diffs against nothing (`/dev/null`).
 */
export async function diffOf(dir: string, sha: string, filepath = 'train/config.ts'): Promise<string> {
  const file = normalizePath(filepath);
  const parent = await parentOf(dir, sha);
  const before = parent === null ? null : await fileAt(dir, parent, file);
  const after = await fileAt(dir, sha, file);
  return unifiedDiff(file, before, after);
}

/** The commit a full ref name points at, or null when there is no such ref. */
export async function refSha(dir: string, ref: string): Promise<string | null> {
  return git.resolveRef({ ...repo(dir), ref }).catch(() => null);
}

/**
 * Checks out `branch` again with the branch at `sha` and the index and tracked files as in
 * `sha`, whatever an agent did: switched branches, committed, moved or deleted the branch.
 */
export async function restoreBranch(dir: string, branch: string, sha: string): Promise<void> {
  const r = repo(dir);
  await git.writeRef({ ...r, ref: 'HEAD', value: `refs/heads/${branch}`, symbolic: true, force: true });
  await git.writeRef({ ...r, ref: `refs/heads/${branch}`, value: sha, force: true });
  await resetHard(dir, sha);
}

// The loop owns the repository between agent turns. A coding agent has a shell: it can commit,
// switch branches, move refs and edit the loop's own files, by mistake as often as on purpose.
// Before a turn the loop notes the branch and HEAD; after it, undoAgentGitWork() puts them
// back (an agent's own commits are undone and their train/config.ts kept as an ordinary edit,
// which the loop then checks like any other; everything else is reverted by the loop), and
// restoreOwnFiles() makes results.jsonl, results.tsv, the run state and the lock match the
// loop's own record again.
import fs from 'node:fs/promises';
import path from 'node:path';

import { currentBranch, fileAt, headSha, keepRef, keepRefName, refSha, restoreBranch } from './git';
import { restoreResults, type ResultRow } from './results';

export interface RepoState {
  /** Full branch name without refs/heads/ (e.g. autoresearch/dec3). */
  branch: string;
  head: string;
}

export async function captureState(dir: string): Promise<RepoState> {
  const branch = await currentBranch(dir);
  if (branch === null) throw new Error('HEAD is detached: the loop expected its run branch to be checked out');
  return { branch, head: await headSha(dir) };
}

async function readHead(dir: string): Promise<{ branch: string | null; head: string | null }> {
  const branch = await currentBranch(dir).catch(() => null);
  const head = await headSha(dir).catch(() => null);
  return { branch, head };
}

/**
 * Undoes what the agent did to git: a branch switch, its own commits (on any branch), a moved
 * or deleted run branch. The working tree's train/config.ts (what the agent wants) is kept.
 * Returns what was undone, one phrase each, for the loop's log ([] when nothing was).
 */
export async function undoAgentGitWork(dir: string, before: RepoState, configPath: string): Promise<string[]> {
  const now = await readHead(dir);
  const branchRef = `refs/heads/${before.branch}`;
  const branchAt = await refSha(dir, branchRef);
  if (now.branch === before.branch && now.head === before.head && branchAt === before.head) return [];

  const undone: string[] = [];
  if (now.branch !== before.branch) undone.push(`switched to ${now.branch ?? 'a detached HEAD'} (switched back to ${before.branch})`);
  if (now.head !== before.head) undone.push(`moved HEAD to ${now.head?.slice(0, 7) ?? 'nothing'} with its own commits (undone; its ${configPath} kept as an edit)`);
  else if (branchAt !== before.head) undone.push(`moved ${before.branch} to ${branchAt?.slice(0, 7) ?? 'nothing'} (put back)`);

  const config = await fs.readFile(path.join(dir, configPath), 'utf8').catch(() => null);
  await restoreBranch(dir, before.branch, before.head);
  if (config !== null && config !== (await fileAt(dir, before.head, configPath))) {
    await fs.writeFile(path.join(dir, configPath), config);
  }
  return undone;
}

/**
 * Puts back the experiment refs the loop wrote (refs/autoresearch/<tag>/<n>) when an agent
 * moved or deleted them. Returns the refs restored.
 */
export async function restoreRefs(dir: string, tag: string, refs: ReadonlyMap<number, string>): Promise<string[]> {
  const restored: string[] = [];
  for (const [n, sha] of refs) {
    const ref = keepRefName(tag, n);
    if ((await refSha(dir, ref)) !== sha) restored.push(await keepRef(dir, tag, n, sha));
  }
  return restored;
}

/** A file the loop owns, with the content it must have. */
export interface OwnFile {
  file: string;
  content: string;
}

/**
 * Makes the loop's own files hold the loop's record again: both results files from `rows`
 * (results.jsonl is the source of truth) and the given state files byte for byte. Returns the
 * files rewritten.
 */
export async function restoreOwnFiles(dir: string, rows: readonly ResultRow[], files: readonly OwnFile[]): Promise<string[]> {
  const rewritten = await restoreResults(dir, rows);
  for (const { file, content } of files) {
    const now = await fs.readFile(path.join(dir, file), 'utf8').catch(() => null);
    if (now !== content) {
      await fs.mkdir(path.dirname(path.join(dir, file)), { recursive: true });
      await fs.writeFile(path.join(dir, file), content);
      rewritten.push(file);
    }
  }
  return rewritten;
}

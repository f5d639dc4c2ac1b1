// One research loop per repository: `.autoresearch/loop.lock`, created with the 'wx' flag
// (fails if it exists), holds the holder's pid, host and start time. A second loop is refused
// with the holder named; a lock whose process is gone (same host, pid not alive) is stale and
// taken over, with a note saying so. Release removes the file only if it is still ours.
//
// The take-over renames the stale file aside before deleting it and checks that what it
// renamed is the stale lock it judged, so two loops starting at once cannot both take it over.
// Limits: a holder on another host cannot be checked (refused, with the fix); a dead holder
// whose pid was reused by an unrelated process looks alive (refused, with the fix).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { LockHeldError, type LockHolder } from '../errors';
import { LOCK_FILE } from './paths';

/** The content of the lock file. */
export type LockInfo = LockHolder;

/** Releases the lock (idempotent); also usable with `using`. */
export interface ReleaseLock {
  (): void;
  /** What this process wrote into the lock file. */
  readonly info: LockInfo;
  /** Set when a stale lock was taken over: whose it was. */
  readonly note: string | null;
  [Symbol.dispose](): void;
}

/** The lock file of the repository at `dir`. */
export function lockPath(dir: string): string {
  return path.join(dir, LOCK_FILE);
}

/** True when a process with this pid exists on this host (EPERM: it exists, owned by someone else). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseLock(text: string): LockInfo | null {
  try {
    const value = JSON.parse(text) as Partial<LockInfo>;
    if (typeof value.pid === 'number' && typeof value.host === 'string' && typeof value.started === 'string') {
      return { pid: value.pid, host: value.host, started: value.started };
    }
  } catch {
    // torn or foreign content
  }
  return null;
}

/** The current holder of the lock, or null when there is no (readable) lock. */
export function readLock(dir: string): LockInfo | null {
  try {
    return parseLock(fs.readFileSync(lockPath(dir), 'utf8'));
  } catch {
    return null;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Reads the lock, giving a holder that has just created it a moment to write its content. */
async function readExisting(file: string): Promise<{ text: string; info: LockInfo | null } | null> {
  for (let attempt = 0; ; attempt++) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    const info = parseLock(text);
    if (info !== null || attempt >= 10) return { text, info };
    await sleep(50);
  }
}

function heldError(file: string, holder: LockInfo, why: string): LockHeldError {
  return new LockHeldError(
    `Another research loop holds ${file}: pid ${holder.pid} on ${holder.host}, started ${holder.started}. ${why}`,
    file,
    holder,
  );
}

/**
 * Takes the loop lock of the repository at `dir`, or throws a LockHeldError naming the holder
 * (pid, host, start time) and what to do. A stale lock is taken over; the returned function's
 * `note` then says whose it was.
 */
export async function acquireLock(dir: string): Promise<ReleaseLock> {
  const file = lockPath(dir);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const info: LockInfo = { pid: process.pid, host: os.hostname(), started: new Date().toISOString() };
  const content = JSON.stringify(info) + '\n';
  let note: string | null = null;

  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx');
      try {
        fs.writeSync(fd, content);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      return makeRelease(file, content, info, note);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const existing = await readExisting(file);
    if (existing === null) continue; // released meanwhile: try again
    const holder = existing.info;
    if (holder !== null) {
      if (holder.host !== os.hostname()) {
        throw heldError(file, holder, `It runs on another host, so this one cannot tell whether it is alive: stop it there, or delete ${file} if it is gone.`);
      }
      if (isProcessAlive(holder.pid)) {
        throw heldError(file, holder, `Stop it first (kill ${holder.pid}), or, if pid ${holder.pid} is not a research loop, delete ${file}.`);
      }
    }
    // Stale: move it aside, check that what moved is what was judged stale, then retry 'wx'.
    const aside = `${file}.stale-${process.pid}-${attempt}`;
    try {
      fs.renameSync(file, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    const moved = fs.readFileSync(aside, 'utf8');
    if (moved !== existing.text) {
      // Another loop took it over in between: put its lock back (unless yet another exists).
      try {
        fs.linkSync(aside, file);
      } catch {
        // a third party holds the lock now; the 'wx' retry will report it
      }
      fs.rmSync(aside, { force: true });
      continue;
    }
    fs.rmSync(aside, { force: true });
    note =
      holder === null
        ? `Took over an unreadable lock file ${file} (left by a loop killed while creating it).`
        : `Took over a stale lock: pid ${holder.pid} (started ${holder.started}) is no longer running.`;
  }
  const holder = readLock(dir);
  if (holder !== null) throw heldError(file, holder, 'Several loops are starting at once; start one at a time.');
  throw new Error(`Could not create ${file} after 5 attempts: another loop keeps replacing it. Start one loop at a time.`);
}

function makeRelease(file: string, content: string, info: LockInfo, note: string | null): ReleaseLock {
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    try {
      if (fs.readFileSync(file, 'utf8') === content) fs.rmSync(file, { force: true });
    } catch {
      // already gone
    }
  };
  return Object.assign(release, { info, note, [Symbol.dispose]: release });
}

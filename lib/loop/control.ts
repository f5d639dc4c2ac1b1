// The loop's control file: `.autoresearch/stop` asks a running loop to stop after the
// experiment in progress. Whoever wants the loop to stop (the dashboard's button, a script,
// `touch .autoresearch/stop`) creates it; the loop checks for it between experiments, removes
// it and ends as it does at `--max`. A request older than the loop itself (left over from a
// loop that ended before it could act on it) is removed without stopping the new loop.
import fs from 'node:fs';
import path from 'node:path';

import { STATE_DIR } from './paths';

/** The control file, relative to the repository's top directory. */
export const STOP_FILE = `${STATE_DIR}/stop`;

/** What a stop request records (informative: the file's existence is the request). */
export interface StopRequest {
  /** When it was made, ISO 8601. */
  requested: string;
  /** Who made it, e.g. `dashboard`. */
  by: string;
}

/** The control file of the repository at `dir`. */
function stopFilePath(dir: string): string {
  return path.join(dir, STOP_FILE);
}

/** Asks the loop running in `dir` to stop after its current experiment (atomic write). */
export async function requestStop(dir: string, by: string): Promise<StopRequest> {
  const request: StopRequest = { requested: new Date().toISOString(), by };
  const file = stopFilePath(dir);
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  await fs.promises.writeFile(tmp, JSON.stringify(request) + '\n');
  await fs.promises.rename(tmp, file);
  return request;
}

/** Withdraws a stop request; true when there was one. */
export async function withdrawStop(dir: string): Promise<boolean> {
  try {
    await fs.promises.unlink(stopFilePath(dir));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** The pending stop request of `dir`, or null (unreadable content counts as a request). */
export async function readStopRequest(dir: string): Promise<StopRequest | null> {
  let text: string;
  try {
    text = await fs.promises.readFile(stopFilePath(dir), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    const value = JSON.parse(text) as Partial<StopRequest>;
    return { requested: typeof value.requested === 'string' ? value.requested : '', by: typeof value.by === 'string' ? value.by : '' };
  } catch {
    return { requested: '', by: '' };
  }
}

/**
 * For the loop, between experiments: true when a stop was requested at or after `since` (the
 * loop's start). The file is removed either way, so a request is acted on once and a stale
 * one never stops a later loop.
 */
export async function takeStopRequest(dir: string, since: Date): Promise<boolean> {
  let mtime: number;
  try {
    mtime = (await fs.promises.stat(stopFilePath(dir))).mtimeMs;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  await withdrawStop(dir);
  // File times have a coarser clock than Date: allow a second of slack.
  return mtime >= since.getTime() - 1000;
}

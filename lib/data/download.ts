// Parallel, resumable shard download (SPEC §3: 8 workers, 5 attempts with exponential
// backoff, `.tmp` then rename). Design choices:
// - Resume without a request: a shard already on disk counts when it is valid parquet
//   ("PAR1" at both ends, footer readable); anything else there is replaced.
// - A shard counts only once its bytes are validated as parquet; until then it lives in
//   `<name>.tmp`, which is removed on every failure, so a failed shard leaves nothing behind.
// - Retried: HTTP 5xx/408/429, connection errors (refused, reset, closed early), truncated
//   bodies (fewer bytes than Content-Length), stalls, and bodies that are not parquet (e.g. an
//   error page from a proxy). Not retried: other HTTP 4xx (wrong URL or mirror) and local file
//   errors (disk full, permissions): another attempt would fail the same way.
// - One shard failing does not stop the others; the failures are reported together at the
//   end in a DownloadError (shard names and the last error of each).

import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, DownloadError, type ShardFailure } from '../errors';
import { shardUrl, type ShardRef } from './datasets';
import { isValidParquetFile, validateParquetFile } from './parquet';

/** What every progress event carries: which shard, and the overall count. */
export interface DownloadEventBase {
  /** The shard's file name. */
  readonly shard: string;
  /** Shards complete so far (downloaded or already present), this one included when it just completed. */
  readonly shardsDone: number;
  /** Shards that failed for good so far. */
  readonly shardsFailed: number;
  /** Shards in this request. */
  readonly shardsTotal: number;
}

/** Progress of a download, for drawing bars. `progress` events come once per received chunk. */
export type DownloadEvent = DownloadEventBase &
  (
    | { readonly type: 'skip'; /** Size of the valid file already on disk. */ readonly bytes: number }
    | { readonly type: 'start'; /** 1-based. */ readonly attempt: number; /** From Content-Length, if sent. */ readonly totalBytes: number | undefined }
    | { readonly type: 'progress'; readonly receivedBytes: number; readonly totalBytes: number | undefined }
    | {
        readonly type: 'retry';
        /** The attempt that just failed (1-based). */
        readonly attempt: number;
        readonly attempts: number;
        /** Wait before the next attempt. */
        readonly delayMs: number;
        readonly error: Error;
      }
    | { readonly type: 'done'; readonly bytes: number; readonly attempts: number }
    | { readonly type: 'failed'; readonly attempts: number; readonly error: Error }
  );

/** Options of downloadShards. */
export interface DownloadOptions {
  /** The shards to fetch (e.g. from `shardsToFetch`): local file name + path under `baseUrl`. */
  readonly shards: readonly ShardRef[];
  /** Directory the shards are written to (created if missing). */
  readonly dir: string;
  /** URL the shard paths are appended to (see `resolveBaseUrl`). */
  readonly baseUrl: string;
  /** Shards fetched at the same time (default 8). */
  readonly workers?: number;
  /** Attempts per shard before it counts as failed (default 5). */
  readonly attempts?: number;
  /** Wait after the k-th failed attempt: backoffMs · 2^(k−1) (default 1000 ms: 1, 2, 4, 8 s). */
  readonly backoffMs?: number;
  /** An attempt that receives nothing for this long is abandoned and retried (default 60 s). */
  readonly stallTimeoutMs?: number;
  /** Called synchronously for every event; keep it cheap (draw at most every few ms). */
  readonly onProgress?: (event: DownloadEvent) => void;
  /** Aborting stops every transfer, removes the `.tmp` files and rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** What downloadShards did. */
export interface DownloadResult {
  /** Full paths of all requested shards, in request order (all complete and valid). */
  readonly files: string[];
  /** Names of the shards fetched now. */
  readonly downloaded: string[];
  /** Names of the shards that were already complete on disk (no request made). */
  readonly skipped: string[];
  /** Bytes received for the shards fetched now. */
  readonly bytes: number;
}

/** One failed attempt, and whether another attempt could succeed. */
class AttemptError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Cause of an aborted attempt when nothing arrived for too long. */
class StallError extends Error {}

const REQUEST_HEADERS = {
  // Content-Length must describe the bytes we store: no transparent decompression.
  'accept-encoding': 'identity',
  'user-agent': 'autoresearch (shard download)',
};

/** A readable reason for a fetch/connection failure (undici hides it in `cause`). */
function networkMessage(err: unknown): string {
  const e = err as Error & { cause?: Error & { code?: string } };
  const cause = e.cause;
  if (cause && typeof cause === 'object') {
    const code = cause.code ? `${cause.code}: ` : '';
    return `${e.message} (${code}${cause.message})`;
  }
  return e.message ?? String(err);
}

function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

function checkOptions(options: DownloadOptions): void {
  const positive = (name: string, value: number) => {
    if (!Number.isInteger(value) || value < 1) throw new ConfigError(`${name}=${value} must be a positive whole number`);
  };
  positive('workers', options.workers ?? 8);
  positive('attempts', options.attempts ?? 5);
  const backoffMs = options.backoffMs ?? 1000;
  if (!Number.isFinite(backoffMs) || backoffMs < 0) throw new ConfigError(`backoffMs=${backoffMs} must be a finite number ≥ 0`);
  const stallTimeoutMs = options.stallTimeoutMs ?? 60_000;
  if (!Number.isFinite(stallTimeoutMs) || stallTimeoutMs <= 0) throw new ConfigError(`stallTimeoutMs=${stallTimeoutMs} must be a finite number > 0`);
  const seen = new Set<string>();
  for (const s of options.shards) {
    if (!s.name || s.name.includes('/') || s.name.includes('\\') || s.name === '.' || s.name === '..') {
      throw new ConfigError(`Shard name "${s.name}" must be a plain file name`);
    }
    if (seen.has(s.name)) throw new ConfigError(`Shard "${s.name}" is listed twice`);
    seen.add(s.name);
  }
}

/**
 * Downloads `shards` into `dir` with `workers` parallel transfers. Shards already complete on
 * disk are skipped without a request. Resolves when every shard is complete; if some still
 * fail after all attempts, the others are completed first and the call rejects with a
 * DownloadError naming the failed shards (nothing partial is left for them).
 */
export async function downloadShards(options: DownloadOptions): Promise<DownloadResult> {
  checkOptions(options);
  const { shards, dir, baseUrl, onProgress, signal } = options;
  const workers = options.workers ?? 8;
  signal?.throwIfAborted();
  await fs.mkdir(dir, { recursive: true });

  const total = shards.length;
  let done = 0;
  let failedCount = 0;
  const downloaded: string[] = [];
  const skipped: string[] = [];
  const failures = new Map<string, ShardFailure>();
  let bytes = 0;
  const emit = (shard: string, event: DistributiveOmit<DownloadEvent, keyof DownloadEventBase>) =>
    onProgress?.({ shard, shardsDone: done, shardsFailed: failedCount, shardsTotal: total, ...event } as DownloadEvent);

  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < shards.length) {
      if (signal?.aborted) return;
      const shard = shards[next++]!;
      const dest = path.join(dir, shard.name);
      if (await isValidParquetFile(dest)) {
        done++;
        skipped.push(shard.name);
        emit(shard.name, { type: 'skip', bytes: (await fs.stat(dest)).size });
        continue;
      }
      const url = shardUrl(baseUrl, shard);
      const outcome = await fetchShard(shard.name, url, dest, options, emit);
      if (outcome.ok) {
        done++;
        bytes += outcome.bytes;
        downloaded.push(shard.name);
        emit(shard.name, { type: 'done', bytes: outcome.bytes, attempts: outcome.attempts });
      } else if (!signal?.aborted) {
        failedCount++;
        failures.set(shard.name, { shard: shard.name, url, attempts: outcome.attempts, error: outcome.error });
        emit(shard.name, { type: 'failed', attempts: outcome.attempts, error: outcome.error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(workers, Math.max(total, 1)) }, worker));
  signal?.throwIfAborted();

  const files = shards.map((s) => path.join(dir, s.name));
  if (failures.size > 0) {
    const ordered = shards.flatMap((s) => failures.get(s.name) ?? []);
    const completed = shards.filter((s) => !failures.has(s.name)).map((s) => s.name);
    throw new DownloadError(ordered, completed);
  }
  return { files, downloaded, skipped, bytes };
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type Emit = (shard: string, event: DistributiveOmit<DownloadEvent, keyof DownloadEventBase>) => void;
type Outcome = { ok: true; bytes: number; attempts: number } | { ok: false; attempts: number; error: Error };

/** All attempts for one shard. Never throws: the outcome says how it went. */
async function fetchShard(name: string, url: string, dest: string, options: DownloadOptions, emit: Emit): Promise<Outcome> {
  const attempts = options.attempts ?? 5;
  const backoffMs = options.backoffMs ?? 1000;
  const tmp = `${dest}.tmp`;
  let lastError: Error = new Error('not attempted');
  // A file there that is not valid parquet (checked by the caller) is replaced.
  try {
    await fs.rm(dest, { force: true, recursive: false });
  } catch (err) {
    return { ok: false, attempts: 0, error: new Error(`cannot replace ${dest}: ${(err as Error).message}`, { cause: err }) };
  }
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const bytes = await attemptOnce(name, url, tmp, attempt, options, emit);
      await fs.rename(tmp, dest);
      return { ok: true, bytes, attempts: attempt };
    } catch (err) {
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      if (options.signal?.aborted) return { ok: false, attempts: attempt, error: toError(options.signal.reason) };
      lastError = toError(err);
      const retryable = err instanceof AttemptError ? err.retryable : false;
      if (!retryable || attempt === attempts) return { ok: false, attempts: attempt, error: lastError };
      const delayMs = backoffMs * 2 ** (attempt - 1);
      emit(name, { type: 'retry', attempt, attempts, delayMs, error: lastError });
      try {
        await sleep(delayMs, undefined, { signal: options.signal });
      } catch {
        return { ok: false, attempts: attempt, error: toError(options.signal?.reason ?? lastError) };
      }
    }
  }
  return { ok: false, attempts, error: lastError };
}

function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

/** One HTTP request streamed into `tmp`, then validated. Returns the byte count. */
async function attemptOnce(name: string, url: string, tmp: string, attempt: number, options: DownloadOptions, emit: Emit): Promise<number> {
  const stallTimeoutMs = options.stallTimeoutMs ?? 60_000;
  const stall = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stall.signal]) : stall.signal;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => stall.abort(new StallError(`no data for ${stallTimeoutMs} ms`)), stallTimeoutMs);
  };
  // Rewrites errors caused by our own stall abort; the user's abort is handled by the caller.
  const failure = (err: unknown, what: string): AttemptError =>
    stall.signal.aborted
      ? new AttemptError(`stalled: ${(stall.signal.reason as Error).message} (${what})`, true, { cause: err })
      : new AttemptError(`${what}: ${networkMessage(err)}`, true, { cause: err });

  arm();
  try {
    let response: Response;
    try {
      response = await fetch(url, { headers: REQUEST_HEADERS, signal, redirect: 'follow' });
    } catch (err) {
      throw failure(err, `request to ${url} failed`);
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      const retryable = isRetryableStatus(response.status);
      const hint = retryable ? '' : ' (check the base URL: the file is not there or not accessible)';
      throw new AttemptError(`HTTP ${response.status} ${response.statusText} from ${url}${hint}`, retryable);
    }
    const lengthHeader = response.headers.get('content-length');
    const encoding = response.headers.get('content-encoding');
    const totalBytes = lengthHeader !== null && (!encoding || encoding === 'identity') ? Number(lengthHeader) : undefined;
    emit(name, { type: 'start', attempt, totalBytes });

    let received = 0;
    let handle: FileHandle;
    try {
      handle = await fs.open(tmp, 'w');
    } catch (err) {
      throw new AttemptError(`cannot write ${tmp}: ${(err as Error).message}`, false, { cause: err });
    }
    try {
      if (response.body) {
        try {
          for await (const chunk of response.body) {
            arm();
            try {
              await handle.write(chunk);
            } catch (err) {
              throw new AttemptError(`cannot write ${tmp}: ${(err as Error).message}`, false, { cause: err });
            }
            received += chunk.byteLength;
            emit(name, { type: 'progress', receivedBytes: received, totalBytes });
          }
        } catch (err) {
          if (err instanceof AttemptError) throw err;
          throw failure(err, `connection closed after ${received}${totalBytes !== undefined ? ` of ${totalBytes}` : ''} bytes`);
        }
      }
    } finally {
      await handle.close();
    }
    clearTimeout(timer);
    if (totalBytes !== undefined && received !== totalBytes) {
      throw new AttemptError(`truncated body: received ${received} of ${totalBytes} bytes (Content-Length)`, true);
    }
    try {
      await validateParquetFile(tmp);
    } catch (err) {
      const reason = (err as Error).message.replace(tmp, 'the body');
      throw new AttemptError(`downloaded ${received} bytes from ${url}, but ${reason}`, true, { cause: err });
    }
    return received;
  } finally {
    clearTimeout(timer);
  }
}

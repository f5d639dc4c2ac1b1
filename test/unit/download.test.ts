// Shard download against a real HTTP server on 127.0.0.1 serving parquet files written here.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { downloadShards, type DownloadEvent } from '../../lib/data/download';
import type { ShardRef } from '../../lib/data/datasets';
import { readTextColumn } from '../../lib/data/parquet';
import { DownloadError } from '../../lib/errors';
import {
  listDir,
  parquetBytes,
  reset,
  sampleDocs,
  sequence,
  serve,
  startServer,
  status,
  tempDir,
  truncate,
  type Route,
  type TestServer,
} from '../data-fixtures';

const shard = (i: number): ShardRef => ({ name: `shard_${String(i).padStart(5, '0')}.parquet`, path: `shard_${String(i).padStart(5, '0')}.parquet` });
const bodies = Array.from({ length: 6 }, (_, i) => parquetBytes(sampleDocs(i, 300 + 50 * i), { codec: 'GZIP', rowGroupSize: 100 }));

let server: TestServer;
let dir: string;
let remove: () => Promise<void>;
beforeEach(async () => ({ dir, remove } = await tempDir()));
afterEach(async () => {
  await server?.close();
  await remove();
});

/** Routes serving every shard in `bodies` normally, with overrides. */
function routes(overrides: Record<number, Route> = {}, delayMs = 0): Record<string, Route> {
  return Object.fromEntries(bodies.map((b, i) => [`/${shard(i).name}`, overrides[i] ?? serve(b, { delayMs })]));
}

async function texts(file: string): Promise<string[]> {
  const out: string[] = [];
  for await (const t of readTextColumn(file)) out.push(t);
  return out;
}

test('a clean download of several shards with 3 workers: files complete, parallel, progress reported', async () => {
  server = await startServer(routes({}, 150)); // slow enough that 3 requests overlap even on a busy machine
  const shards = bodies.map((_, i) => shard(i));
  const events: DownloadEvent[] = [];
  const result = await downloadShards({ shards, dir, baseUrl: server.baseUrl, workers: 3, onProgress: (e) => events.push(e) });

  expect(result.downloaded.sort()).toEqual(shards.map((s) => s.name));
  expect(result.skipped).toEqual([]);
  expect(result.files).toEqual(shards.map((s) => path.join(dir, s.name)));
  expect(result.bytes).toBe(bodies.reduce((n, b) => n + b.length, 0));
  expect(await listDir(dir)).toEqual(shards.map((s) => s.name)); // no .tmp left
  for (const [i, s] of shards.entries()) {
    expect(await fs.readFile(path.join(dir, s.name))).toEqual(bodies[i]);
    expect(await texts(path.join(dir, s.name))).toEqual(sampleDocs(i, 300 + 50 * i));
  }
  expect(server.maxInFlight()).toBe(3); // the workers really ran in parallel, and no more than 3
  for (const s of shards) expect(server.requests.get(`/${s.name}`)).toBe(1);

  // Per shard: start (with the total), progress up to the total, done.
  for (const [i, s] of shards.entries()) {
    const mine = events.filter((e) => e.shard === s.name);
    expect(mine[0]).toMatchObject({ type: 'start', attempt: 1, totalBytes: bodies[i]!.length });
    const progress = mine.filter((e) => e.type === 'progress');
    expect(progress.length).toBeGreaterThan(0);
    const received = progress.map((e) => (e.type === 'progress' ? e.receivedBytes : -1));
    expect(received).toEqual([...received].sort((a, b) => a - b));
    expect(received.at(-1)).toBe(bodies[i]!.length);
    expect(mine.at(-1)).toMatchObject({ type: 'done', bytes: bodies[i]!.length, attempts: 1 });
  }
  const done = events.filter((e) => e.type === 'done').map((e) => e.shardsDone);
  expect(done).toEqual([1, 2, 3, 4, 5, 6]);
  expect(events.every((e) => e.shardsTotal === 6 && e.shardsFailed === 0)).toBe(true);
});

test('a server that fails twice (HTTP 500, then a connection reset) and then succeeds: 3 attempts, backoff doubling', async () => {
  server = await startServer(routes({ 1: sequence(status(500), reset, serve(bodies[1]!)) }));
  const events: DownloadEvent[] = [];
  const started = Date.now();
  const result = await downloadShards({
    shards: [shard(0), shard(1)],
    dir,
    baseUrl: server.baseUrl,
    backoffMs: 50,
    onProgress: (e) => events.push(e),
  });
  expect(Date.now() - started).toBeGreaterThanOrEqual(150); // waited 50 + 100 ms
  expect(result.downloaded.sort()).toEqual([shard(0).name, shard(1).name]);
  expect(server.requests.get(`/${shard(1).name}`)).toBe(3);
  expect(server.requests.get(`/${shard(0).name}`)).toBe(1);
  const retries = events.filter((e) => e.type === 'retry');
  expect(retries.map((e) => e.type === 'retry' && [e.shard, e.attempt, e.delayMs])).toEqual([
    [shard(1).name, 1, 50],
    [shard(1).name, 2, 100],
  ]);
  const [first, second] = retries.map((e) => (e.type === 'retry' ? e.error.message : ''));
  expect(first).toMatch(/HTTP 500/);
  expect(second).toMatch(/ECONNRESET|other side closed|socket/i);
  expect(events.find((e) => e.type === 'done' && e.shard === shard(1).name)).toMatchObject({ attempts: 3 });
  expect(await fs.readFile(path.join(dir, shard(1).name))).toEqual(bodies[1]);
  expect(await listDir(dir)).toEqual([shard(0).name, shard(1).name]);
});

test('a truncated body once is retried; a body always truncated fails, names the shard, leaves nothing', async () => {
  server = await startServer(
    routes({
      1: sequence(truncate(bodies[1]!), serve(bodies[1]!)),
      2: truncate(bodies[2]!),
    }),
  );
  const shards = [shard(0), shard(1), shard(2), shard(3)];
  const error = await downloadShards({ shards, dir, baseUrl: server.baseUrl, attempts: 3, backoffMs: 1, workers: 2 }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DownloadError);
  const err = error as DownloadError;
  expect(err.failures.map((f) => [f.shard, f.attempts])).toEqual([[shard(2).name, 3]]);
  expect(err.failures[0]!.url).toBe(`${server.baseUrl}/${shard(2).name}`);
  expect(err.failures[0]!.error.message).toMatch(/connection closed after \d+ of \d+ bytes|truncated body/);
  expect(err.message).toContain(shard(2).name);
  expect(err.completed).toEqual([shard(0).name, shard(1).name, shard(3).name]);
  expect(server.requests.get(`/${shard(2).name}`)).toBe(3);
  // The other shards completed; the failed one left no file and no .tmp.
  expect(await listDir(dir)).toEqual([shard(0).name, shard(1).name, shard(3).name]);
  expect(await fs.readFile(path.join(dir, shard(1).name))).toEqual(bodies[1]);
});

test('a body that is not parquet is rejected: no file, no .tmp, the error names the shard and why', async () => {
  const html = Buffer.from('<!doctype html><html><body>Too many requests, slow down</body></html>');
  server = await startServer({ ...routes(), [`/${shard(4).name}`]: serve(html) });
  const events: DownloadEvent[] = [];
  const error = await downloadShards({
    shards: [shard(4), shard(5)],
    dir,
    baseUrl: server.baseUrl,
    attempts: 2,
    backoffMs: 1,
    onProgress: (e) => events.push(e),
  }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(DownloadError);
  expect((error as Error).message).toMatch(
    new RegExp(`shard_00004\\.parquet \\(2 attempts\\): downloaded ${html.length} bytes from .*shard_00004\\.parquet, but the body is not a parquet file`),
  );
  expect(await listDir(dir)).toEqual([shard(5).name]);
  expect(events.find((e) => e.type === 'failed')).toMatchObject({ shard: shard(4).name, attempts: 2, shardsFailed: 1 });
});

test('HTTP 404 is not retried (wrong URL or mirror)', async () => {
  server = await startServer(routes());
  const error = await downloadShards({ shards: [{ name: 'missing.parquet', path: 'nested/missing.parquet' }], dir, baseUrl: server.baseUrl, backoffMs: 1 }).catch(
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DownloadError);
  expect((error as Error).message).toMatch(/missing\.parquet \(1 attempt\): HTTP 404 .*\/nested\/missing\.parquet .*check the base URL/);
  expect(server.requests.get('/nested/missing.parquet')).toBe(1);
  expect(await listDir(dir)).toEqual([]);
});

test('resume after an interrupted run: complete shards are not requested again, partial ones are replaced', async () => {
  // Run 1: shard 2 stalls mid-body; the run is interrupted (aborted) once shards 0 and 1 are done.
  let releaseStall: () => void = () => undefined;
  const stalled: Route = (_req, res) => {
    res.writeHead(200, { 'content-length': bodies[2]!.length });
    res.write(bodies[2]!.subarray(0, 1000));
    releaseStall = () => res.destroy();
  };
  server = await startServer(routes({ 2: sequence(stalled, serve(bodies[2]!)) }));
  const controller = new AbortController();
  const doneShards = new Set<string>();
  let sawPartial = false;
  let filesAtInterrupt: string[] = [];
  const run1 = downloadShards({
    shards: [shard(0), shard(1), shard(2)],
    dir,
    baseUrl: server.baseUrl,
    workers: 3,
    signal: controller.signal,
    onProgress: (e) => {
      if (e.type === 'done') doneShards.add(e.shard);
      if (e.type === 'progress' && e.shard === shard(2).name) sawPartial = true;
      if (doneShards.size === 2 && sawPartial && !controller.signal.aborted) {
        void listDir(dir).then((files) => {
          filesAtInterrupt = files;
          controller.abort(new Error('interrupted'));
        });
      }
    },
  });
  await expect(run1).rejects.toThrow('interrupted');
  releaseStall();
  expect(filesAtInterrupt).toEqual([shard(0).name, shard(1).name, `${shard(2).name}.tmp`]); // partial body as .tmp
  expect(await listDir(dir)).toEqual([shard(0).name, shard(1).name]); // the .tmp was removed

  // A shard left half-written by a killed process (no .tmp cleanup happened) and a stale .tmp.
  await fs.writeFile(path.join(dir, shard(3).name), bodies[3]!.subarray(0, bodies[3]!.length >> 1));
  await fs.writeFile(path.join(dir, `${shard(4).name}.tmp`), 'stale');

  // Run 2: everything is requested; only what is not complete is fetched.
  const events: DownloadEvent[] = [];
  const result = await downloadShards({
    shards: [0, 1, 2, 3, 4].map(shard),
    dir,
    baseUrl: server.baseUrl,
    onProgress: (e) => events.push(e),
  });
  expect(result.skipped.sort()).toEqual([shard(0).name, shard(1).name]);
  expect(result.downloaded.sort()).toEqual([shard(2).name, shard(3).name, shard(4).name]);
  expect(Object.fromEntries(server.requests)).toEqual({
    [`/${shard(0).name}`]: 1,
    [`/${shard(1).name}`]: 1,
    [`/${shard(2).name}`]: 2,
    [`/${shard(3).name}`]: 1,
    [`/${shard(4).name}`]: 1,
  });
  const skips = events.flatMap((e) => (e.type === 'skip' ? [[e.shard, e.bytes]] : []));
  expect(skips.sort()).toEqual([
    [shard(0).name, bodies[0]!.length],
    [shard(1).name, bodies[1]!.length],
  ]);
  expect(await listDir(dir)).toEqual([0, 1, 2, 3, 4].map((i) => shard(i).name));
  for (const i of [2, 3, 4]) expect(await fs.readFile(path.join(dir, shard(i).name))).toEqual(bodies[i]);

  // Run 3: nothing to do, no request at all.
  const before = [...server.requests.values()].reduce((a, b) => a + b, 0);
  const again = await downloadShards({ shards: [0, 1, 2, 3, 4].map(shard), dir, baseUrl: server.baseUrl });
  expect(again.downloaded).toEqual([]);
  expect([...server.requests.values()].reduce((a, b) => a + b, 0)).toBe(before);
});

test('a transfer that stalls is abandoned after stallTimeoutMs and retried', async () => {
  const hang: Route = (_req, res) => {
    res.writeHead(200, { 'content-length': bodies[0]!.length });
    res.write(bodies[0]!.subarray(0, 500)); // then nothing, connection left open
  };
  server = await startServer(routes({ 0: sequence(hang, serve(bodies[0]!)) }));
  const events: DownloadEvent[] = [];
  await downloadShards({ shards: [shard(0)], dir, baseUrl: server.baseUrl, stallTimeoutMs: 200, backoffMs: 1, onProgress: (e) => events.push(e) });
  const retry = events.find((e) => e.type === 'retry');
  expect(retry?.type === 'retry' && retry.error.message).toMatch(/stalled: no data for 200 ms/);
  expect(server.requests.get(`/${shard(0).name}`)).toBe(2);
  expect(await fs.readFile(path.join(dir, shard(0).name))).toEqual(bodies[0]);
});

test('bad options are refused before any request', async () => {
  server = await startServer(routes());
  const base = { dir, baseUrl: server.baseUrl };
  await expect(downloadShards({ ...base, shards: [shard(0), shard(0)] })).rejects.toThrow(/listed twice/);
  await expect(downloadShards({ ...base, shards: [{ name: '../escape.parquet', path: 'x' }] })).rejects.toThrow(/plain file name/);
  await expect(downloadShards({ ...base, shards: [shard(0)], workers: 0 })).rejects.toThrow(/workers=0/);
  await expect(downloadShards({ ...base, shards: [shard(0)], stallTimeoutMs: 0 })).rejects.toThrow(/stallTimeoutMs=0/);
  expect(server.requests.size).toBe(0);
});

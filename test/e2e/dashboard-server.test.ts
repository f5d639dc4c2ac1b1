// The dashboard's server against real files written the way the loop writes them (and, for
// the event stream, by another process): JSON endpoints, the event stream, the stop control,
// what it refuses to serve, and where it listens; with parallel workers, the queue and the
// per-experiment logs followed as the loop writes them.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

import { startDashboard, type Dashboard } from '../../lib/dashboard/server';
import { STOP_FILE, takeStopRequest } from '../../lib/loop/control';
import { summarizeResults } from '../../lib/loop/report';
import { readResults } from '../../lib/loop/results';
import { packageRoot } from '../../lib/native/load';
import { syntheticRows, writeResults } from '../dashboard-fixtures';

const root = packageRoot();
let work: string;
const open: Dashboard[] = [];
const children: ChildProcess[] = [];

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-dashboard-'));
});
afterEach(async () => {
  for (const d of open.splice(0)) await d.close();
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function session(name: string, rows: object[]): string {
  const dir = path.join(work, name);
  fs.mkdirSync(path.join(dir, '.autoresearch'), { recursive: true });
  writeResults(dir, rows);
  return dir;
}

async function serve(dir: string): Promise<Dashboard> {
  const d = await startDashboard({ dir, port: 0, pollMs: 100 });
  open.push(d);
  return d;
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A request with the path sent exactly as given (no normalisation). */
function request(d: Dashboard, rawPath: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: d.port, path: rawPath, method: options.method ?? 'GET', headers: options.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

interface SseEvent {
  event: string;
  data: unknown;
  at: number;
}

/** Follows /api/events; `next(name)` resolves with the next event of that name. */
function events(d: Dashboard, from: number) {
  const seen: SseEvent[] = [];
  const waiters: Array<{ name: string; test: (e: SseEvent) => boolean; resolve: (e: SseEvent) => void }> = [];
  let buffer = '';
  const req = http.get({ host: '127.0.0.1', port: d.port, path: `/api/events?from=${from}` }, (res) => {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const name = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (!name || data === undefined) continue;
        const e = { event: name, data: JSON.parse(data) as unknown, at: Date.now() };
        seen.push(e);
        for (const w of waiters.splice(0)) {
          if (w.name === name && w.test(e)) w.resolve(e);
          else waiters.push(w);
        }
      }
    });
  });
  req.on('error', () => undefined);
  return {
    seen,
    next(name: string, test: (e: SseEvent) => boolean = () => true, timeoutMs = 10_000): Promise<SseEvent> {
      const found = seen.find((e) => e.event === name && test(e));
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no '${name}' event within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ name, test, resolve: (e) => (clearTimeout(timer), resolve(e)) });
      });
    },
    close: () => req.destroy(),
  };
}

test('listens on 127.0.0.1 by default, and another address only with allowRemote', async () => {
  const dir = session('listen', syntheticRows(3));
  const d = await serve(dir);
  expect(d.host).toBe('127.0.0.1');
  expect(d.url).toBe(`http://127.0.0.1:${d.port}/`);
  // Not reachable through the machine's other addresses.
  const external = Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal);
  if (external) {
    const reached = await new Promise<boolean>((resolve) => {
      const req = http.get({ host: external.address, port: d.port, path: '/api/state', timeout: 2000 }, () => resolve(true));
      req.on('error', () => resolve(false));
      req.on('timeout', () => (req.destroy(), resolve(false)));
    });
    expect(reached).toBe(false);
  }
  await expect(startDashboard({ dir, port: 0, host: '0.0.0.0' })).rejects.toThrow(/--allow-remote/);
  const remote = await startDashboard({ dir, port: 0, host: '0.0.0.0', allowRemote: true });
  open.push(remote);
  expect((await request(remote, '/api/state')).status).toBe(200);
});

test('the command: loopback by default; --host elsewhere refused without --allow-remote, warned with it', async () => {
  const dir = session('cli', syntheticRows(3));
  const cli = (args: string[]) => [require.resolve('tsx/cjs'), path.join(root, 'bin/autoresearch.ts'), 'dashboard', '--dir', dir, '--port', '0', ...args];
  const refused = spawnSync(process.execPath, ['--require', ...cli(['--host', '0.0.0.0'])], { encoding: 'utf8', timeout: 60_000 });
  expect(refused.status).toBe(1);
  expect(refused.stderr).toMatch(/--host 0\.0\.0\.0 .*--allow-remote/);

  for (const [args, pattern, warning] of [
    [[], /dashboard of .* at http:\/\/127\.0\.0\.1:\d+\//, false],
    [['--host', '0.0.0.0', '--allow-remote'], /at http:\/\/0\.0\.0\.0:\d+\//, true],
  ] as const) {
    const child = spawn(process.execPath, ['--require', ...cli([...args])], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    let err = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    const start = Date.now();
    while (!pattern.test(out) && Date.now() - start < 60_000 && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
    expect(out).toMatch(pattern);
    if (warning) expect(err).toMatch(/^warning: listening on 0\.0\.0\.0: anyone who can reach/m);
    else expect(err).toBe('');
    const url = /(http:\S+)/.exec(out)![1]!.replace('0.0.0.0', '127.0.0.1');
    const state = (await (await fetch(`${url}api/state`)).json()) as { rows: unknown[] };
    expect(state.rows).toHaveLength(3);
    child.kill('SIGTERM');
    await new Promise((r) => child.once('close', r));
  }
}, 120_000);

test('JSON endpoints: the snapshot matches `autoresearch results`; a row carries its diff', async () => {
  const rows = syntheticRows(60, { seed: 7 });
  const dir = session('json', rows);
  const d = await serve(dir);
  const page = await request(d, '/');
  expect(page.status).toBe(200);
  expect(page.headers['content-type']).toMatch(/text\/html/);
  expect(page.body).toContain('<script src="/uPlot.iife.min.js"></script>');
  expect((await request(d, '/uPlot.iife.min.js')).body).toContain('uPlot');
  expect((await request(d, '/app.js')).headers['content-type']).toMatch(/javascript/);

  const state = JSON.parse((await request(d, '/api/state')).body);
  const expected = summarizeResults(await readResults(dir, { repair: false }));
  expect(state.rows).toHaveLength(60);
  expect(state.fields).toEqual(['index', 'experiment', 'status', 'val_bpb', 'peak_vram_mb', 'num_steps', 'time', 'description', 'commit', 'worker']);
  const r5 = rows[5]!;
  expect(state.rows[5]).toEqual([5, 5, r5.status, r5.val_bpb, r5.peak_vram_mb, r5.num_steps, Date.parse(r5.time), r5.description, r5.commit.slice(0, 7), null]);
  expect(state.summary.counts).toEqual(expected.counts);
  expect(state.summary.best.val_bpb).toBe(expected.best!.val_bpb);
  expect(state.summary.best.experiment).toBe(expected.best!.experiment);
  expect(state.summary.improvement).toEqual(expected.improvement);
  expect(state.summary.startedAt).toBe(Date.parse(rows[0]!.time) - rows[0]!.total_seconds! * 1000);
  expect(state.fingerprint.latest).toEqual(rows[59]!.fingerprint);
  expect(state.workers).toEqual([]);
  expect(state.status.running).toBe(false);

  const one = JSON.parse((await request(d, '/api/rows/5')).body);
  expect(one.row.diff).toBe(rows[5]!.diff);
  expect(one.row.diff).toMatch(/^--- a\/train\/config\.ts/);
  expect((await request(d, '/api/rows/60')).status).toBe(404);
  expect((await request(d, '/api/rows/-1')).status).toBe(404);
});

/** A trainer progress line, as run.log and the per-experiment logs carry them. */
const stepLine = (step: number, progress: number, loss: number) =>
  `step ${String(step).padStart(5, '0')} (${progress.toFixed(1)}%) | loss: ${loss.toFixed(6)} | lrm: 1.00 | dt: 20ms | tok/sec: 51,200 | mfu: 1.00 | epoch: 0 | remaining: 1s\n`;

/** Writes queue.json as the loop does: a temporary file renamed over it. */
function writeQueue(dir: string, entries: object[]): void {
  const file = path.join(dir, '.autoresearch', 'queue.json');
  fs.writeFileSync(`${file}.tmp`, JSON.stringify({ tag: 'dec3', entries }, null, 2) + '\n');
  fs.renameSync(`${file}.tmp`, file);
}

test('rows naming a worker (in the fingerprint, or at the top level as older rows did) give one row per worker', async () => {
  const rows: object[] = syntheticRows(9, { worker: (i) => `gpu${i % 3}` });
  // An older row: the worker at the top level, none in the fingerprint.
  rows[8] = { ...syntheticRows(9)[8], worker: 'gpu2' };
  const dir = session('workers', rows);
  const d = await serve(dir);
  const state = JSON.parse((await request(d, '/api/state')).body);
  expect(state.workers.map((w: { worker: string; experiments: number; last: { experiment: number }; current: unknown }) => [w.worker, w.experiments, w.last.experiment, w.current])).toEqual([
    ['gpu0', 3, 6, null],
    ['gpu1', 3, 7, null],
    ['gpu2', 3, 8, null],
  ]);
});

test('parallel workers: what each runs now and its live loss from queue.json and its log, the incumbent from its kept log, all streamed', async () => {
  const rows = syntheticRows(9, { seed: 4, worker: (i) => `local:${i % 2}` });
  const dir = session('parallel', rows);
  const state = path.join(dir, '.autoresearch');
  // A loop holds the lock (this process stands in for it).
  fs.writeFileSync(path.join(state, 'loop.lock'), JSON.stringify({ pid: process.pid, host: os.hostname(), started: new Date().toISOString() }) + '\n');
  // The incumbent's log, kept by the loop under .autoresearch/logs/.
  const logs = path.join(state, 'logs');
  fs.mkdirSync(logs);
  const best = rows.filter((r) => r.status === 'keep').sort((a, b) => a.val_bpb! - b.val_bpb!)[0]!;
  fs.writeFileSync(path.join(logs, `${best.experiment}.log`), stepLine(0, 0, 6) + stepLine(1, 40, 5) + stepLine(2, 80, 4) + stepLine(3, 100, 3.8) + `---\nval_bpb:          ${best.val_bpb!.toFixed(6)}\n`);
  // Experiments 9 and 10 running on the two workers (10 is a confirmation run), 11 queued.
  const entry = (experiment: number, extra: object) => ({ experiment, commit: 'c'.repeat(40), parent: best.commit, description: `change ${experiment}`, attempts: 1, phase: 'run', ...extra });
  writeQueue(dir, [
    entry(9, { state: 'running', worker: 'local:1' }),
    entry(10, { state: 'running', worker: 'local:0', phase: 'confirm', attempts: 2 }),
    entry(11, { state: 'queued', worker: null, attempts: 0 }),
  ]);
  fs.writeFileSync(path.join(logs, '9.log'), 'startup: 0.4 s since the process started\n' + stepLine(0, 0, 6.3) + stepLine(1, 20, 5.9));
  fs.writeFileSync(path.join(logs, '10.confirm.log'), stepLine(0, 0, 6.1) + stepLine(1, 40, 4.5) + stepLine(2, 60, 4.4));
  const d = await serve(dir);

  type Worker = { worker: string; experiments: number; last: { experiment: number } | null; current: { experiment: number; description: string; phase: string; attempts: number; state: string; log: string; step: { step: number; progress: number; loss: number } | null; incumbentLossNow: number | null } | null };
  const snap = JSON.parse((await request(d, '/api/state')).body) as { workers: Worker[]; runs: Array<{ key: string; experiment: number; worker: string; points: unknown[] }>; incumbent: { experiment: number; points: unknown[] }; status: { inFlight: number; running: boolean } };
  expect(snap.status).toMatchObject({ running: true, inFlight: 2 });
  expect(snap.incumbent.experiment).toBe(best.experiment);
  expect(snap.incumbent.points).toHaveLength(4);
  expect(snap.workers.map((w) => [w.worker, w.experiments, w.last?.experiment])).toEqual([
    ['local:0', 5, 8],
    ['local:1', 4, 7],
  ]);
  expect(snap.workers[0]!.current).toEqual({
    experiment: 10,
    description: 'change 10',
    phase: 'confirm',
    attempts: 2,
    state: 'training',
    log: '.autoresearch/logs/10.confirm.log',
    step: { step: 2, progress: 60, loss: 4.4 },
    // The incumbent's curve at 60%: halfway between 5 (40%) and 4 (80%).
    incumbentLossNow: 4.5,
  });
  expect(snap.workers[1]!.current).toMatchObject({ experiment: 9, phase: 'run', log: '.autoresearch/logs/9.log', step: { step: 1, progress: 20, loss: 5.9 } });
  expect(snap.runs.map((r) => [r.key, r.experiment, r.worker, r.points.length])).toEqual([
    ['9', 9, 'local:1', 2],
    ['10.confirm', 10, 'local:0', 3],
  ]);
  // The incumbent's curve is also its row's curve.
  expect(JSON.parse((await request(d, `/api/rows/${rows.indexOf(best)}`)).body).curve).toHaveLength(4);

  // Another process appends to a run's log: its points and the worker's step arrive on the stream.
  const stream = events(d, rows.length);
  await stream.next('status');
  const append = (file: string, text: string) =>
    spawnSync(process.execPath, ['-e', `require('fs').appendFileSync(process.argv[1], process.argv[2])`, file, text], { encoding: 'utf8' });
  append(path.join(logs, '9.log'), stepLine(2, 50, 5.1));
  const run = await stream.next('run', (e) => (e.data as { key: string; points: Array<{ step: number }> }).points.some((p) => p.step === 2));
  expect(run.data).toEqual({ key: '9', experiment: 9, worker: 'local:1', phase: 'run', restart: false, points: [{ step: 2, progress: 50, loss: 5.1 }] });
  await stream.next('workers', (e) => (e.data as { workers: Worker[] }).workers[1]!.current?.step?.step === 2);

  // Experiment 9 ends: its row is appended, then its entry leaves the queue (both by another process).
  const row9 = { ...syntheticRows(10, { seed: 4, worker: (i) => `local:${i % 2}` })[9]!, description: 'change 9' };
  append(path.join(dir, 'results.jsonl'), JSON.stringify(row9) + '\n');
  spawnSync(process.execPath, [
    '-e',
    `const fs = require('fs'); const f = process.argv[1]; const q = JSON.parse(fs.readFileSync(f, 'utf8')); q.entries = q.entries.filter((e) => e.experiment !== 9); fs.writeFileSync(f + '.tmp', JSON.stringify(q)); fs.renameSync(f + '.tmp', f);`,
    path.join(state, 'queue.json'),
  ]);
  const rowsEvent = await stream.next('rows', (e) => (e.data as { rows: unknown[][] }).rows.some((r) => r[1] === 9));
  expect((rowsEvent.data as { rows: unknown[][] }).rows[0]![9]).toBe('local:1');
  const after = await stream.next('workers', (e) => (e.data as { runs: string[] }).runs.length === 1);
  expect((after.data as { runs: string[] }).runs).toEqual(['10.confirm']);
  expect((after.data as { workers: Worker[] }).workers.map((w) => [w.worker, w.last?.experiment, w.current?.experiment ?? null])).toEqual([
    ['local:0', 8, 10],
    ['local:1', 9, null],
  ]);
  stream.close();

  // The loop is gone (no lock): the queue's entries are not shown as running.
  fs.rmSync(path.join(state, 'loop.lock'));
  await d.session.poll();
  expect(d.session.snapshot().workers.map((w) => w.current)).toEqual([null, null]);
}, 60_000);

test('the event stream delivers a row appended by another process within 2 s', async () => {
  const rows = syntheticRows(12, { seed: 3 });
  const dir = session('stream', rows.slice(0, 10));
  const d = await serve(dir);
  const stream = events(d, 10);
  await stream.next('status');
  const latencies: number[] = [];
  for (const row of rows.slice(10)) {
    const writer = spawnSync(process.execPath, ['-e', `require('fs').appendFileSync(${JSON.stringify(path.join(dir, 'results.jsonl'))}, process.argv[1] + '\\n'); console.log(Date.now())`, JSON.stringify(row)], {
      encoding: 'utf8',
    });
    const written = Number(writer.stdout.trim());
    // Rows travel as arrays: [index, experiment, status, val_bpb, memory, steps, time, description, commit, worker].
    const e = await stream.next('rows', (ev) => (ev.data as { rows: unknown[][] }).rows.some((r) => r[1] === row.experiment));
    latencies.push(e.at - written);
    const msg = e.data as { from: number; rows: unknown[][]; summary: { counts: { total: number } } };
    expect(msg.rows.map((r) => r[1])).toEqual([row.experiment]);
    expect(msg.rows[0]![7]).toBe(row.description);
    expect(msg.summary.counts.total).toBe(row.experiment + 1);
  }
  stream.close();
  for (const ms of latencies) expect(ms).toBeLessThan(2000);
  // A torn line (a write in progress) is not a row until it is complete.
  const file = path.join(dir, 'results.jsonl');
  const extra = JSON.stringify(syntheticRows(13, { seed: 3 })[12]);
  fs.appendFileSync(file, extra.slice(0, 50));
  await d.session.poll();
  expect(d.session.rows).toHaveLength(12);
  fs.appendFileSync(file, extra.slice(50) + '\n');
  await d.session.poll();
  expect(d.session.rows).toHaveLength(13);
  // A rewritten log (rows changed, not appended) is a reset.
  const later = events(d, 13);
  await later.next('status');
  writeResults(dir, syntheticRows(5, { seed: 99 }));
  await later.next('reset');
  later.close();
  expect(JSON.parse((await request(d, '/api/state')).body).rows).toHaveLength(5);
}, 60_000);

test('run.log: the live loss, the phase, and a finished run remembered as the curve of its row', async () => {
  const rows = syntheticRows(3, { seed: 5 });
  const dir = session('live', rows);
  const d = await serve(dir);
  const stream = events(d, 3);
  const log = path.join(dir, 'run.log');
  fs.writeFileSync(log, 'startup: 0.5 s since the process started\n');
  const line = (step: number, progress: number, loss: number) =>
    `step ${String(step).padStart(5, '0')} (${progress.toFixed(1)}%) | loss: ${loss.toFixed(6)} | lrm: 1.00 | dt: 20ms | tok/sec: 51,200 | mfu: 1.00 | epoch: 0 | remaining: 1s\n`;
  fs.appendFileSync(log, line(0, 0, 6.2) + line(1, 0, 6.1));
  const first = await stream.next('live', (e) => (e.data as { points: unknown[] }).points.length >= 2);
  expect((first.data as { points: Array<{ step: number; loss: number }> }).points.slice(0, 2)).toEqual([
    { step: 0, progress: 0, loss: 6.2 },
    { step: 1, progress: 0, loss: 6.1 },
  ]);
  fs.appendFileSync(log, line(2, 50, 5.5) + line(3, 100, 5.0));
  await stream.next('live', (e) => (e.data as { points: Array<{ step: number }> }).points.some((p) => p.step === 3));
  // The run's row: val_bpb in the summary block, then the row in results.jsonl.
  const best = rows.reduce((b, r) => (r.status === 'keep' && r.val_bpb! < b ? r.val_bpb! : b), Infinity);
  const next = { ...syntheticRows(4, { seed: 5 })[3]!, status: 'keep', val_bpb: Number((best - 0.01).toFixed(6)) };
  fs.appendFileSync(log, `evaluating val_bpb on 4 batches of 16 x 64 tokens\n---\nval_bpb:          ${next.val_bpb.toFixed(6)}\ntraining_seconds: 1.0\n`);
  fs.appendFileSync(path.join(dir, 'results.jsonl'), JSON.stringify(next) + '\n');
  // (A poll may see the row before the log's end: the curve then follows in a second event.)
  const incumbent = await stream.next('incumbent', (e) => {
    const c = e.data as { experiment: number; points: unknown[] } | null;
    return c?.experiment === 3 && c.points.length > 0;
  });
  expect((incumbent.data as { points: unknown[] }).points).toHaveLength(4);
  const row = JSON.parse((await request(d, '/api/rows/3')).body);
  expect(row.curve.map((p: { step: number }) => p.step)).toEqual([0, 1, 2, 3]);
  // The next run truncates run.log: a new run id, starting over.
  const before = d.session.snapshot().live.runId;
  fs.writeFileSync(log, line(0, 0, 7));
  const restart = await stream.next('live', (e) => (e.data as { runId: number }).runId > before);
  expect(restart.data).toEqual({ runId: before + 1, restart: true, points: [{ step: 0, progress: 0, loss: 7 }] });
  stream.close();
}, 30_000);

test('the stop control: guarded, written only while a loop runs, withdrawn on request; the loop side takes it once', async () => {
  const dir = session('stop', syntheticRows(3));
  const d = await serve(dir);
  const control = { 'x-autoresearch-control': '1' };
  expect((await request(d, '/api/stop', { method: 'POST' })).status).toBe(403);
  expect((await request(d, '/api/stop', { method: 'POST', headers: { ...control, origin: 'http://evil.example' } })).status).toBe(403);
  const none = await request(d, '/api/stop', { method: 'POST', headers: control });
  expect(none.status).toBe(409);
  expect(none.body).toMatch(/no research loop is running/);
  expect(fs.existsSync(path.join(dir, STOP_FILE))).toBe(false);

  // A loop's lock, held by a live process on this host.
  const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  children.push(holder);
  const started = new Date();
  fs.writeFileSync(path.join(dir, '.autoresearch', 'loop.lock'), JSON.stringify({ pid: holder.pid, host: os.hostname(), started: started.toISOString() }) + '\n');
  const stream = events(d, 3);
  await stream.next('status', (e) => (e.data as { running: boolean }).running);
  const ok = await request(d, '/api/stop', { method: 'POST', headers: { ...control, origin: `http://127.0.0.1:${d.port}` } });
  expect(ok.status).toBe(202);
  const written = JSON.parse(fs.readFileSync(path.join(dir, STOP_FILE), 'utf8'));
  expect(written.by).toBe('dashboard');
  await stream.next('status', (e) => (e.data as { stopRequested: unknown }).stopRequested !== null);
  expect(JSON.parse((await request(d, '/api/stop')).body).stopRequested.by).toBe('dashboard');
  expect((await request(d, '/api/stop', { method: 'DELETE', headers: control })).status).toBe(200);
  expect(fs.existsSync(path.join(dir, STOP_FILE))).toBe(false);
  stream.close();

  // The loop's check: a request made since it started stops it once; an older one is dropped.
  expect(await takeStopRequest(dir, started)).toBe(false);
  await request(d, '/api/stop', { method: 'POST', headers: control });
  expect(await takeStopRequest(dir, started)).toBe(true);
  expect(fs.existsSync(path.join(dir, STOP_FILE))).toBe(false);
  expect(await takeStopRequest(dir, started)).toBe(false);
  await request(d, '/api/stop', { method: 'POST', headers: control });
  expect(await takeStopRequest(dir, new Date(Date.now() + 60_000))).toBe(false);
  expect(fs.existsSync(path.join(dir, STOP_FILE))).toBe(false);
});

test('nothing outside the page, its library and the session records is served; other writes and foreign hosts refused', async () => {
  const dir = session('traversal', syntheticRows(3));
  fs.writeFileSync(path.join(dir, 'secret.txt'), 'SECRET-CONTENT\n');
  fs.mkdirSync(path.join(dir, '.git'));
  fs.writeFileSync(path.join(dir, '.git', 'config'), '[core] SECRET-CONTENT\n');
  // Queue entries whose numbers would name a file elsewhere are not followed.
  fs.mkdirSync(path.join(dir, '.autoresearch', 'logs'));
  fs.writeFileSync(path.join(dir, '.autoresearch', 'logs', '0.log'), 'step 00001 (50.0%) | loss: 1.000000 | SECRET-CONTENT\n');
  writeQueue(dir, ['../../secret', -1, 1.5, '0', 1e300].map((experiment) => ({ experiment, state: 'running', worker: 'local:0', phase: 'run', attempts: 1 })));
  const d = await serve(dir);
  expect(d.session.snapshot().runs).toEqual([]);
  const attempts = [
    '/.autoresearch/queue.json',
    '/.autoresearch/logs/0.log',
    '/logs/0.log',
    '/../package.json',
    '/..%2fpackage.json',
    '/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
    '/app.js/../../package.json',
    '/..\\..\\package.json',
    '//etc/passwd',
    '/secret.txt',
    '/.git/config',
    '/results.jsonl',
    '/.autoresearch/loop.lock',
    '/node_modules/uplot/package.json',
    '/lib/dashboard/server.ts',
    '/static/app.js',
    '/api/rows/../../secret.txt',
    '/api/rows/1%2f..%2f..%2fsecret.txt',
    '/api/rows/0x1',
    '/index.html%00.txt',
  ];
  for (const attempt of attempts) {
    const reply = await request(d, attempt);
    expect([attempt, reply.status]).toEqual([attempt, 404]);
    expect(reply.body).not.toMatch(/SECRET-CONTENT|"name": "autoresearch"|root:x:0/);
  }
  for (const method of ['PUT', 'PATCH', 'DELETE']) expect((await request(d, '/api/state', { method })).status).toBe(405);
  // DNS rebinding: a name that resolves here but is not this machine's.
  expect((await request(d, '/api/state', { headers: { host: `evil.example:${d.port}` } })).status).toBe(421);
  expect((await request(d, '/api/state', { headers: { host: `localhost:${d.port}` } })).status).toBe(200);
  expect(fs.readdirSync(dir).sort()).toEqual(['.autoresearch', '.git', 'results.jsonl', 'secret.txt']);
  expect(fs.readdirSync(path.join(dir, '.autoresearch')).sort()).toEqual(['logs', 'queue.json']);
});

// The dashboard's server against real files written the way the loop writes them (and, for
// the event stream, by another process): JSON endpoints, the event stream, the stop control,
// what it refuses to serve, and where it listens; with parallel workers, the queue and the
// per-experiment logs followed as the loop writes them; with two loop tags, one tag at a time
// (the loop's by default, followed to a new one; --tag another) numbered from its baseline.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

import { chooseTag } from '../../lib/cli/results';
import { startDashboard, type Dashboard } from '../../lib/dashboard/server';
import { UnknownTagError } from '../../lib/errors';
import { STOP_FILE, takeStopRequest } from '../../lib/loop/control';
import { resultsReportJson, summarizeResults } from '../../lib/loop/report';
import { loadResults, readResults, type ResultRow } from '../../lib/loop/results';
import { packageRoot } from '../../lib/native/load';
import { appendRow, syntheticRows, twoTagRows, writeResults, writeRunState } from '../dashboard-fixtures';

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

async function serve(dir: string, tag?: string): Promise<Dashboard> {
  const d = await startDashboard({ dir, port: 0, pollMs: 100, tag });
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

/** Follows /api/events (for a page holding `from` rows of view `view`); `next(name)` resolves with the next event of that name. */
function events(d: Dashboard, from: number, view?: number) {
  const seen: SseEvent[] = [];
  const waiters: Array<{ name: string; test: (e: SseEvent) => boolean; resolve: (e: SseEvent) => void }> = [];
  let buffer = '';
  const req = http.get({ host: '127.0.0.1', port: d.port, path: `/api/events?from=${from}${view === undefined ? '' : `&view=${view}`}` }, (res) => {
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

/** The parts of /api/state the tag tests look at. */
interface TagState {
  view: { id: number; tag: string | null; first: number; following: boolean; tags: Array<{ tag: string | null; experiments: number }> };
  rows: unknown[][];
  summary: ReturnType<typeof summarizeResults> & { startedAt: number | null };
  status: { tag: string | null; first: number };
  incumbent: { index: number; experiment: number } | null;
}

const stateOf = async (d: Dashboard) => JSON.parse((await request(d, '/api/state')).body) as TagState;

/** The rows and figures `autoresearch results --tag T` reports for `dir` (what the page must show). */
async function reportOf(dir: string, tag: string) {
  const { rows } = await loadResults(dir);
  const shown = chooseTag(rows, tag, null);
  return { rows: shown.rows, summary: summarizeResults(shown.rows), numbers: resultsReportJson(shown.rows).experiments.map((e) => e.index) };
}

/** The view's rows as the page numbers them: experiment − the view's first. */
const shownNumbers = (snap: TagState) => snap.rows.map((r) => (r[1] as number) - snap.view.first);

/** The command line, run in this process's Node through tsx. */
const cliArgs = (...args: string[]) => ['--require', require.resolve('tsx/cjs'), path.join(root, 'bin/autoresearch.ts'), ...args];

test("two loop tags: the loop's tag by default, numbered from its baseline as `results` numbers it, the other tag named; its events only", async () => {
  const { a, b, state } = twoTagRows();
  const dir = session('two-tags', [...a, ...b]);
  writeRunState(dir, state);
  const d = await serve(dir);
  const snap = await stateOf(d);
  expect(snap.view).toEqual({ id: snap.view.id, tag: 'b', first: 5, following: true, tags: [{ tag: 'a', experiments: 5 }, { tag: 'b', experiments: 7 }] });
  const expected = await reportOf(dir, 'b');
  expect(snap.rows.map((r) => r[1])).toEqual(expected.rows.map((r) => r.experiment));
  // Rows keep their position in results.jsonl as their id (/api/rows/:index).
  expect(snap.rows.map((r) => r[0])).toEqual([5, 6, 7, 8, 9, 10, 11]);
  expect(shownNumbers(snap)).toEqual(expected.numbers);
  expect(shownNumbers(snap)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  // The cards: b's baseline (not a's), best, counts and start.
  expect(snap.summary.counts).toEqual(expected.summary.counts);
  expect(snap.summary.baseline).toMatchObject({ experiment: 5, commit: b[0]!.commit });
  expect(snap.summary.best).toMatchObject({ experiment: expected.summary.best!.experiment, val_bpb: expected.summary.best!.val_bpb });
  expect(snap.summary.improvement).toEqual(expected.summary.improvement);
  expect(snap.summary.startedAt).toBe(Date.parse(b[0]!.time) - b[0]!.total_seconds! * 1000);
  expect(snap.status).toMatchObject({ tag: 'b', first: 5 });
  expect(snap.incumbent!.experiment).toBe(expected.summary.best!.experiment);
  expect(JSON.parse((await request(d, '/api/rows/5')).body).row.commit).toBe(b[0]!.commit);

  // A row of another tag changes only that tag's count; a row of b arrives numbered after b's.
  const stream = events(d, 7, snap.view.id);
  await stream.next('status');
  appendRow(dir, syntheticRows(2, { seed: 23, tag: 'a', start: 11 })[1]!);
  const tags = await stream.next('tags');
  expect(tags.data).toEqual({ tags: [{ tag: 'a', experiments: 6 }, { tag: 'b', experiments: 7 }] });
  appendRow(dir, syntheticRows(2, { seed: 24, tag: 'b', start: 12 })[1]!);
  const rows = await stream.next('rows');
  expect(rows.data).toMatchObject({ view: snap.view.id, from: 7, summary: { counts: { total: 8 }, baseline: { experiment: 5 } } });
  expect((rows.data as { rows: unknown[][] }).rows.map((r) => [r[0], r[1]])).toEqual([[13, 13]]);
  expect(stream.seen.filter((e) => e.event === 'rows')).toHaveLength(1);
  stream.close();
  // A page holding another view (from before a switch) is told to reload.
  const stale = events(d, 0, snap.view.id + 1);
  await stale.next('reset');
  stale.close();
});

test('--tag: the other tag, numbered from its own baseline; a tag the loop has just started; an unknown tag is refused, listing the tags present', async () => {
  const { a, b, state } = twoTagRows();
  const dir = session('tag-option', [...a, ...b]);
  writeRunState(dir, state);
  const d = await serve(dir, 'a');
  const snap = await stateOf(d);
  expect(snap.view).toEqual({ id: snap.view.id, tag: 'a', first: 0, following: false, tags: [{ tag: 'a', experiments: 5 }, { tag: 'b', experiments: 7 }] });
  const expected = await reportOf(dir, 'a');
  expect(shownNumbers(snap)).toEqual(expected.numbers);
  expect(snap.rows.map((r) => r[7])).toEqual(a.map((r) => r.description));
  expect(snap.summary.counts).toEqual(expected.summary.counts);
  expect(snap.summary.baseline).toMatchObject({ experiment: 0, commit: a[0]!.commit });
  expect(snap.summary.best!.val_bpb).toBe(expected.summary.best!.val_bpb);
  // The loop's runs are still numbered within the loop's tag, and measured against its incumbent.
  expect(snap.status).toMatchObject({ tag: 'b', first: 5 });
  expect(snap.incumbent!.experiment).toBe((await reportOf(dir, 'b')).summary.best!.experiment);

  const message = "--tag c: no experiment has that tag; the tags present are a (5 experiments), b (7 experiments). Name one of them, or leave out --tag to show the loop's tag";
  await expect(startDashboard({ dir, port: 0, tag: 'c' })).rejects.toThrow(UnknownTagError);
  await expect(startDashboard({ dir, port: 0, tag: 'c' })).rejects.toThrow(message);
  await expect(startDashboard({ dir, port: 0, tag: '(untagged)' })).rejects.toThrow(/^--tag \(untagged\): no experiment has that tag/);
  const cli = spawnSync(process.execPath, cliArgs('dashboard', '--dir', dir, '--port', '0', '--tag', 'c'), { encoding: 'utf8', timeout: 60_000 });
  expect([cli.status, cli.stdout]).toEqual([2, '']);
  expect(cli.stderr).toBe(`autoresearch: ${message} (see autoresearch dashboard --help)\n`);

  // The loop has just started c (run.json names it, no row yet): shown, empty, numbered from where the loop starts it.
  writeRunState(dir, { tag: 'c', firstExperiment: 12, nextExperiment: 13 });
  const c = await serve(dir, 'c');
  expect((await stateOf(c)).view).toMatchObject({ tag: 'c', first: 12, following: false });
  expect((await stateOf(c)).rows).toEqual([]);

  // The command prints the tag it shows.
  const child = spawn(process.execPath, cliArgs('dashboard', '--dir', dir, '--port', '0', '--tag', 'a'), { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const start = Date.now();
  while (!/ at http/.test(out) && Date.now() - start < 60_000 && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
  expect(out).toMatch(/^dashboard of .* \(tag a\) at http:\/\/127\.0\.0\.1:\d+\//);
  const url = /(http:\S+)/.exec(out)![1]!;
  expect(((await (await fetch(`${url}api/state`)).json()) as TagState).view.tag).toBe('a');
  child.kill('SIGTERM');
  await new Promise((r) => child.once('close', r));
}, 120_000);

test('following the loop: a new tag in run.json switches the view (a reset), numbered from its baseline; a --tag view stays', async () => {
  const a = syntheticRows(5, { seed: 25, tag: 'a' });
  const dir = session('follow', a);
  writeRunState(dir, { tag: 'a', firstExperiment: 0, nextExperiment: 5 });
  const d = await serve(dir);
  const pinned = await serve(dir, 'a');
  const before = await stateOf(d);
  expect(before.view).toMatchObject({ tag: 'a', first: 0, following: true, tags: [{ tag: 'a', experiments: 5 }] });
  const pinnedView = (await stateOf(pinned)).view;

  // The loop starts b: the page is told to reload, and finds b, empty, numbered from 5.
  const stream = events(d, 5, before.view.id);
  await stream.next('status');
  writeRunState(dir, { tag: 'b', firstExperiment: 5, nextExperiment: 6 });
  await stream.next('reset');
  stream.close();
  const after = await stateOf(d);
  expect(after.view).toEqual({ id: after.view.id, tag: 'b', first: 5, following: true, tags: [{ tag: 'a', experiments: 5 }] });
  expect(after.view.id).not.toBe(before.view.id);
  expect(after.rows).toEqual([]);
  expect(after.summary.counts.total).toBe(0);
  expect(after.summary.baseline).toBeNull();

  // b's baseline arrives: row #0 of the new view, and the cards' baseline.
  const next = events(d, 0, after.view.id);
  await next.next('status');
  appendRow(dir, syntheticRows(1, { seed: 26, tag: 'b', start: 5 })[0]!);
  const rows = await next.next('rows');
  expect(rows.data).toMatchObject({ view: after.view.id, from: 0, summary: { counts: { total: 1 }, baseline: { experiment: 5 } } });
  expect((rows.data as { rows: unknown[][] }).rows.map((r) => (r[1] as number) - after.view.first)).toEqual([0]);
  next.close();

  // The --tag a dashboard stayed on a, in the same view, and counts b's row among the others.
  await pinned.session.poll();
  const still = await stateOf(pinned);
  expect(still.view).toEqual({ ...pinnedView, tags: [{ tag: 'a', experiments: 5 }, { tag: 'b', experiments: 1 }] });
  expect(still.rows.map((r) => r[1])).toEqual([0, 1, 2, 3, 4]);
  expect(still.status).toMatchObject({ tag: 'b', first: 5 });
});

test('rows written before rows recorded their tag: grouped by the run state as `results` groups them, again when it names a new tag', async () => {
  const old: ResultRow[] = [...syntheticRows(3, { seed: 27 }), ...syntheticRows(2, { seed: 28, start: 3 })].map((r) => ({ ...r, tag: null }));
  const dir = session('untagged', old.map(({ tag: _tag, ...rest }) => rest));
  writeRunState(dir, { tag: 'b', firstExperiment: 3, nextExperiment: 5 });
  const d = await serve(dir);
  const snap = await stateOf(d);
  expect(snap.view).toMatchObject({ tag: 'b', first: 3, tags: [{ tag: null, experiments: 3 }, { tag: 'b', experiments: 2 }] });
  expect(shownNumbers(snap)).toEqual((await reportOf(dir, 'b')).numbers);
  expect(snap.summary.counts).toEqual((await reportOf(dir, 'b')).summary.counts);
  const untagged = await serve(dir, '(untagged)');
  expect((await stateOf(untagged)).rows.map((r) => r[1])).toEqual([0, 1, 2]);

  // A new tag starts: run.json no longer names b, so its rows are untagged too (as `results` then shows them).
  const stream = events(d, 2, snap.view.id);
  await stream.next('status');
  writeRunState(dir, { tag: 'c', firstExperiment: 5, nextExperiment: 6 });
  await stream.next('reset');
  stream.close();
  expect((await stateOf(d)).view).toMatchObject({ tag: 'c', first: 5, tags: [{ tag: null, experiments: 5 }] });
  expect((await reportOf(dir, '(untagged)')).rows).toHaveLength(5);
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

// The dashboard in a real browser (Debian's chromium through puppeteer-core) against a real
// research loop running in another process: the built-in agent, a tiny DEPTH 1 config, the
// built-in corpus and a one-second budget. The cards against `autoresearch results --json`, one
// chart point per experiment, a row's diff on a click, a new experiment without a reload, and
// "stop after this experiment" ending the loop. Then a loop with two workers: one row per
// worker with the experiment it runs and one live curve per experiment in flight. And a folder
// of two loop tags: one tag shown, numbered from its baseline, the other named, a new one followed.
// Screenshots go to AUTORESEARCH_SCREENSHOTS when set (the README's come from here).
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import type { Page } from 'puppeteer-core';

import { prepare } from '../../lib/data/prepare';
import { startDashboard, type Dashboard } from '../../lib/dashboard/server';
import { readResults } from '../../lib/loop/results';
import { packageRoot } from '../../lib/native/load';
import { launchChromium, requireChromium } from '../dashboard-browser';
import { appendRow, syntheticRows, twoTagRows, writeResults, writeRunState } from '../dashboard-fixtures';

const root = packageRoot();
let cache: string;
let work: string;
let shots: string;

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: dir, encoding: 'utf8' }).trim();
}

/** A repository holding a tiny train/config.ts and program.md, committed (as in loop.test.ts). */
function makeRepo(name: string): string {
  const dir = path.join(work, name);
  fs.mkdirSync(path.join(dir, 'train'), { recursive: true });
  const config = fs
    .readFileSync(path.join(root, 'train', 'config.ts'), 'utf8')
    .replace('  DEPTH: 8,', '  DEPTH: 1,')
    .replace('  HEAD_DIM: 128,', '  HEAD_DIM: 32,')
    .replace('  TOTAL_BATCH_SIZE: 2 ** 19,', '  TOTAL_BATCH_SIZE: 2 ** 10,')
    .replace('  DEVICE_BATCH_SIZE: 128,', '  DEVICE_BATCH_SIZE: 16,');
  fs.writeFileSync(path.join(dir, 'train', 'config.ts'), config);
  fs.copyFileSync(path.join(root, 'program.md'), path.join(dir, 'program.md'));
  git(dir, 'init', '-q');
  git(dir, 'config', 'user.name', 'Test');
  git(dir, 'config', 'user.email', 'test@example.com');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'initial');
  return dir;
}

async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs: number): Promise<NonNullable<T>> {
  const start = Date.now();
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Page-side expressions are strings: this project's TypeScript has no DOM types. */
const js = <T>(page: Page, expression: string) => page.evaluate(expression) as Promise<T>;

beforeAll(async () => {
  requireChromium();
  cache = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-dash-cache-'));
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-dash-'));
  shots = process.env.AUTORESEARCH_SCREENSHOTS ?? path.join(work, 'screenshots');
  fs.mkdirSync(shots, { recursive: true });
  await prepare({ dataset: 'sotu', vocabSize: 512, seqLen: 64, evalTokens: 2048, cacheDir: cache, progress: false, log: () => undefined });
}, 120_000);
afterAll(() => {
  fs.rmSync(cache, { recursive: true, force: true });
  fs.rmSync(work, { recursive: true, force: true });
});

test('a live loop in the browser: cards, chart, diff on click, a new result without reload, stop after this experiment', async () => {
  const dir = makeRepo('live');
  const loop: ChildProcess = spawn(
    process.execPath,
    ['--require', require.resolve('tsx/cjs'), path.join(root, 'bin/autoresearch.ts'), 'loop', '--dir', dir, '--cache-dir', cache, '--device', 'cpu', '--tag', 'test', '--time-budget', '1', '--agent', 'builtin', '--max', '40'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let loopOut = '';
  let loopErr = '';
  loop.stdout!.on('data', (c: Buffer) => (loopOut += c.toString()));
  loop.stderr!.on('data', (c: Buffer) => (loopErr += c.toString()));
  const exited = new Promise<number | null>((resolve) => loop.once('close', (code) => resolve(code)));
  let dashboard: Dashboard | null = null;
  const browser = await launchChromium();
  try {
    dashboard = await startDashboard({ dir, port: 0 });
    const page = await browser.browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.setViewport({ width: 1440, height: 1400 });

    // The baseline and a first experiment, then the page.
    await waitFor('two results', async () => (await readResults(dir, { repair: false })).length >= 2, 180_000);
    await page.goto(dashboard.url);
    await page.waitForSelector('body[data-ready]', { timeout: 60_000 });

    // Cards, chart and table agree with `autoresearch results --json` over the same rows.
    const seen = await js<{ rows: number; baseline: string; best: string; improvement: string; counts: number[]; total: string; points: number; kept: number; tableCount: string }>(
      page,
      `(() => {
        const q = (s) => document.querySelector(s).textContent;
        const chart = document.getElementById('chart-best').dataset;
        return { rows: Number(document.body.dataset.rows), baseline: q('#card-baseline .value'), best: q('#card-best .value'), improvement: q('#card-improvement .value'),
          counts: ['keep', 'discard', 'crash'].map((s) => Number(q('#count-' + s))), total: q('#card-counts .value'),
          points: Number(chart.points), kept: Number(chart.kept), tableCount: q('#table-count') };
      })()`,
    );
    const partial = path.join(work, 'partial');
    fs.mkdirSync(partial, { recursive: true });
    fs.writeFileSync(path.join(partial, 'results.jsonl'), fs.readFileSync(path.join(dir, 'results.jsonl'), 'utf8').split('\n').slice(0, seen.rows).join('\n') + '\n');
    const report = JSON.parse(
      execFileSync(process.execPath, ['--require', require.resolve('tsx/cjs'), path.join(root, 'bin/autoresearch.ts'), 'results', '--json', '--dir', partial], { encoding: 'utf8' }),
    ) as { counts: { keep: number; discard: number; crash: number; total: number }; baseline: { val_bpb: number }; best: { val_bpb: number }; improvement: { relative: number } | null };
    expect(seen.rows).toBeGreaterThanOrEqual(2);
    expect(seen.baseline).toBe(report.baseline.val_bpb.toFixed(6));
    expect(seen.best).toBe(report.best.val_bpb.toFixed(6));
    expect(seen.improvement).toBe(report.improvement ? `${(report.improvement.relative * 100).toFixed(2)}%` : '–');
    expect(seen.counts).toEqual([report.counts.keep, report.counts.discard, report.counts.crash]);
    expect(seen.total).toBe(String(report.counts.total));
    expect(seen.points).toBe(report.counts.total);
    expect(seen.kept).toBe(report.counts.keep);
    expect(seen.tableCount).toBe(String(report.counts.total));

    // The running experiment's loss reaches the page (a run is under way most of the time).
    await page.waitForFunction(`document.getElementById('status-pill').textContent === 'running'`, { timeout: 30_000 });
    await page.waitForFunction(`Number(document.getElementById('chart-live').dataset.points) > 0`, { timeout: 120_000 });

    // A click on experiment 1's row opens its diff.
    const rows = await readResults(dir, { repair: false });
    await page.click('.grid-row[data-experiment="1"]');
    await page.waitForSelector('#detail[open]');
    const detail = await js<{ title: string; description: string; diff: string }>(
      page,
      `({ title: document.getElementById('detail-title').textContent, description: document.getElementById('detail-description').textContent, diff: [...document.querySelectorAll('#detail-diff span')].map((s) => s.textContent).join('\\n') })`,
    );
    expect(detail.title).toMatch(/^Experiment 1 · /);
    expect(detail.description).toBe(rows[1]!.description);
    if (rows[1]!.diff !== '') expect(detail.diff).toBe(rows[1]!.diff.replace(/\n$/, ''));
    await page.screenshot({ path: path.join(shots, 'dashboard-diff.png') });
    await page.keyboard.press('Escape');

    // A new experiment finishing appears without a reload.
    await page.evaluate('window.__sameDocument = true');
    const before = await js<number>(page, 'Number(document.body.dataset.rows)');
    await page.waitForFunction(`Number(document.body.dataset.rows) > ${before}`, { timeout: 180_000 });
    const after = await js<{ same: boolean; rows: number; points: number; top: string }>(
      page,
      `({ same: window.__sameDocument === true, rows: Number(document.body.dataset.rows), points: Number(document.getElementById('chart-best').dataset.points), top: document.querySelector('.grid-row').dataset.experiment })`,
    );
    expect(after.same).toBe(true);
    expect(after.points).toBe(after.rows);
    expect(Number(after.top)).toBe(after.rows - 1);
    await page.screenshot({ path: path.join(shots, 'dashboard.png'), fullPage: true });

    // "Stop after this experiment": the loop finishes the one in progress and ends.
    await page.waitForSelector('#stop-button:not([hidden])');
    await page.click('#stop-button');
    const stoppedAt = await js<number>(page, 'Number(document.body.dataset.rows)');
    await page.waitForFunction(`document.getElementById('status-pill').textContent === 'stopping after this experiment'`, { timeout: 10_000 });
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 180_000)))]);
    clearTimeout(timer);
    expect(code).toBe(0);
    expect(loopErr).toMatch(/stop requested \(\.autoresearch\/stop\): no new experiment/);
    expect(loopOut).toMatch(/^done: \d+ experiment\(s\) recorded on autoresearch\/test/m);
    const final = await readResults(dir, { repair: false });
    expect(final.length).toBeGreaterThanOrEqual(stoppedAt);
    expect(final.length).toBeLessThanOrEqual(stoppedAt + 1);
    expect(final.length).toBeLessThan(41);
    expect(fs.existsSync(path.join(dir, '.autoresearch', 'stop'))).toBe(false);
    await page.waitForFunction(`document.getElementById('status-pill').textContent === 'not running'`, { timeout: 10_000 });
    await page.waitForFunction(`Number(document.body.dataset.rows) === ${final.length}`, { timeout: 10_000 });
    await page.screenshot({ path: path.join(shots, 'dashboard-finished.png'), fullPage: true });
    expect(await js<boolean>(page, `document.getElementById('workers-panel').hidden`)).toBe(true);
    expect(errors).toEqual([]);
    // The tree is clean and the branch at the best kept commit: the loop ended as at --max.
    expect(git(dir, 'status', '--porcelain')).toBe('');
    expect(spawnSync('git', ['rev-parse', 'HEAD'], { cwd: dir, encoding: 'utf8' }).stdout.trim()).toBe(
      final.filter((r) => r.status === 'keep').reduce((b, r) => (r.val_bpb! < b.val_bpb! ? r : b)).commit,
    );
  } finally {
    if (loop.exitCode === null) loop.kill('SIGKILL');
    await browser.close();
    await dashboard?.close();
  }
}, 600_000);

test('a finished session in the browser: sorting, filtering, the chart\'s hover, one row per worker', async () => {
  const dir = path.join(work, 'finished');
  fs.mkdirSync(dir, { recursive: true });
  const rows = syntheticRows(300, { seed: 5, worker: (i) => `gpu${i % 2}` });
  writeResults(dir, rows);
  const dashboard = await startDashboard({ dir, port: 0 });
  const browser = await launchChromium();
  try {
    const page = await browser.browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.setViewport({ width: 1440, height: 1400 });
    await page.goto(dashboard.url);
    await page.waitForSelector('body[data-ready]', { timeout: 60_000 });
    const firstRows = () => js<Array<{ experiment: number; status: string; bpb: string }>>(
      page,
      `[...document.querySelectorAll('.grid-row')].slice(0, 5).map((r) => ({ experiment: Number(r.dataset.experiment), status: r.dataset.status, bpb: r.children[2].textContent }))`,
    );
    // Newest first by default; only the rows in view are in the document.
    expect((await firstRows()).map((r) => r.experiment)).toEqual([299, 298, 297, 296, 295]);
    expect(await js<number>(page, `document.querySelectorAll('.grid-row').length`)).toBeLessThan(60);
    // Sort by val_bpb (ascending): the best first, crashes (no val_bpb) last.
    await page.click('.grid-head button[data-key="val_bpb"]');
    const scored = rows.filter((r) => r.val_bpb !== null).sort((a, b) => a.val_bpb! - b.val_bpb! || a.experiment - b.experiment);
    expect((await firstRows()).map((r) => r.experiment)).toEqual(scored.slice(0, 5).map((r) => r.experiment));
    await page.click('.grid-head button[data-key="val_bpb"]');
    expect((await firstRows())[0]!.experiment).toBe([...scored].sort((a, b) => b.val_bpb! - a.val_bpb!)[0]!.experiment);
    // Filter by status, then by text.
    await page.click('.filter[data-status="crash"]');
    const crashes = rows.filter((r) => r.status === 'crash').length;
    expect(crashes).toBeGreaterThan(0);
    expect(await js<string>(page, `document.getElementById('table-count').textContent`)).toBe(`${crashes} of 300`);
    expect(new Set((await firstRows()).map((r) => r.status))).toEqual(new Set(['crash']));
    await page.click('.filter[data-status="all"]');
    await page.type('#search', 'baseline');
    expect(await js<string>(page, `document.getElementById('table-count').textContent`)).toBe('1 of 300');
    // Hovering a kept point shows its description.
    const kept = rows.filter((r) => r.status === 'keep')[3]!;
    const at = await js<{ x: number; y: number }>(
      page,
      `(() => { const over = document.querySelector('#chart-best .u-over').getBoundingClientRect(); const u = window.__bestChart;
        return { x: over.left + u.valToPos(${kept.experiment}, 'x'), y: over.top + u.valToPos(${kept.val_bpb}, 'y') }; })()`,
    );
    await page.mouse.move(at.x, at.y);
    await page.waitForSelector('#chart-tip:not([hidden])');
    expect(await js<string>(page, `document.getElementById('chart-tip').textContent`)).toBe(`#${kept.experiment} kept ${kept.val_bpb!.toFixed(6)}${kept.description}`);
    // One row per worker.
    expect(await js<boolean>(page, `document.getElementById('workers-panel').hidden`)).toBe(false);
    // Columns: worker, running now, progress, experiments, kept, latest (no loop runs: idle).
    const workers = await js<string[][]>(page, `[...document.querySelectorAll('#workers tbody tr')].map((tr) => [...tr.children].slice(0, 6).map((td) => td.textContent))`);
    expect(workers).toEqual([
      ['gpu0', 'idle', '–', '150', String(rows.filter((r, i) => i % 2 === 0 && r.status === 'keep').length), '#298'],
      ['gpu1', 'idle', '–', '150', String(rows.filter((r, i) => i % 2 === 1 && r.status === 'keep').length), '#299'],
    ]);
    expect(errors).toEqual([]);
  } finally {
    await browser.close();
    await dashboard.close();
  }
}, 180_000);

test("two loop tags in the browser: the loop's tag numbered from its baseline, the other named; --tag shows the other; a new tag is followed", async () => {
  const dir = path.join(work, 'two-tags');
  fs.mkdirSync(dir, { recursive: true });
  const { a, b, state } = twoTagRows();
  writeResults(dir, [...a, ...b]);
  writeRunState(dir, state);
  const dashboard = await startDashboard({ dir, port: 0 });
  const pinned = await startDashboard({ dir, port: 0, tag: 'a' });
  const browser = await launchChromium();
  try {
    const errors: string[] = [];
    const open = async (url: string) => {
      const page = await browser.browser.newPage();
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.setViewport({ width: 1440, height: 1400 });
      await page.goto(url);
      await page.waitForSelector('body[data-ready]', { timeout: 60_000 });
      return page;
    };
    type Seen = { tag: string; line: string; numbers: string[]; stored: number[]; baseline: string; best: string; total: string; points: number; xs: number[] };
    const look = (page: Page) =>
      js<Seen>(
        page,
        `(() => {
          const q = (s) => document.querySelector(s).textContent;
          const rows = [...document.querySelectorAll('.grid-row')];
          return { tag: document.body.dataset.tag, line: q('#tag-line').replace(/\\s+/g, ' ').trim(), numbers: rows.map((r) => r.children[0].textContent),
            stored: rows.map((r) => Number(r.dataset.experiment)), baseline: q('#card-baseline .sub'), best: q('#card-best .sub'), total: q('#card-counts .value'),
            points: Number(document.getElementById('chart-best').dataset.points), xs: [...window.__bestChart.data[0]] };
        })()`,
      );
    const bestOf = (rows: typeof a) => rows.filter((r) => r.status === 'keep').reduce((x, r) => (r.val_bpb! < x.val_bpb! ? r : x));
    const others = '`autoresearch dashboard --tag NAME` shows one';

    // By default the loop's tag, b: its rows numbered from its baseline (experiment 5) as #0.
    const page = await open(dashboard.url);
    const shown = await look(page);
    expect(shown).toEqual({
      tag: 'b',
      line: `tag b (#0 is experiment 5 in results.jsonl) · the loop's tag (a new one is followed) other tags: a (5 experiments); ${others}`,
      numbers: ['6', '5', '4', '3', '2', '1', '0'],
      stored: [11, 10, 9, 8, 7, 6, 5],
      baseline: `#0 · ${b[0]!.commit.slice(0, 7)}`,
      best: `#${bestOf(b).experiment - 5} · ${bestOf(b).description}`,
      total: '7',
      points: 7,
      xs: [0, 1, 2, 3, 4, 5, 6],
    });
    await page.click('.grid-row[data-number="0"]');
    await page.waitForSelector('#detail[open]');
    expect(await js<string>(page, `document.getElementById('detail-title').textContent`)).toMatch(/^Experiment 0 · kept · val_bpb /);
    expect(await js<string>(page, `document.getElementById('detail-facts').textContent`)).toContain('tagbin results.jsonlexperiment 5');
    await page.keyboard.press('Escape');

    // --tag a: a's rows, numbered from its own baseline.
    const other = await open(pinned.url);
    expect(await look(other)).toEqual({
      tag: 'a',
      line: `tag a · chosen with --tag other tags: b (7 experiments); ${others}`,
      numbers: ['4', '3', '2', '1', '0'],
      stored: [4, 3, 2, 1, 0],
      baseline: `#0 · ${a[0]!.commit.slice(0, 7)}`,
      best: `#${bestOf(a).experiment} · ${bestOf(a).description}`,
      total: '5',
      points: 5,
      xs: [0, 1, 2, 3, 4],
    });

    // The loop starts c: the default page switches to it (empty), then shows c's baseline as #0;
    // the --tag a page stays on a and names c among the others.
    writeRunState(dir, { tag: 'c', firstExperiment: 12, nextExperiment: 13 });
    // (Polled by time: `page` is a background tab now, where animation frames do not run.)
    await page.waitForFunction(`document.body.dataset.tag === 'c'`, { timeout: 10_000, polling: 100 });
    const empty = await look(page);
    expect([empty.line, empty.numbers, empty.total, empty.baseline]).toEqual([
      `tag c (#0 is experiment 12 in results.jsonl) · the loop's tag (a new one is followed) other tags: a (5 experiments), b (7 experiments); ${others}`,
      [],
      '0',
      'no experiment yet',
    ]);
    const c0 = syntheticRows(1, { seed: 29, tag: 'c', start: 12 })[0]!;
    appendRow(dir, c0);
    await page.waitForFunction(`document.body.dataset.rows === '1'`, { timeout: 10_000, polling: 100 });
    const first = await look(page);
    expect([first.numbers, first.stored, first.baseline, first.xs]).toEqual([['0'], [12], `#0 · ${c0.commit.slice(0, 7)}`, [0]]);
    await other.waitForFunction(`document.getElementById('tag-others').textContent.includes('c (1 experiment)')`, { timeout: 10_000, polling: 100 });
    expect((await look(other)).numbers).toEqual(['4', '3', '2', '1', '0']);
    expect(errors).toEqual([]);
  } finally {
    await browser.close();
    await dashboard.close();
    await pinned.close();
  }
}, 180_000);

test('a parallel loop in the browser: one row per worker with the experiment it runs, one live curve per run in flight', async () => {
  const dir = makeRepo('parallel');
  const loop: ChildProcess = spawn(
    process.execPath,
    [
      '--require', require.resolve('tsx/cjs'), path.join(root, 'bin/autoresearch.ts'), 'loop', '--dir', dir, '--cache-dir', cache, '--device', 'cpu', '--tag', 'par',
      '--time-budget', '3', '--agent', 'builtin', '--max', '12', '--workers', '2', '--threads-per-worker', '1',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let loopOut = '';
  loop.stdout!.on('data', (c: Buffer) => (loopOut += c.toString()));
  loop.stderr!.on('data', (c: Buffer) => (loopOut += c.toString()));
  const exited = new Promise<number | null>((resolve) => loop.once('close', (code) => resolve(code)));
  let dashboard: Dashboard | null = null;
  const browser = await launchChromium();
  try {
    dashboard = await startDashboard({ dir, port: 0 });
    const page = await browser.browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.setViewport({ width: 1440, height: 1400 });
    await page.goto(dashboard.url);
    await page.waitForSelector('body[data-ready]', { timeout: 60_000 });
    // Both workers busy at once, each run's curve drawn: what the page shows must match the
    // queue the loop wrote at that moment.
    const inFlight = `(() => {
      const trs = [...document.querySelectorAll('#workers tbody tr')];
      const chart = document.getElementById('chart-live').dataset;
      return trs.length === 2 && trs.every((tr) => tr.dataset.current !== '' && / (?!0\\.0%)\\d+\\.\\d% · loss/.test(tr.children[2].textContent)) && chart.curves === '2' && Number(chart.points) >= 4;
    })()`;
    await page.waitForFunction(inFlight, { timeout: 240_000, polling: 100 });
    const shown = await js<Array<{ worker: string; current: number; now: string; progress: string }>>(
      page,
      `[...document.querySelectorAll('#workers tbody tr')].map((tr) => ({ worker: tr.children[0].textContent, current: Number(tr.dataset.current), now: tr.children[1].textContent, progress: tr.children[2].textContent }))`,
    );
    expect(shown.map((w) => w.worker)).toEqual(['local:0', 'local:1']);
    expect(shown[0]!.current).not.toBe(shown[1]!.current);
    for (const w of shown) {
      expect(w.now).toMatch(new RegExp(`^#${w.current}`));
      expect(w.progress).toMatch(/^(training|evaluating|finished) · \d+\.\d% · loss \d\.\d{4}/);
    }
    const labels = await js<string[]>(page, `[...document.querySelectorAll('#live-legend .curve-label')].map((s) => s.textContent)`);
    const curves = labels.map((l) => /^#(\d+)(?: \(confirmation\))? on (local:\d)$/.exec(l)).map((m) => m && [Number(m[1]), m[2]]);
    expect(curves.sort()).toEqual(shown.map((w) => [w.current, w.worker]).sort());
    expect(await js<string>(page, `document.getElementById('live-caption').textContent`)).toBe('of the 2 experiments in flight');
    expect(await js<string>(page, `document.getElementById('now-text').textContent`)).toMatch(/^2 experiments in flight: #\d+ on local:\d/);
    await page.screenshot({ path: path.join(shots, 'dashboard-workers.png'), fullPage: true });

    // Stop; once the loop has ended, each worker shows its last result and runs nothing.
    await page.click('#stop-button');
    expect(await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 240_000))])).toBe(0);
    await page.waitForFunction(`[...document.querySelectorAll('#workers tbody tr')].every((tr) => tr.dataset.current === '' && tr.children[5].textContent.startsWith('#'))`, { timeout: 30_000 });
    const rows = await readResults(dir);
    const lastOf = (worker: string) => rows.filter((r) => r.fingerprint.hardware.worker === worker).pop()!.experiment;
    const latest = await js<string[]>(page, `[...document.querySelectorAll('#workers tbody tr')].map((tr) => tr.children[5].textContent)`);
    expect(latest).toEqual([`#${lastOf('local:0')}`, `#${lastOf('local:1')}`]);
    expect(errors).toEqual([]);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n--- loop output ---\n${loopOut.slice(-3000)}`);
  } finally {
    if (loop.exitCode === null) loop.kill('SIGKILL');
    await browser.close();
    await dashboard?.close();
  }
}, 600_000);

// `npm run bench:dashboard`: the dashboard with 10,000 experiments in headless Chromium, as one
// JSON line. Not a test: figures, no assertions.
// - render: from navigation start to the page built (cards, both charts, the table) and to the
//   first frame after it (`paint`), for a fresh page load, REPEATS times (median and worst);
// - latency: a row appended to results.jsonl (as the loop appends) until the open page shows it
//   (its own clock: same machine), LATENCY_ROWS times;
// - sizes: the snapshot's JSON and the rows handed to the chart.
// (Page-side code is passed as strings: this project's TypeScript has no DOM types.)
// Needs Debian's chromium at /usr/bin/chromium (or AUTORESEARCH_CHROMIUM).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { startDashboard } from '../lib/dashboard/server';
import { launchChromium } from '../test/dashboard-browser';
import { appendRow, syntheticRows, writeResults } from '../test/dashboard-fixtures';

const EXPERIMENTS = Number(process.env.BENCH_EXPERIMENTS ?? 10_000);
const REPEATS = 7;
const LATENCY_ROWS = 10;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number) => Math.round(x * 10) / 10;

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-bench-dashboard-'));
  const all = syntheticRows(EXPERIMENTS + LATENCY_ROWS, { seed: 1, startTime: Date.now() - (EXPERIMENTS + LATENCY_ROWS) * 60_000 });
  writeResults(dir, all.slice(0, EXPERIMENTS));
  const dashboard = await startDashboard({ dir, port: 0 });
  const { browser, close } = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1440, height: 1000 });
    const snapshotBytes = Buffer.byteLength(JSON.stringify(dashboard.session.snapshot()));
    const render: number[] = [];
    const paint: number[] = [];
    const marks: Array<Array<[string, number]>> = [];
    // One load first: the browser's own start-up (profile, caches) is not the page's.
    for (let i = 0; i <= REPEATS; i++) {
      await page.goto(dashboard.url, { waitUntil: 'load' });
      await page.waitForSelector('body[data-ready]', { timeout: 60_000 });
      const t = (await page.evaluate('({ render: Number(document.body.dataset.renderMs), paint: Number(document.body.dataset.paintMs) })')) as { render: number; paint: number };
      if (i === 0) continue;
      marks.push((await page.evaluate("performance.getEntriesByType('mark').map((m) => [m.name, Math.round(m.startTime)])")) as Array<[string, number]>);
      render.push(t.render);
      paint.push(t.paint);
    }
    const chartPoints = (await page.evaluate("Number(document.getElementById('chart-best').dataset.points)")) as number;

    const latency: number[] = [];
    for (const row of all.slice(EXPERIMENTS)) {
      const before = (await page.evaluate('Number(document.body.dataset.rows)')) as number;
      const written = Date.now();
      appendRow(dir, row);
      await page.waitForFunction(`Number(document.body.dataset.rows) > ${before}`, { timeout: 10_000, polling: 'mutation' });
      const shown = (await page.evaluate('Number(document.body.dataset.rowsAt)')) as number;
      latency.push(shown - written);
      await new Promise((r) => setTimeout(r, 300));
    }
    process.stdout.write(
      JSON.stringify({
        experiments: EXPERIMENTS,
        chart_points: chartPoints,
        snapshot_kb: round(snapshotBytes / 1024),
        render_ms: { median: round(median(render)), max: round(Math.max(...render)), runs: render.map(round) },
        first_frame_ms: { median: round(median(paint)), max: round(Math.max(...paint)), runs: paint.map(round) },
        marks_ms: Object.fromEntries(marks[0]!.map(([name], k) => [name, median(marks.map((m) => m[k]![1]))])),
        new_result_latency_ms: { median: median(latency), max: Math.max(...latency), runs: latency },
        cores: os.cpus().length,
        load_average: os.loadavg().map((x) => Math.round(x * 100) / 100),
      }) + '\n',
    );
  } finally {
    await close();
    await dashboard.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});

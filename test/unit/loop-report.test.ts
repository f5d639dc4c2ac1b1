// Reports and the progress chart from a constructed run, and both commands through the real CLI.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { renderProgressSvg, niceTicks } from '../../lib/loop/plot';
import { formatResultsReport, workerOf, summarizeResults } from '../../lib/loop/report';
import { appendResult, readResults, type ResultRow, type ResultStatus } from '../../lib/loop/results';
import type { ExperimentSummary } from '../../lib/runner/types';

const ROOT = path.join(__dirname, '../..');

// The run: baseline 1.0, improvements of 0.01 (#2), 0.03 (#4) and 0.005 (#6); #7 an outlier.
const RUN: Array<[ResultStatus, number | null, string]> = [
  ['keep', 1.0, 'baseline'],
  ['discard', 1.01, 'switch to GeLU'],
  ['keep', 0.99, 'increase LR to 0.05'],
  ['crash', null, 'double the width (OOM)'],
  ['keep', 0.96, 'depth 6 & <smaller> heads'],
  ['discard', 0.97, 'warmdown 0.7'],
  ['keep', 0.955, 'weight decay 0.1'],
  ['discard', 3.5, 'lr 10x (diverged)'],
];

function summary(valBpb: number): ExperimentSummary {
  return { val_bpb: valBpb, training_seconds: 300, total_seconds: 320, peak_vram_mb: 2048, mfu_percent: 1, total_tokens_M: 1, num_steps: 10, num_params_M: 1, depth: 4 };
}

let dir: string;
let rows: ResultRow[];
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-report-'));
  for (const [i, [status, bpb, description]] of RUN.entries()) {
    await appendResult(dir, {
      experiment: i,
      tag: 'mar5',
      status,
      description,
      commit: String(i).repeat(40),
      parent: i === 0 ? null : '0'.repeat(40),
      agent: 'test',
      summary: bpb === null ? null : summary(bpb),
      diff: '',
      fingerprint: { hardware: {}, harness: {} },
    });
  }
  rows = await readResults(dir);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('report', () => {
  test('counts, best, improvement over the baseline and the top improvements', () => {
    const s = summarizeResults(rows, { top: 2 });
    expect(s.counts).toEqual({ keep: 4, discard: 3, crash: 1, total: 8 });
    expect(s.baseline?.experiment).toBe(0);
    expect(s.best?.experiment).toBe(6);
    expect(s.improvement!.absolute).toBeCloseTo(0.045, 12);
    expect(s.improvement!.relative).toBeCloseTo(0.045, 12);
    expect(s.top.map((t) => [t.experiment, Number(t.delta.toFixed(6)), t.previousBest, t.val_bpb])).toEqual([
      [4, 0.03, 0.99, 0.96],
      [2, 0.01, 1.0, 0.99],
    ]);
    expect(summarizeResults(rows).top.map((t) => t.experiment)).toEqual([4, 2, 6]);
  });

  test('the readable report', () => {
    const text = formatResultsReport(rows, { top: 2 });
    const lines = text.split('\n');
    expect(lines[0]).toBe('#  commit    val_bpb  mem_gb  status   description');
    expect(lines[1]).toBe('0  0000000  1.000000     2.0  keep     baseline');
    expect(lines[4]).toBe('3  3333333         -       -  crash    double the width (OOM)');
    expect(text).toContain('8 experiments: 4 kept, 3 discarded, 1 crashed');
    expect(text).toContain('best val_bpb 0.955000 (#6, 6666666): 0.045000 below the baseline 1.000000 (4.50%)');
    expect(text).toContain('top 2 improvements:\n  #4  -0.030000  0.990000 -> 0.960000  depth 6 & <smaller> heads\n  #2  -0.010000  1.000000 -> 0.990000  increase LR to 0.05');
    const kept = formatResultsReport(rows, { keptOnly: true }).split('\n');
    expect(kept.slice(1, 5).map((l) => l.split(/\s+/)[0])).toEqual(['0', '2', '4', '6']);
    expect(kept[5]).toBe('');
  });
});

test('rows of a parallel loop show their worker (and node, for a Slurm job)', () => {
  const placed = rows.slice(0, 3).map((r, i) => ({
    ...r,
    fingerprint: { hardware: i === 0 ? { executor: 'local', worker: 'local:0', node: 'h', device: 'cpu' } : { executor: 'slurm', worker: `slurm:${40 + i}`, node: 'gpu7', device: 'auto' }, harness: {} },
  }));
  const lines = formatResultsReport(placed).split('\n');
  expect(lines[0]).toBe('#  commit    val_bpb  mem_gb  status   worker         description');
  expect(lines[1]).toBe('0  0000000  1.000000     2.0  keep     local:0        baseline');
  expect(lines[2]).toMatch(/^1  1111111 .* slurm:41@gpu7  /);
  expect(workerOf(rows[0]!)).toBe('');
});

test('the chart marks which worker ran each experiment when there were several', () => {
  const placed = rows.map((r) => ({ ...r, fingerprint: { hardware: { executor: 'local', worker: `local:${r.experiment % 2}`, node: 'h', device: 'cpu' }, harness: {} } }));
  const svg = renderProgressSvg(placed);
  const ticks = [...svg.match(/<g class="workers">([\s\S]*?)<\/g>/)![1]!.matchAll(/data-experiment="(\d+)"[^>]*data-worker="(local:\d)"/g)].map((m) => [Number(m[1]), m[2]]);
  expect(ticks).toEqual(placed.map((r) => [r.experiment, `local:${r.experiment % 2}`]));
  expect(svg).toMatch(/<g class="worker-legend"[^>]*>[\s\S]*>local:0<\/text>[\s\S]*>local:1<\/text>/);
  expect(svg).toContain('#1 discard 1.010000 on local:1: ');
  expect(renderProgressSvg(rows)).not.toContain('class="workers"');
});

describe('progress chart', () => {
  const svg = () => renderProgressSvg(rows);

  function circles(group: string): Array<{ e: number; cx: number; cy: number; v: number }> {
    const body = svg().match(new RegExp(`<g class="${group}">([\\s\\S]*?)</g>`))![1]!;
    return [...body.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"[^>]*data-experiment="(\d+)" data-val-bpb="([\d.]+)"/g)].map((m) => ({
      cx: Number(m[1]),
      cy: Number(m[2]),
      e: Number(m[3]),
      v: Number(m[4]),
    }));
  }

  test('kept points highlighted, discarded ones grey, the outlier on the top edge, the crash on the axis', () => {
    const text = svg();
    expect(text.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(text).toContain('autoresearch progress: 8 experiments, 4 kept, 3 discarded, 1 crashed');
    const kept = circles('kept');
    const discarded = circles('discarded');
    expect(kept.map((p) => [p.e, p.v])).toEqual([[0, 1], [2, 0.99], [4, 0.96], [6, 0.955]]);
    expect(discarded.map((p) => [p.e, p.v])).toEqual([[1, 1.01], [5, 0.97]]);
    expect(text).toMatch(/<g class="off-chart">\s*<path [^>]*data-experiment="7" data-val-bpb="3.5"/);
    expect(text).toMatch(/<g class="crashes">\s*<path [^>]*data-experiment="3">/);
    expect(text).toContain('fill="#b8b8b8" data-experiment="1"');
    // Positions: x grows with the experiment number, y grows as val_bpb falls, linearly.
    const all = [...kept, ...discarded].sort((a, b) => a.e - b.e);
    for (let i = 1; i < all.length; i++) expect(all[i]!.cx).toBeGreaterThan(all[i - 1]!.cx);
    const perBpb = (kept[0]!.cy - kept[3]!.cy) / (kept[0]!.v - kept[3]!.v);
    expect(perBpb).toBeLessThan(0);
    for (const p of all) expect(p.cy).toBeCloseTo(kept[0]!.cy + (p.v - kept[0]!.v) * perBpb, 0);
    // Escaped text stays well formed.
    expect(text).toContain('depth 6 &amp; &lt;smaller&gt; heads');
    expect((text.match(/<g[ >]/g) ?? []).length).toBe((text.match(/<\/g>/g) ?? []).length);
  });

  test('the running best is a step line through the improvements, to the last experiment', () => {
    const d = svg().match(/<path class="running-best" d="([^"]+)"/)![1]!;
    const kept = circles('kept');
    const at = (e: number) => kept.find((p) => p.e === e)!;
    // Experiment 7 (the last) is off the chart: its x is the middle of its triangle.
    const tri = svg().match(/<g class="off-chart">\s*<path d="M([\d.]+) [\d.]+ L([\d.]+)/)!;
    const lastX = (Number(tri[1]) + Number(tri[2])) / 2;
    expect(d).toBe(
      `M${at(0).cx} ${at(0).cy} H${at(2).cx} V${at(2).cy} H${at(4).cx} V${at(4).cy} H${at(6).cx} V${at(6).cy} H${Math.round(lastX * 100) / 100}`,
    );
  });

  test('axes have ticks and labels', () => {
    const text = svg();
    const yLabels = [...text.matchAll(/class="y-tick-label"[^>]*>([^<]+)</g)].map((m) => m[1]);
    const xLabels = [...text.matchAll(/class="x-tick-label"[^>]*>([^<]+)</g)].map((m) => m[1]);
    expect(yLabels.length).toBeGreaterThanOrEqual(3);
    expect(yLabels).toContain('1.00');
    expect(xLabels).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']);
    expect(text).toContain('>experiment</text>');
    expect(text).toContain('>val_bpb (lower is better)</text>');
    expect(niceTicks(0.94, 1.02, 6)).toEqual([0.94, 0.96, 0.98, 1, 1.02]);
    expect(niceTicks(0, 100, 10, true)).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
  });

  test('an empty run still draws', () => {
    expect(renderProgressSvg([])).toContain('0 experiments, 0 kept, 0 discarded, 0 crashed');
  });
});

describe('the commands', () => {
  function cli(...args: string[]) {
    const out = spawnSync(process.execPath, ['--require', 'tsx/cjs', path.join(ROOT, 'bin/autoresearch.ts'), ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { status: out.status, stdout: out.stdout, stderr: out.stderr };
  }

  test('results --json', () => {
    const run = cli('results', '--json', '--top', '1', '--dir', dir);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.counts).toEqual({ keep: 4, discard: 3, crash: 1, total: 8 });
    expect(report.best.experiment).toBe(6);
    expect(report.baseline.val_bpb).toBe(1);
    expect(report.improvement.absolute).toBeCloseTo(0.045, 12);
    expect(report.top.map((t: { experiment: number }) => t.experiment)).toEqual([4]);
    expect(report.experiments).toHaveLength(8);
  });

  test('results --kept-only as text, and from a results.tsv alone', () => {
    const run = cli('results', '--kept-only', '--dir', dir);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('best val_bpb 0.955000 (#6, 6666666)');
    expect(run.stdout).not.toContain('switch to GeLU');

    const tsvOnly = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-tsv-'));
    try {
      fs.copyFileSync(path.join(dir, 'results.tsv'), path.join(tsvOnly, 'results.tsv'));
      const fromTsv = cli('results', '--json', '--dir', tsvOnly);
      expect(fromTsv.status).toBe(0);
      expect(JSON.parse(fromTsv.stdout).counts).toEqual({ keep: 4, discard: 3, crash: 1, total: 8 });
    } finally {
      fs.rmSync(tsvOnly, { recursive: true, force: true });
    }
  });

  test('plot writes the SVG; both commands name the problem when there are no results', () => {
    const out = path.join(dir, 'chart.svg');
    const run = cli('plot', '--out', out, '--dir', dir);
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(`${out}: 8 experiments\n`);
    expect(fs.readFileSync(out, 'utf8')).toBe(renderProgressSvg(rows));

    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-none-'));
    try {
      for (const command of ['results', 'plot']) {
        const none = cli(command, '--dir', empty);
        expect(none.status).toBe(2);
        expect(none.stderr).toMatch(/autoresearch: No results\.jsonl or results\.tsv in .*: run `autoresearch loop` there first/);
      }
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});

// Reports and the progress chart from a constructed run, one loop tag or several in one file,
// and both commands through the real CLI.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { chooseTag } from '../../lib/cli/results';
import { UsageError } from '../../lib/cli/exit';
import { renderProgressSvg, niceTicks } from '../../lib/loop/plot';
import {
  describeTags,
  formatResultsReport,
  formatTagsReport,
  resultsReportJson,
  rowsByTag,
  summarizeResults,
  workerOf,
} from '../../lib/loop/report';
import { appendResult, readResults, toResultRow, type NewResult, type ResultRow, type ResultStatus } from '../../lib/loop/results';
import { writeState } from '../../lib/loop/run-state';
import type { ExperimentSummary } from '../../lib/runner/types';
import { gitCli, makeRepo } from '../git-fixtures';

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

function newResult(experiment: number, tag: string, status: ResultStatus, bpb: number | null, description: string): NewResult {
  return {
    experiment,
    tag,
    status,
    description,
    commit: String(experiment).repeat(40),
    parent: description === 'baseline' ? null : '0'.repeat(40),
    agent: 'test',
    summary: bpb === null ? null : summary(bpb),
    diff: '',
    fingerprint: { hardware: {}, harness: {} },
  };
}

// `loop --tag a`, then `loop --tag b` in the same folder: numbers are global, so b's baseline is
// experiment 3; b ran two workers, whose experiment 5 finished before 4.
const TWO_TAGS: Array<[number, string, ResultStatus, number | null, string]> = [
  [0, 'a', 'keep', 1.0, 'baseline'],
  [1, 'a', 'discard', 1.01, 'switch to GeLU'],
  [2, 'a', 'keep', 0.98, 'increase LR to 0.05'],
  [3, 'b', 'keep', 1.2, 'baseline'],
  [5, 'b', 'keep', 1.1, 'depth 6'],
  [4, 'b', 'crash', null, 'double the width (OOM)'],
  [6, 'b', 'keep', 1.05, 'warmdown 0.7'],
];
const twoTags: ResultRow[] = TWO_TAGS.map(([n, tag, status, bpb, description]) => toResultRow(newResult(n, tag, status, bpb, description)));
const tagRows = (tag: string | null) => twoTags.filter((r) => r.tag === tag);

let dir: string;
let rows: ResultRow[];
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-report-'));
  for (const [i, [status, bpb, description]] of RUN.entries()) await appendResult(dir, newResult(i, 'mar5', status, bpb, description));
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

describe('several loop tags in one file', () => {
  test('rows group by tag, in the order of each tag\'s first row', () => {
    const groups = rowsByTag(twoTags);
    expect(groups.map((g) => [g.tag, g.rows.map((r) => r.experiment)])).toEqual([
      ['a', [0, 1, 2]],
      ['b', [3, 5, 4, 6]],
    ]);
    expect(describeTags(groups)).toBe('a (3 experiments), b (4 experiments)');
    expect(describeTags(rowsByTag([{ ...twoTags[0]!, tag: null }]))).toBe('(untagged) (1 experiment)');
  });

  test('a tag\'s report numbers within the tag: its baseline is #0, workers\' rows by their number', () => {
    const lines = formatResultsReport(tagRows('b'), { top: 2 }).split('\n');
    expect(lines.slice(1, 5).map((l) => l.split(/\s+/).slice(0, 2))).toEqual([
      ['0', '3333333'],
      ['2', '5555555'],
      ['1', '4444444'],
      ['3', '6666666'],
    ]);
    const text = lines.join('\n');
    expect(text).toContain('4 experiments: 3 kept, 0 discarded, 1 crashed');
    expect(text).toContain('best val_bpb 1.050000 (#3, 6666666): 0.150000 below the baseline 1.200000 (12.50%)');
    expect(text).toMatch(/top 2 improvements:\n {2}#2 {2}-0\.100000 {2}1\.200000 -> 1\.100000 {2}depth 6\n {2}#3 {2}-0\.050000/);
  });

  test('the JSON keeps the stored experiment number and adds the number within the tag as index', () => {
    const report = resultsReportJson(tagRows('b'), { top: 1 });
    expect(report.experiments.map((r) => [r.index, r.experiment])).toEqual([[0, 3], [2, 5], [1, 4], [3, 6]]);
    expect([report.baseline?.index, report.baseline?.experiment]).toEqual([0, 3]);
    expect([report.best?.index, report.best?.experiment]).toEqual([3, 6]);
    expect(report.top.map((t) => [t.index, t.experiment])).toEqual([[2, 5]]);
    expect(resultsReportJson(tagRows('b'), { keptOnly: true }).experiments.map((r) => r.index)).toEqual([0, 2, 3]);
  });

  test('the text names the tag shown and lists the others with their counts', () => {
    const groups = rowsByTag(twoTags);
    const b = formatTagsReport(groups, [groups[1]!]);
    expect(b.split('\n')[0]).toBe('tag b (#0 is experiment 3 in results.jsonl)');
    expect(b).not.toContain('switch to GeLU');
    expect(b.endsWith('other tags: a (3 experiments); `--tag NAME` shows one, `--all` every tag')).toBe(true);
    const a = formatTagsReport(groups, [groups[0]!]);
    expect(a.split('\n')[0]).toBe('tag a');
    expect(a).toContain('other tags: b (4 experiments)');
    const all = formatTagsReport(groups, groups);
    expect(all.match(/^tag \w.*$/gm)).toEqual(['tag a', 'tag b (#0 is experiment 3 in results.jsonl)']);
    expect(all).not.toContain('other tags');
    expect(all.match(/^0 +\d{7} /gm)).toHaveLength(2); // each section has its own baseline #0
  });

  test('rows without a tag form their own section, named as such', () => {
    const old = twoTags.map((r) => (r.tag === 'a' ? { ...r, tag: null } : r));
    const groups = rowsByTag(old);
    const text = formatTagsReport(groups, [groups[0]!]);
    expect(text.split('\n')[0]).toBe('(untagged): rows written before results recorded their loop tag');
    expect(text).toContain('other tags: b (4 experiments)');
    expect(formatTagsReport(groups, [groups[1]!])).toContain('other tags: (untagged) (3 experiments)');
  });

  test('an empty file reports no experiments and no tag', () => {
    expect(formatTagsReport([], [{ tag: null, rows: [] }]).split('\n')[1]).toBe('(no experiments)');
  });
});

describe('the tag a report shows (chooseTag)', () => {
  const tags = (group: { tag: string | null; rows: ResultRow[] }) => [group.tag, group.rows.map((r) => r.experiment)];

  test('--tag NAME, else the run branch checked out, else the tag of the last row', () => {
    expect(tags(chooseTag(twoTags, 'a', 'b'))).toEqual(['a', [0, 1, 2]]);
    expect(tags(chooseTag(twoTags, undefined, 'a'))).toEqual(['a', [0, 1, 2]]);
    expect(tags(chooseTag(twoTags, undefined, null))).toEqual(['b', [3, 5, 4, 6]]);
    expect(tags(chooseTag(twoTags.slice(0, 3), undefined, null))).toEqual(['a', [0, 1, 2]]);
    // The branch of a run whose baseline is still running: that tag, with no rows yet.
    expect(tags(chooseTag(twoTags, undefined, 'c'))).toEqual(['c', []]);
    expect(tags(chooseTag([], undefined, null))).toEqual([null, []]);
  });

  test('old rows without a tag: the last row\'s (null), or --tag (untagged)', () => {
    const old = twoTags.map((r) => ({ ...r, tag: null }));
    expect(tags(chooseTag(old, undefined, null))).toEqual([null, [0, 1, 2, 3, 5, 4, 6]]);
    expect(tags(chooseTag([...old.slice(0, 3), ...tagRows('b')], '(untagged)', 'b'))).toEqual([null, [0, 1, 2]]);
  });

  test('an unknown --tag is a usage error naming the tags present', () => {
    expect(() => chooseTag(twoTags, 'c', null)).toThrow(UsageError);
    expect(() => chooseTag(twoTags, 'c', null, 'pass --all for every tag')).toThrow(
      '--tag c: no experiment has that tag; the tags present are a (3 experiments), b (4 experiments). Name one of them, or pass --all for every tag',
    );
    // plot has no --all: its message offers none.
    expect(() => chooseTag(twoTags, 'c', null)).toThrow(/Name one of them$/);
    expect(() => chooseTag(twoTags, '(untagged)', null)).toThrow(/--tag \(untagged\): no experiment has that tag/);
    expect(() => chooseTag([], 'a', null)).toThrow('--tag a: there are no experiments yet');
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

  test('a later tag\'s chart numbers within the tag and names it in the title', () => {
    const text = renderProgressSvg(tagRows('b'), { tag: 'b' });
    expect(text).toContain('autoresearch progress, tag b: 4 experiments, 3 kept, 0 discarded, 1 crashed');
    expect(text).toContain('best val_bpb 1.050000 (#3), baseline 1.200000');
    const kept = text.match(/<g class="kept">([\s\S]*?)<\/g>/)![1]!;
    expect([...kept.matchAll(/data-experiment="(\d+)"/g)].map((m) => Number(m[1]))).toEqual([0, 2, 3]);
    expect([...text.matchAll(/class="x-tick-label"[^>]*>([^<]+)</g)].map((m) => m[1])).toEqual(['0', '1', '2', '3']);
    expect(renderProgressSvg(tagRows('b'), { tag: null })).toContain('autoresearch progress, tag (untagged): 4 experiments');
  });

  test('an empty run still draws', () => {
    expect(renderProgressSvg([])).toContain('0 experiments, 0 kept, 0 discarded, 0 crashed');
  });
});

function cli(...args: string[]) {
  const out = spawnSync(process.execPath, ['--require', 'tsx/cjs', path.join(ROOT, 'bin/autoresearch.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: out.status, stdout: out.stdout, stderr: out.stderr };
}

describe('the commands', () => {
  test('results --json', () => {
    const run = cli('results', '--json', '--top', '1', '--dir', dir);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.tag).toBe('mar5');
    expect(report.tags).toEqual([{ tag: 'mar5', experiments: 8 }]);
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
    expect(run.stdout).toBe(`${out}: 8 experiments of tag mar5\n`);
    expect(fs.readFileSync(out, 'utf8')).toBe(renderProgressSvg(rows, { tag: 'mar5' }));

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

describe('the commands on several loop tags', () => {
  let multi: string;
  beforeAll(async () => {
    multi = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-tags-'));
    for (const [n, tag, status, bpb, description] of TWO_TAGS) await appendResult(multi, newResult(n, tag, status, bpb, description));
  });
  afterAll(() => fs.rmSync(multi, { recursive: true, force: true }));

  test('results: the last row\'s tag by default, --tag NAME, --all', () => {
    const byDefault = cli('results', '--dir', multi);
    expect(byDefault.status).toBe(0);
    expect(byDefault.stdout.split('\n')[0]).toBe('tag b (#0 is experiment 3 in results.jsonl)');
    expect(byDefault.stdout).toContain('best val_bpb 1.050000 (#3, 6666666): 0.150000 below the baseline 1.200000');
    expect(byDefault.stdout).toContain('other tags: a (3 experiments)');

    const a = JSON.parse(cli('results', '--tag', 'a', '--json', '--dir', multi).stdout);
    expect([a.tag, a.tags]).toEqual(['a', [{ tag: 'a', experiments: 3 }, { tag: 'b', experiments: 4 }]]);
    expect(a.counts).toEqual({ keep: 2, discard: 1, crash: 0, total: 3 });
    expect(a.best).toMatchObject({ index: 2, experiment: 2, val_bpb: 0.98 });

    const all = JSON.parse(cli('results', '--all', '--json', '--dir', multi).stdout);
    expect(all.sections.map((s: { tag: string; baseline: { index: number; experiment: number } }) => [s.tag, s.baseline.index, s.baseline.experiment])).toEqual([
      ['a', 0, 0],
      ['b', 0, 3],
    ]);
  });

  test('an unknown --tag, or --tag with --all, is a usage error (exit 2)', () => {
    const unknown = cli('results', '--tag', 'c', '--dir', multi);
    expect(unknown.status).toBe(2);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toBe(
      'autoresearch: --tag c: no experiment has that tag; the tags present are a (3 experiments), b (4 experiments). ' +
        'Name one of them, or pass --all for every tag (see autoresearch results --help)\n',
    );
    const both = cli('results', '--tag', 'a', '--all', '--dir', multi);
    expect(both.status).toBe(2);
    expect(both.stderr).toMatch(/mutually exclusive/);
    const plot = cli('plot', '--tag', 'c', '--dir', multi);
    expect(plot.status).toBe(2);
    expect(plot.stderr).toMatch(/--tag c: no experiment has that tag.*\(see autoresearch plot --help\)/);
  });

  test('on a run branch autoresearch/<tag>, results and plot show that tag', () => {
    const repo = makeRepo();
    try {
      gitCli(repo.dir, 'checkout', '-q', '-b', 'autoresearch/a');
      fs.copyFileSync(path.join(multi, 'results.jsonl'), path.join(repo.dir, 'results.jsonl'));
      const run = cli('results', '--json', '--dir', repo.dir);
      expect(run.status).toBe(0);
      expect(JSON.parse(run.stdout).tag).toBe('a');
      const out = path.join(repo.dir, 'a.svg');
      expect(cli('plot', '--out', out, '--dir', repo.dir).stdout).toBe(`${out}: 3 experiments of tag a\n`);
      expect(fs.readFileSync(out, 'utf8')).toBe(renderProgressSvg(tagRows('a'), { tag: 'a' }));
    } finally {
      repo.cleanup();
    }
  });

  test('rows written before rows recorded their tag: the run state\'s tag from its first experiment, the rest untagged', async () => {
    const old = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-old-'));
    try {
      const lines = twoTags.map(({ tag: _tag, ...row }) => JSON.stringify(row) + '\n');
      fs.writeFileSync(path.join(old, 'results.jsonl'), lines.join(''));
      await writeState(old, { tag: 'b', firstExperiment: 3 });
      const all = JSON.parse(cli('results', '--all', '--json', '--dir', old).stdout);
      expect(all.tags).toEqual([{ tag: null, experiments: 3 }, { tag: 'b', experiments: 4 }]);
      const untagged = cli('results', '--tag', '(untagged)', '--dir', old);
      expect(untagged.status).toBe(0);
      expect(untagged.stdout.split('\n')[0]).toBe('(untagged): rows written before results recorded their loop tag');
      expect(untagged.stdout).toContain('other tags: b (4 experiments)');
    } finally {
      fs.rmSync(old, { recursive: true, force: true });
    }
  });
});

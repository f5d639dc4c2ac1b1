// results.tsv byte for byte (SPEC §7), results.jsonl round trips, torn tails after a kill,
// and the .gitignore the loop needs, committed on a real repository.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { GitRepoError, ResultsError } from '../../lib/errors';
import type { ExperimentSummary } from '../../lib/runner/types';
import {
  TSV_HEADER,
  appendResult,
  bestKept,
  countByStatus,
  ensureGitignore,
  inferTags,
  lastKept,
  loadResults,
  nextExperimentNumber,
  parseResultsTsv,
  readResults,
  runningBest,
  toResultRow,
  type NewResult,
  type ResultRow,
} from '../../lib/loop/results';
import { writeState, type RunState } from '../../lib/loop/run-state';
import { gitCli, gitCliStatus, makeRepo, writeFile, type FixtureRepo } from '../git-fixtures';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-results-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function summary(valBpb: number, peakVramMb: number): ExperimentSummary {
  return {
    val_bpb: valBpb,
    training_seconds: 300.1,
    total_seconds: 325.9,
    peak_vram_mb: peakVramMb,
    mfu_percent: 39.8,
    total_tokens_M: 499.6,
    num_steps: 953,
    num_params_M: 50.3,
    depth: 8,
  };
}

const fingerprint = { hardware: { device: 'cpu', threads: 2 }, harness: { version: '0.1.0', timeBudget: 300 } };

function result(overrides: Partial<NewResult> & Pick<NewResult, 'experiment' | 'status'>): NewResult {
  return {
    tag: 'mar5',
    description: 'baseline',
    commit: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
    parent: null,
    agent: 'test-agent',
    summary: summary(0.9979, 45060.2),
    diff: '',
    fingerprint,
    time: new Date('2025-03-05T10:00:00.000Z'),
    ...overrides,
  };
}

const KEEP = result({ experiment: 0, status: 'keep' });
const DISCARD = result({
  experiment: 1,
  status: 'discard',
  commit: 'b2c3d4e5f60718293a4b5c6d7e8f9012345678a1',
  parent: KEEP.commit,
  description: 'switch to\tGeLU activation\n(second line)\r\n',
  summary: summary(1.005, 44100),
  diff: '--- a/train/config.ts\n+++ b/train/config.ts\n@@ -1 +1 @@\n-a\n+b\n',
});
const CRASH = result({
  experiment: 2,
  status: 'crash',
  commit: 'c3d4e5f60718293a4b5c6d7e8f9012345678a1b2',
  parent: KEEP.commit,
  description: 'double model width (OOM)',
  summary: null,
});

const EXPECTED_TSV =
  'commit\tval_bpb\tmemory_gb\tstatus\tdescription\n' +
  'a1b2c3d\t0.997900\t44.0\tkeep\tbaseline\n' +
  'b2c3d4e\t1.005000\t43.1\tdiscard\tswitch to GeLU activation (second line)\n' +
  'c3d4e5f\t0.000000\t0.0\tcrash\tdouble model width (OOM)\n';

describe('appendResult', () => {
  test('results.tsv is byte-exact for a keep, a discard and a crash', async () => {
    await appendResult(dir, KEEP);
    await appendResult(dir, DISCARD);
    await appendResult(dir, CRASH);
    expect(fs.readFileSync(path.join(dir, 'results.tsv'), 'utf8')).toBe(EXPECTED_TSV);
  });

  test('a crash shows zeros in the TSV even when it printed a summary; the JSON keeps the numbers', async () => {
    await appendResult(dir, { ...CRASH, summary: summary(1.2, 2048) });
    expect(fs.readFileSync(path.join(dir, 'results.tsv'), 'utf8')).toBe(`${TSV_HEADER}\nc3d4e5f\t0.000000\t0.0\tcrash\tdouble model width (OOM)\n`);
    const [row] = await readResults(dir);
    expect(row).toMatchObject({ status: 'crash', val_bpb: 1.2, peak_vram_mb: 2048 });
  });

  test('results.jsonl holds every field, in order, and reads back', async () => {
    await appendResult(dir, KEEP);
    await appendResult(dir, DISCARD);
    await appendResult(dir, CRASH);
    const lines = fs.readFileSync(path.join(dir, 'results.jsonl'), 'utf8').split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[3]).toBe('');
    expect(Object.keys(JSON.parse(lines[0]!))).toEqual([
      'experiment', 'tag', 'status', 'val_bpb', 'training_seconds', 'total_seconds', 'peak_vram_mb', 'mfu_percent',
      'total_tokens_M', 'num_steps', 'num_params_M', 'depth', 'description', 'commit', 'parent', 'agent', 'time',
      'fingerprint', 'diff',
    ]);
    const rows = await readResults(dir);
    expect(rows.map((r) => r.experiment)).toEqual([0, 1, 2]);
    expect(rows[1]).toEqual({
      experiment: 1,
      tag: 'mar5',
      status: 'discard',
      ...summary(1.005, 44100),
      description: DISCARD.description,
      commit: DISCARD.commit,
      parent: KEEP.commit,
      agent: 'test-agent',
      time: '2025-03-05T10:00:00.000Z',
      fingerprint,
      diff: DISCARD.diff,
    });
    expect(rows[2]).toMatchObject({ status: 'crash', val_bpb: null, peak_vram_mb: null, depth: null, num_steps: null });
  });

  test('refuses rows it cannot log honestly', async () => {
    await expect(appendResult(dir, { ...KEEP, summary: null })).rejects.toThrow(/needs a summary with a finite val_bpb.*crash/);
    await expect(appendResult(dir, { ...KEEP, summary: summary(Number.NaN, 1) })).rejects.toThrow(ResultsError);
    await expect(appendResult(dir, { ...KEEP, commit: 'HEAD' })).rejects.toThrow(/not a commit sha/);
    await expect(appendResult(dir, { ...KEEP, experiment: -1 })).rejects.toThrow(/non-negative integer/);
    await expect(appendResult(dir, { ...KEEP, tag: '' })).rejects.toThrow(/the loop tag is empty/);
    expect(fs.existsSync(path.join(dir, 'results.jsonl'))).toBe(false);
  });
});

describe('readResults after a kill', () => {
  test('a torn last line is dropped and truncated away; the next append is clean', async () => {
    await appendResult(dir, KEEP);
    await appendResult(dir, DISCARD);
    const jsonl = path.join(dir, 'results.jsonl');
    const intact = fs.readFileSync(jsonl);
    fs.appendFileSync(jsonl, '{"experiment":2,"status":"cra');

    expect((await readResults(dir, { repair: false })).map((r) => r.experiment)).toEqual([0, 1]);
    expect(fs.readFileSync(jsonl).length).toBeGreaterThan(intact.length); // read-only left it

    expect((await readResults(dir)).map((r) => r.experiment)).toEqual([0, 1]);
    expect(fs.readFileSync(jsonl).equals(intact)).toBe(true);

    await appendResult(dir, CRASH);
    expect((await readResults(dir)).map((r) => r.status)).toEqual(['keep', 'discard', 'crash']);
    expect(fs.readFileSync(path.join(dir, 'results.tsv'), 'utf8')).toBe(EXPECTED_TSV);
  });

  test('a kill between the two writes leaves results.tsv a row behind: it is rewritten from the JSON lines', async () => {
    await appendResult(dir, KEEP);
    await appendResult(dir, DISCARD);
    await appendResult(dir, CRASH);
    const tsv = path.join(dir, 'results.tsv');
    const lines = EXPECTED_TSV.split('\n');
    fs.writeFileSync(tsv, lines.slice(0, 3).join('\n') + '\n' + lines[3]!.slice(0, 9)); // one row lost, one torn
    await readResults(dir);
    expect(fs.readFileSync(tsv, 'utf8')).toBe(EXPECTED_TSV);
  });

  test('a kill that cut results.jsonl after results.tsv had the row: the TSV is brought back to the JSON lines', async () => {
    await appendResult(dir, KEEP);
    await appendResult(dir, DISCARD);
    await appendResult(dir, CRASH);
    const jsonl = path.join(dir, 'results.jsonl');
    const text = fs.readFileSync(jsonl, 'utf8');
    fs.writeFileSync(jsonl, text.slice(0, text.length - 20)); // the last row torn, the TSV already has it
    expect((await readResults(dir)).map((r) => r.experiment)).toEqual([0, 1]);
    expect(fs.readFileSync(path.join(dir, 'results.tsv'), 'utf8')).toBe(EXPECTED_TSV.split('\n').slice(0, 3).join('\n') + '\n');
  });

  test('a broken line in the middle is an error naming the line', async () => {
    await appendResult(dir, KEEP);
    fs.appendFileSync(path.join(dir, 'results.jsonl'), 'not json\n');
    await appendResult(dir, CRASH).catch(() => undefined);
    await expect(readResults(dir)).rejects.toThrow(/results\.jsonl line 2 is not a result row \(not json\)/);
  });

  test('no results yet: an empty list', async () => {
    expect(await readResults(dir)).toEqual([]);
  });
});

describe('the loop tag of a row', () => {
  /** A results.jsonl line as rows were written before they recorded their tag. */
  function untaggedLine(result: NewResult): string {
    const { tag: _tag, ...row } = toResultRow(result);
    return JSON.stringify(row) + '\n';
  }

  test('rows written before rows recorded the tag read as null; the next append records it', async () => {
    fs.writeFileSync(path.join(dir, 'results.jsonl'), untaggedLine(KEEP) + untaggedLine(DISCARD));
    await appendResult(dir, { ...CRASH, tag: 'mar6' });
    expect((await readResults(dir)).map((r) => [r.experiment, r.tag])).toEqual([[0, null], [1, null], [2, 'mar6']]);
  });

  test('inferTags: rows from the run state\'s firstExperiment on are its tag; earlier ones and tagged ones stay', () => {
    const rows: ResultRow[] = [0, 1, 2, 3].map((n) => ({ ...toResultRow(result({ experiment: n, status: 'discard' })), tag: null }));
    rows[3] = { ...rows[3]!, tag: 'mar9' };
    expect(inferTags(rows, { tag: 'mar6', firstExperiment: 2 }).map((r) => r.tag)).toEqual([null, null, 'mar6', 'mar9']);
    expect(inferTags(rows, null).map((r) => r.tag)).toEqual([null, null, null, 'mar9']);
    // A run.json that is not the loop's (hand-edited, another version) infers nothing.
    expect(inferTags(rows, { tag: 'mar6' } as RunState).map((r) => r.tag)).toEqual([null, null, null, 'mar9']);
  });

  test('loadResults infers from .autoresearch/run.json (results.jsonl, or results.tsv alone)', async () => {
    fs.writeFileSync(path.join(dir, 'results.jsonl'), untaggedLine(KEEP) + untaggedLine(DISCARD) + untaggedLine(CRASH));
    expect((await loadResults(dir)).rows.map((r) => r.tag)).toEqual([null, null, null]);
    await writeState(dir, { tag: 'mar6', firstExperiment: 1 });
    expect((await loadResults(dir)).rows.map((r) => r.tag)).toEqual([null, 'mar6', 'mar6']);
    // Read-only: the file keeps its rows as written.
    expect(fs.readFileSync(path.join(dir, 'results.jsonl'), 'utf8')).not.toContain('"tag"');
    fs.rmSync(path.join(dir, 'results.jsonl'));
    fs.writeFileSync(path.join(dir, 'results.tsv'), EXPECTED_TSV);
    const fromTsv = await loadResults(dir);
    expect(fromTsv.source).toBe('results.tsv');
    expect(fromTsv.rows.map((r) => r.tag)).toEqual([null, 'mar6', 'mar6']);
  });
});

describe('helpers', () => {
  test('best, last kept, counts, running best and the next number', async () => {
    await appendResult(dir, KEEP);
    await appendResult(dir, DISCARD);
    await appendResult(dir, CRASH);
    await appendResult(dir, result({ experiment: 3, status: 'keep', summary: summary(0.9901, 44000), commit: 'd'.repeat(40) }));
    await appendResult(dir, result({ experiment: 4, status: 'discard', summary: summary(0.9950, 44000), commit: 'e'.repeat(40) }));
    const rows = await readResults(dir);
    expect(bestKept(rows)?.experiment).toBe(3);
    expect(lastKept(rows)?.experiment).toBe(3);
    expect(countByStatus(rows)).toEqual({ keep: 2, discard: 2, crash: 1, total: 5 });
    expect(runningBest(rows)).toEqual([0.9979, 0.9979, 0.9979, 0.9901, 0.9901]);
    expect(nextExperimentNumber(rows)).toBe(5);
    expect(nextExperimentNumber([])).toBe(0);
    expect(bestKept([])).toBeNull();
  });

  test('parseResultsTsv reads the reference format', () => {
    const rows = parseResultsTsv(EXPECTED_TSV);
    expect(rows.map((r) => [r.experiment, r.commit, r.val_bpb, r.peak_vram_mb, r.status, r.description])).toEqual([
      [0, 'a1b2c3d', 0.9979, 44 * 1024, 'keep', 'baseline'],
      [1, 'b2c3d4e', 1.005, 43.1 * 1024, 'discard', 'switch to GeLU activation (second line)'],
      [2, 'c3d4e5f', null, null, 'crash', 'double model width (OOM)'],
    ]);
    expect(() => parseResultsTsv('commit,val_bpb\n')).toThrow(/does not start with the header/);
  });
});

describe('ensureGitignore', () => {
  let repo: FixtureRepo;
  afterEach(() => repo.cleanup());

  test('adds the loop files to .gitignore once and commits only when HEAD lacks them', async () => {
    repo = makeRepo({ files: { '.gitignore': 'dist/' } }); // no trailing newline
    const first = await ensureGitignore(repo.dir);
    expect(first.added).toEqual(['results.tsv', 'results.jsonl', 'run.log', '.autoresearch/', 'progress.svg', 'node_modules/']);
    expect(first.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(gitCli(repo.dir, 'log', '--format=%H %s', '-1').trim()).toBe(`${first.commit} Ignore the research loop's results, logs and state`);
    expect(gitCli(repo.dir, 'show', 'HEAD:.gitignore')).toBe(
      "dist/\n\n# autoresearch: results, logs and the loop's state are never committed\nresults.tsv\nresults.jsonl\nrun.log\n.autoresearch/\nprogress.svg\nnode_modules/\n",
    );
    for (const f of ['results.tsv', 'results.jsonl', 'run.log', '.autoresearch/loop.lock']) writeFile(repo.dir, f, 'x\n');
    expect(gitCli(repo.dir, 'status', '--porcelain', '--untracked-files=all')).toBe('');
    expect(gitCliStatus(repo.dir, 'check-ignore', '-q', 'results.tsv').status).toBe(0);

    expect(await ensureGitignore(repo.dir)).toEqual({ added: [], commit: null });
    expect(gitCli(repo.dir, 'rev-list', '--count', 'HEAD').trim()).toBe('2');
  });

  test('entries already on disk but not committed are committed; variants like /run.log count', async () => {
    repo = makeRepo();
    writeFile(repo.dir, '.gitignore', '/results.tsv\nresults.jsonl\n/run.log\n.autoresearch\nprogress.svg\nnode_modules\n');
    const update = await ensureGitignore(repo.dir);
    expect(update.added).toEqual([]);
    expect(update.commit).not.toBeNull();
    expect(gitCli(repo.dir, 'status', '--porcelain')).toBe('');
  });

  test('refuses when results.tsv is tracked, with the command that untracks it', async () => {
    repo = makeRepo({ files: { 'results.tsv': `${TSV_HEADER}\n` } });
    const error = await ensureGitignore(repo.dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitRepoError);
    expect((error as Error).message).toMatch(/results\.tsv is tracked.*git rm --cached results\.tsv/);
  });
});

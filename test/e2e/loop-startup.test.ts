// The loop's start-up on real git repositories, read back with the git CLI: a refused start
// changes nothing (branch, HEAD, index, refs, files), .gitignore is committed on the run
// branch and never on the user's, a research folder inside a larger repository works, and
// --resume after a crashed baseline runs the baseline again.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { researchLoop } from '../../lib';
import { prepare } from '../../lib/data/prepare';
import { readResults } from '../../lib/loop/results';
import { packageRoot } from '../../lib/native/load';

const root = packageRoot();
let cache: string;
let work: string;
const quiet = { log: () => undefined };

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: dir, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' } }).trim();
}

function tinyConfig(): string {
  return fs
    .readFileSync(path.join(root, 'train', 'config.ts'), 'utf8')
    .replace('  DEPTH: 8,', '  DEPTH: 1,')
    .replace('  HEAD_DIM: 128,', '  HEAD_DIM: 32,')
    .replace('  TOTAL_BATCH_SIZE: 2 ** 19,', '  TOTAL_BATCH_SIZE: 2 ** 10,')
    .replace('  DEVICE_BATCH_SIZE: 128,', '  DEVICE_BATCH_SIZE: 16,');
}

/** A repository with the research files in `sub` ('' = the top), plus other files; committed. */
function makeRepo(name: string, sub = '', config = tinyConfig()): string {
  const dir = path.join(work, name);
  const home = path.join(dir, sub);
  fs.mkdirSync(path.join(home, 'train'), { recursive: true });
  fs.writeFileSync(path.join(home, 'train', 'config.ts'), config);
  fs.copyFileSync(path.join(root, 'program.md'), path.join(home, 'program.md'));
  fs.writeFileSync(path.join(dir, 'README.md'), '# a project\n');
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'user.name', 'Test');
  git(dir, 'config', 'user.email', 'test@example.com');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'initial');
  return dir;
}

/** What a refused start must not change. */
function snapshot(dir: string) {
  return {
    branch: git(dir, 'rev-parse', '--abbrev-ref', 'HEAD'),
    head: git(dir, 'rev-parse', 'HEAD'),
    refs: git(dir, 'for-each-ref', '--format=%(refname) %(objectname)'),
    staged: git(dir, 'diff', '--cached', '--name-status'),
    status: git(dir, 'status', '--porcelain', '--untracked-files=all'),
    gitignore: fs.existsSync(path.join(dir, '.gitignore')) ? fs.readFileSync(path.join(dir, '.gitignore'), 'utf8') : null,
  };
}

const loopOptions = (dir: string) => ({ dir, cacheDir: cache, timeBudget: 1, device: 'cpu', tag: 'test', ...quiet });

beforeAll(async () => {
  cache = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-startup-cache-'));
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-startup-'));
  await prepare({ dataset: 'sotu', vocabSize: 512, seqLen: 64, evalTokens: 2048, cacheDir: cache, progress: false, log: () => undefined });
}, 120_000);
afterAll(() => {
  fs.rmSync(cache, { recursive: true, force: true });
  fs.rmSync(work, { recursive: true, force: true });
});

test('a start refused for a dirty tree leaves branch, HEAD, refs, the index and .gitignore as they were', async () => {
  const dir = makeRepo('dirty');
  fs.writeFileSync(path.join(dir, 'README.md'), '# a project, edited\n');
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'staged\n');
  git(dir, 'add', 'notes.txt');
  const before = snapshot(dir);
  await expect(researchLoop({ ...loopOptions(dir), max: 0 })).rejects.toThrow(/uncommitted changes in README\.md, notes\.txt: commit or stash them/);
  expect(snapshot(dir)).toEqual(before);
  expect(before.staged).toBe('A\tnotes.txt');
});

test('a start refused for missing prepared data changes nothing either', async () => {
  const dir = makeRepo('nodata');
  const before = snapshot(dir);
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-startup-empty-'));
  try {
    await expect(researchLoop({ ...loopOptions(dir), cacheDir: empty, max: 0 })).rejects.toThrow(/no prepared data/);
  } finally {
    fs.rmSync(empty, { recursive: true, force: true });
  }
  expect(snapshot(dir)).toEqual(before);
});

test('.gitignore is committed on the run branch, never on the user\'s', async () => {
  const dir = makeRepo('ignore');
  const main = git(dir, 'rev-parse', 'main');
  const outcome = await researchLoop({ ...loopOptions(dir), max: 0 });
  expect(outcome.branch).toBe('autoresearch/test');
  expect(git(dir, 'rev-parse', 'main')).toBe(main);
  expect(git(dir, 'ls-tree', '--name-only', 'main')).not.toMatch(/\.gitignore/);
  expect(git(dir, 'show', 'autoresearch/test:.gitignore')).toMatch(/^results\.tsv$/m);
  expect(git(dir, 'log', '--format=%s', 'autoresearch/test')).toMatch(/Ignore the research loop's results/);
}, 240_000);

test('loop --dir exp in a larger repository: config committed as exp/train/config.ts, results in exp/', async () => {
  const dir = makeRepo('package', 'exp');
  fs.writeFileSync(path.join(dir, 'index.js'), 'module.exports = 1;\n');
  git(dir, 'add', 'index.js');
  git(dir, 'commit', '-qm', 'package code');
  const outcome = await researchLoop({ ...loopOptions(path.join(dir, 'exp')), max: 1 });
  expect(outcome.recorded).toBe(2);
  const rows = await readResults(path.join(dir, 'exp'));
  expect(rows.map((r) => r.experiment)).toEqual([0, 1]);
  expect(rows[0]!.status).toBe('keep');
  expect(fs.existsSync(path.join(dir, 'exp', 'results.tsv'))).toBe(true);
  expect(fs.existsSync(path.join(dir, 'results.tsv'))).toBe(false);
  // The experiment's change (kept or not) touched exp/train/config.ts only.
  expect(git(dir, 'show', '--name-only', '--format=', rows[1]!.commit)).toBe(rows[1]!.status === 'crash' && rows[1]!.commit === rows[1]!.parent ? '' : 'exp/train/config.ts');
  expect(rows[1]!.commit === rows[1]!.parent || rows[1]!.diff.startsWith('--- a/exp/train/config.ts')).toBe(true);
  expect(git(dir, 'status', '--porcelain')).toBe('');
}, 240_000);

test('a research folder named inside a repository that does not hold the files gets the right fix', async () => {
  const dir = makeRepo('wrongdir');
  fs.mkdirSync(path.join(dir, 'exp'));
  fs.writeFileSync(path.join(dir, 'exp', 'keep.txt'), 'x\n');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'exp folder');
  // The top holds the files: a folder inside it is accepted as before (the top is the research folder).
  await expect(researchLoop({ ...loopOptions(path.join(dir, 'exp')), max: 0 })).resolves.toMatchObject({ recorded: 1 });
  const other = makeRepo('nofiles', 'elsewhere');
  fs.mkdirSync(path.join(other, 'exp'));
  fs.writeFileSync(path.join(other, 'exp', 'keep.txt'), 'x\n');
  git(other, 'add', '-A');
  git(other, 'commit', '-qm', 'exp folder');
  await expect(researchLoop({ ...loopOptions(path.join(other, 'exp')), max: 0 })).rejects.toThrow(
    /exp\/train\/config\.ts and exp\/program\.md are not tracked.*autoresearch init exp.*git add exp\/train\/config\.ts exp\/program\.md/,
  );
}, 240_000);

test('--resume after a crashed baseline: fix committed on the run branch, the baseline runs again', async () => {
  const dir = makeRepo('crashed', '', tinyConfig().replace('  DEPTH: 1,', '  DEPTH: 0,'));
  await expect(researchLoop({ ...loopOptions(dir), max: 0 })).rejects.toThrow(/the baseline crashed: fix train\/config\.ts, commit the fix on autoresearch\/test, then .*--resume/);
  expect(git(dir, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('autoresearch/test');
  fs.writeFileSync(path.join(dir, 'train', 'config.ts'), tinyConfig());
  git(dir, 'commit', '-qam', 'fix DEPTH');
  const outcome = await researchLoop({ ...loopOptions(dir), resume: true, max: 0 });
  expect(outcome.best?.status).toBe('keep');
  const rows = await readResults(dir);
  expect(rows.map((r) => [r.experiment, r.status, r.description])).toEqual([
    [0, 'crash', 'baseline'],
    [1, 'keep', 'baseline'],
  ]);
  expect(rows[1]!.commit).toBe(git(dir, 'rev-parse', 'HEAD'));
}, 240_000);

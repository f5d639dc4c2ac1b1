// `autoresearch run` at its edges: no config, bad option values, --set overrides validated like
// the config; exit codes 2 (usage or set-up, nothing written) and 1 (the experiment crashed).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { prepare } from '../../lib/data/prepare';
import { packageRoot } from '../../lib/native/load';

const root = packageRoot();
let cache: string;
let work: string;

function cli(cwd: string, ...args: string[]) {
  return spawnSync(process.execPath, ['--require', require.resolve('tsx/cjs'), path.join(root, 'bin/autoresearch.ts'), ...args], {
    cwd,
    env: { ...process.env, AUTORESEARCH_CACHE_DIR: cache },
    encoding: 'utf8',
    timeout: 180_000,
  });
}

beforeAll(async () => {
  cache = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-clirun-cache-'));
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-clirun-'));
  await prepare({ dataset: 'sotu', vocabSize: 512, seqLen: 64, evalTokens: 4096, cacheDir: cache, progress: false, log: () => undefined });
}, 120_000);
afterAll(() => {
  fs.rmSync(cache, { recursive: true, force: true });
  fs.rmSync(work, { recursive: true, force: true });
});

test('run without a config says to run init, exits 2 and creates nothing', () => {
  const dir = path.join(work, 'nothing-here');
  const run = cli(work, 'run', '--dir', dir);
  expect(run.status).toBe(2);
  expect(run.stderr).toMatch(/train\/config\.ts does not exist: write a config first with `autoresearch init .*nothing-here`/);
  expect(fs.existsSync(dir)).toBe(false);
  expect(fs.readdirSync(work)).toEqual([]);
});

test('--time-budget abc, 0 and -1 are usage errors (exit 2) before anything runs', () => {
  for (const bad of ['abc', '0', '-1']) {
    const run = cli(work, 'run', '--time-budget', bad);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(new RegExp(`--time-budget ${bad} is not a positive number of seconds.*see autoresearch run --help`));
  }
  expect(fs.readdirSync(work)).toEqual([]);
});

test('--set is validated like the config: a bad value crashes the run (exit 1), a bad name is a usage error', () => {
  const dir = path.join(work, 'exp');
  fs.mkdirSync(path.join(dir, 'train'), { recursive: true });
  fs.copyFileSync(path.join(root, 'train', 'config.ts'), path.join(dir, 'train', 'config.ts'));
  const badName = cli(dir, 'run', '--set', 'DEPHT=1');
  expect(badName.status).toBe(2);
  expect(badName.stderr).toMatch(/override DEPHT: not a setting/);
  const badValue = cli(dir, 'run', '--time-budget', '1', '--device', 'cpu', '--set', 'DEPTH=0', '--set', 'TOTAL_BATCH_SIZE=1024', '--set', 'DEVICE_BATCH_SIZE=8');
  expect(badValue.status).toBe(1);
  expect(badValue.stdout).toMatch(/overrides: DEPTH=0 TOTAL_BATCH_SIZE=1024 DEVICE_BATCH_SIZE=8/);
  expect(badValue.stdout + badValue.stderr).toMatch(/DEPTH must be a positive integer \(got 0\)/);
  expect(fs.readFileSync(path.join(dir, 'train', 'config.ts'), 'utf8')).toMatch(/^ {2}DEPTH: 8,/m);
}, 240_000);

// runExperiment() and `autoresearch run` on the built-in corpus: a tiny model, a budget of a
// few seconds, the real child process. Bad configs, divergence, a native abort and a hung
// run each come back as a crash with the cause, and the caller keeps running.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { runExperiment, type ExperimentResult } from '../../lib';
import { SUMMARY_KEYS } from '../../lib/internals';
import { prepare } from '../../lib/data/prepare';
import { packageRoot } from '../../lib/native/load';

const root = packageRoot();
let cache: string;
let work: string;
const BUDGET = 2;

/** The repository's train/config.ts with knobs replaced (line `  NAME: ...,` of the config object). */
function configWith(overrides: Record<string, string>, extra = ''): string {
  let source = fs.readFileSync(path.join(root, 'train', 'config.ts'), 'utf8');
  for (const [name, value] of Object.entries(overrides)) {
    const re = new RegExp(`^ {2}${name}: (?:\\[[^\\]]*\\]|[^,\\n]*),`, 'm');
    if (!re.test(source)) throw new Error(`no knob ${name}`);
    source = source.replace(re, `  ${name}: ${value},`);
  }
  return source + extra;
}

const TINY = { DEPTH: '1', ASPECT_RATIO: '64', HEAD_DIM: '32', TOTAL_BATCH_SIZE: '2 ** 10', DEVICE_BATCH_SIZE: '8' };

function experimentDir(name: string, source: string): string {
  const dir = path.join(work, name);
  fs.mkdirSync(path.join(dir, 'train'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'train', 'config.ts'), source);
  return dir;
}

function run(name: string, source: string, extra: Partial<Parameters<typeof runExperiment>[0]> = {}): Promise<ExperimentResult> {
  return runExperiment({ dir: experimentDir(name, source), cacheDir: cache, timeBudget: BUDGET, device: 'cpu', ...extra });
}

beforeAll(async () => {
  cache = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-runner-cache-'));
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-runner-'));
  await prepare({ dataset: 'sotu', vocabSize: 512, seqLen: 64, evalTokens: 4096, cacheDir: cache, progress: false, log: () => undefined });
}, 120_000);
afterAll(() => {
  fs.rmSync(cache, { recursive: true, force: true });
  fs.rmSync(work, { recursive: true, force: true });
});

describe('a good run', () => {
  let result: ExperimentResult;
  let log: string;
  const live: { text: string }[] = [];
  beforeAll(async () => {
    result = await run('good', configWith(TINY), { onOutput: (text) => live.push({ text }) });
    log = fs.readFileSync(result.logPath, 'utf8');
  }, 120_000);

  test('onOutput gets the log as it is written, in a few reads rather than one per line', () => {
    expect(live.map((c) => c.text).join('')).toBe(log);
    const steps = (log.match(/^step \d+ /gm) ?? []).length;
    expect(steps).toBeGreaterThan(11);
    // Read back from the file about twice a second (run-log.ts), not relayed line by line.
    expect(live.length).toBeLessThan(steps);
    // ...while training, not all at the end.
    const trainingChunks = live.filter((c) => /^step \d+ /m.test(c.text) && !c.text.includes('\n---\n'));
    expect(trainingChunks.length).toBeGreaterThan(0);
  });

  test('prints the nine summary keys in order with sane values', () => {
    expect(result.status).toBe('ok');
    const block = log.slice(log.lastIndexOf('\n---\n') + 5).trim().split('\n');
    expect(block.map((l) => l.split(':')[0])).toEqual([...SUMMARY_KEYS]);
    expect(block[0]).toMatch(/^val_bpb: {10}\d+\.\d{6}$/);
    const s = result.summary!;
    expect(s.val_bpb).toBeGreaterThan(0.5);
    expect(s.val_bpb).toBeLessThan(12);
    expect(s.depth).toBe(1);
    expect(s.num_steps).toBeGreaterThan(11);
    expect(s.total_tokens_M).toBeCloseTo((s.num_steps * 1024) / 1e6, 1);
    expect(s.peak_vram_mb).toBeGreaterThan(50);
    expect(s.mfu_percent).toBeGreaterThan(0);
    expect(s.total_seconds).toBeGreaterThan(s.training_seconds);
  });

  test('counted training time is within one step of the budget and excludes the warm-up steps', () => {
    const dts = [...log.matchAll(/^step (\d+) .*\| dt: (\d+)ms/gm)].map((m) => ({ step: Number(m[1]), ms: Number(m[2]) }));
    expect(dts.length).toBe(result.summary!.num_steps);
    const counted = dts.filter((d) => d.step > 10).reduce((sum, d) => sum + d.ms / 1000, 0);
    expect(Math.abs(counted - result.summary!.training_seconds)).toBeLessThan(0.05 + dts.length * 0.0005);
    const longest = Math.max(...dts.map((d) => d.ms / 1000));
    expect(result.summary!.training_seconds).toBeGreaterThanOrEqual(BUDGET);
    expect(result.summary!.training_seconds).toBeLessThan(BUDGET + longest + 0.05);
  });

  test('runExperiment returns the numbers the log shows', () => {
    for (const key of SUMMARY_KEYS) {
      const line = log.split('\n').reverse().find((l) => l.startsWith(`${key}:`))!;
      expect(result.summary![key]).toBe(Number(line.split(/:\s+/)[1]));
    }
  });
});

const crashes: [string, () => string, RegExp][] = [
  ['a syntax error', () => configWith(TINY).replace('  DEPTH: 1,', '  DEPTH: = 1,'), /train\/config\.ts does not compile:\ntrain\/config\.ts:\d+:\d+: /],
  ['a wrong type', () => configWith({ ...TINY, DEPTH: '"2"' }), /DEPTH must be a number \(got "2"\)/],
  ['an unknown key', () => configWith(TINY).replace('  SEED: 42,\n', '  SEED: 42,\n  MATRX_LR: 0.1,\n'), /unknown setting MATRX_LR \(did you mean MATRIX_LR\?\)/],
  ['heads not dividing the width', () => configWith({ ...TINY, N_KV_HEAD: '3' }), /nKvHead 3 must divide nHead 2/],
  ['a micro-batch larger than EVAL_TOKENS', () => configWith({ ...TINY, DEVICE_BATCH_SIZE: '128', TOTAL_BATCH_SIZE: '2 ** 13' }), /8192 tokens is more than EVAL_TOKENS 4096.*DEVICE_BATCH_SIZE 64 or less/],
  ['a loss that explodes', () => configWith({ ...TINY, MATRIX_LR: '1e6', EMBEDDING_LR: '1e6', UNEMBEDDING_LR: '1e6', SCALAR_LR: '1e6' }), /FAIL[\s\S]*training diverged/],
];

/** Runs with a module preloaded into the worker (NODE_OPTIONS): faults no config can cause. */
async function runWithPreload(name: string, preload: string, extra: Partial<Parameters<typeof runExperiment>[0]> = {}): Promise<ExperimentResult> {
  const file = path.join(work, `${name}-preload.js`);
  fs.writeFileSync(file, preload);
  const saved = process.env.NODE_OPTIONS;
  process.env.NODE_OPTIONS = `${saved ?? ''} --require ${file}`.trim();
  try {
    return await run(name, configWith(TINY), extra);
  } finally {
    if (saved === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = saved;
  }
}

test('a native abort in the worker is a crash that names the signal', async () => {
  const result = await runWithPreload('abort', "process.once('message', () => setImmediate(() => process.abort()));");
  expect(result.status).toBe('crash');
  expect(result.failure).toBe('crash');
  expect(result.errorExcerpt).toMatch(/killed by SIGABRT/);
}, 120_000);

describe('crashes come back as status crash with the cause, and the caller keeps running', () => {
  for (const [name, make, cause] of crashes) {
    test(name, async () => {
      const result = await run(name.replace(/\W+/g, '-'), make());
      expect(result.status).toBe('crash');
      expect(result.summary).toBeNull();
      expect(result.errorExcerpt).toMatch(cause);
      expect(result.errorExcerpt!.split('\n').length).toBeLessThanOrEqual(50);
    }, 120_000);
  }
});

test('the total time limit kills a hung run and leaves no process behind', async () => {
  const marker = `hung-${process.pid}`;
  const result = await runWithPreload(marker, "process.once('message', () => setImmediate(() => { for (;;); }));", { totalTimeLimit: 8 });
  expect(result.status).toBe('crash');
  expect(result.errorExcerpt).toMatch(/killed after the total time limit of 8 s/);
  expect(result.wallSeconds).toBeLessThan(20);
  const left = spawnSync('pgrep', ['-P', String(process.pid), '-f', 'runner/worker'], { encoding: 'utf8' }).stdout.trim();
  expect(left).toBe('');
}, 60_000);

test('`autoresearch run` exits non-zero on a crash and zero with the summary on success', () => {
  const cli = (dir: string) =>
    spawnSync(process.execPath, ['--require', require.resolve('tsx/cjs'), path.join(root, 'bin/autoresearch.ts'), 'run', '--time-budget', '1', '--cache-dir', cache, '--device', 'cpu'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 120_000,
    });
  const ok = cli(experimentDir('cli-ok', configWith(TINY)));
  expect(ok.status).toBe(0);
  expect(ok.stdout).toMatch(/\n---\nval_bpb: +\d\.\d{6}\n/);
  const bad = cli(experimentDir('cli-bad', configWith({ ...TINY, DEPTH: '"x"' })));
  expect(bad.status).toBe(1);
  expect(bad.stdout + bad.stderr).toMatch(/DEPTH must be a number/);
  expect(execFileSync('ls', [path.join(work, 'cli-ok')], { encoding: 'utf8' })).toMatch(/run\.log/);
}, 240_000);

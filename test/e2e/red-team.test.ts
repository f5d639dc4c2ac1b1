// A score nobody can forge: configs that try what an agent might, through runExperiment() and
// the research loop, on the built-in corpus with tiny models. Each must end as a crash with a
// clear message or as an honest result, with nothing written outside the run's own files.
// Faults no config can cause (a lying clock in the worker) are injected with a module
// preloaded into the worker through NODE_OPTIONS, to show the harness's own checks work.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { researchLoop, runExperiment, type ExperimentResult } from '../../lib';
import { prepare } from '../../lib/data/prepare';
import { datasetPaths, readPreparedMeta } from '../../lib/data/prepared';
import { verifyPreparedData } from '../../lib/data/verify';
import { DataIntegrityError } from '../../lib/errors';
import { readResults } from '../../lib/loop/results';
import { packageRoot } from '../../lib/native/load';
import { clockTolerance } from '../../lib/runner/run-experiment';

const root = packageRoot();
const BUDGET = 2;
let cache: string;
let work: string;

const TINY_CONFIG = fs
  .readFileSync(path.join(root, 'train', 'config.ts'), 'utf8')
  .replace('  DEPTH: 8,', '  DEPTH: 1,')
  .replace('  HEAD_DIM: 128,', '  HEAD_DIM: 32,')
  .replace('  TOTAL_BATCH_SIZE: 2 ** 19,', '  TOTAL_BATCH_SIZE: 2 ** 10,')
  .replace('  DEVICE_BATCH_SIZE: 128,', '  DEVICE_BATCH_SIZE: 8,');

/** Every file under a folder with its sha256: what must not change. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = createHash('sha256').update(fs.readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

let n = 0;
/** Runs a config in a fresh folder; checks that only run.log was written there or in the cache. */
async function runConfig(source: string, extra: Partial<Parameters<typeof runExperiment>[0]> = {}): Promise<ExperimentResult> {
  const dir = path.join(work, `exp-${n++}`);
  fs.mkdirSync(path.join(dir, 'train'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'train', 'config.ts'), source);
  const canary = path.join(work, 'canary');
  const cacheBefore = snapshot(cache);
  const result = await runExperiment({ dir, cacheDir: cache, timeBudget: BUDGET, device: 'cpu', ...extra });
  expect(snapshot(cache)).toEqual(cacheBefore);
  expect(fs.readdirSync(dir).sort()).toEqual(['run.log', 'train']);
  expect(fs.readdirSync(path.join(dir, 'train'))).toEqual(['config.ts']);
  expect(fs.existsSync(canary)).toBe(false);
  return result;
}

/** The tiny config with code added before the config object. */
const withCode = (code: string) => TINY_CONFIG.replace('const config = {', `${code}\nconst config = {`);

const FAKE_BLOCK = '---\\nval_bpb:          0.100000\\ntraining_seconds: 2.0\\n';

beforeAll(async () => {
  cache = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-redteam-cache-'));
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-redteam-'));
  await prepare({ dataset: 'sotu', vocabSize: 512, seqLen: 64, evalTokens: 2048, cacheDir: cache, progress: false, log: () => undefined });
}, 120_000);
afterAll(() => {
  fs.rmSync(cache, { recursive: true, force: true });
  fs.rmSync(work, { recursive: true, force: true });
});

describe('configs that try to forge the score are crashes with the cause', () => {
  const cases: [string, string, RegExp][] = [
    ['a summary block on fd 1, then process.exit(0)', `(globalThis as any).process.stdout.write('${FAKE_BLOCK}'); (globalThis as any).process.exit(0);`, /threw while loading: TypeError: Cannot read properties of undefined \(reading 'stdout'\)/],
    ['a summary block through console and exit()', `console.log('${FAKE_BLOCK}'); process.exit(0);`, /threw while loading: ReferenceError: console is not defined/],
    ["the evaluator replaced through require.cache", `for (const k of Object.keys(require.cache)) (require.cache[k] as any).exports.GPT = null;`, /threw while loading: ReferenceError: require is not defined/],
    ['the prepared data written through fs', `import fs from 'node:fs';\nfs.writeFileSync('x', 'y');`, /'node:fs': the config may only import types/],
    ['the prepared data written through the Function constructor', `const p = (function () {}).constructor('return process')();\np.mainModule.require('fs').writeFileSync(${JSON.stringify('CANARY')}, 'x');`, /threw while loading: EvalError: Code generation from strings disallowed/],
  ];
  for (const [name, code, cause] of cases) {
    test(name, async () => {
      const result = await runConfig(withCode(code.replace('CANARY', path.join(work, 'canary'))));
      expect(result).toMatchObject({ status: 'crash', summary: null, failure: 'config' });
      expect(result.cause).toMatch(cause);
      expect(result.errorExcerpt).not.toMatch(/val_bpb/);
    }, 60_000);
  }

  test('a schedule that reaches for process after a few steps crashes the run at that step', async () => {
    const result = await runConfig(
      withCode('let calls = 0;').replace(
        '  lrMultiplier(progress: number): number {',
        '  lrMultiplier(progress: number): number {\n    if (++calls > 12) (globalThis as any).process.exit(0);',
      ),
    );
    expect(result).toMatchObject({ status: 'crash', failure: 'config' });
    expect(result.cause).toMatch(/lrMultiplier\([\d.]+\) threw: TypeError: Cannot read properties of undefined \(reading 'exit'\)/);
    expect(fs.readFileSync(result.logPath, 'utf8')).toMatch(/^step 00005 /m); // 5 calls validate, then steps 0-6
  }, 60_000);

  test('a schedule that turns NaN late in training crashes the run with the value', async () => {
    const result = await runConfig(TINY_CONFIG.replace('  weightDecay(progress: number): number {', '  weightDecay(progress: number): number {\n    if (progress > 0.5) return NaN;'));
    expect(result).toMatchObject({ status: 'crash', failure: 'config' });
    expect(result.cause).toMatch(/weightDecay\(0\.[5-9]\d*\) returned NaN, not a finite number/);
  }, 60_000);

  test('an endless loop at import ends within seconds, saying it timed out', async () => {
    const result = await runConfig(withCode('for (;;) {}'));
    expect(result).toMatchObject({ status: 'crash', failure: 'config' });
    expect(result.cause).toMatch(/train\/config\.ts \(loading\) did not finish within 10 s \(an endless loop\?\)/);
    expect(result.wallSeconds).toBeLessThan(40);
  }, 60_000);

  test('an endless loop in a schedule ends within the call limit', async () => {
    const result = await runConfig(TINY_CONFIG.replace('  muonMomentum(step: number): number {', '  muonMomentum(step: number): number {\n    if (step > 100) for (;;) {}'));
    expect(result).toMatchObject({ status: 'crash', failure: 'config' });
    expect(result.cause).toMatch(/muonMomentum\(150\) did not finish within 1 s/);
  }, 60_000);
});

describe('what the sandbox lets a config do has no effect on the score', () => {
  test('replacing performance, Date and Object.prototype inside gives an honest result', async () => {
    const result = await runConfig(
      withCode(`const g = globalThis as any;
g.performance = { now: () => 0 };
g.Date = { now: () => 0 };
(Object.prototype as any).toFixed = () => '0.100000';
Math.max = () => 0;`),
    );
    expect(result.status).toBe('ok');
    expect(result.summary!.training_seconds).toBeGreaterThanOrEqual(BUDGET);
    expect(result.summary!.val_bpb).toBeGreaterThan(1);
    const log = fs.readFileSync(result.logPath, 'utf8');
    expect(log).toMatch(/^data verified: train\.bin \(sampled\), val\.bin \(sha256\), token_bytes\.bin \(sha256\)/m);
  }, 60_000);
});

describe("the harness's own clock", () => {
  /** Runs the tiny config with a module preloaded into the worker (a fault no config can cause). */
  async function withPreload(preload: string): Promise<ExperimentResult> {
    const file = path.join(work, `preload-${n++}.js`);
    fs.writeFileSync(file, preload);
    const saved = process.env.NODE_OPTIONS;
    process.env.NODE_OPTIONS = `${saved ?? ''} --require ${file}`.trim();
    try {
      return await runConfig(TINY_CONFIG);
    } finally {
      if (saved === undefined) delete process.env.NODE_OPTIONS;
      else process.env.NODE_OPTIONS = saved;
    }
  }

  test("a worker clock at quarter speed is caught: both numbers named", async () => {
    const result = await withPreload(`const real = performance.now.bind(performance); const t0 = real();
performance.now = () => t0 + (real() - t0) / 4;`);
    expect(result).toMatchObject({ status: 'crash', failure: 'clock', summary: null });
    const m = /the worker's clock read ([\d.]+) s for counted training \([\d.]+ s in steps\) but this process measured ([\d.]+) s \(tolerance ([\d.]+) s\)/.exec(result.cause!);
    expect(m).not.toBeNull();
    expect(Number(m![2]) - Number(m![1])).toBeGreaterThan(clockTolerance(BUDGET));
    expect(Number(m![2])).toBeGreaterThan(3 * BUDGET);
  }, 90_000);

  test('a worker clock that stops is stopped by the overrun limit', async () => {
    // The clock stops when counted training starts (the worker tells its parent so).
    const result = await withPreload(`const real = performance.now.bind(performance); let frozen = null;
performance.now = () => frozen ?? real();
const send = process.send.bind(process);
process.send = (m, ...rest) => { if (m && m.type === 'counting') frozen = real(); return send(m, ...rest); };`);
    expect(result).toMatchObject({ status: 'crash', failure: 'crash' });
    expect(result.cause).toMatch(/stopped: training ran past the 2 s budget by more than 20 s \(by this process's clock\)/);
  }, 90_000);
});

describe('the prepared data is verified, not trusted', () => {
  const tamper = async (file: string, at: number, restoreMtime: boolean) => {
    const stat = fs.statSync(file);
    fs.chmodSync(file, 0o644);
    const fd = fs.openSync(file, 'r+');
    const byte = Buffer.alloc(1);
    fs.readSync(fd, byte, 0, 1, at);
    fs.writeSync(fd, Buffer.from([byte[0]! ^ 0xff]), 0, 1, at);
    fs.closeSync(fd);
    if (restoreMtime) fs.utimesSync(file, stat.atime, stat.mtime);
    return () => {
      const fd2 = fs.openSync(file, 'r+');
      fs.writeSync(fd2, byte, 0, 1, at);
      fs.closeSync(fd2);
      fs.utimesSync(file, stat.atime, stat.mtime);
      fs.chmodSync(file, 0o444);
    };
  };

  test('prepare writes read-only files and records their digests', async () => {
    const meta = await readPreparedMeta('sotu', cache);
    const paths = datasetPaths('sotu', cache);
    expect(Object.keys(meta.files).sort()).toEqual(['token_bytes.bin', 'tokenizer.json', 'tokenizer.tiktoken', 'train.bin', 'val.bin']);
    const val = path.join(paths.tokens, 'val.bin');
    expect(fs.statSync(val).mode & 0o777).toBe(0o444);
    expect(meta.files['val.bin']!.sha256).toBe(createHash('sha256').update(fs.readFileSync(val)).digest('hex'));
    expect(meta.chosenBecause).toBe('named with --dataset sotu');
  });

  test('a changed validation byte is a data crash naming the file and the fix', async () => {
    const restore = await tamper(path.join(datasetPaths('sotu', cache).tokens, 'val.bin'), 1000, true);
    try {
      const dir = path.join(work, `exp-${n++}`);
      fs.mkdirSync(path.join(dir, 'train'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'train', 'config.ts'), TINY_CONFIG);
      const result = await runExperiment({ dir, cacheDir: cache, timeBudget: BUDGET, device: 'cpu' });
      expect(result).toMatchObject({ status: 'crash', failure: 'data' });
      expect(result.cause).toMatch(/val\.bin changed: sha256 [0-9a-f]{16}…, but prepare recorded [0-9a-f]{16}… in meta\.json: rebuild it with `autoresearch prepare --dataset sotu`/);
      expect(fs.readFileSync(result.logPath, 'utf8')).not.toMatch(/^step /m);
    } finally {
      restore();
    }
  }, 60_000);

  test('train.bin: a change in a sampled block is caught every run; anywhere, by the full check', async () => {
    const meta = await readPreparedMeta('sotu', cache);
    const train = path.join(datasetPaths('sotu', cache).tokens, 'train.bin');
    let restore = await tamper(train, 10, true);
    try {
      await expect(verifyPreparedData(meta, cache)).rejects.toThrow(/train\.bin changed: its sampled blocks differ/);
    } finally {
      restore();
    }
    // Between sampled blocks, with the mtime put back: only the full check (once per loop session) sees it.
    restore = await tamper(train, 64 * 1024 + 10, true);
    try {
      await expect(verifyPreparedData(meta, cache)).resolves.toContainEqual({ file: 'train.bin', how: 'sampled' });
      await expect(verifyPreparedData(meta, cache, { trainInFull: true })).rejects.toThrow(DataIntegrityError);
    } finally {
      restore();
    }
    // Cut to half its size.
    fs.chmodSync(train, 0o644);
    const full = fs.readFileSync(train);
    fs.truncateSync(train, Math.floor(full.length / 4) * 2);
    try {
      await expect(verifyPreparedData(meta, cache)).rejects.toThrow(/train\.bin changed: \d+ bytes, but prepare wrote \d+/);
    } finally {
      fs.writeFileSync(train, full);
      fs.utimesSync(train, new Date(), new Date(meta.files['train.bin']!.mtimeMs));
      fs.chmodSync(train, 0o444);
    }
    await expect(verifyPreparedData(meta, cache, { trainInFull: true })).resolves.toHaveLength(5);
  }, 60_000);
});

test('the loop records forging configs as crashes and never keeps them', async () => {
  const dir = path.join(work, 'loop');
  fs.mkdirSync(path.join(dir, 'train'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'train', 'config.ts'), TINY_CONFIG);
  fs.copyFileSync(path.join(root, 'program.md'), path.join(dir, 'program.md'));
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8' }).trim();
  git('init', '-q');
  git('config', 'user.name', 'Test');
  git('config', 'user.email', 'test@example.com');
  git('add', '-A');
  git('commit', '-qm', 'initial');
  const forgeries = [
    withCode(`(globalThis as any).process.stdout.write('${FAKE_BLOCK}'); (globalThis as any).process.exit(0);`),
    withCode('let calls = 0;').replace('  lrMultiplier(progress: number): number {', '  lrMultiplier(progress: number): number {\n    if (++calls > 8) (globalThis as any).process.exit(0);'),
    withCode(`const p = (function () {}).constructor('return process')();`),
  ];
  const state = path.join(work, 'loop-agent-state');
  const script = path.join(work, 'loop-agent.js');
  fs.writeFileSync(
    script,
    `const fs = require('fs');
const forgeries = ${JSON.stringify(forgeries)};
const n = fs.existsSync(${JSON.stringify(state)}) ? Number(fs.readFileSync(${JSON.stringify(state)}, 'utf8')) : 0;
fs.writeFileSync(${JSON.stringify(state)}, String(n + 1));
fs.writeFileSync('train/config.ts', forgeries[n % forgeries.length]);
console.log('forgery ' + n);
`,
  );
  const cacheBefore = snapshot(cache);
  const outcome = await researchLoop({ dir, cacheDir: cache, timeBudget: 1, device: 'cpu', tag: 'redteam', max: 3, agent: `node ${script}`, log: () => undefined });
  const rows = await readResults(dir);
  expect(rows.map((r) => r.status)).toEqual(['keep', 'crash', 'crash', 'crash']);
  expect(rows.slice(1).every((r) => r.val_bpb === null)).toBe(true);
  expect(rows[1]!.description).toMatch(/config does not load: .*reading 'stdout'/);
  expect(rows[3]!.description).toMatch(/config does not load: .*Code generation from strings disallowed/);
  expect(outcome.best!.experiment).toBe(0);
  expect(git('rev-parse', 'HEAD')).toBe(rows[0]!.commit);
  expect(snapshot(cache)).toEqual(cacheBefore);
  execFileSync('git', ['fsck', '--full', '--strict'], { cwd: dir });
}, 180_000);

// `autoresearch prepare --dataset sotu` end to end with no network: the real CLI, the
// built-in corpus, the real tokenizer and the native loader reading what prepare wrote.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { DataLoader, Tokenizer } from '../../lib';
import { checkConstants, datasetPaths, readPreparedMeta, resolvePreparedMeta, type PreparedMeta } from '../../lib/data/prepared';
import { packageRoot } from '../../lib/native/load';

const root = packageRoot();
let cache: string;

function cli(...args: string[]) {
  return cliWith({}, ...args);
}

function cliWith(env: Record<string, string>, ...args: string[]) {
  const out = spawnSync(process.execPath, ['--require', 'tsx/cjs', path.join(root, 'bin/autoresearch.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, AUTORESEARCH_CACHE_DIR: cache, ...env },
    timeout: 600_000,
  });
  return { status: out.status, stdout: out.stdout, stderr: out.stderr };
}

const savedCacheDir = process.env.AUTORESEARCH_CACHE_DIR;
beforeAll(() => {
  cache = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-prepare-'));
  process.env.AUTORESEARCH_CACHE_DIR = cache; // for the in-process reads below
});
afterAll(() => {
  fs.rmSync(cache, { recursive: true, force: true });
  if (savedCacheDir === undefined) delete process.env.AUTORESEARCH_CACHE_DIR;
  else process.env.AUTORESEARCH_CACHE_DIR = savedCacheDir;
});

describe('prepare --dataset sotu', () => {
  let meta: PreparedMeta;

  beforeAll(() => {
    const run = cli('prepare', '--dataset', 'sotu', '--vocab-size', '512', '--json');
    if (run.status !== 0) throw new Error(`prepare failed:\n${run.stderr}`);
    meta = JSON.parse(run.stdout);
  }, 600_000);

  test('records the constants and writes tokenizer and token files', async () => {
    expect(meta).toMatchObject({ dataset: 'sotu', maxSeqLen: 256, vocabSize: 512, bosId: 508, dtype: 'uint16' });
    expect(await readPreparedMeta('sotu')).toEqual(meta);
    const paths = datasetPaths('sotu');
    for (const file of ['tokenizer.tiktoken', 'tokenizer.json', 'token_bytes.bin']) {
      expect(fs.existsSync(path.join(paths.tokenizer, file))).toBe(true);
    }
    const train = fs.statSync(path.join(paths.tokens, 'train.bin')).size;
    expect(train).toBe(meta.train.tokens * 2);
    // Passages of the 233 addresses (see lib/data/sotu.ts): ~11k training, ~1.2k validation.
    expect(meta.train.documents).toBeGreaterThan(10_000);
    expect(meta.val.documents).toBeGreaterThan(1_000);
    expect(meta.val.tokens).toBeGreaterThan(meta.evalTokens);
    expect(fs.readdirSync(paths.tokens).some((f) => f.endsWith('.tmp'))).toBe(false);
  });

  test('the native loader reads the prepared files: BOS-aligned rows of real text', async () => {
    const paths = datasetPaths('sotu');
    const tokenizer = await Tokenizer.load(paths.tokenizer);
    using loader = DataLoader.open(path.join(paths.tokens, 'train.bin'), { batchSize: 4, seqLen: meta.maxSeqLen, bosId: meta.bosId, seed: 1 });
    const batch = loader.next();
    for (let b = 0; b < 4; b++) expect(batch.inputs[b * meta.maxSeqLen]).toBe(meta.bosId);
    const text = tokenizer.decode(batch.targets.subarray(0, meta.maxSeqLen));
    expect(text).toMatch(/\b(the|of|and)\b/);
  });

  test('a second run reuses the tokenizer and gives the same data', () => {
    const run = cli('prepare', '--dataset', 'sotu', '--vocab-size', '512', '--json');
    expect(run.status).toBe(0);
    expect(run.stderr).toMatch(/reusing/);
    const again = JSON.parse(run.stdout) as PreparedMeta;
    // The same data, byte for byte (the files were written again, so only their mtimes differ).
    const withoutTimes = (m: PreparedMeta) => ({ ...m, createdAt: '', files: Object.fromEntries(Object.entries(m.files).map(([k, v]) => [k, { ...v, mtimeMs: 0 }])) });
    expect(withoutTimes(again)).toEqual(withoutTimes(meta));
  }, 600_000);

  test('data of an older layout is refused with the fix, and preparing again retrains the tokenizer', async () => {
    const paths = datasetPaths('sotu');
    const current = fs.readFileSync(paths.meta, 'utf8');
    fs.writeFileSync(paths.meta, JSON.stringify({ ...JSON.parse(current), version: 1 }));
    await expect(readPreparedMeta('sotu')).rejects.toThrow(/from another version: run `autoresearch prepare --dataset sotu` again/);
    await expect(resolvePreparedMeta(undefined)).rejects.toThrow(/\('sotu'\) is from another version of autoresearch: run `autoresearch prepare --dataset sotu` again/);
    const run = cli('prepare', '--dataset', 'sotu', '--vocab-size', '512', '--json');
    expect(run.status).toBe(0);
    expect(run.stderr).not.toMatch(/reusing/);
    expect(run.stderr).toMatch(/training byte-level BPE/);
    expect((await readPreparedMeta('sotu')).version).toBe(JSON.parse(current).version);
  }, 600_000);

  test('requests that cannot be met are refused with numbers that work, leaving the data as it was', () => {
    const before = fs.readFileSync(datasetPaths('sotu').meta, 'utf8');
    const small = cli('prepare', '--dataset', 'sotu', '--vocab-size', '100');
    expect(small.status).toBe(2);
    expect(small.stderr).toMatch(/--vocab-size 100 is too small.*at least 260/);
    const big = cli('prepare', '--dataset', 'sotu', '--vocab-size', '512', '--eval-tokens', String(2 ** 30));
    expect(big.status).toBe(2);
    expect(big.stderr).toMatch(/validation split .*Use --eval-tokens \d+ or less/);
    const unknown = cli('prepare', '--dataset', 'nope');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/sotu/);
    expect(fs.readFileSync(datasetPaths('sotu').meta, 'utf8')).toBe(before);
  }, 600_000);

  test('with no dataset named, the device decides (never the network) and meta.json says why', () => {
    // A mirror that would answer is named: the choice must not depend on it.
    const run = cliWith({ AUTORESEARCH_DATA_BASE_URL: 'http://127.0.0.1:9' }, 'prepare', '--vocab-size', '512', '--json');
    expect(run.status).toBe(0);
    expect(run.stderr).toMatch(/preparing sotu: no --dataset given and this machine has no CUDA GPU/);
    const meta = JSON.parse(run.stdout) as { dataset: string; chosenBecause: string };
    expect(meta.dataset).toBe('sotu');
    expect(meta.chosenBecause).toMatch(/no CUDA GPU .*built-in offline corpus/);
  }, 600_000);

  test('a run with other constants than the prepared ones is refused', () => {
    expect(() => checkConstants(meta, { maxSeqLen: 512 })).toThrow(/MAX_SEQ_LEN 512 \(prepared: 256\).*not be comparable/);
    expect(() => checkConstants(meta, { maxSeqLen: 256, evalTokens: meta.evalTokens })).not.toThrow();
  });
});

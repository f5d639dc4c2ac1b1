// `autoresearch init`: a config scaled to the machine that validates against prepared data,
// and no silent overwrite.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ConfigError, prepare } from '../../lib';
import { init, recommendConfig } from '../../lib/internals';
import { parseKnobs } from '../../lib/config/config-source';
import { checkConfig } from '../../lib/runner/check-config';

let cache: string;
let dir: string;
beforeAll(async () => {
  cache = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-init-cache-'));
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-init-'));
  await prepare({ dataset: 'sotu', vocabSize: 512, seqLen: 128, evalTokens: 2048, cacheDir: cache, progress: false, log: () => undefined });
}, 120_000);
afterAll(() => {
  fs.rmSync(cache, { recursive: true, force: true });
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a CPU config: the sizes doctor recommends for this rate and the prepared data, which validates', async () => {
  const result = await init({ dir, cacheDir: cache, gpu: false, matmulGflops: 230 });
  const source = fs.readFileSync(path.join(dir, 'train', 'config.ts'), 'utf8');
  const knobs = parseKnobs(source);
  // 32 rows of 128 a step, in micro-batches of 16 rows (EVAL_TOKENS 2048 holds 16); the
  // prepared 512-token vocabulary makes tokens cheap, so the model is deeper than DEPTH 4.
  expect(knobs).toMatchObject({ ASPECT_RATIO: 32, HEAD_DIM: 64, WINDOW_PATTERN: 'SSSL', DEVICE_BATCH_SIZE: 16, TOTAL_BATCH_SIZE: 4096, MATRIX_LR: 0.04 });
  expect(knobs.DEPTH).toBeGreaterThan(4);
  const doctor = recommendConfig(
    { addon: { cudaAvailable: false }, matmulGflops: 230, memoryGiB: os.totalmem() / 2 ** 30, gpuMemoryGiB: null },
    { vocabSize: 512, maxSeqLen: 128, evalTokens: 2048 },
  );
  expect(knobs).toMatchObject(doctor.config);
  expect(result.scaled).toEqual({ DEPTH: knobs.DEPTH, ASPECT_RATIO: 32, HEAD_DIM: 64, DEVICE_BATCH_SIZE: 16, TOTAL_BATCH_SIZE: 4096 });
  expect(result.rule).toMatch(/deepest model/);
  expect(fs.readFileSync(path.join(dir, 'program.md'), 'utf8')).toMatch(/val_bpb/);
  const check = await checkConfig({ configPath: path.join(dir, 'train', 'config.ts'), cacheDir: cache });
  expect(check).toEqual({ ok: true, message: 'config ok' });
}, 60_000);

test('a faster CPU gets a deeper model', async () => {
  const fast = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-init-fast-'));
  try {
    const result = await init({ dir: fast, cacheDir: cache, gpu: false, matmulGflops: 2000 });
    expect(parseKnobs(fs.readFileSync(path.join(fast, 'train', 'config.ts'), 'utf8')).DEPTH).toBe(8);
    expect(result.scaled.DEPTH).toBeUndefined(); // the reference's value: not a change
  } finally {
    fs.rmSync(fast, { recursive: true, force: true });
  }
}, 60_000);

test('on a GPU the reference values stay', async () => {
  const gpuDir = path.join(dir, 'gpu');
  await init({ dir: gpuDir, cacheDir: cache, gpu: true });
  expect(parseKnobs(fs.readFileSync(path.join(gpuDir, 'train', 'config.ts'), 'utf8'))).toMatchObject({ DEPTH: 8, TOTAL_BATCH_SIZE: 2 ** 19 });
});

test('existing files are not overwritten without force', async () => {
  await expect(init({ dir, cacheDir: cache, gpu: false })).rejects.toThrow(ConfigError);
  await expect(init({ dir, cacheDir: cache, gpu: false })).rejects.toThrow(/already exists: pass --force/);
  await expect(init({ dir, cacheDir: cache, gpu: false, force: true, matmulGflops: 230 })).resolves.toBeDefined();
});

test('checkConfig reports a broken config with its cause', async () => {
  const broken = path.join(dir, 'broken.ts');
  fs.writeFileSync(broken, fs.readFileSync(path.join(dir, 'train', 'config.ts'), 'utf8').replace(/^ {2}DEPTH: \d+,/m, '  DEPTH: -4,'));
  const check = await checkConfig({ configPath: broken, cacheDir: cache });
  expect(check.ok).toBe(false);
  expect(check.message).toMatch(/DEPTH must be a positive integer \(got -4\)/);
}, 60_000);

test('without a given rate, the model is chosen by timing its training steps on this machine', async () => {
  const timedDir = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-init-timed-'));
  try {
    const lines: string[] = [];
    const result = await init({ dir: timedDir, cacheDir: cache, gpu: false, progress: (line) => lines.push(line) });
    const knobs = parseKnobs(fs.readFileSync(path.join(timedDir, 'train', 'config.ts'), 'utf8'));
    // The depth written is one that was timed and found to make its steps.
    const timing = new RegExp(`timing DEPTH ${String(knobs.DEPTH)} \\(width \\d+\\) on 32 rows of 128\\.\\.\\.\\n\\s+\\d+ ms a step: ~(\\d+) steps in 300 s \\(enough\\)`);
    const match = timing.exec(lines.join('\n'));
    expect(match).not.toBeNull();
    expect(Number(match![1])).toBeGreaterThanOrEqual(400);
    expect(result.rule).toMatch(new RegExp(`by timing its training steps here \\(.*DEPTH ${String(knobs.DEPTH)}: \\d+ ms a step`));
    expect(knobs).toMatchObject({ DEVICE_BATCH_SIZE: 16, TOTAL_BATCH_SIZE: 4096 });
    const check = await checkConfig({ configPath: path.join(timedDir, 'train', 'config.ts'), cacheDir: cache });
    expect(check).toEqual({ ok: true, message: 'config ok' });
  } finally {
    fs.rmSync(timedDir, { recursive: true, force: true });
  }
}, 120_000);

// `npm run smoke:gpu`: its refusals without a GPU, and its comparisons run CPU against CPU
// (identical by construction) so that the checks themselves are exercised here.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { runtimeInfo } from '../../lib/internals';
import { packageRoot } from '../../lib/native/load';
import {
  TOLERANCES,
  checkPeakMemory,
  compareForward,
  compareStep,
  cosine,
  learnableBatch,
  makeCheckpoint,
  readTensors,
  relativeRms,
  trainingRun,
} from '../../scripts/smoke-gpu';
import { tinyConfig } from '../helpers';

const root = packageRoot();
const info = runtimeInfo();

function gpuVisible(): boolean {
  try {
    return /^GPU /m.test(execFileSync('nvidia-smi', ['-L'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    return fs.existsSync('/proc/driver/nvidia/gpus') && fs.readdirSync('/proc/driver/nvidia/gpus').length > 0;
  }
}

let dir: string;
let checkpoint: string;
const config = tinyConfig({ vocabSize: 64 });
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-smoke-test-'));
  checkpoint = path.join(dir, 'weights.safetensors');
  await makeCheckpoint(checkpoint, config);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

(gpuVisible() ? test.skip : test)('without a GPU, npm run smoke:gpu refuses before building anything', () => {
  const out = spawnSync('bash', ['scripts/smoke-gpu.sh'], { cwd: root, encoding: 'utf8' });
  expect(out.status).toBe(2);
  expect(out.stderr).toMatch(/^smoke:gpu: no NVIDIA GPU is visible on this machine/);
  expect(out.stdout).not.toMatch(/build:native/);
});

(info.cudaAvailable ? test.skip : test)('the checks refuse an addon that cannot reach a GPU, saying why', () => {
  const out = spawnSync(process.execPath, ['--require', 'tsx/cjs', 'scripts/smoke-gpu.ts'], { cwd: root, encoding: 'utf8' });
  expect(out.status).toBe(2);
  expect(out.stderr).toMatch(
    info.build.cuda ? /no CUDA GPU is visible to libtorch .* \(CUDA build\)/ : /was built against a CPU-only libtorch/,
  );
});

test('checkpoint tensors read back as fp32', async () => {
  const tensors = await readTensors(checkpoint);
  expect(tensors.get('transformer.wte.weight')!.length).toBe(64 * 64);
  expect(tensors.get('lm_head.weight')!.some((x) => x !== 0)).toBe(true);
});

test('the measures: relative RMS error and cosine similarity', () => {
  const a = Float32Array.from([1, 2, 3]);
  expect(relativeRms(a, a)).toBe(0);
  expect(relativeRms(Float32Array.from([1, 2, 4]), a)).toBeCloseTo(1 / Math.sqrt(14), 6);
  expect(cosine(a, a)).toBeCloseTo(1, 6);
  expect(cosine(a, Float32Array.from([-1, -2, -3]))).toBeCloseTo(-1, 6);
  expect(cosine(new Float32Array(3), new Float32Array(3))).toBe(1);
});

test('forward: the same device twice agrees exactly, and fails a tolerance it cannot meet', async () => {
  const batch = learnableBatch(2, 16, 64, 3);
  const same = await compareForward(checkpoint, 'cpu', 'cpu', batch);
  expect(same.logitsRelRms).toBe(0);
  expect(same.lossTest).toBe(same.lossReference);
  expect(same.pass).toBe(true);
  const saved = TOLERANCES.forwardLogitsRelRms;
  TOLERANCES.forwardLogitsRelRms = -1;
  try {
    expect((await compareForward(checkpoint, 'cpu', 'cpu', batch)).pass).toBe(false);
  } finally {
    TOLERANCES.forwardLogitsRelRms = saved;
  }
});

test('one MuonAdamW step: every parameter compared, identical updates on the same device', async () => {
  const step = await compareStep(checkpoint, 'cpu', 'cpu', learnableBatch(2, 16, 64, 4), learnableBatch(2, 16, 64, 5), dir);
  expect(step.updates.filter((u) => u.kind === 'muon').length).toBe(2 * 6);
  expect(step.updates.map((u) => u.name)).toEqual(expect.arrayContaining(['lm_head.weight', 'transformer.wte.weight', 'x0_lambdas']));
  for (const u of step.updates) expect(u.cosine).toBeCloseTo(1, 5);
  expect(step.lossAfterTest).toBe(step.lossAfterReference);
  expect(step.lossAfterReference).toBeLessThan(Math.log(64));
  expect(step.pass).toBe(true);
});

test('the allocator check does not pass on the CPU, which has no allocator peak', () => {
  const peak = checkPeakMemory('cpu');
  expect(peak.peakLarge).toBe(-1);
  expect(peak.weightBytes).toBeGreaterThan(0);
  expect(peak.pass).toBe(false);
});

test('the timed training run learns and reports tokens/s and MFU', () => {
  // At least 150 steps, however busy the machine: the learning asserted does not depend on its speed.
  const run = trainingRun('cpu', 0.5, 1e12, () => {}, config, 4, 150);
  expect(run.steps).toBeGreaterThanOrEqual(150);
  expect(run.tokensPerSecond).toBeGreaterThan(0);
  expect(run.mfuPercent).toBeGreaterThan(0);
  expect(run.lastLoss).toBeLessThan(run.firstLoss - 1);
  expect(run.pass).toBe(true);
});

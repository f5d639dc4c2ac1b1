// val_bpb does not depend on which SIMD variant of the head's row loops the CPU picked when the
// addon loaded (native/model/softcap_cross_entropy.cc): each variant this CPU runs is forced in turn
// and a small model trained on the prepared built-in corpus is scored by each, with the same
// per-token losses to the bit and the same val_bpb. The evaluation's soft-capped exponentials
// (native/model/exact_math.h) are checked against a float64 computation with Math.exp and Math.tanh.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { DataLoader, GPT } from '../../lib';
import { prepare } from '../../lib/data/prepare';
import { datasetPaths, type PreparedMeta } from '../../lib/data/prepared';
import { EVALUATOR_VERSION } from '../../lib/runner/scorer';
import { evaluateValBpb } from '../../lib/runner/scorer';
import { fingerprint } from '../../lib/loop/fingerprint';
import { testing } from '../../lib/native/load';
import { tinyConfig } from '../helpers';

const variants = () => testing().cpuKernelVariants().available;

/** Runs fn with each available variant forced; the variant picked at load time is restored. */
async function eachVariant<R>(fn: (variant: string) => Promise<R> | R): Promise<Map<string, R>> {
  const out = new Map<string, R>();
  const initial = testing().cpuKernelVariants().active;
  try {
    for (const v of variants()) {
      testing().setCpuKernelVariant(v);
      out.set(v, await fn(v));
    }
  } finally {
    testing().setCpuKernelVariant(initial);
  }
  return out;
}

function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

/** Sum of exp(cap * tanh(u)) in float64, compensated (Kahan) so that its own rounding is negligible. */
function referenceSum(u: Float32Array, cap: number): number {
  let sum = 0;
  let carry = 0;
  for (const x of u) {
    const y = Math.exp(cap * Math.tanh(x)) - carry;
    const t = sum + y;
    carry = t - sum - y;
    sum = t;
  }
  return sum;
}

test('the variant picked at load time is the best one this CPU runs; unknown ones are refused', () => {
  const { available, active } = testing().cpuKernelVariants();
  expect(available).toContain('default');
  expect(active).toBe(available[0]);
  expect(() => testing().setCpuKernelVariant('avx9000')).toThrow(/no kernel variant 'avx9000' in this build \(it has: .*default\)/);
  expect(testing().cpuKernelVariants().active).toBe(active);
});

describe('the evaluation’s exp(cap * tanh(u)) sums', () => {
  const rand = lcg(3);
  const rows: [string, Float32Array][] = [
    // Logit-like values, a length that is not a multiple of 8 (the tail path).
    ['normal values', Float32Array.from({ length: 1001 }, () => (rand() - 0.5) * 4)],
    // Saturated, tiny, zero, exactly on the table's points and between them, beyond its range.
    ['edge values', Float32Array.from([0, -0, 1e-30, -1e-8, 1 / 64, 3 / 128, -0.5, 5, -19.99, 20, 20.5, -37, 1e4, -1e30, 7.25, 0.123456])],
  ];
  for (const cap of [15, 3.7, 60]) {
    test.each(rows)(`cap ${cap}, %s: within 1e-13 of float64 Math.exp/Math.tanh, the same bits in every variant`, async (_, u) => {
      const want = referenceSum(u, cap);
      const got = await eachVariant(() => testing().softcapExpSum(u, cap));
      for (const [variant, sum] of got) {
        expect([variant, Math.abs(sum - want) / want < 1e-13]).toEqual([variant, true]);
      }
      expect(new Set(got.values()).size).toBe(1);
    });
  }

  // A fused multiply-add changes the last bit of about one row in five of these: one row
  // alone can agree by chance, 2,000 of them cannot.
  test('2,000 short random rows: the same bits in every variant', async () => {
    const r = lcg(7);
    const rows = Array.from({ length: 2000 }, () => Float32Array.from({ length: 64 }, () => (r() - 0.5) * 4));
    const sums = await eachVariant(() => rows.map((u) => testing().softcapExpSum(u, 15)));
    const [first, ...others] = [...sums.entries()];
    for (const [variant, got] of others) {
      const differing = got.filter((sum, i) => !Object.is(sum, first![1][i])).length;
      expect([variant, differing]).toEqual([variant, 0]);
    }
  });

  test('a NaN input gives a NaN sum (and reads nothing outside the table)', () => {
    expect(testing().softcapExpSum(Float32Array.from([0.5, NaN, 1]), 15)).toBeNaN();
    expect(testing().softcapExpSum(Float32Array.from([Infinity, -Infinity]), 15)).toBeCloseTo(Math.exp(15) + Math.exp(-15), 0);
  });

  test('per-token losses are the float64 ones rounded to fp32', () => {
    // One-hot rows times a weight scaled by a cap of 16 (a power of two) give u = W[v][k] / 16
    // exactly, so the float64 loss is known to the last bit of its inputs.
    const cap = 16, C = 4, Vocab = 300, N = 12;
    const r = lcg(9);
    const weight = Float32Array.from({ length: Vocab * C }, () => (r() - 0.5) * 64);
    const x = new Float32Array(N * C);
    for (let i = 0; i < N; i++) x[i * C + (i % C)] = 1;
    const targets = Int32Array.from({ length: N }, (_, i) => (i * 37) % Vocab);
    const got = testing().softcapCrossEntropy({ x, xShape: [N, C], weight, weightShape: [Vocab, C], targets, cap }).perToken;
    for (let i = 0; i < N; i++) {
      const u = Float32Array.from({ length: Vocab }, (_, v) => weight[v * C + (i % C)]! / cap);
      const want = Math.log(referenceSum(u, cap)) - cap * Math.tanh(u[targets[i]!]!);
      expect(got[i]).toBe(Math.fround(want));
    }
  });
});

describe('val_bpb of a model trained on the prepared built-in corpus', () => {
  let cache: string;
  let meta: PreparedMeta;
  let model: GPT;

  beforeAll(async () => {
    cache = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-clones-'));
    ({ meta } = await prepare({ dataset: 'sotu', vocabSize: 512, cacheDir: cache, progress: false, log: () => {} }));
    model = GPT.create(tinyConfig({ vocabSize: meta.vocabSize, sequenceLen: meta.maxSeqLen }), { device: 'cpu', seed: 4 });
    const optimizer = model.createOptimizer();
    using loader = DataLoader.open(path.join(datasetPaths('sotu', cache).tokens, meta.train.file), {
      batchSize: 4,
      seqLen: meta.maxSeqLen,
      bosId: meta.bosId,
      dtype: meta.dtype,
    });
    for (let i = 0; i < 10; i++) model.trainStep([loader.next()], optimizer, { lrMultiplier: 1, muonMomentum: 0.95, muonWeightDecay: 0 });
  }, 300_000);

  afterAll(() => {
    model?.dispose();
    if (cache) fs.rmSync(cache, { recursive: true, force: true });
  });

  test('every variant gives the same per-token losses and val_bpb', async () => {
    const results = await eachVariant(async () => {
      const result = await evaluateValBpb(model, { meta, cacheDir: cache, batchSize: 8 });
      using val = DataLoader.open(path.join(datasetPaths('sotu', cache).tokens, meta.val.file), {
        batchSize: 8,
        seqLen: meta.maxSeqLen,
        bosId: meta.bosId,
        dtype: meta.dtype,
        shuffle: false,
      });
      return { bpb: result.bpb, nats: result.nats, perToken: await model.perTokenLoss(val.next()) };
    });
    const [first, ...others] = [...results.values()];
    expect(first!.bpb).toBeGreaterThan(1);
    expect(first!.bpb).toBeLessThan(Math.log2(meta.vocabSize));
    for (const r of others) {
      expect(r.perToken).toEqual(first!.perToken);
      expect(r.nats).toBe(first!.nats);
      expect(r.bpb.toFixed(6)).toBe(first!.bpb.toFixed(6));
    }
  });

  test('the loop’s harness fingerprint names the evaluator version', async () => {
    const fp = await fingerprint({ dataset: 'sotu', cacheDir: cache, timeBudget: 300, device: 'cpu' });
    expect(EVALUATOR_VERSION).toBe(2);
    expect(fp.harness.evaluator).toBe(EVALUATOR_VERSION);
  });

  // The check above can only fail if forcing a variant really changes the code that runs:
  // training's loop (fast polynomials, fused multiply-adds in x86-64-v3) gives other bits.
  const both = variants().includes('x86-64-v3') && variants().includes('default');
  (both ? test : test.skip)('forcing a variant changes training’s numerics (needs x86-64-v3 and default)', async () => {
    const rand = lcg(5);
    const N = 64, C = 16, Vocab = 520;
    const x = Float32Array.from({ length: N * C }, () => (rand() - 0.5) * 8);
    const weight = Float32Array.from({ length: Vocab * C }, () => (rand() - 0.5) * 2);
    const targets = Int32Array.from({ length: N }, (_, i) => (i * 7) % Vocab);
    const grads = await eachVariant(() => testing().softcapCrossEntropy({ x, xShape: [N, C], weight, weightShape: [Vocab, C], targets, cap: 15 }).gradX);
    expect(grads.get('x86-64-v3')).not.toEqual(grads.get('default'));
  });
});

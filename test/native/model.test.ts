// The GPT of SPEC §4 on the real addon: loss at init, causality, windows, GQA, learning.
import { GPT } from '../../lib';
import { testing } from '../../lib/native/load';
import { maxAbsDiff, overfit, randomBatch, tinyConfig, trainedModel } from '../helpers';

const V = 256;

test('loss at initialisation is close to ln(vocab)', () => {
  using model = GPT.create(tinyConfig(), { device: 'cpu' });
  const loss = model.forwardBackward(randomBatch(4, 32, V));
  expect(Math.abs(loss - Math.log(V))).toBeLessThan(0.05);
});

describe('causality', () => {
  for (const block of [128, 8]) {
    test(`changing token j leaves every output before j unchanged (attention block ${block})`, async () => {
      const previous = testing().setAttentionBlockSize(block);
      try {
        using model = trainedModel(tinyConfig({ windowPattern: 'L' }));
        const T = 32;
        const batch = randomBatch(1, T, V);
        const before = await model.logits(batch.inputs, 1, T);
        for (const j of [5, 17, 31]) {
          const changed = batch.inputs.slice();
          changed[j] = (changed[j]! + 1) % V;
          const after = await model.logits(changed, 1, T);
          expect(maxAbsDiff(before, after, 0, j * V)).toBe(0);
          // ...and the change is visible from j on: the model is not trivially constant.
          expect(maxAbsDiff(before, after, j * V, T * V)).toBeGreaterThan(1e-6);
        }
      } finally {
        testing().setAttentionBlockSize(previous);
      }
    });
  }
});

test('a one-layer sliding window ignores tokens beyond it', async () => {
  const w = 6;
  const T = 32;
  using model = trainedModel(tinyConfig({ nLayer: 1, windowPattern: [w] }));
  const batch = randomBatch(1, T, V, 7);
  const before = await model.logits(batch.inputs, 1, T);
  const i = 20;
  const outputOf = (logits: Float32Array) => logits.subarray(i * V, (i + 1) * V);
  // A token just outside the window (i - w - 1) does not reach position i...
  const outside = batch.inputs.slice();
  outside[i - w - 1] = (outside[i - w - 1]! + 3) % V;
  expect(maxAbsDiff(outputOf(before), outputOf(await model.logits(outside, 1, T)))).toBe(0);
  // ...the oldest token inside it (i - w) does.
  const inside = batch.inputs.slice();
  inside[i - w] = (inside[i - w]! + 3) % V;
  expect(maxAbsDiff(outputOf(before), outputOf(await model.logits(inside, 1, T)))).toBeGreaterThan(1e-6);
});

test('blocked attention gives the same outputs whatever the block length', async () => {
  using model = trainedModel(tinyConfig({ windowPattern: [5, 32] }));
  const batch = randomBatch(2, 32, V, 3);
  const previous = testing().setAttentionBlockSize(128);
  try {
    const whole = await model.logits(batch.inputs, 2, 32);
    testing().setAttentionBlockSize(7);
    const blocked = await model.logits(batch.inputs, 2, 32);
    expect(maxAbsDiff(whole, blocked)).toBeLessThan(1e-5);
  } finally {
    testing().setAttentionBlockSize(previous);
  }
});

test('GQA: key/value projections, gates and value embeddings are sized by the kv heads', () => {
  using model = GPT.create(tinyConfig({ nHead: 4, nKvHead: 1, nEmbd: 128, nLayer: 3, windowPattern: 'SSL' }), { device: 'cpu' });
  const shapes = Object.fromEntries(model.parameters().map((p) => [p.name, p.shape]));
  const D = 32;
  expect(shapes['transformer.h.0.attn.c_q.weight']).toEqual([4 * D, 128]);
  expect(shapes['transformer.h.0.attn.c_k.weight']).toEqual([1 * D, 128]);
  expect(shapes['transformer.h.0.attn.c_v.weight']).toEqual([1 * D, 128]);
  expect(shapes['transformer.h.0.attn.c_proj.weight']).toEqual([128, 4 * D]);
  // Value embeddings on layers with i % 2 == (n_layer - 1) % 2: 0 and 2 of 3.
  expect(shapes['value_embeds.0.weight']).toEqual([V, D]);
  expect(shapes['value_embeds.2.weight']).toEqual([V, D]);
  expect(shapes['value_embeds.1.weight']).toBeUndefined();
  expect(shapes['transformer.h.2.attn.ve_gate.weight']).toEqual([1, 32]);
  expect(shapes['transformer.h.1.attn.ve_gate.weight']).toBeUndefined();
  expect(Number.isFinite(model.forwardBackward(randomBatch(2, 16, V)))).toBe(true);
});

test('a tiny model overfits one fixed batch', () => {
  using model = GPT.create(tinyConfig(), { device: 'cpu', seed: 3 });
  const { first, last } = overfit(model, 40);
  expect(last).toBeLessThan(first / 4);
});

test('gradient accumulation over two halves equals one step on the whole batch', async () => {
  const config = tinyConfig();
  const whole = randomBatch(4, 32, V, 5);
  const half = (from: number) => ({
    inputs: whole.inputs.slice(from * 32, (from + 2) * 32),
    targets: whole.targets.slice(from * 32, (from + 2) * 32),
    batchSize: 2,
    seqLen: 32,
  });
  const settings = { lrMultiplier: 1, muonMomentum: 0.95, muonWeightDecay: 0.1 };
  using a = GPT.create(config, { device: 'cpu', seed: 9 });
  using b = GPT.create(config, { device: 'cpu', seed: 9 });
  // Adam's first step is ~lr * sign(g): rounding noise in near-zero gradients would flip
  // whole updates, so the Adam groups get tiny rates and the comparison rests on Muon.
  const adamQuiet = { embeddingLr: 1e-6, unembeddingLr: 1e-6, scalarLr: 1e-6 };
  a.trainStep([whole], a.createOptimizer(adamQuiet), settings);
  b.trainStep([half(0), half(2)], b.createOptimizer(adamQuiet), settings);
  const probe = randomBatch(1, 32, V, 6);
  expect(maxAbsDiff(await a.logits(probe.inputs, 1, 32), await b.logits(probe.inputs, 1, 32))).toBeLessThan(1e-4);
});

test('training is deterministic on the CPU for a seed', () => {
  const run = () => {
    using model = GPT.create(tinyConfig(), { device: 'cpu', seed: 123 });
    const optimizer = model.createOptimizer();
    const losses: number[] = [];
    for (let i = 0; i < 4; i++) {
      losses.push(model.trainStep([randomBatch(2, 32, V, 20 + i)], optimizer, { lrMultiplier: 1, muonMomentum: 0.9, muonWeightDecay: 0.1 }));
    }
    return losses;
  };
  expect(run()).toEqual(run());
});

test('parameter counts follow the reference breakdown and FLOPs follow SPEC §4', () => {
  const config = tinyConfig({ nLayer: 2, windowPattern: 'SL' });
  using model = GPT.create(config, { device: 'cpu' });
  const C = 64;
  const kv = 2 * 32;
  const perLayer = C * C + kv * C * 2 + C * C + 4 * C * C * 2;
  const counts = model.paramCounts();
  expect(counts.wte).toBe(V * C);
  expect(counts.lmHead).toBe(V * C);
  expect(counts.valueEmbeds).toBe(V * kv); // layer 1 only
  expect(counts.transformerMatrices).toBe(2 * perLayer + 32 * 2); // + one ve_gate
  expect(counts.scalars).toBe(4);
  expect(counts.total).toBe(counts.wte + counts.lmHead + counts.valueEmbeds + counts.transformerMatrices + counts.scalars);
  const dense = 6 * (counts.total - counts.wte - counts.valueEmbeds - counts.scalars);
  const attention = 12 * 2 * 32 * (16 + 32);
  expect(model.flopsPerToken()).toBe(dense + attention);
});

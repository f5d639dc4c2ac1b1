// The research directions beyond the reference, each off by default: MLP activation, value
// embeddings off, soft-cap value or off, rotary base, MLP expansion ratio.
import { GPT } from '../../lib';
import { maxAbsDiff, overfit, randomBatch, tinyConfig, trainedModel } from '../helpers';

const V = 256;
const names = (model: GPT) => model.parameters().map((p) => p.name);

for (const activation of ['swiglu', 'gelu'] as const) {
  test(`${activation} MLP trains and differs from relu2`, async () => {
    using model = trainedModel(tinyConfig({ mlpActivation: activation }), 3);
    using reference = trainedModel(tinyConfig(), 3);
    const probe = randomBatch(1, 32, V, 9);
    expect(maxAbsDiff(await model.logits(probe.inputs, 1, 32), await reference.logits(probe.inputs, 1, 32))).toBeGreaterThan(1e-4);
    expect(names(model).includes('transformer.h.0.mlp.c_gate.weight')).toBe(activation === 'swiglu');
    // ...and it learns: overfits one fixed batch.
    const { first, last } = overfit(model, 30);
    expect(last).toBeLessThan(first / 2);
  });
}

test('value embeddings can be turned off', () => {
  using model = GPT.create(tinyConfig({ valueEmbeds: false }), { device: 'cpu' });
  expect(names(model).some((n) => n.startsWith('value_embeds') || n.includes('ve_gate'))).toBe(false);
  expect(model.paramCounts().valueEmbeds).toBe(0);
  expect(model.createOptimizer().groups().some((g) => g.name === 'value_embeds')).toBe(false);
  expect(Number.isFinite(model.forwardBackward(randomBatch(2, 16, V)))).toBe(true);
});

test('the soft-cap bounds the logits and can be turned off', async () => {
  const probe = randomBatch(1, 32, V, 4);
  using capped = trainedModel(tinyConfig({ softcap: 0.01 }), 3);
  const logits = await capped.logits(probe.inputs, 1, 32);
  expect(Math.max(...logits.map(Math.abs))).toBeLessThanOrEqual(0.01);
  using uncapped = trainedModel(tinyConfig({ softcap: false }), 3);
  const raw = await uncapped.logits(probe.inputs, 1, 32);
  expect(Math.max(...raw.map(Math.abs))).toBeGreaterThan(0.01);
});

test('the rotary base changes the attention pattern', async () => {
  const probe = randomBatch(1, 32, V, 5);
  using a = trainedModel(tinyConfig({ rotaryBase: 10000 }), 3);
  using b = trainedModel(tinyConfig({ rotaryBase: 100 }), 3);
  expect(maxAbsDiff(await a.logits(probe.inputs, 1, 32), await b.logits(probe.inputs, 1, 32))).toBeGreaterThan(1e-5);
});

test('the MLP expansion ratio sets the hidden size', () => {
  using model = GPT.create(tinyConfig({ mlpRatio: 2 }), { device: 'cpu' });
  const fc = model.parameters().find((p) => p.name === 'transformer.h.0.mlp.c_fc.weight')!;
  expect(fc.shape).toEqual([128, 64]);
});

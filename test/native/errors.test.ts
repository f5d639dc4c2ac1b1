// Bad input becomes a readable Error and never takes the process down.
import { ConfigError, DisposedError, evaluateBpb, GPT } from '../../lib';
import { addon } from '../../lib/native/load';
import { randomBatch, tinyConfig } from '../helpers';

test('heads that do not divide the width', () => {
  expect(() => GPT.create(tinyConfig({ nHead: 3 }), { device: 'cpu' })).toThrow(ConfigError);
  expect(() => GPT.create(tinyConfig({ nHead: 3 }), { device: 'cpu' })).toThrow(/nHead 3 does not divide the model width 64/);
  // The native check says the same when handed the raw numbers.
  const raw = { vocabSize: 256, sequenceLen: 32, nLayer: 1, nHead: 3, nKvHead: 3, nEmbd: 64, windows: [32], mlpActivation: 'relu2' as const, mlpRatio: 4, valueEmbeds: true, softcap: 15, rotaryBase: 10000 };
  expect(() => new (addon().NativeModel)(raw, { device: 'cpu', seed: 1 })).toThrow(/n_head 3 does not divide model_dim 64/);
});

test('the native configs have no defaults: a missing field is named', () => {
  const raw = { vocabSize: 256, sequenceLen: 32, nLayer: 1, nHead: 2, nKvHead: 2, nEmbd: 64, windows: [32], mlpActivation: 'relu2' as const, mlpRatio: 4, valueEmbeds: true, softcap: 15, rotaryBase: 10000 };
  const { NativeModel, NativeOptimizer } = addon();
  const { mlpRatio: _, ...noRatio } = raw;
  expect(() => new NativeModel(noRatio as typeof raw, { device: 'cpu', seed: 1 })).toThrow(/model config\.mlpRatio is missing/);
  expect(() => new NativeModel({ ...raw, mlpActivation: 'tanh' as 'relu2' }, { device: 'cpu', seed: 1 })).toThrow(/mlp_activation must be relu2, swiglu or gelu \(got 'tanh'\)/);
  expect(() => new NativeModel(raw, { device: 'cpu' } as { device: string; seed: number })).toThrow(/options\.seed must be a number/);
  const model = new NativeModel(raw, { device: 'cpu', seed: 1 });
  try {
    const config = { embeddingLr: 0.6, unembeddingLr: 0.004, matrixLr: 0.04, scalarLr: 0.5, weightDecay: 0.2, beta1: 0.8, beta2: 0.95, adamEps: 1e-10, muonBeta2: 0.95, nsSteps: 5 };
    const { adamEps: __, ...noEps } = config;
    expect(() => new NativeOptimizer(model, noEps as typeof config)).toThrow(/optimizer config\.adamEps is missing/);
    const optimizer = new NativeOptimizer(model, config);
    expect(() => optimizer.step({ lrMultiplier: 1, muonMomentum: 0.95 } as { lrMultiplier: number; muonMomentum: number; muonWeightDecay: number })).toThrow(
      /step settings\.muonWeightDecay is missing/,
    );
    optimizer.dispose();
  } finally {
    model.dispose();
  }
});

test('kv heads that do not divide the heads', () => {
  expect(() => GPT.create(tinyConfig({ nHead: 4, nKvHead: 3 }), { device: 'cpu' })).toThrow(/nKvHead 3 must divide nHead 4: one of 1, 2, 4/);
});

test('a window list of the wrong length or a bad pattern', () => {
  expect(() => GPT.create(tinyConfig({ windowPattern: [8] }), { device: 'cpu' })).toThrow(/1 windows for 2 layers/);
  expect(() => GPT.create(tinyConfig({ windowPattern: 'SXL' }), { device: 'cpu' })).toThrow(/only contain S .* and L/);
});

test('token ids outside the vocabulary', () => {
  using model = GPT.create(tinyConfig(), { device: 'cpu' });
  const batch = randomBatch(2, 8, 256);
  batch.inputs[3] = 256;
  expect(() => model.forwardBackward(batch)).toThrow(/inputs\[3\] = 256 is outside the vocabulary \[0, 256\)/);
  batch.inputs[3] = -1;
  expect(() => model.forwardBackward(batch)).toThrow(/inputs\[3\] = -1 is outside/);
  const ok = randomBatch(2, 8, 256);
  ok.targets[0] = 300;
  expect(() => model.forwardBackward(ok)).toThrow(/targets\[0\] = 300/);
  ok.targets[0] = -1; // ignored positions are fine
  expect(Number.isFinite(model.forwardBackward(ok))).toBe(true);
});

test('batch shapes that do not match the data', async () => {
  using model = GPT.create(tinyConfig(), { device: 'cpu' });
  const batch = randomBatch(2, 8, 256);
  expect(() => model.forwardBackward({ ...batch, batchSize: 3 })).toThrow(/has 16 ids but batchSize 3 x seqLen 8 = 24/);
  expect(() => model.forwardBackward({ ...batch, inputs: new Float32Array(16) as unknown as Int32Array })).toThrow(/must be an Int32Array/);
  expect(() => model.forwardBackward({ ...batch, seqLen: 0 })).toThrow(/seqLen must be at least 1/);
  await expect(model.logits(batch.inputs, 2, 9)).rejects.toThrow(/has 16 ids/);
  expect(() => model.forwardBackward({ inputs: new Int32Array(400 * 2), targets: new Int32Array(400 * 2), batchSize: 2, seqLen: 400 })).toThrow(/exceeds the rotary table/);
});

test('token_bytes that do not match the vocabulary', async () => {
  using model = GPT.create(tinyConfig(), { device: 'cpu' });
  await expect(evaluateBpb(model, [randomBatch(1, 8, 256)], new Int32Array(10))).rejects.toThrow(/tokenBytes has 10 entries, the vocabulary 256/);
});

test('an unknown device, or CUDA on a CPU-only build', () => {
  expect(() => GPT.create(tinyConfig(), { device: 'tpu' })).toThrow(/unknown device 'tpu'/);
  if (!addon().runtimeInfo().cudaAvailable) {
    expect(() => GPT.create(tinyConfig(), { device: 'cuda' })).toThrow(/use device 'cpu'/);
  }
});

test('using a model while an evaluation runs, or after dispose', async () => {
  const model = GPT.create(tinyConfig(), { device: 'cpu' });
  const batch = randomBatch(1, 8, 256);
  const pending = model.logits(batch.inputs, 1, 8);
  expect(() => model.forwardBackward(batch)).toThrow(/busy with logits\(\); await it first/);
  await pending;
  expect(Number.isFinite(model.forwardBackward(batch))).toBe(true);
  const optimizer = model.createOptimizer();
  model.dispose();
  expect(() => model.forwardBackward(batch)).toThrow(DisposedError);
  expect(() => optimizer.step({ lrMultiplier: 1, muonMomentum: 0.95, muonWeightDecay: 0 })).toThrow(DisposedError);
  model.dispose(); // twice is fine
});

test('invalid optimizer settings', () => {
  using model = GPT.create(tinyConfig(), { device: 'cpu' });
  expect(() => model.createOptimizer({ adamBetas: [1.5, 0.9] })).toThrow(/betas must lie in \[0, 1\)/);
  const optimizer = model.createOptimizer();
  expect(() => optimizer.step({ lrMultiplier: 1, muonMomentum: 1.2, muonWeightDecay: 0 })).toThrow(/muonMomentum must lie in \[0, 1\)/);
  expect(() => optimizer.step({ lrMultiplier: Number.NaN, muonMomentum: 0.9, muonWeightDecay: 0 })).toThrow(/lrMultiplier must be finite/);
});

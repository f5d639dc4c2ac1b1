// safetensors checkpoints: header layout, bit-exact round trip, refusal of bad files.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { CheckpointError, GPT } from '../../lib';
import { readCheckpointHeader } from '../../lib/internals';
import { maxAbsDiff, randomBatch, tinyConfig, trainedModel } from '../helpers';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-ckpt-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('the header follows safetensors with the reference parameter names and the config', async () => {
  const config = tinyConfig({ nLayer: 2 });
  using model = GPT.create(config, { device: 'cpu' });
  const file = path.join(dir, 'header.safetensors');
  await model.save(file);
  const bytes = fs.readFileSync(file);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  expect(headerLength % 8).toBe(0);
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
  expect(header.__metadata__.format).toBe('pt');
  expect(JSON.parse(header.__metadata__['autoresearch.model_config'])).toEqual(config);
  expect(header['transformer.wte.weight']).toEqual({ dtype: 'F32', shape: [256, 64], data_offsets: expect.any(Array) });
  for (const name of [
    'transformer.h.0.attn.c_q.weight',
    'transformer.h.0.attn.c_k.weight',
    'transformer.h.0.attn.c_v.weight',
    'transformer.h.0.attn.c_proj.weight',
    'transformer.h.1.attn.ve_gate.weight',
    'transformer.h.0.mlp.c_fc.weight',
    'transformer.h.0.mlp.c_proj.weight',
    'lm_head.weight',
    'resid_lambdas',
    'x0_lambdas',
    'value_embeds.1.weight',
  ]) {
    expect(header[name]).toBeDefined();
  }
  // Data section size is the sum of all tensors, offsets contiguous.
  const entries = Object.entries(header).filter(([k]) => k !== '__metadata__') as [string, { data_offsets: number[] }][];
  const end = Math.max(...entries.map(([, e]) => e.data_offsets[1]!));
  expect(bytes.length).toBe(8 + headerLength + end);
  // Values are the model's: resid_lambdas start at 1.0 (fp32 little-endian).
  const start = 8 + headerLength + header.resid_lambdas.data_offsets[0];
  expect(bytes.readFloatLE(start)).toBe(1);
});

test('save then load is bit-exact', async () => {
  const config = tinyConfig();
  const file = path.join(dir, 'roundtrip.safetensors');
  using trained = trainedModel(config, 3, 5);
  await trained.save(file);
  using fresh = GPT.create(config, { device: 'cpu', seed: 999 });
  const probe = randomBatch(2, 32, 256, 4);
  const expected = await trained.logits(probe.inputs, 2, 32);
  expect(maxAbsDiff(await fresh.logits(probe.inputs, 2, 32), expected)).toBeGreaterThan(0);
  await fresh.loadWeights(file);
  expect(maxAbsDiff(await fresh.logits(probe.inputs, 2, 32), expected)).toBe(0);
  // Saving the loaded model reproduces the file byte for byte.
  const again = path.join(dir, 'again.safetensors');
  await fresh.save(again);
  expect(fs.readFileSync(again).equals(fs.readFileSync(file))).toBe(true);
  // GPT.load builds the model from the stored config.
  using loaded = await GPT.load(file, { device: 'cpu' });
  expect(loaded.config).toEqual(config);
  expect(maxAbsDiff(await loaded.logits(probe.inputs, 2, 32), expected)).toBe(0);
});

describe('bad checkpoints are refused and leave the model untouched', () => {
  const config = tinyConfig();
  let good: string;
  beforeAll(async () => {
    good = path.join(dir, 'good.safetensors');
    using model = trainedModel(config, 2, 8);
    await model.save(good);
  });

  const cases: [string, () => string, RegExp][] = [
    ['missing', () => path.join(dir, 'nope.safetensors'), /does not exist/],
    ['truncated', () => {
      const f = path.join(dir, 'truncated.safetensors');
      const b = fs.readFileSync(good);
      fs.writeFileSync(f, b.subarray(0, b.length - 100));
      return f;
    }, /truncated/],
    ['not safetensors', () => {
      const f = path.join(dir, 'garbage.safetensors');
      fs.writeFileSync(f, 'this is not a checkpoint at all, just text');
      return f;
    }, /not a safetensors file|not valid JSON/],
    ['corrupt header', () => {
      const f = path.join(dir, 'badjson.safetensors');
      const b = Buffer.from(fs.readFileSync(good));
      b.write('{{{{', 8);
      fs.writeFileSync(f, b);
      return f;
    }, /not valid JSON/],
    ['another model shape', () => path.join(dir, 'other.safetensors'), /shape/],
  ];

  beforeAll(async () => {
    using other = GPT.create(tinyConfig({ nEmbd: 128 }), { device: 'cpu' });
    await other.save(path.join(dir, 'other.safetensors'));
  });

  for (const [name, make, message] of cases) {
    test(name, async () => {
      using model = GPT.create(config, { device: 'cpu', seed: 1 });
      const probe = randomBatch(1, 32, 256, 2);
      const before = await model.logits(probe.inputs, 1, 32);
      const file = make();
      const err = await model.loadWeights(file).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CheckpointError);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).toContain(file);
      expect(maxAbsDiff(await model.logits(probe.inputs, 1, 32), before)).toBe(0);
    });
  }

  test('readCheckpointHeader lists tensors in file order', async () => {
    const header = await readCheckpointHeader(good);
    expect(header.entries[0]!.begin).toBe(0);
    for (let i = 1; i < header.entries.length; i++) expect(header.entries[i]!.begin).toBe(header.entries[i - 1]!.end);
  });
});

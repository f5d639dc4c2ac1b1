// The evaluator contract (SPEC §6): val_bpb = sum(loss * [bytes > 0]) / (ln 2 * sum(bytes)).
import { evaluateBpb, GPT } from '../../lib';
import { bitsPerByte, measureMatmulFlopsSync } from '../../lib/internals';
import { testing } from '../../lib/native/load';
import { randomBatch, tinyConfig } from '../helpers';

test('bpb sums on a constructed case equal the hand computation', () => {
  // vocab of 6: id 0 is a special token (0 bytes), the others 1..4 bytes.
  const tokenBytes = Int32Array.from([0, 1, 2, 3, 4, 2]);
  const loss = Float32Array.from([1.5, 2.0, 0.5, 3.0, 0.25, 9.0]);
  const targets = Int32Array.from([1, 0, 3, -1, 4, 5]);
  const sums = testing().bpbSums(loss, targets, tokenBytes);
  // counted: positions 0 (1 byte), 2 (3 bytes), 4 (4 bytes), 5 (2 bytes); 1 is special, 3 ignored.
  expect(sums.tokens).toBe(4);
  expect(sums.bytes).toBe(1 + 3 + 4 + 2);
  expect(sums.nats).toBeCloseTo(1.5 + 0.5 + 0.25 + 9.0, 6);
  expect(bitsPerByte(sums).bpb).toBeCloseTo(11.25 / (Math.LN2 * 10), 10);
});

test('bitsPerByte refuses to divide by zero bytes', () => {
  expect(() => bitsPerByte({ nats: 1, bytes: 0, tokens: 0 })).toThrow(/no target token/);
});

test("a model's val_bpb equals the hand computation from its per-token losses", async () => {
  using model = GPT.create(tinyConfig(), { device: 'cpu' });
  const V = 256;
  const tokenBytes = Int32Array.from({ length: V }, (_, id) => (id < 4 ? 0 : 1 + (id % 3)));
  const batches = [randomBatch(2, 32, V, 1), randomBatch(2, 32, V, 2)];
  batches[0]!.targets[5] = -1;
  let nats = 0;
  let bytes = 0;
  for (const batch of batches) {
    const losses = await model.perTokenLoss(batch);
    batch.targets.forEach((t, i) => {
      const b = t < 0 ? 0 : tokenBytes[t]!;
      if (b > 0) nats += losses[i]!;
      bytes += b;
    });
  }
  const result = await evaluateBpb(model, batches, tokenBytes);
  expect(result.bytes).toBe(bytes);
  expect(result.bpb).toBeCloseTo(nats / (Math.LN2 * bytes), 5);
  expect(result.bpb).toBeGreaterThan(0);
});

test('on the calling thread (bpbSumsSync, onThisThread) the sums are the thread pool\'s', async () => {
  using model = GPT.create(tinyConfig(), { device: 'cpu', seed: 3 });
  const tokenBytes = Int32Array.from({ length: 256 }, (_, id) => (id < 4 ? 0 : 1 + (id % 3)));
  const batch = randomBatch(3, 32, 256, 4);
  expect(model.bpbSumsSync(batch, tokenBytes)).toEqual(await model.bpbSums(batch, tokenBytes));
  const sync = await evaluateBpb({ bpbSums: async (b, t) => model.bpbSumsSync(b, t) }, [batch, randomBatch(3, 32, 256, 5)], tokenBytes);
  expect(sync).toEqual(await evaluateBpb(model, [batch, randomBatch(3, 32, 256, 5)], tokenBytes));
  const flops = measureMatmulFlopsSync(256, 2, 'cpu');
  expect(Number.isFinite(flops) && flops > 1e6).toBe(true);
});

// Soft-cap 15 takes the evaluator's fast path (no max pass), 100 the logsumexp one; false: none.
test.each([15, 100, false] as const)('per-token losses (in chunks of rows, soft-cap %s) equal cross entropy of the full logits', async (softcap) => {
  using model = GPT.create(tinyConfig({ softcap }), { device: 'cpu', seed: 5 });
  const V = 256;
  const batch = randomBatch(5, 32, V, 9); // 160 rows: several chunks and a partial one
  batch.targets[7] = -1;
  const logits = await model.logits(batch.inputs, 5, 32);
  const losses = await model.perTokenLoss(batch);
  for (let i = 0; i < 160; i++) {
    const row = logits.subarray(i * V, (i + 1) * V);
    const max = Math.max(...row);
    const lse = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
    const t = batch.targets[i]!;
    expect(losses[i]).toBeCloseTo(t < 0 ? 0 : lse - row[t]!, 4);
  }
});

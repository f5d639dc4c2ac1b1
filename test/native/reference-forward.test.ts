// The addon's forward pass against an independent float64 TypeScript forward pass of the same
// weights (test/reference/gpt64.ts): logits, per-token losses (the evaluation's path), the
// training loss and the bits-per-byte sums, within 1e-5 relative. At the SPEC initialisation
// both output projections and the value-embedding gates are zero, so attention and the MLP
// would never reach the output; the weights are perturbed first (written through a
// checkpoint), and each perturbed part is shown to move the reference's logits by far more
// than the tolerance, so the comparison does see it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { GPT, type ModelConfig } from '../../lib';
import { testing } from '../../lib/native/load';
import { randomBatch } from '../helpers';
import { hasValueEmbed, patternWindows, referenceLogits, referenceLosses, type ReferenceConfig } from '../reference/gpt64';
import { readWeightsFile, toFloat64, writeWeightsFile } from '../reference/weights';

const TOLERANCE = 1e-5;

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-reference-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function uniform(seed: number): (scale: number) => number {
  let s = seed >>> 0 || 1;
  return (scale) => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return ((s / 4294967296) * 2 - 1) * scale;
  };
}

/**
 * The model's weights with every zero-initialised part made non-zero (attention and MLP output
 * projections, value-embedding gates), the lambdas moved off 1 and 0.1, and the head scaled up
 * so that the logits reach the soft-cap's curved part (|z| of tens at a cap of 15).
 */
function perturbed(weights: Map<string, Float32Array>, config: ModelConfig, seed: number): Map<string, Float32Array> {
  const rand = uniform(seed);
  const out = new Map(weights);
  const hidden = Math.round(config.mlpRatio * config.nEmbd);
  for (const [name, w] of weights) {
    let scale = 0;
    if (/attn\.c_proj/.test(name)) scale = Math.sqrt(3 / config.nEmbd);
    else if (/mlp\.c_proj/.test(name)) scale = Math.sqrt(3 / hidden);
    else if (/ve_gate/.test(name)) scale = 0.5;
    else if (name === 'lm_head.weight') scale = 3;
    if (scale > 0) out.set(name, Float32Array.from(w, () => rand(scale)));
  }
  out.set('resid_lambdas', Float32Array.from(weights.get('resid_lambdas')!, () => 1 + rand(0.3)));
  out.set('x0_lambdas', Float32Array.from(weights.get('x0_lambdas')!, () => 0.1 + rand(0.3)));
  return out;
}

function referenceConfig(c: ModelConfig): ReferenceConfig {
  return {
    vocabSize: c.vocabSize,
    nLayer: c.nLayer,
    nHead: c.nHead,
    nKvHead: c.nKvHead,
    nEmbd: c.nEmbd,
    windows: Array.isArray(c.windowPattern) ? c.windowPattern : patternWindows(c.windowPattern, c.nLayer, c.sequenceLen),
    softcap: c.softcap === false ? 0 : c.softcap,
    rotaryBase: c.rotaryBase,
    mlpActivation: c.mlpActivation === 'swiglu' ? 'swiglu' : 'relu2',
    mlpRatio: c.mlpRatio,
    valueEmbeds: c.valueEmbeds,
  };
}

/** max |a - b| over max |b|: the error relative to the values' scale. */
function relativeToScale(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

/** The largest elementwise relative error (all reference values are well away from 0). */
function maxRelative(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) m = Math.max(m, Math.abs(a[i]! - b[i]!) / Math.abs(b[i]!));
  return m;
}

interface Case {
  title: string;
  config: ModelConfig;
}

const cases: Case[] = [
  {
    // SPEC's model: relu^2, value embeddings (on layer 1 of 2), GQA (4 query heads on 2 kv
    // heads), a half-context window (16 of 32) on layer 0 and the full one on layer 1, cap 15.
    title: 'SPEC model: 2 layers, GQA 4/2, windows S and L, value embeddings, soft-cap 15',
    config: {
      vocabSize: 256, sequenceLen: 32, nLayer: 2, nHead: 4, nKvHead: 2, nEmbd: 64,
      windowPattern: 'SL', mlpActivation: 'relu2', mlpRatio: 4, valueEmbeds: true, softcap: 15, rotaryBase: 10000,
    },
  },
  {
    title: 'options: 3 layers, one kv head, windows 5/11/32, SwiGLU, no soft-cap',
    config: {
      vocabSize: 200, sequenceLen: 32, nLayer: 3, nHead: 2, nKvHead: 1, nEmbd: 64,
      windowPattern: [5, 11, 32], mlpActivation: 'swiglu', mlpRatio: 2, valueEmbeds: true, softcap: false, rotaryBase: 500,
    },
  },
];

describe.each(cases)('$title', ({ config }) => {
  let model: GPT;
  let weights: Map<string, Float64Array>;
  const ref = referenceConfig(config);
  const B = 2;
  const T = config.sequenceLen;
  const batch = randomBatch(B, T, config.vocabSize, 21);
  // Some ignored targets, as the loader never makes them but the loss must handle.
  batch.targets[3] = -1;
  batch.targets[T + 30] = -1;

  beforeAll(async () => {
    model = GPT.create(config, { device: 'cpu', seed: 7 });
    const initial = path.join(dir, 'initial.safetensors');
    await model.save(initial);
    const changed = perturbed(await readWeightsFile(initial), config, 99);
    const file = path.join(dir, 'perturbed.safetensors');
    await writeWeightsFile(file, model.parameters(), config, changed);
    await model.loadWeights(file);
    // What the model holds now is what the reference gets.
    const roundTrip = path.join(dir, 'loaded.safetensors');
    await model.save(roundTrip);
    const loaded = await readWeightsFile(roundTrip);
    for (const [name, w] of changed) expect(loaded.get(name)).toEqual(w);
    weights = toFloat64(loaded);
  });
  afterAll(() => model?.dispose());

  test('each perturbed part moves the reference logits far beyond the tolerance', () => {
    const base = referenceLogits(ref, weights, batch.inputs, B, T);
    const without = (pattern: RegExp, value: (w: Float64Array) => Float64Array) => {
      const w = new Map(weights);
      for (const [name, v] of weights) if (pattern.test(name)) w.set(name, value(v));
      return relativeToScale(referenceLogits(ref, w, batch.inputs, B, T), base);
    };
    const zero = (v: Float64Array) => new Float64Array(v.length);
    expect(without(/attn\.c_proj/, zero)).toBeGreaterThan(1000 * TOLERANCE);
    expect(without(/mlp\.c_proj/, zero)).toBeGreaterThan(1000 * TOLERANCE);
    expect(without(/ve_gate/, zero)).toBeGreaterThan(1000 * TOLERANCE);
    // The windows matter: the same weights with every layer at full context...
    const full = referenceLogits({ ...ref, windows: ref.windows.map(() => T) }, weights, batch.inputs, B, T);
    expect(relativeToScale(full, base)).toBeGreaterThan(1000 * TOLERANCE);
    // ...and so does their convention: keys i - w + 1 ... i (one fewer) is another model.
    const shorter = referenceLogits({ ...ref, windows: ref.windows.map((w) => w - 1) }, weights, batch.inputs, B, T);
    expect(relativeToScale(shorter, base)).toBeGreaterThan(1000 * TOLERANCE);
    expect(ref.windows.some((w) => w < T - 1)).toBe(true);
    expect(Array.from({ length: ref.nLayer }, (_, i) => hasValueEmbed(ref, i))).toContain(true);
  });

  for (const block of [128, 7]) {
    test(`logits within ${TOLERANCE} of the float64 reference (attention blocks of ${block})`, async () => {
      const previous = testing().setAttentionBlockSize(block);
      try {
        const got = await model.logits(batch.inputs, B, T);
        const want = referenceLogits(ref, weights, batch.inputs, B, T);
        expect(relativeToScale(got, want)).toBeLessThan(TOLERANCE);
        // The cap is really curved here: logits reach more than half of it.
        if (ref.softcap > 0) expect(Math.max(...want.map(Math.abs))).toBeGreaterThan(ref.softcap / 2);
      } finally {
        testing().setAttentionBlockSize(previous);
      }
    });
  }

  test(`per-token losses, training loss and bpb sums within ${TOLERANCE} of the reference`, async () => {
    const want = referenceLosses(referenceLogits(ref, weights, batch.inputs, B, T), batch.targets, config.vocabSize);
    const perToken = await model.perTokenLoss(batch);
    expect(maxRelative(perToken, want)).toBeLessThan(TOLERANCE);
    expect(perToken[3]).toBe(0);

    const counted = Array.from(batch.targets).filter((t) => t >= 0).length;
    const meanWant = want.reduce((a, b) => a + b, 0) / counted;
    const trainLoss = model.forwardBackward(batch);
    expect(Math.abs(trainLoss - meanWant) / meanWant).toBeLessThan(TOLERANCE);

    // Bytes per token: 1 + id % 4, with two "special" tokens of 0 bytes.
    const tokenBytes = Int32Array.from({ length: config.vocabSize }, (_, id) => (id < 2 ? 0 : 1 + (id % 4)));
    const sums = await model.bpbSums(batch, tokenBytes);
    let nats = 0;
    let bytes = 0;
    batch.targets.forEach((t, i) => {
      if (t < 0 || tokenBytes[t] === 0) return;
      nats += want[i]!;
      bytes += tokenBytes[t]!;
    });
    expect(sums.bytes).toBe(bytes);
    expect(Math.abs(sums.nats - nats) / nats).toBeLessThan(TOLERANCE);
  });
});

// The addon's MuonAdamW against an independent float64 TypeScript implementation of SPEC §5
// (test/reference/muon-adamw64.ts): its parameter groups, learning rates (with the width
// scaling) and betas, and whole optimizer steps of a small model, fed the addon's own
// gradients. Also: a parameter without a gradient is skipped (weights, optimizer state and its
// AdamW step count stay), as PyTorch's optimizers skip `p.grad is None`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { buildHeader } from '../../lib/model/checkpoint';
import { toNativeConfig } from '../../lib/config/model-config';
import type { NativeModel, NativeOptimizer, NativeOptimizerConfig, NativeStepSettings } from '../../lib/native/addon';
import { addon, testing } from '../../lib/native/load';
import { randomBatch, tinyConfig } from '../helpers';
import { ReferenceMuonAdamW } from '../reference/muon-adamw64';
import { readWeightsFile } from '../reference/weights';

// 2 layers of width 64, 4 query heads on 2 kv heads (head_dim 16), value embeddings on layer 1:
// Muon groups of shapes 2x32 (the one gate), 32x64 (c_k, c_v), 64x64 (c_q, attn c_proj),
// 64x256 (mlp c_proj) and 256x64 (c_fc).
const config = tinyConfig({ nHead: 4, nKvHead: 2 });
const V = config.vocabSize;
const T = config.sequenceLen;

// Not the defaults, so that each rate and beta is seen to come from the config.
const optimizerConfig: NativeOptimizerConfig = {
  embeddingLr: 0.5,
  unembeddingLr: 0.01,
  matrixLr: 0.03,
  scalarLr: 0.4,
  weightDecay: 0.2,
  beta1: 0.85,
  beta2: 0.9,
  adamEps: 1e-10,
  muonBeta2: 0.95,
  nsSteps: 5,
};

// Largest error of an update, relative to the update's own scale (the addon computes in fp32,
// Muon's orthogonalisation included; seen: ~4e-5 for resid_lambdas, whose fp32 weights near 1
// round their small updates, and ~1e-5 for the Muon matrices).
const TOLERANCE = { adamw: 1e-4, muon: 1e-4 };
// Cautious weight decay masks a Muon element by the sign of update x weight. Where the update is
// within fp32's error of zero (here: 1e-4 of the matrix's largest), that sign, and so whether the
// element decays (a jump of lr x wd x |weight|), is rounding's choice: a tie. About 0.03% of the
// elements are ties in these steps; on libtorch 2.6 the addon lands on the other side of some.
// A tie may match either decision; every other element must match the reference's.
const MASK_MARGIN = 1e-4;
const muonCount = { compared: 0, ties: 0, otherDecision: 0 };

let dir: string;
let native: NativeModel;
let optimizer: NativeOptimizer;
let reference: ReferenceMuonAdamW;
let kindOf: Map<string, 'adamw' | 'muon'>;
const worst = { adamw: 0, muon: 0 };

async function weights(): Promise<Map<string, Float32Array>> {
  const file = path.join(dir, 'weights.safetensors');
  const params = native.parameters();
  await native.save(file, buildHeader(params, config), params.map((p) => p.name));
  return readWeightsFile(file);
}

function float64(m: Map<string, Float32Array> | Record<string, Float32Array>): Map<string, Float64Array> {
  const entries = m instanceof Map ? [...m] : Object.entries(m);
  return new Map(entries.map(([k, v]) => [k, Float64Array.from(v)]));
}

/**
 * One optimizer step on a fresh batch (the named parameters' gradients dropped), compared with
 * the reference's step from the same weights and gradients. Returns weights before and after.
 */
async function stepBoth(seed: number, settings: NativeStepSettings, drop: string[] = []) {
  const before = await weights();
  const batch = randomBatch(2, T, V, seed);
  native.forwardBackward(batch.inputs, batch.targets, 2, T, 1);
  if (drop.length > 0) testing().dropGradients(native, drop);
  const grads = float64(testing().gradients(native));
  for (const name of drop) expect(grads.has(name)).toBe(false);
  optimizer.step(settings);
  const after = await weights();

  const expected = float64(before);
  reference.step(expected, grads, settings);
  for (const [name, p0] of before) {
    const p1 = after.get(name)!, want = expected.get(name)!;
    const tied = reference.ambiguous.get(name);
    let diff = 0, scale = 0, at = 0;
    for (let i = 0; i < p0.length; i++) {
      let d = Math.abs(p1[i]! - want[i]!);
      const other = tied?.get(i);
      if (other !== undefined && Math.abs(p1[i]! - other) < d) {
        d = Math.abs(p1[i]! - other);
        muonCount.otherDecision++;
      }
      if (d > diff) [diff, at] = [d, i];
      scale = Math.max(scale, Math.abs(want[i]! - p0[i]!));
    }
    if (!grads.has(name)) {
      expect([name, scale]).toEqual([name, 0]); // the reference skips it...
      expect([name, diff]).toEqual([name, 0]); // ...and so does the addon, to the bit
      continue;
    }
    expect([name, scale > 0]).toEqual([name, true]);
    const kind = kindOf.get(name)!;
    if (kind === 'muon') {
      muonCount.compared += p0.length;
      muonCount.ties += tied?.size ?? 0;
    }
    const error = diff / scale;
    worst[kind] = Math.max(worst[kind], error);
    if (error > TOLERANCE[kind]) {
      throw new Error(
        `${name}: update differs from the reference by ${error} of its scale, worst at [${at}]: ` +
          `weight ${p0[at]} -> ${p1[at]}, the reference ${want[at]}${tied?.has(at) ? ` or ${tied.get(at)} (a mask tie)` : ''}`,
      );
    }
  }
  return { before, after };
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-optimizer-'));
  const { NativeModel, NativeOptimizer } = addon();
  native = new NativeModel(toNativeConfig(config), { device: 'cpu', seed: 5 });
  // A few steps first, so that no gradient is zero because an output projection still is.
  const warmUp = new NativeOptimizer(native, { ...optimizerConfig, beta1: 0.8, beta2: 0.95 });
  for (let i = 0; i < 3; i++) {
    const b = randomBatch(2, T, V, 40 + i);
    native.forwardBackward(b.inputs, b.targets, 2, T, 1);
    warmUp.step({ lrMultiplier: 1, muonMomentum: 0.95, muonWeightDecay: 0.1 });
  }
  warmUp.dispose();
  optimizer = new NativeOptimizer(native, optimizerConfig);
  const shapes = new Map(native.parameters().map((p) => [p.name, p.shape]));
  reference = new ReferenceMuonAdamW(shapes, {
    embeddingLr: optimizerConfig.embeddingLr,
    unembeddingLr: optimizerConfig.unembeddingLr,
    matrixLr: optimizerConfig.matrixLr,
    scalarLr: optimizerConfig.scalarLr,
    adamBetas: [optimizerConfig.beta1, optimizerConfig.beta2],
    modelDim: config.nEmbd,
  });
  reference.maskMargin = MASK_MARGIN;
  kindOf = new Map(reference.groups.flatMap((g) => g.params.map((p) => [p, g.kind] as const)));
});

afterAll(() => {
  optimizer?.dispose();
  native?.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('parameter groups, learning rates and betas follow SPEC §5', () => {
  const k = (config.nEmbd / 768) ** -0.5;
  const got = optimizer.groups();
  const adam = got.filter((g) => g.kind === 'adamw');
  expect(adam.map((g) => [g.name, g.tensors])).toEqual([
    ['lm_head', 1],
    ['wte', 1],
    ['value_embeds', 1],
    ['resid_lambdas', 1],
    ['x0_lambdas', 1],
  ]);
  const lr = Object.fromEntries(adam.map((g) => [g.name, g.initialLr]));
  expect(lr.lm_head).toBeCloseTo(0.01 * k, 12);
  expect(lr.wte).toBeCloseTo(0.5 * k, 12);
  expect(lr.value_embeds).toBeCloseTo(0.5 * k, 12);
  expect(lr.resid_lambdas).toBeCloseTo(0.4 * 0.01, 12);
  expect(lr.x0_lambdas).toBeCloseTo(0.4, 12);
  for (const g of adam) {
    expect([g.name, g.beta1, g.beta2, g.eps]).toEqual(g.name === 'x0_lambdas' ? [g.name, 0.96, 0.95, 1e-10] : [g.name, 0.85, 0.9, 1e-10]);
  }
  const muon = got.filter((g) => g.kind === 'muon');
  expect(muon.map((g) => [g.shape, g.tensors, g.initialLr, g.beta2])).toEqual([
    [[2, 32], 1, 0.03, 0.95],
    [[32, 64], 4, 0.03, 0.95],
    [[64, 64], 4, 0.03, 0.95],
    [[64, 256], 2, 0.03, 0.95],
    [[256, 64], 2, 0.03, 0.95],
  ]);
  // The reference implementation's groups (what the step comparisons below rely on) agree.
  expect(reference.groups.map((g) => [g.kind, g.params.length, g.initialLr, g.beta2, g.kind === 'adamw' ? g.beta1 : 0])).toEqual(
    got.map((g) => [g.kind, g.tensors, expect.closeTo(g.initialLr, 12), g.beta2, g.beta1 ?? 0]),
  );
});

describe('MuonAdamW steps against the float64 reference', () => {
  test('two steps (the second one sees the betas and the momentum)', async () => {
    await stepBoth(1, { lrMultiplier: 0.8, muonMomentum: 0.9, muonWeightDecay: 0.15 });
    await stepBoth(2, { lrMultiplier: 0.6, muonMomentum: 0.93, muonWeightDecay: 0.1 });
  });

  const dropped = [
    'x0_lambdas', // an AdamW group of one
    'value_embeds.1.weight', // the value-embedding group's only table
    'transformer.h.0.attn.c_q.weight', // one of the four 64x64 matrices
    'transformer.h.1.attn.ve_gate.weight', // the whole 2x32 Muon group
  ];

  test('parameters without a gradient are skipped: their weights and state do not move', async () => {
    const { before, after } = await stepBoth(3, { lrMultiplier: 1, muonMomentum: 0.95, muonWeightDecay: 0.2 }, dropped);
    for (const name of dropped) expect(after.get(name)).toEqual(before.get(name));
    // The others did move.
    expect(after.get('transformer.h.1.attn.c_q.weight')).not.toEqual(before.get('transformer.h.1.attn.c_q.weight'));
  });

  test('...and their next step continues from their own state and step count', async () => {
    // x0_lambdas is now at its third AdamW step, not the fourth; the c_q momentum missed a step.
    await stepBoth(4, { lrMultiplier: 0.9, muonMomentum: 0.95, muonWeightDecay: 0.2 });
  });

  test('a step without any gradient changes nothing, and the next step is unaffected by it', async () => {
    const before = await weights();
    optimizer.step({ lrMultiplier: 1, muonMomentum: 0.95, muonWeightDecay: 0.2 });
    expect(await weights()).toEqual(before);
    await stepBoth(5, { lrMultiplier: 0.7, muonMomentum: 0.95, muonWeightDecay: 0.05 });
    expect(optimizer.steps()).toBe(6);
  });

  afterAll(() => {
    // Every step above was compared (the bounds are also checked step by step).
    expect(worst.adamw).toBeLessThan(TOLERANCE.adamw);
    expect(worst.muon).toBeLessThan(TOLERANCE.muon);
    // Ties stay the exception they should be (seen: 124 of 446,720 compared on 1.13, 126 on 2.6).
    expect(muonCount.compared).toBeGreaterThan(400_000);
    expect(muonCount.ties / muonCount.compared).toBeLessThan(1e-3);
  });
});

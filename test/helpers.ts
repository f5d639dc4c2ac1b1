// Small shared fixtures for the native tests: tiny models and deterministic batches.
import { randomBatch } from '../lib/data/batch';
import { GPT, type ModelConfig } from '../lib';

export { randomBatch };

export function tinyConfig(overrides: Partial<ModelConfig> = {}): ModelConfig {
  return {
    vocabSize: 256,
    sequenceLen: 32,
    nLayer: 2,
    nHead: 2,
    nKvHead: 2,
    nEmbd: 64,
    windowPattern: 'SL',
    mlpActivation: 'relu2',
    mlpRatio: 4,
    valueEmbeds: true,
    softcap: 15,
    rotaryBase: 10000,
    ...overrides,
  };
}

/** A model whose output projections are no longer zero, so every path affects the output. */
export function trainedModel(config: ModelConfig, steps = 3, seed = 42): GPT {
  const model = GPT.create(config, { device: 'cpu', seed });
  const optimizer = model.createOptimizer();
  for (let i = 0; i < steps; i++) {
    model.trainStep([randomBatch(2, config.sequenceLen, config.vocabSize, 100 + i)], optimizer, {
      lrMultiplier: 1,
      muonMomentum: 0.95,
      muonWeightDecay: 0,
    });
  }
  return model;
}

export function maxAbsDiff(a: Float32Array, b: Float32Array, from = 0, to = a.length): number {
  let m = 0;
  for (let i = from; i < to; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Trains on one fixed batch; returns the losses of the first and the last step. */
export function overfit(model: GPT, steps: number, seed = 11): { first: number; last: number } {
  const optimizer = model.createOptimizer();
  const batch = randomBatch(4, model.config.sequenceLen, model.config.vocabSize, seed);
  const settings = { lrMultiplier: 1, muonMomentum: 0.95, muonWeightDecay: 0 };
  const first = model.trainStep([batch], optimizer, settings);
  let last = first;
  for (let i = 0; i < steps; i++) last = model.trainStep([batch], optimizer, settings);
  return { first, last };
}

// Times real training steps and evaluation batches of a model on this machine. `doctor` and
// `init` size the CPU model by these timings (lib/setup/recommend.ts): the matmul rate alone
// mispredicts a step by up to ~1.6x between CPUs (an AVX-512 machine measured 1.4x the
// 1024^3 rate of another and trained at its speed), because a small model's step is mostly
// matmuls with K = 128-256 and elementwise work.
import { randomBatch, type TokenBatch } from '../data/batch';
import { GPT } from '../model/gpt';
import type { ModelConfig } from '../config/model-config';

/** What a model costs here. */
export interface StepTiming {
  /** Seconds of one optimizer step (forward, backward and MuonAdamW over all micro-batches). */
  stepSeconds: number;
  /** Evaluation tokens per second (forward and bits-per-byte sums, a micro-batch at a time), if timed. */
  evalTokensPerSecond?: number;
}

/** Times models on this machine: training steps, and the evaluation. */
export interface StepTimer {
  /** Seconds of one optimizer step of `totalTokens` tokens in micro-batches of `rows` rows. */
  step(config: ModelConfig, rows: number, totalTokens: number): number;
  /** Evaluation tokens per second in micro-batches of `rows` rows. */
  evaluation(config: ModelConfig, rows: number): number;
}

/** Steps timed after the first (which pays for first-touch memory); the median counts. */
const TIMED_STEPS = 3;

/**
 * Times optimizer steps, each over its list of micro-batches, with fixed schedule values;
 * returns the milliseconds of the steps after the first `warmup`, sorted.
 */
export function timeTrainingSteps(model: GPT, steps: TokenBatch[][], warmup: number): number[] {
  using optimizer = model.createOptimizer();
  const settings = { lrMultiplier: 1, muonMomentum: 0.95, muonWeightDecay: 0.2 };
  const times: number[] = [];
  steps.forEach((microBatches, i) => {
    const start = performance.now();
    model.trainStep(microBatches, optimizer, settings);
    model.synchronize();
    if (i >= warmup) times.push(performance.now() - start);
  });
  return times.sort((a, b) => a - b);
}

/** The middle element of a sorted list. */
export const median = (sorted: readonly number[]): number => sorted[Math.floor(sorted.length / 2)]!;

/**
 * The StepTimer of this machine's CPU, on random tokens, all on this thread as in a run
 * (OpenMP work on a second thread would slow every later step: see measureMatmulFlopsSync).
 * A step: one, then the median of TIMED_STEPS more. The evaluation: two batches, the second
 * counts.
 */
export const cpuTimer: StepTimer = {
  step(config, rows, totalTokens) {
    const T = config.sequenceLen;
    const micro = Math.max(1, Math.round(totalTokens / (rows * T)));
    using model = GPT.create(config, { device: 'cpu', seed: 0 });
    const steps = Array.from({ length: 1 + TIMED_STEPS }, (_, s) =>
      Array.from({ length: micro }, (_, m) => randomBatch(rows, T, config.vocabSize, s * micro + m + 1)),
    );
    return median(timeTrainingSteps(model, steps, 1)) / 1000;
  },
  evaluation(config, rows) {
    using model = GPT.create(config, { device: 'cpu', seed: 0 });
    const batch = randomBatch(rows, config.sequenceLen, config.vocabSize, 1);
    const tokenBytes = new Int32Array(config.vocabSize).fill(1);
    model.bpbSumsSync(batch, tokenBytes);
    const start = performance.now();
    model.bpbSumsSync(batch, tokenBytes);
    return (rows * config.sequenceLen) / ((performance.now() - start) / 1000);
  },
};

// Small helpers shared by the benchmarks.
import { GPT, type ModelConfig, type TokenBatch } from '../lib';
import { timeTrainingSteps } from '../lib/setup/step-timer';

export const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;

export function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}

/** Fastest of `repeats` runs, in seconds. */
export async function best(repeats: number, run: () => Promise<unknown> | unknown): Promise<number> {
  let fastest = Infinity;
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    await run();
    fastest = Math.min(fastest, secondsSince(start));
  }
  return fastest;
}

/** The fixed step-benchmark model: DEPTH 4, model_dim 256, 2 heads of 128, seq 512, vocab 8192, SSSL. */
export const BENCH_MODEL: ModelConfig = {
  vocabSize: 8192,
  sequenceLen: 512,
  nLayer: 4,
  nHead: 2,
  nKvHead: 2,
  nEmbd: 256,
  windowPattern: 'SSSL',
  mlpActivation: 'relu2',
  mlpRatio: 4,
  valueEmbeds: true,
  softcap: 15,
  rotaryBase: 10000,
};

/** Times one-micro-batch training steps (lib/setup/step-timer.ts); returns sorted ms. */
export function timeSingleBatchSteps(model: GPT, batches: TokenBatch[], warmup: number): number[] {
  return timeTrainingSteps(model, batches.map((b) => [b]), warmup);
}


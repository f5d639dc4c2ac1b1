// `npm run bench:step`: median time of one full training step (forward + backward + MuonAdamW)
// for the fixed benchmark config, as one JSON line. Not a test: figures, no assertions.
//   DEPTH 4, model_dim 256, 2 heads of 128, seq 512, batch 8, vocab 8192, SSSL, threads = cores
import os from 'node:os';

import { GPT } from '../lib';
import { getThreads, measureMatmulFlops, randomBatch, runtimeInfo } from '../lib/internals';
import { median } from '../lib/setup/step-timer';
import { BENCH_MODEL, timeSingleBatchSteps } from './util';

const WARMUP = 3;
const STEPS = Number(process.env.BENCH_STEPS ?? 20);
const B = 8;
const T = 512;
const V = 8192;

async function main(): Promise<void> {
  using model = GPT.create(BENCH_MODEL, { device: 'cpu', seed: 42 });
  const times = timeSingleBatchSteps(model, Array.from({ length: WARMUP + STEPS }, (_, i) => randomBatch(B, T, V, i + 1)), WARMUP);
  const medianMs = median(times);
  const tokensPerSecond = (B * T) / (medianMs / 1000);
  const flops = model.flopsPerToken() * tokensPerSecond;
  const matmul = await measureMatmulFlops(1024, 5, 'cpu');
  const info = runtimeInfo();
  console.log(
    JSON.stringify({
      bench: 'step',
      config: { depth: 4, modelDim: 256, heads: 2, headDim: 128, seqLen: T, batch: B, vocab: V, pattern: 'SSSL' },
      threads: getThreads(),
      cores: os.availableParallelism(),
      libtorch: info.build.libtorchVersion,
      blas: info.blas.split(' ').slice(0, 2).join(' '),
      steps: STEPS,
      medianStepMs: Math.round(medianMs * 10) / 10,
      minStepMs: Math.round(times[0]! * 10) / 10,
      tokensPerSecond: Math.round(tokensPerSecond),
      flopsPerToken: model.flopsPerToken(),
      achievedGflops: Math.round(flops / 1e8) / 10,
      matmulGflops: Math.round(matmul / 1e8) / 10,
      fractionOfMatmul: Math.round((flops / matmul) * 1000) / 1000,
    }),
  );
}

void main();

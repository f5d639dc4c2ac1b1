// One experiment, in the child process: build the model from train/config.ts, train for the
// fixed time budget with the reference's accounting, evaluate val_bpb, return the summary.
//
// Time accounting (SPEC §6): every optimizer step is timed with the device synchronised;
// steps 0-10 are warm-up and not counted; training stops after the first counted step at
// which the counted time reaches TIME_BUDGET. progress = counted time / TIME_BUDGET drives
// the schedules. A loss that is NaN or above 100 fails the run at once.
import path from 'node:path';

import type { TokenBatch } from '../data/batch';
import { DataLoader } from '../data/loader';
import { type PreparedMeta, datasetPaths } from '../data/prepared';
import { preparedTokenBytes } from '../data/prepared-tokenizer';
import { evalSteps, evaluateValBpb } from './scorer';
import { GPT } from '../model/gpt';
import { measureMatmulFlopsSync, runtimeInfo } from '../native/runtime';
import type { ScheduleValues } from './config-sandbox';
import type { ExperimentSummary } from './types';
import type { ResolvedExperiment } from './validate-config';
import type { WorkerMessage } from './worker-process';

/** H100 bf16 dense peak, the reference's MFU denominator on GPUs. */
const H100_BF16_PEAK = 989.5e12;
const WARMUP_STEPS = 10;

export interface TrainOptions {
  experiment: ResolvedExperiment;
  /** The schedules at a step (default: the config's functions; the worker calls its sandbox once a step). */
  schedule?: (progress: number, step: number) => ScheduleValues;
  meta: PreparedMeta;
  cacheDir?: string;
  /** TIME_BUDGET in seconds. */
  timeBudget: number;
  device: string;
  /** Where progress lines go. */
  print: (line: string) => void;
  /** Training phases for the parent's clock: counted training starts, and ends. */
  report?: (event: Extract<WorkerMessage, { type: 'counting' | 'trained' }>) => void;
  /** Save the final weights here (safetensors). */
  saveCheckpoint?: string;
}

export class TrainingDiverged extends Error {
  override name = 'TrainingDiverged';
}

export async function trainAndEvaluate(o: TrainOptions): Promise<ExperimentSummary> {
  const { config, model: modelConfig, accumSteps } = o.experiment;
  const { maxSeqLen: T } = o.meta;
  const B = config.DEVICE_BATCH_SIZE;
  const paths = datasetPaths(o.meta.dataset, o.cacheDir);

  using model = GPT.create(modelConfig, { device: o.device, seed: config.SEED });
  const optimizer = model.createOptimizer({
    embeddingLr: config.EMBEDDING_LR,
    unembeddingLr: config.UNEMBEDDING_LR,
    matrixLr: config.MATRIX_LR,
    scalarLr: config.SCALAR_LR,
    weightDecay: config.WEIGHT_DECAY,
    adamBetas: config.ADAM_BETAS,
  });
  const onGpu = model.device.device.startsWith('cuda');
  // The CPU's MFU denominator: the best of 8 fp32 1024^2 matmuls (with fewer, a burst of load
  // on a shared machine can halve the figure and double the reported MFU). On this
  // thread: OpenMP work on another one would slow every later step (runtime.ts).
  const peakFlops = onGpu ? H100_BF16_PEAK : measureMatmulFlopsSync(1024, 8, 'cpu');
  const flopsPerToken = model.flopsPerToken();
  const counts = model.paramCounts();
  o.print(
    `model: ${modelConfig.nLayer} layers, width ${modelConfig.nEmbd}, ${modelConfig.nHead} heads (${modelConfig.nKvHead} kv), ` +
      `${(counts.total / 1e6).toFixed(2)}M params on ${model.device.reason}; ${accumSteps} micro-batch(es) of ${B} x ${T} per step; ` +
      `budget ${o.timeBudget} s`,
  );

  const { coreType, replaced } = runtimeInfo().blasKernels;
  if (replaced) {
    o.print(
      `blas: OpenBLAS's ${coreType} kernels for this AMD AVX-512 CPU, not the environment's OPENBLAS_CORETYPE=${replaced} ` +
        `(AUTORESEARCH_OPENBLAS_CORETYPE=keep keeps it)`,
    );
  }

  using train = DataLoader.open(path.join(paths.tokens, o.meta.train.file), {
    batchSize: B,
    seqLen: T,
    bosId: o.meta.bosId,
    dtype: o.meta.dtype,
    seed: config.SEED,
  });

  const tokenBytes = await preparedTokenBytes(o.meta, o.cacheDir);
  o.print(`startup: ${(performance.now() / 1000).toFixed(1)} s since the process started`);
  let step = 0;
  let counted = 0; // seconds of counted training time
  let warmup = 0; // seconds of the uncounted warm-up steps
  let smoothed = 0;
  const tokensPerStep = config.TOTAL_BATCH_SIZE;
  const schedule =
    o.schedule ??
    ((progress: number, at: number): ScheduleValues => ({
      lrMultiplier: config.lrMultiplier(progress),
      muonMomentum: config.muonMomentum(at),
      muonWeightDecay: config.weightDecay(progress),
    }));
  let countingSince = 0; // this clock when counted training started
  for (;;) {
    if (step === WARMUP_STEPS + 1) {
      o.report?.({ type: 'counting' });
      countingSince = performance.now();
    }
    const start = performance.now();
    // The schedules are part of the step, as in the reference (it sets the groups' rates
    // between t0 and t1): a slow schedule costs the config training time, not the harness.
    const progress = Math.min(counted / o.timeBudget, 1);
    const settings = schedule(progress, step);
    const batches: TokenBatch[] = [];
    for (let micro = 0; micro < accumSteps; micro++) batches.push(train.next());
    const loss = model.trainStep(batches, optimizer, settings);
    model.synchronize();
    const dt = (performance.now() - start) / 1000;
    if (!Number.isFinite(loss) || loss > 100) {
      o.print('FAIL');
      throw new TrainingDiverged(`training diverged at step ${step}: loss ${loss} (NaN or > 100); lower the learning rates`);
    }
    if (step > WARMUP_STEPS) counted += dt;
    else warmup += dt;
    smoothed = 0.9 * smoothed + 0.1 * loss;
    const debiased = smoothed / (1 - 0.9 ** (step + 1));
    const tokensPerSecond = tokensPerStep / dt;
    const mfu = (100 * flopsPerToken * tokensPerSecond) / peakFlops;
    const done = Math.min(100, (100 * counted) / o.timeBudget);
    o.print(
      `step ${String(step).padStart(5, '0')} (${done.toFixed(1)}%) | loss: ${debiased.toFixed(6)} | lrm: ${settings.lrMultiplier.toFixed(2)} | ` +
        `dt: ${(dt * 1000).toFixed(0)}ms | tok/sec: ${Math.round(tokensPerSecond).toLocaleString('en-US')} | mfu: ${mfu.toFixed(2)} | ` +
        `epoch: ${train.epoch} | remaining: ${Math.max(0, o.timeBudget - counted).toFixed(0)}s`,
    );
    step++;
    if (step > WARMUP_STEPS && counted >= o.timeBudget) break;
  }

  // The counted time is the steps' own; the wall time since counting started (the steps plus the
  // progress lines between them) is what the parent can hold against its clock.
  o.report?.({ type: 'trained', trainingSeconds: counted, wallSeconds: (performance.now() - countingSince) / 1000, steps: step });
  // val_bpb over EVAL_TOKENS of the validation split, in file order (lib/runner/scorer.ts).
  o.print(`warm-up: ${warmup.toFixed(1)} s in steps 0-${WARMUP_STEPS} (not counted)`);
  o.print(`evaluating val_bpb on ${evalSteps(o.meta, B)} batches of ${B} x ${T} tokens`);
  const evalStart = performance.now();
  const { bpb } = await evaluateValBpb(model, { meta: o.meta, cacheDir: o.cacheDir, batchSize: B, tokenBytes, onThisThread: true });
  o.print(`eval: ${((performance.now() - evalStart) / 1000).toFixed(1)} s`);
  if (o.saveCheckpoint) await model.save(o.saveCheckpoint);

  const peakBytes = onGpu ? model.peakMemoryBytes() : process.resourceUsage().maxRSS * 1024;
  return {
    val_bpb: bpb,
    training_seconds: counted,
    total_seconds: performance.now() / 1000, // since the process started: start-up included
    peak_vram_mb: peakBytes / 2 ** 20,
    mfu_percent: counted > 0 ? (100 * flopsPerToken * tokensPerStep * (step - WARMUP_STEPS - 1)) / counted / peakFlops : 0,
    total_tokens_M: (tokensPerStep * step) / 1e6,
    num_steps: step,
    num_params_M: counts.total / 1e6,
    depth: config.DEPTH,
  };
}

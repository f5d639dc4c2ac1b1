// A starting config for this machine: the sizes that do useful work in one 300 s experiment.
// `autoresearch doctor` prints it and `autoresearch init` writes it into train/config.ts.
//
// The rule. An experiment is worth running when the model takes a few hundred optimizer steps
// in the time budget: the Muon momentum ramp spans 300 steps and the warmdown (the last half of
// the budget) needs steps to act. So, on a CPU:
//   1. a step is CPU_STEP_TOKENS (4096) tokens: CPU_STEP_TOKENS / MAX_SEQ_LEN rows. Measured on
//      the 2-core development machine at DEPTH 4: 8 rows (2048 tokens) a step gave a worse
//      val_bpb in 300 s (1.357 against 1.336), and longer steps lengthen the uncounted warm-up;
//   2. cost of a training token = FLOPs by the SPEC formula
//        6 x (params - wte - value embeds - lambdas) + sum over layers of 12 x n_head x head_dim x window
//      + CPU_LOGIT_COST x vocab: the soft-cap, softmax and their gradients over the logits are
//      elementwise, memory-bound work the formula does not count;
//   3. sustained rate = CPU_TRAINING_EFFICIENCY (0.66) x the measured fp32 matmul rate, fitted
//      to the measured runs of DEPTH 4 (514-584 steps at 228-249 GFLOP/s; predicted 549 at 230).
//      That is only the first guess: the rate of 1024^3 matmuls says little about a small
//      model's step (an AVX-512 machine measured 326 GFLOP/s, was predicted 438 steps at
//      DEPTH 6 and took 279). recommendTimed() times real steps of the guessed model
//      (lib/setup/step-timer.ts), scales the other depths' estimates by the nearest timed one, and
//      repeats until the model chosen is one it timed: usually two or three timings, ~10 s;
//   4. the deepest model (DEPTH 8 down to 2, model_dim = 64 x ceil(DEPTH x 32 / 64) through
//      ASPECT_RATIO 32 and HEAD_DIM 64, the reference's WINDOW_PATTERN) predicted to take
//      TARGET_STEPS (550) steps wins; none: DEPTH 2, with fewer steps and a note;
//   5. the vocabulary is the prepared one; with nothing prepared, the largest of 8192, 4096,
//      ... 512 with which DEPTH 2 passes (SPEC §8: smaller vocabularies on small machines);
//   6. MAX_SEQ_LEN 256 (512 from 1 TFLOP/s); DEVICE_BATCH_SIZE = the step's rows, at most 32
//      (bigger micro-batches do not run faster on a CPU), what a quarter of the RAM holds and
//      what EVAL_TOKENS holds (the evaluation scores whole micro-batches); EVAL_TOKENS = what
//      the evaluation scores in EVAL_SECONDS, as a power of two, at most the SPEC's
//      proportional 10240 x MAX_SEQ_LEN.
// At 230 GFLOP/s: MAX_SEQ_LEN 256, VOCAB_SIZE 8192, DEPTH 4 (model_dim 128), 16 rows of 256 a
// step, EVAL_TOKENS 2^20; the development machine's measured runs of that config are in the
// README (bench:overhead).
// On a GPU the measured fp32 rate says little about bf16 training, so the reference defaults
// (SPEC §6, tuned on an 80 GB H100) are scaled by the GPU's memory as in SPEC §8's table:
// MAX_SEQ_LEN 2048 from 40 GiB, 512 from 16 GiB, else 256; rows per micro-batch from the
// reference's ~45 GB peak at 128 x 2048 tokens; TOTAL_BATCH_SIZE and EVAL_TOKENS scaled down.
import { REFERENCE_DEFAULTS, type ExperimentConfig } from '../config/experiment-config';
import { estimateFlopsPerToken, estimateParams } from '../model/gpt';
import { modelConfigFromDepth, resolveWindows, type ModelConfig } from '../config/model-config';
import type { StepTiming, StepTimer } from './step-timer';

/** TIME_BUDGET (SPEC §2), seconds of training per experiment. */
const TIME_BUDGET = 300;
/**
 * Optimizer steps an experiment should take at least ("a few hundred"). 550 because:
 * - on a CPU, more steps of a smaller model did better in 300 s, down to DEPTH 4: on a 2-core
 *   AVX-512 machine (built-in corpus, one run each) DEPTH 5 (width 192) took 409 steps to
 *   val_bpb 1.3414, DEPTH 4 (width 128) 641 and 682 steps to 1.3133 and 1.3070, DEPTH 3 872
 *   steps to 1.3262 (the built-in corpus is ~2M tokens: all of them saw it two or three times).
 *   With 400 that machine got DEPTH 5;
 * - the 11 uncounted warm-up steps (SPEC §6) stay within 2% of the budget, which leaves the
 *   start-up and the evaluation room in the 3% a run may spend not training (bench:overhead);
 * - the matmul-rate estimate still puts the development machine (~230 GFLOP/s) at DEPTH 4.
 */
export const TARGET_STEPS = 550;
/**
 * Share of the measured fp32 matmul rate a CPU sustains on a training step's cost (below):
 * fitted to the development machine's runs at DEPTH 4, width 128, vocab 8192 (514-584 steps
 * in 300 s at 228-249 GFLOP/s).
 */
export const CPU_TRAINING_EFFICIENCY = 0.66;
/** FLOP-equivalents per token and vocabulary entry of the elementwise work on the logits (CPU). */
export const CPU_LOGIT_COST = 1000;
/** Tokens per optimizer step on a CPU (rounded to whole rows of MAX_SEQ_LEN). */
export const CPU_STEP_TOKENS = 4096;
/** ASPECT_RATIO on a CPU: model_dim 128 at DEPTH 4. */
const CPU_ASPECT_RATIO = 32;
/** Seconds the final evaluation may take (a run must finish within 10 minutes in all). */
const EVAL_SECONDS = 90;
const REFERENCE_TOTAL_BATCH = REFERENCE_DEFAULTS.TOTAL_BATCH_SIZE;
const REFERENCE_WINDOW_PATTERN = REFERENCE_DEFAULTS.WINDOW_PATTERN;
const { DEPTH: REFERENCE_DEPTH, ASPECT_RATIO: REFERENCE_ASPECT_RATIO, HEAD_DIM: REFERENCE_HEAD_DIM } = REFERENCE_DEFAULTS;
/** SPEC §2: 40 x 524288 at MAX_SEQ_LEN 2048, lowered proportionally with it. */
const EVAL_TOKENS_PER_POSITION = (40 * 524288) / 2048;
/** Rows per micro-batch on a CPU, at most. */
const CPU_MAX_ROWS = 32;
/** The reference's peak memory (~45 GB) over its 128 x 2048 tokens per micro-batch. */
const GPU_BYTES_PER_TOKEN = 45e9 / (128 * 2048);
/** The reference vocabulary, and the smaller ones tried on a CPU. */
const REFERENCE_VOCAB = 8192;
const CPU_VOCABS = [8192, 4096, 2048, 1024, 512];
/** Shallowest model recommended: one layer cannot learn much worth comparing. */
const MIN_DEPTH = 2;

/** What recommendConfig reads from a doctor report (a DoctorReport is one). */
export interface RecommendInput {
  /** Measured fp32 matmul throughput of the default device, GFLOP/s; null when not measured. */
  matmulGflops: number | null;
  memoryGiB: number;
  /** Memory of the first GPU, GiB; null without one. */
  gpuMemoryGiB: number | null;
  addon: { cudaAvailable: boolean } | null;
  /** Prepared datasets, most recent first: the first one's vocabulary is sized for. */
  prepared?: readonly { dataset: string; vocabSize: number; maxSeqLen: number; evalTokens?: number }[];
  /**
   * CPU models timed on this machine, by DEPTH (at the recommended vocabulary, MAX_SEQ_LEN
   * and batch): they replace the matmul-rate estimate (recommendTimed fills this in).
   */
  cpuTimings?: ReadonlyMap<number, StepTiming>;
}

export interface RecommendOverrides {
  /** Vocabulary to size the model for; default: the most recently prepared data's, else 8192. */
  vocabSize?: number;
  /** MAX_SEQ_LEN to size for (e.g. the prepared one); default: recommended from the hardware. */
  maxSeqLen?: number;
  /** EVAL_TOKENS the micro-batches must fit in (e.g. the prepared one); default: the recommended. */
  evalTokens?: number;
}

/** The knobs of train/config.ts a recommendation sets. */
export type RecommendedKnobs = Pick<
  ExperimentConfig,
  'DEPTH' | 'ASPECT_RATIO' | 'HEAD_DIM' | 'WINDOW_PATTERN' | 'DEVICE_BATCH_SIZE' | 'TOTAL_BATCH_SIZE'
>;

export interface Recommendation {
  device: 'cpu' | 'cuda';
  /** For `autoresearch prepare --seq-len`. */
  MAX_SEQ_LEN: number;
  /** For `autoresearch prepare --eval-tokens` (a dataset's validation split may hold fewer). */
  EVAL_TOKENS: number;
  /** For `autoresearch prepare --vocab-size`: the vocabulary the sizes assume (the prepared one if any). */
  VOCAB_SIZE: number;
  /** Values for train/config.ts. */
  config: RecommendedKnobs;
  /** model_dim that DEPTH, ASPECT_RATIO and HEAD_DIM give. */
  modelDim: number;
  /** What the sizes should do in one experiment; null without a throughput measurement. */
  estimate: {
    params: number;
    /** Training FLOPs per token by the SPEC formula (what MFU is computed from). */
    flopsPerToken: number;
    tokensPerSecond: number;
    /** Optimizer steps in the 300 s budget. */
    steps: number;
    /** Seconds of the final evaluation of EVAL_TOKENS. */
    evalSeconds: number;
    /** From timed steps of this model (recommendTimed), not from the matmul rate alone. */
    timed: boolean;
  } | null;
  /** The CPU models timed here to choose, deepest first (empty: sized by the matmul rate alone). */
  timed: { depth: number; modelDim: number; stepMs: number; steps: number }[];
  /** The rule in one line. */
  rule: string;
  notes: string[];
}

// The formulas live with the model; re-exported here, where sizing uses them.
export { estimateFlopsPerToken, estimateParams };

function pow2Floor(x: number): number {
  return x >= 1 ? 2 ** Math.floor(Math.log2(x)) : 0;
}

/** Bytes a CPU micro-batch holds per token: saved activations of each layer, then the logits. */
function cpuBytesPerToken(c: ModelConfig): number {
  return 4 * (c.nLayer * (25 * c.nEmbd + c.nHead * c.sequenceLen) + 4 * c.vocabSize);
}

/** A CPU model size and what it does in the budget (steps 1-4 of the rule). */
interface CpuPlan {
  model: ModelConfig;
  /** TOTAL_BATCH_SIZE: CPU_STEP_TOKENS in whole rows. */
  total: number;
  /** Training tokens per second. */
  tokensPerSecond: number;
  /** Evaluation tokens per second. */
  evalTokensPerSecond: number;
  /** Optimizer steps predicted in the budget. */
  steps: number;
  /** From this model's own timed steps. */
  timed: boolean;
}

function makePlan(model: ModelConfig, total: number, tokensPerSecond: number, evalTokensPerSecond: number, timed: boolean): CpuPlan {
  return { model, total, tokensPerSecond, evalTokensPerSecond, steps: Math.floor((TIME_BUDGET * tokensPerSecond) / total), timed };
}

/** The estimate from the matmul rate (steps 1-3 of the rule). */
function cpuPlan(depth: number, vocabSize: number, seqLen: number, rate: number): CpuPlan {
  const model = modelConfigFromDepth({
    depth,
    aspectRatio: CPU_ASPECT_RATIO,
    headDim: 64,
    vocabSize,
    sequenceLen: seqLen,
    windowPattern: REFERENCE_WINDOW_PATTERN,
  });
  const flops = estimateFlopsPerToken(model);
  const logits = CPU_LOGIT_COST * vocabSize;
  const total = Math.max(1, Math.round(CPU_STEP_TOKENS / seqLen)) * seqLen;
  return makePlan(model, total, rate / (flops + logits), rate / (flops / 3 + logits), false);
}

/**
 * The estimate corrected by this machine's timings: a timed model's own figures; another
 * model's estimate scaled by how far the nearest timed model (the deeper on a tie) was off.
 */
function timedPlan(estimate: CpuPlan, timings: ReadonlyMap<number, StepTiming>, estimateAt: (depth: number) => CpuPlan): CpuPlan {
  // Without a timed evaluation, the evaluation estimate is corrected as the step was.
  const measured = (plan: CpuPlan, t: StepTiming): CpuPlan => {
    const tokensPerSecond = plan.total / t.stepSeconds;
    const evalRate = t.evalTokensPerSecond ?? (plan.evalTokensPerSecond * tokensPerSecond) / plan.tokensPerSecond;
    return { ...makePlan(plan.model, plan.total, tokensPerSecond, evalRate, true), steps: Math.floor(TIME_BUDGET / t.stepSeconds) };
  };
  const depth = estimate.model.nLayer;
  const own = timings.get(depth);
  if (own) return measured(estimate, own);
  const nearest = [...timings.keys()].sort((a, b) => Math.abs(a - depth) - Math.abs(b - depth) || b - a)[0];
  if (nearest === undefined) return estimate;
  const guessed = estimateAt(nearest);
  const seen = measured(guessed, timings.get(nearest)!);
  return makePlan(
    estimate.model,
    estimate.total,
    (estimate.tokensPerSecond * seen.tokensPerSecond) / guessed.tokensPerSecond,
    (estimate.evalTokensPerSecond * seen.evalTokensPerSecond) / guessed.evalTokensPerSecond,
    false,
  );
}

/**
 * Sizes for one experiment on the machine a doctor report describes (see the file comment).
 * `autoresearch init` writes `config` into train/config.ts (on a CPU); MAX_SEQ_LEN,
 * EVAL_TOKENS and VOCAB_SIZE are for `autoresearch prepare`. On a CPU without
 * `report.cpuTimings` this is the matmul-rate estimate; recommendTimed() times steps.
 */
export function recommendConfig(report: RecommendInput, overrides: RecommendOverrides = {}): Recommendation {
  const latest = report.prepared?.[0];
  const notes: string[] = [];
  const vocabSize = overrides.vocabSize ?? latest?.vocabSize;
  if (latest && overrides.vocabSize === undefined) notes.push(`sized for the vocabulary of the prepared '${latest.dataset}' data (${latest.vocabSize} tokens)`);
  // Micro-batches must fit in the EVAL_TOKENS the prepared data scores (whole micro-batches).
  const fit = { ...overrides, evalTokens: overrides.evalTokens ?? latest?.evalTokens };
  const rec = report.addon?.cudaAvailable ? forGpu(report, vocabSize ?? REFERENCE_VOCAB, overrides, notes) : forCpu(report, vocabSize, fit, notes);
  if (latest && overrides.maxSeqLen === undefined && latest.maxSeqLen !== rec.MAX_SEQ_LEN) {
    notes.push(
      `the prepared '${latest.dataset}' data fixes MAX_SEQ_LEN ${latest.maxSeqLen}: prepare again with --seq-len ${rec.MAX_SEQ_LEN}, ` +
        `or size for the prepared value (recommendConfig(report, { maxSeqLen: ${latest.maxSeqLen} }))`,
    );
  }
  if (latest?.evalTokens !== undefined && latest.evalTokens < rec.EVAL_TOKENS) {
    notes.push(
      `the prepared '${latest.dataset}' data scores EVAL_TOKENS ${latest.evalTokens}; ${rec.EVAL_TOKENS} would be a less noisy ` +
        'val_bpb if the validation split holds it (prepare says how many it can supply)',
    );
  }
  return rec;
}

/**
 * recommendConfig with the CPU model chosen by timing real training steps here: times the
 * model the estimate picks, corrects the other depths' estimates by it, and repeats until
 * the model chosen is a timed one (each round times a new depth, so at most seven rounds);
 * then times the chosen model's evaluation (for EVAL_TOKENS). On a GPU, or without a matmul
 * measurement, the same as recommendConfig.
 * @param timer cpuTimer (lib/setup/step-timer.ts) for this machine.
 * @param progress called with a line before and after each timing (they take seconds).
 */
export function recommendTimed(
  report: RecommendInput,
  overrides: RecommendOverrides,
  timer: StepTimer,
  progress?: (line: string) => void,
): Recommendation {
  const timings = new Map(report.cpuTimings ?? []);
  for (;;) {
    const rec = recommendConfig({ ...report, cpuTimings: timings }, overrides);
    const { DEPTH, ASPECT_RATIO, HEAD_DIM, WINDOW_PATTERN, DEVICE_BATCH_SIZE, TOTAL_BATCH_SIZE } = rec.config;
    if (rec.device !== 'cpu' || rec.estimate === null) return rec;
    const model = modelConfigFromDepth({
      depth: DEPTH,
      aspectRatio: ASPECT_RATIO,
      headDim: HEAD_DIM,
      vocabSize: rec.VOCAB_SIZE,
      sequenceLen: rec.MAX_SEQ_LEN,
      windowPattern: WINDOW_PATTERN,
    });
    const timed = timings.get(DEPTH);
    if (timed?.evalTokensPerSecond !== undefined) return rec;
    if (timed) {
      // The choice is made: time its evaluation (for EVAL_TOKENS).
      timings.set(DEPTH, { ...timed, evalTokensPerSecond: timer.evaluation(model, DEVICE_BATCH_SIZE) });
      continue;
    }
    progress?.(`timing DEPTH ${DEPTH} (width ${model.nEmbd}) on ${TOTAL_BATCH_SIZE / rec.MAX_SEQ_LEN} rows of ${rec.MAX_SEQ_LEN}...`);
    const stepSeconds = timer.step(model, DEVICE_BATCH_SIZE, TOTAL_BATCH_SIZE);
    timings.set(DEPTH, { stepSeconds });
    const steps = Math.floor(TIME_BUDGET / stepSeconds);
    progress?.(`  ${Math.round(stepSeconds * 1000)} ms a step: ~${steps} steps in ${TIME_BUDGET} s (${steps >= TARGET_STEPS ? 'enough' : 'too few'})`);
  }
}

function forCpu(report: RecommendInput, fixedVocab: number | undefined, overrides: RecommendOverrides, notes: string[]): Recommendation {
  const gflops = report.matmulGflops;
  const seqLen = overrides.maxSeqLen ?? (gflops !== null && gflops >= 1000 ? 512 : 256);
  const proportionalEval = EVAL_TOKENS_PER_POSITION * seqLen;
  if (!gflops) {
    const plan = cpuPlan(MIN_DEPTH, fixedVocab ?? 4096, seqLen, 1);
    notes.push('no matmul measurement (the addon did not load): small defaults; run `autoresearch doctor` again once it loads');
    return cpuRecommendation(report, plan, Math.min(proportionalEval, 2 ** 20), overrides, false, gflops, notes);
  }
  const rate = gflops * 1e9 * CPU_TRAINING_EFFICIENCY;
  const fits = (plan: CpuPlan) => plan.steps >= TARGET_STEPS;
  const vocabSize = fixedVocab ?? CPU_VOCABS.find((v) => fits(cpuPlan(MIN_DEPTH, v, seqLen, rate))) ?? CPU_VOCABS[CPU_VOCABS.length - 1]!;
  const timings = report.cpuTimings ?? new Map<number, StepTiming>();
  const estimateAt = (depth: number) => cpuPlan(depth, vocabSize, seqLen, rate);
  const planAt = (depth: number) => timedPlan(estimateAt(depth), timings, estimateAt);
  let plan: CpuPlan | undefined;
  for (let depth = 8; depth >= MIN_DEPTH && !plan; depth--) {
    const candidate = planAt(depth);
    if (fits(candidate)) plan = candidate;
  }
  if (!plan) {
    plan = planAt(MIN_DEPTH);
    const smaller = CPU_VOCABS.find((v) => v < vocabSize && fits(cpuPlan(MIN_DEPTH, v, seqLen, rate)));
    notes.push(
      `DEPTH ${MIN_DEPTH} gets fewer than ${TARGET_STEPS} steps of ${plan.total} tokens here` + (smaller ? `; with --vocab-size ${smaller} it would not` : ''),
    );
  }
  const evalTokens = Math.min(proportionalEval, pow2Floor(EVAL_SECONDS * plan.evalTokensPerSecond));
  return cpuRecommendation(report, plan, evalTokens, overrides, true, gflops, notes);
}

function cpuRecommendation(
  report: RecommendInput,
  plan: CpuPlan,
  evalTokens: number,
  overrides: RecommendOverrides,
  measured: boolean,
  gflops: number | null,
  notes: string[],
): Recommendation {
  const { model, total } = plan;
  const seqLen = model.sequenceLen;
  const stepRows = total / seqLen;
  const evalTokensRounded = Math.max(Math.min(stepRows, CPU_MAX_ROWS) * seqLen, evalTokens);
  // Micro-batches: the step's rows, within the RAM and within the EVAL_TOKENS scored (the
  // prepared one when given, else the recommended), dividing the step.
  const memoryRows = pow2Floor((0.25 * report.memoryGiB * 2 ** 30) / (cpuBytesPerToken(model) * seqLen));
  const evalRows = Math.floor((overrides.evalTokens ?? evalTokensRounded) / seqLen);
  let rows = Math.max(1, Math.min(CPU_MAX_ROWS, stepRows, memoryRows, evalRows));
  while (stepRows % rows !== 0) rows--;
  const timed = [...(report.cpuTimings ?? [])]
    .sort(([a], [b]) => b - a)
    .map(([depth, t]) => ({
      depth,
      modelDim: modelConfigFromDepth({ depth, aspectRatio: CPU_ASPECT_RATIO, headDim: 64, vocabSize: model.vocabSize, sequenceLen: seqLen, windowPattern: REFERENCE_WINDOW_PATTERN }).nEmbd,
      stepMs: Math.round(t.stepSeconds * 1000),
      steps: Math.floor(TIME_BUDGET / t.stepSeconds),
    }));
  const stepsOf = `steps of ${total} tokens in ${TIME_BUDGET} s`;
  return {
    device: 'cpu',
    MAX_SEQ_LEN: seqLen,
    EVAL_TOKENS: evalTokensRounded,
    VOCAB_SIZE: model.vocabSize,
    config: {
      DEPTH: model.nLayer,
      ASPECT_RATIO: CPU_ASPECT_RATIO,
      HEAD_DIM: 64,
      WINDOW_PATTERN: REFERENCE_WINDOW_PATTERN,
      DEVICE_BATCH_SIZE: rows,
      TOTAL_BATCH_SIZE: total,
    },
    modelDim: model.nEmbd,
    estimate: measured
      ? {
          params: estimateParams(model).total,
          flopsPerToken: estimateFlopsPerToken(model),
          tokensPerSecond: Math.round(plan.tokensPerSecond),
          steps: plan.steps,
          evalSeconds: Math.round((10 * evalTokensRounded) / plan.evalTokensPerSecond) / 10,
          timed: plan.timed,
        }
      : null,
    timed,
    rule: plan.timed
      ? `CPU: the deepest model that takes >= ${TARGET_STEPS} ${stepsOf} by timing its training steps here ` +
        `(${timed.map((t) => `DEPTH ${t.depth}: ${t.stepMs} ms a step`).join(', ')}; first guess from the ${gflops} GFLOP/s matmul rate)`
      : `CPU at ${gflops ?? '?'} GFLOP/s matmul: the deepest model predicted to take >= ${TARGET_STEPS} ${stepsOf}, ` +
        `a token costing (6 x params + attention + ${CPU_LOGIT_COST} x vocab) / ${CPU_TRAINING_EFFICIENCY * 100}% of that rate`,
    notes,
  };
}

function forGpu(report: RecommendInput, vocabSize: number, overrides: RecommendOverrides, notes: string[]): Recommendation {
  let memory = report.gpuMemoryGiB;
  if (memory === null) {
    memory = 24;
    notes.push('GPU memory unknown (nvidia-smi not found): assumed 24 GiB');
  }
  const seqLen = overrides.maxSeqLen ?? (memory >= 40 ? 2048 : memory >= 16 ? 512 : 256);
  const model = modelConfigFromDepth({ depth: REFERENCE_DEPTH, aspectRatio: REFERENCE_ASPECT_RATIO, headDim: REFERENCE_HEAD_DIM, vocabSize, sequenceLen: seqLen, windowPattern: REFERENCE_WINDOW_PATTERN });
  const usable = Math.max(0, memory - 2) * 0.75 * 2 ** 30; // weights, optimizer state and the CUDA context take ~2 GiB
  const rows = Math.max(1, Math.min(128, pow2Floor(usable / (GPU_BYTES_PER_TOKEN * seqLen))));
  const total = Math.max(rows * seqLen, Math.min(REFERENCE_TOTAL_BATCH, Math.max(2 ** 14, pow2Floor((REFERENCE_TOTAL_BATCH * memory) / 80))));
  const evalTokens = EVAL_TOKENS_PER_POSITION * seqLen;
  if (memory < 40) notes.push(`${memory} GiB of GPU memory: the reference's sizes scaled down (SPEC §8)`);
  // The doctor measures fp32 matmuls; bf16 training sustains about the reference's 40% MFU of
  // a faster rate, so this estimate is a floor.
  const rate = report.matmulGflops ? report.matmulGflops * 1e9 * 0.4 : null;
  const flops = estimateFlopsPerToken(model);
  if (rate) notes.push('the estimate uses the measured fp32 matmul rate; bf16 training runs faster, so expect more steps');
  return {
    device: 'cuda',
    MAX_SEQ_LEN: seqLen,
    EVAL_TOKENS: evalTokens,
    VOCAB_SIZE: vocabSize,
    config: { DEPTH: REFERENCE_DEPTH, ASPECT_RATIO: REFERENCE_ASPECT_RATIO, HEAD_DIM: REFERENCE_HEAD_DIM, WINDOW_PATTERN: REFERENCE_WINDOW_PATTERN, DEVICE_BATCH_SIZE: rows, TOTAL_BATCH_SIZE: total },
    modelDim: model.nEmbd,
    estimate: rate
      ? {
          params: estimateParams(model).total,
          flopsPerToken: flops,
          tokensPerSecond: Math.round(rate / flops),
          steps: Math.floor((TIME_BUDGET * rate) / flops / total),
          evalSeconds: Math.round((10 * evalTokens * flops) / 3 / rate) / 10,
          timed: false,
        }
      : null,
    timed: [],
    rule: `GPU with ${memory} GiB: the reference defaults (DEPTH 8, TOTAL_BATCH_SIZE 2^19 at 80 GiB) scaled by memory`,
    notes,
  };
}

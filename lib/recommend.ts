// A starting config for this machine: the sizes that do useful work in one 300 s experiment.
//
// The rule. An experiment is worth running when the model takes a few hundred optimizer steps
// in the time budget: the Muon momentum ramp spans 300 steps and the warmdown (the last half of
// the budget) needs steps to act. So, on a CPU:
//   1. cost of a training token = FLOPs by the SPEC formula
//        6 x (params - wte - value embeds - lambdas) + sum over layers of 12 x n_head x head_dim x window
//      + CPU_LOGIT_COST x vocab: the soft-cap, softmax and their gradients over the logits are
//      elementwise, memory-bound work the formula does not count, and on small models it is
//      half the step (DEPTH 2, model_dim 128: 17.6 M FLOP-equivalents a token, 9.4 M of them FLOPs);
//   2. sustained rate = CPU_TRAINING_EFFICIENCY (0.4) x the measured fp32 matmul rate. With these
//      two numbers the predicted tokens/s of DEPTH 2-6 models at MAX_SEQ_LEN 256 on the 2-core
//      development machine (230 GFLOP/s) were within 0.65-1.0x of the measured ones (on the
//      safe side), and the forward pass alone (the evaluation: a third of the FLOPs, the same
//      logit work) within 0.8-1.0x;
//   3. tokens in the budget = 300 s x rate / cost, and TOTAL_BATCH_SIZE = the largest power of
//      two that still gives TARGET_STEPS steps, at most the reference's 2^19;
//   4. the deepest model (DEPTH 8 down to 2, model_dim = 64 x DEPTH through ASPECT_RATIO 64 and
//      HEAD_DIM 64) whose TOTAL_BATCH_SIZE is at least MIN_TOTAL_BATCH (below ~2^13 tokens a
//      step's gradient is mostly noise) wins; none: DEPTH 2 at 2^13, with fewer steps;
//   5. the vocabulary is the prepared one; with nothing prepared, the largest of 8192, 4096,
//      ... 512 with which DEPTH 2 passes (SPEC §8: smaller vocabularies on small machines);
//   6. MAX_SEQ_LEN 256 (512 from 1 TFLOP/s), WINDOW_PATTERN "L" (SPEC §8: short contexts gain
//      nothing from half windows), DEVICE_BATCH_SIZE = TOTAL_BATCH_SIZE / MAX_SEQ_LEN rows, at
//      most 32 (bigger micro-batches do not run faster on a CPU) and what a quarter of the RAM
//      holds; EVAL_TOKENS = what the evaluation scores in EVAL_SECONDS, as a power of two, at
//      most the SPEC's proportional 10240 x MAX_SEQ_LEN.
// At 230 GFLOP/s: MAX_SEQ_LEN 256, VOCAB_SIZE 4096, DEPTH 2 (model_dim 128), DEVICE_BATCH_SIZE 32,
// TOTAL_BATCH_SIZE 2^13, EVAL_TOKENS 2^20; with a 512 vocabulary prepared, DEPTH 3 (192).
// On a GPU the measured fp32 rate says little about bf16 training, so the reference defaults
// (SPEC §6, tuned on an 80 GB H100) are scaled by the GPU's memory as in SPEC §8's table:
// MAX_SEQ_LEN 2048 from 40 GiB, 512 from 16 GiB, else 256; rows per micro-batch from the
// reference's ~45 GB peak at 128 x 2048 tokens; TOTAL_BATCH_SIZE and EVAL_TOKENS scaled down.
import type { DoctorReport } from './doctor';
import type { ExperimentConfig } from './experiment-config';
import { modelConfigFromDepth, resolveWindows, type ModelConfig } from './model-config';

/** TIME_BUDGET (SPEC §2), seconds of training per experiment. */
const TIME_BUDGET = 300;
/** Optimizer steps an experiment should take at least ("a few hundred"). */
export const TARGET_STEPS = 300;
/** Share of the measured fp32 matmul rate a CPU sustains on the FLOPs of a training step. */
export const CPU_TRAINING_EFFICIENCY = 0.4;
/** FLOP-equivalents per token and vocabulary entry of the elementwise work on the logits (CPU). */
export const CPU_LOGIT_COST = 1000;
/** Smallest TOTAL_BATCH_SIZE recommended. */
export const MIN_TOTAL_BATCH = 2 ** 13;
/** Seconds the final evaluation may take (a run must finish within 10 minutes in all). */
const EVAL_SECONDS = 90;
const REFERENCE_TOTAL_BATCH = 2 ** 19;
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

/** What recommendConfig reads from a doctor report. */
export type RecommendInput = Pick<DoctorReport, 'matmulGflops' | 'memoryGiB' | 'gpuMemoryGiB'> & {
  addon: { cudaAvailable: boolean } | null;
  /** Prepared datasets, most recent first: the first one's vocabulary is sized for. */
  prepared?: readonly { dataset: string; vocabSize: number; maxSeqLen: number; evalTokens?: number }[];
};

export interface RecommendOverrides {
  /** Vocabulary to size the model for; default: the most recently prepared data's, else 8192. */
  vocabSize?: number;
  /** MAX_SEQ_LEN to size for (e.g. the prepared one); default: recommended from the hardware. */
  maxSeqLen?: number;
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
  } | null;
  /** The rule in one line. */
  rule: string;
  notes: string[];
}

/** Parameter counts the native model would have (native/gpt.cc), without building it. */
export function estimateParams(c: ModelConfig): { total: number; wte: number; valueEmbeds: number; scalars: number } {
  const headDim = c.nEmbd / c.nHead;
  const kvDim = c.nKvHead * headDim;
  const hidden = Math.round(c.mlpRatio * c.nEmbd);
  const veLayers = c.valueEmbeds ? Array.from({ length: c.nLayer }, (_, i) => i).filter((i) => i % 2 === (c.nLayer - 1) % 2).length : 0;
  const attention = c.nEmbd * c.nEmbd * 2 + c.nEmbd * kvDim * 2; // c_q, c_proj; c_k, c_v
  const mlp = c.nEmbd * hidden * (c.mlpActivation === 'swiglu' ? 3 : 2);
  const matrices = c.nLayer * (attention + mlp) + veLayers * 32 * c.nKvHead;
  const wte = c.vocabSize * c.nEmbd;
  const valueEmbeds = veLayers * c.vocabSize * kvDim;
  const scalars = 2 * c.nLayer;
  return { total: wte + valueEmbeds + c.vocabSize * c.nEmbd + matrices + scalars, wte, valueEmbeds, scalars };
}

/** Training FLOPs per token by the SPEC formula (what model.flopsPerToken() returns). */
export function estimateFlopsPerToken(c: ModelConfig): number {
  const p = estimateParams(c);
  const dense = 6 * (p.total - p.wte - p.valueEmbeds - p.scalars);
  const attention = resolveWindows(c.windowPattern, c.nLayer, c.sequenceLen).reduce(
    (sum, w) => sum + 12 * c.nEmbd * Math.min(w, c.sequenceLen),
    0,
  );
  return dense + attention;
}

function pow2Floor(x: number): number {
  return x >= 1 ? 2 ** Math.floor(Math.log2(x)) : 0;
}

/** Bytes a CPU micro-batch holds per token: saved activations of each layer, then the logits. */
function cpuBytesPerToken(c: ModelConfig): number {
  return 4 * (c.nLayer * (25 * c.nEmbd + c.nHead * c.sequenceLen) + 4 * c.vocabSize);
}

/** A CPU model size and what it does in the budget (steps 1 and 3 of the rule). */
interface CpuPlan {
  model: ModelConfig;
  /** Training tokens per second. */
  tokensPerSecond: number;
  /** Evaluation tokens per second. */
  evalTokensPerSecond: number;
  /** The largest power-of-two TOTAL_BATCH_SIZE giving TARGET_STEPS steps (0: none). */
  total: number;
}

function cpuPlan(depth: number, vocabSize: number, seqLen: number, rate: number): CpuPlan {
  const model = modelConfigFromDepth({ depth, aspectRatio: 64, headDim: 64, vocabSize, sequenceLen: seqLen, windowPattern: 'L' });
  const flops = estimateFlopsPerToken(model);
  const logits = CPU_LOGIT_COST * vocabSize;
  const tokensPerSecond = rate / (flops + logits);
  const total = Math.min(REFERENCE_TOTAL_BATCH, pow2Floor((TIME_BUDGET * tokensPerSecond) / TARGET_STEPS));
  return { model, tokensPerSecond, evalTokensPerSecond: rate / (flops / 3 + logits), total };
}

/**
 * Sizes for one experiment on the machine a doctor report describes (see the file comment).
 * `autoresearch init` writes `config` into train/config.ts and passes MAX_SEQ_LEN,
 * EVAL_TOKENS and VOCAB_SIZE to prepare.
 */
export function recommendConfig(report: RecommendInput, overrides: RecommendOverrides = {}): Recommendation {
  const latest = report.prepared?.[0];
  const notes: string[] = [];
  const vocabSize = overrides.vocabSize ?? latest?.vocabSize;
  if (latest && overrides.vocabSize === undefined) notes.push(`sized for the vocabulary of the prepared '${latest.dataset}' data (${latest.vocabSize} tokens)`);
  const rec = report.addon?.cudaAvailable ? forGpu(report, vocabSize ?? REFERENCE_VOCAB, overrides, notes) : forCpu(report, vocabSize, overrides, notes);
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

function forCpu(report: RecommendInput, fixedVocab: number | undefined, overrides: RecommendOverrides, notes: string[]): Recommendation {
  const gflops = report.matmulGflops;
  const seqLen = overrides.maxSeqLen ?? (gflops !== null && gflops >= 1000 ? 512 : 256);
  const proportionalEval = EVAL_TOKENS_PER_POSITION * seqLen;
  if (!gflops) {
    const vocabSize = fixedVocab ?? 4096;
    const model = modelConfigFromDepth({ depth: MIN_DEPTH, aspectRatio: 64, headDim: 64, vocabSize, sequenceLen: seqLen, windowPattern: 'L' });
    notes.push('no matmul measurement (the addon did not load): small defaults; run `autoresearch doctor` again once it loads');
    return cpuRecommendation(report, model, MIN_TOTAL_BATCH, Math.min(proportionalEval, 2 ** 20), null, gflops, notes);
  }
  const rate = gflops * 1e9 * CPU_TRAINING_EFFICIENCY;
  const vocabSize =
    fixedVocab ?? CPU_VOCABS.find((v) => cpuPlan(MIN_DEPTH, v, seqLen, rate).total >= MIN_TOTAL_BATCH) ?? CPU_VOCABS[CPU_VOCABS.length - 1]!;
  let plan: CpuPlan | undefined;
  for (let depth = 8; depth >= MIN_DEPTH && !plan; depth--) {
    const candidate = cpuPlan(depth, vocabSize, seqLen, rate);
    if (candidate.total >= MIN_TOTAL_BATCH) plan = candidate;
  }
  if (!plan) {
    plan = { ...cpuPlan(MIN_DEPTH, vocabSize, seqLen, rate), total: MIN_TOTAL_BATCH };
    const smaller = CPU_VOCABS.find((v) => v < vocabSize && cpuPlan(MIN_DEPTH, v, seqLen, rate).total >= MIN_TOTAL_BATCH);
    notes.push(
      `DEPTH ${MIN_DEPTH} gets fewer than ${TARGET_STEPS} steps of ${MIN_TOTAL_BATCH} tokens here` +
        (smaller ? `; with --vocab-size ${smaller} it would not` : ''),
    );
  }
  const evalTokens = Math.min(proportionalEval, pow2Floor(EVAL_SECONDS * plan.evalTokensPerSecond));
  return cpuRecommendation(report, plan.model, plan.total, evalTokens, plan, gflops, notes);
}

function cpuRecommendation(
  report: RecommendInput,
  model: ModelConfig,
  total: number,
  evalTokens: number,
  plan: CpuPlan | null,
  gflops: number | null,
  notes: string[],
): Recommendation {
  const seqLen = model.sequenceLen;
  const memoryRows = pow2Floor((0.25 * report.memoryGiB * 2 ** 30) / (cpuBytesPerToken(model) * seqLen));
  const rows = Math.max(1, Math.min(CPU_MAX_ROWS, total / seqLen, memoryRows));
  const evalTokensRounded = Math.max(rows * seqLen, evalTokens);
  return {
    device: 'cpu',
    MAX_SEQ_LEN: seqLen,
    EVAL_TOKENS: evalTokensRounded,
    VOCAB_SIZE: model.vocabSize,
    config: { DEPTH: model.nLayer, ASPECT_RATIO: 64, HEAD_DIM: 64, WINDOW_PATTERN: 'L', DEVICE_BATCH_SIZE: rows, TOTAL_BATCH_SIZE: total },
    modelDim: model.nEmbd,
    estimate: plan
      ? {
          params: estimateParams(model).total,
          flopsPerToken: estimateFlopsPerToken(model),
          tokensPerSecond: Math.round(plan.tokensPerSecond),
          steps: Math.floor((TIME_BUDGET * plan.tokensPerSecond) / total),
          evalSeconds: Math.round((10 * evalTokensRounded) / plan.evalTokensPerSecond) / 10,
        }
      : null,
    rule:
      `CPU at ${gflops ?? '?'} GFLOP/s matmul: the deepest model with >= ${TARGET_STEPS} steps of >= ${MIN_TOTAL_BATCH} tokens ` +
      `in ${TIME_BUDGET} s, a token costing (6 x params + attention + ${CPU_LOGIT_COST} x vocab) / ${CPU_TRAINING_EFFICIENCY * 100}% of that rate`,
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
  const model = modelConfigFromDepth({ depth: 8, aspectRatio: 64, headDim: 128, vocabSize, sequenceLen: seqLen, windowPattern: 'SSSL' });
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
    config: { DEPTH: 8, ASPECT_RATIO: 64, HEAD_DIM: 128, WINDOW_PATTERN: 'SSSL', DEVICE_BATCH_SIZE: rows, TOTAL_BATCH_SIZE: total },
    modelDim: model.nEmbd,
    estimate: rate
      ? {
          params: estimateParams(model).total,
          flopsPerToken: flops,
          tokensPerSecond: Math.round(rate / flops),
          steps: Math.floor((TIME_BUDGET * rate) / flops / total),
          evalSeconds: Math.round((10 * evalTokens * flops) / 3 / rate) / 10,
        }
      : null,
    rule: `GPU with ${memory} GiB: the reference defaults (DEPTH 8, TOTAL_BATCH_SIZE 2^19 at 80 GiB) scaled by memory`,
    notes,
  };
}

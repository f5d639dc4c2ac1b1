// The training config: the one file the research agent edits.
// Every experiment trains a GPT with these settings for the fixed time budget and is scored by
// val_bpb (lower is better). TIME_BUDGET, MAX_SEQ_LEN and EVAL_TOKENS are fixed by the harness
// and cannot be changed here. Values below are the reference's (DEPTH 8 on one GPU);
// `npx autoresearch init` writes a copy scaled to the machine it runs on.
import type { ExperimentConfig } from 'autoresearch';

const config = {
  // --- model ---------------------------------------------------------------------------
  DEPTH: 8, // transformer layers
  ASPECT_RATIO: 64, // model_dim = ceil(DEPTH * ASPECT_RATIO / HEAD_DIM) * HEAD_DIM
  HEAD_DIM: 128, // channels per attention head
  N_KV_HEAD: null, // key/value heads for GQA (null: one per query head)
  WINDOW_PATTERN: 'SSSL', // attention windows per layer: S = half context, L = full
  MLP_ACTIVATION: 'relu2', // relu2 | swiglu | gelu
  MLP_RATIO: 4, // MLP hidden size / model_dim
  VALUE_EMBEDS: true, // gated value embeddings on alternating layers
  SOFTCAP: 15, // logit soft-cap (false: none)
  ROTARY_BASE: 10000, // rotary embedding base

  // --- batch -----------------------------------------------------------------------------
  TOTAL_BATCH_SIZE: 2 ** 19, // tokens per optimizer step
  DEVICE_BATCH_SIZE: 128, // rows per micro-batch (gradient accumulation does the rest)

  // --- optimizer -------------------------------------------------------------------------
  EMBEDDING_LR: 0.6, // AdamW, token and value embeddings
  UNEMBEDDING_LR: 0.004, // AdamW, output head
  MATRIX_LR: 0.04, // Muon, matrices inside the blocks
  SCALAR_LR: 0.5, // AdamW, per-layer lambdas
  WEIGHT_DECAY: 0.2, // Muon cautious weight decay at the start
  ADAM_BETAS: [0.8, 0.95], // AdamW (beta1, beta2)

  // --- schedule --------------------------------------------------------------------------
  WARMUP_RATIO: 0, // share of the budget warming the lr up
  WARMDOWN_RATIO: 0.5, // share of the budget at the end decaying the lr
  FINAL_LR_FRAC: 0, // lr multiplier at the very end
  SEED: 42,

  /** lr multiplier from progress (share of the time budget used): warmup, flat, warmdown. */
  lrMultiplier(progress: number): number {
    const { WARMUP_RATIO, WARMDOWN_RATIO, FINAL_LR_FRAC } = config;
    if (progress < WARMUP_RATIO) return WARMUP_RATIO > 0 ? (progress + 1e-8) / WARMUP_RATIO : 1;
    if (progress < 1 - WARMDOWN_RATIO) return 1;
    const cooldown = (1 - progress) / WARMDOWN_RATIO;
    return cooldown + (1 - cooldown) * FINAL_LR_FRAC;
  },

  /** Muon momentum: 0.85 -> 0.95 over the first 300 steps. */
  muonMomentum(step: number): number {
    const frac = Math.min(step / 300, 1);
    return (1 - frac) * 0.85 + frac * 0.95;
  },

  /** Muon weight decay: linear from WEIGHT_DECAY to 0 over the budget. */
  weightDecay(progress: number): number {
    return config.WEIGHT_DECAY * (1 - progress);
  },
} satisfies ExperimentConfig;

export default config;

// The shape of `train/config.ts`, the one module the research agent edits (SPEC §6).
// Knobs keep the reference's SCREAMING_CASE names; the schedules are plain functions.
// The fixed constants (TIME_BUDGET, MAX_SEQ_LEN, EVAL_TOKENS) are NOT here: they come from the
// prepared data and the human's settings, never from the agent's module.
//
// This file imports nothing, so `train/config.ts` can be type-checked against it alone.

export type MlpActivationName = 'relu2' | 'swiglu' | 'gelu';

/** The knobs of train/config.ts: what an experiment changes, checked before it runs. */
export interface ExperimentConfig {
  // --- model ---------------------------------------------------------------------------
  /** Transformer layers. */
  DEPTH: number;
  /** model_dim = ceil(DEPTH * ASPECT_RATIO / HEAD_DIM) * HEAD_DIM. */
  ASPECT_RATIO: number;
  /** Channels per attention head; heads = model_dim / HEAD_DIM. */
  HEAD_DIM: number;
  /** Key/value heads (GQA); null = as many as query heads. Must divide the head count. */
  N_KV_HEAD: number | null;
  /** Per-layer attention windows: S = half context, L = full, repeated; last layer always L. */
  WINDOW_PATTERN: string;
  /** MLP non-linearity. */
  MLP_ACTIVATION: MlpActivationName;
  /** MLP hidden size as a multiple of model_dim. */
  MLP_RATIO: number;
  /** Value embeddings with input-dependent gates on alternating layers. */
  VALUE_EMBEDS: boolean;
  /** Logit soft-cap, or false for none. */
  SOFTCAP: number | false;
  /** Rotary embedding base. */
  ROTARY_BASE: number;
  // --- batch ---------------------------------------------------------------------------
  /** Tokens per optimizer step; a multiple of DEVICE_BATCH_SIZE * MAX_SEQ_LEN. */
  TOTAL_BATCH_SIZE: number;
  /** Rows per forward/backward (gradient accumulation makes up the rest). */
  DEVICE_BATCH_SIZE: number;
  // --- optimizer -----------------------------------------------------------------------
  /** AdamW lr of the token and value embeddings (scaled by (model_dim/768)^-0.5). */
  EMBEDDING_LR: number;
  /** AdamW lr of the output head (scaled by (model_dim/768)^-0.5). */
  UNEMBEDDING_LR: number;
  /** Muon lr of the matrices inside the blocks. */
  MATRIX_LR: number;
  /** AdamW lr of x0_lambdas (resid_lambdas get 1% of it). */
  SCALAR_LR: number;
  /** Muon cautious weight decay at the start (schedule: weightDecay). */
  WEIGHT_DECAY: number;
  /** AdamW betas. */
  ADAM_BETAS: [number, number];
  // --- schedule ------------------------------------------------------------------------
  /** Share of the time budget spent warming the lr up. */
  WARMUP_RATIO: number;
  /** Share of the time budget at the end spent decaying the lr. */
  WARMDOWN_RATIO: number;
  /** lr multiplier at the end of the warmdown. */
  FINAL_LR_FRAC: number;
  /** Seed of the initial weights and of the data order. */
  SEED: number;
  /** lr multiplier from training progress in [0, 1] (share of the time budget used). */
  lrMultiplier(progress: number): number;
  /** Muon momentum at an optimizer step. */
  muonMomentum(step: number): number;
  /** Muon weight decay from training progress in [0, 1]. */
  weightDecay(progress: number): number;
}

/** The reference's values (SPEC §6): DEPTH 8 on a GPU with a 2048 context. */
export const REFERENCE_DEFAULTS = {
  DEPTH: 8,
  ASPECT_RATIO: 64,
  HEAD_DIM: 128,
  N_KV_HEAD: null,
  WINDOW_PATTERN: 'SSSL',
  MLP_ACTIVATION: 'relu2',
  MLP_RATIO: 4,
  VALUE_EMBEDS: true,
  SOFTCAP: 15,
  ROTARY_BASE: 10000,
  TOTAL_BATCH_SIZE: 2 ** 19,
  DEVICE_BATCH_SIZE: 128,
  EMBEDDING_LR: 0.6,
  UNEMBEDDING_LR: 0.004,
  MATRIX_LR: 0.04,
  SCALAR_LR: 0.5,
  WEIGHT_DECAY: 0.2,
  ADAM_BETAS: [0.8, 0.95],
  WARMUP_RATIO: 0,
  WARMDOWN_RATIO: 0.5,
  FINAL_LR_FRAC: 0,
  SEED: 42,
} as const satisfies Omit<ExperimentConfig, 'lrMultiplier' | 'muonMomentum' | 'weightDecay'>;

/** The knobs of ExperimentConfig (everything but the schedule functions). */
export const CONFIG_KEYS = Object.keys(REFERENCE_DEFAULTS) as (keyof typeof REFERENCE_DEFAULTS)[];
export const SCHEDULE_KEYS = ['lrMultiplier', 'muonMomentum', 'weightDecay'] as const;

// Model configuration: the reference's sizing rule (SPEC §4) and window patterns resolved
// to the per-layer numbers the native model takes.
//   model_dim = ceil(DEPTH * ASPECT_RATIO / HEAD_DIM) * HEAD_DIM,  n_head = model_dim / HEAD_DIM
//   windows: 'L' = full context (sequence_len), 'S' = half context; the last layer is always L.
// Options a caller leaves out take the knob table's reference values (knobs.ts).
import { ConfigError } from '../errors';
import { KNOBS, REFERENCE_DEFAULTS, type KnobSettings, type MlpActivation } from './knobs';

export type { MlpActivation } from './knobs';

/** A GPT's shape and architecture options. */
export interface ModelConfig {
  vocabSize: number;
  /** Context length (MAX_SEQ_LEN); windows are relative to it. */
  sequenceLen: number;
  nLayer: number;
  nHead: number;
  /** Key/value heads; GQA when smaller than nHead (must divide it). */
  nKvHead: number;
  /** Model width (model_dim); head_dim = nEmbd / nHead. */
  nEmbd: number;
  /** A pattern of S/L repeated over layers ("SSSL"), or an explicit window per layer in tokens. */
  windowPattern: string | number[];
  /** MLP non-linearity (knob MLP_ACTIVATION). */
  mlpActivation: MlpActivation;
  /** MLP hidden size as a multiple of nEmbd (knob MLP_RATIO). */
  mlpRatio: number;
  /** Value embeddings with gates on alternating layers (knob VALUE_EMBEDS). */
  valueEmbeds: boolean;
  /** Logit soft-cap value, or false for none (knob SOFTCAP). */
  softcap: number | false;
  /** Rotary embedding base (knob ROTARY_BASE). */
  rotaryBase: number;
}

/** The knobs the training config uses to size a model; options left out take the reference's values. */
export interface ModelSizing {
  depth: number;
  aspectRatio: number;
  headDim: number;
  vocabSize: number;
  sequenceLen: number;
  /** Key/value heads; default: as many as query heads. */
  nKvHead?: number;
  windowPattern?: string | number[];
  mlpActivation?: MlpActivation;
  mlpRatio?: number;
  valueEmbeds?: boolean;
  softcap?: number | false;
  rotaryBase?: number;
}

/** The architecture options' reference values, from the knob table. */
export const MODEL_DEFAULTS = {
  windowPattern: REFERENCE_DEFAULTS.WINDOW_PATTERN,
  mlpActivation: REFERENCE_DEFAULTS.MLP_ACTIVATION,
  mlpRatio: REFERENCE_DEFAULTS.MLP_RATIO,
  valueEmbeds: REFERENCE_DEFAULTS.VALUE_EMBEDS,
  softcap: REFERENCE_DEFAULTS.SOFTCAP,
  rotaryBase: REFERENCE_DEFAULTS.ROTARY_BASE,
};

/** Sizes a model the reference's way from DEPTH, ASPECT_RATIO and HEAD_DIM. */
export function modelConfigFromDepth(s: ModelSizing): ModelConfig {
  for (const [name, value] of [
    ['depth', s.depth],
    ['aspectRatio', s.aspectRatio],
    ['headDim', s.headDim],
  ] as const) {
    if (!Number.isInteger(value) || value < 1) throw new ConfigError(`${name} must be a positive integer (got ${value})`);
  }
  const nEmbd = Math.ceil((s.depth * s.aspectRatio) / s.headDim) * s.headDim;
  const nHead = nEmbd / s.headDim;
  return validateModelConfig({
    vocabSize: s.vocabSize,
    sequenceLen: s.sequenceLen,
    nLayer: s.depth,
    nHead,
    nKvHead: s.nKvHead ?? nHead,
    nEmbd,
    windowPattern: s.windowPattern ?? MODEL_DEFAULTS.windowPattern,
    mlpActivation: s.mlpActivation ?? MODEL_DEFAULTS.mlpActivation,
    mlpRatio: s.mlpRatio ?? MODEL_DEFAULTS.mlpRatio,
    valueEmbeds: s.valueEmbeds ?? MODEL_DEFAULTS.valueEmbeds,
    softcap: s.softcap ?? MODEL_DEFAULTS.softcap,
    rotaryBase: s.rotaryBase ?? MODEL_DEFAULTS.rotaryBase,
  });
}

/** The model a config's knobs describe, for the data's vocabulary and context length. */
export function modelConfigFromKnobs(k: KnobSettings, data: { vocabSize: number; sequenceLen: number }): ModelConfig {
  return modelConfigFromDepth({
    depth: k.DEPTH,
    aspectRatio: k.ASPECT_RATIO,
    headDim: k.HEAD_DIM,
    vocabSize: data.vocabSize,
    sequenceLen: data.sequenceLen,
    nKvHead: k.N_KV_HEAD ?? undefined,
    windowPattern: k.WINDOW_PATTERN,
    mlpActivation: k.MLP_ACTIVATION,
    mlpRatio: k.MLP_RATIO,
    valueEmbeds: k.VALUE_EMBEDS,
    softcap: k.SOFTCAP,
    rotaryBase: k.ROTARY_BASE,
  });
}

/** Per-layer windows from a pattern (S = half context, L = full; last layer L) or a list. */
export function resolveWindows(pattern: string | number[], nLayer: number, sequenceLen: number): number[] {
  if (Array.isArray(pattern)) {
    if (pattern.length !== nLayer) {
      throw new ConfigError(`windowPattern lists ${pattern.length} windows for ${nLayer} layers: give one per layer`);
    }
    pattern.forEach((w, i) => {
      if (!Number.isInteger(w) || w < 1) throw new ConfigError(`windowPattern[${i}] = ${w}: windows are positive token counts`);
    });
    return [...pattern];
  }
  const chars = pattern.toUpperCase();
  if (!/^[SL]+$/.test(chars)) {
    throw new ConfigError(`windowPattern '${pattern}' may only contain S (half context) and L (full context), e.g. "SSSL"`);
  }
  const long = sequenceLen;
  const short = Math.max(1, Math.floor(sequenceLen / 2));
  const windows = Array.from({ length: nLayer }, (_, i) => (chars[i % chars.length] === 'L' ? long : short));
  windows[nLayer - 1] = long;
  return windows;
}

function positiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw new ConfigError(`${name} must be a positive integer (got ${value})`);
}

/** Checks a config and returns it; errors name the setting and a value that works. */
export function validateModelConfig(c: ModelConfig): ModelConfig {
  positiveInteger('vocabSize', c.vocabSize);
  positiveInteger('sequenceLen', c.sequenceLen);
  positiveInteger('nLayer', c.nLayer);
  positiveInteger('nHead', c.nHead);
  positiveInteger('nEmbd', c.nEmbd);
  positiveInteger('nKvHead', c.nKvHead);
  if (c.nEmbd % c.nHead !== 0) {
    throw new ConfigError(`nHead ${c.nHead} does not divide the model width ${c.nEmbd}: use a width that is a multiple of it`);
  }
  if ((c.nEmbd / c.nHead) % 2 !== 0) throw new ConfigError(`head_dim ${c.nEmbd / c.nHead} must be even (rotary embeddings)`);
  if (c.nHead % c.nKvHead !== 0) {
    const divisors = Array.from({ length: c.nHead }, (_, i) => i + 1).filter((d) => c.nHead % d === 0);
    throw new ConfigError(`nKvHead ${c.nKvHead} must divide nHead ${c.nHead}: one of ${divisors.join(', ')}`);
  }
  if (!KNOBS.MLP_ACTIVATION.kind.is(c.mlpActivation)) {
    throw new ConfigError(`mlpActivation '${c.mlpActivation}' must be ${KNOBS.MLP_ACTIVATION.kind.expected}`);
  }
  if (!(c.mlpRatio > 0)) throw new ConfigError(`mlpRatio must be positive (got ${c.mlpRatio})`);
  if (c.valueEmbeds && c.nEmbd < 32) throw new ConfigError('value embeddings gate on 32 channels: nEmbd must be at least 32');
  if (c.softcap !== false && !(c.softcap > 0)) throw new ConfigError(`softcap must be a positive number or false (got ${c.softcap})`);
  if (!(c.rotaryBase > 1)) throw new ConfigError(`rotaryBase must be greater than 1 (got ${c.rotaryBase})`);
  resolveWindows(c.windowPattern, c.nLayer, c.sequenceLen);
  return c;
}

/**
 * The resolved numbers the addon takes (NativeModelConfig in lib/native/addon.ts, checked where
 * the model is built): every field, so the addon needs no defaults of its own.
 */
export function toNativeConfig(c: ModelConfig) {
  validateModelConfig(c);
  return {
    vocabSize: c.vocabSize,
    sequenceLen: c.sequenceLen,
    nLayer: c.nLayer,
    nHead: c.nHead,
    nKvHead: c.nKvHead,
    nEmbd: c.nEmbd,
    windows: resolveWindows(c.windowPattern, c.nLayer, c.sequenceLen),
    mlpActivation: c.mlpActivation,
    mlpRatio: c.mlpRatio,
    valueEmbeds: c.valueEmbeds,
    softcap: c.softcap === false ? 0 : c.softcap,
    rotaryBase: c.rotaryBase,
  };
}

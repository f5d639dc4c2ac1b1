// Model configuration: the reference's sizing rule (SPEC §4) and window patterns resolved
// to the per-layer numbers the native model takes.
//   model_dim = ceil(DEPTH * ASPECT_RATIO / HEAD_DIM) * HEAD_DIM,  n_head = model_dim / HEAD_DIM
//   windows: 'L' = full context (sequence_len), 'S' = half context; the last layer is always L.
import { ConfigError } from './errors';
import type { NativeModelConfig } from './native/addon';

/** The MLP's activation: relu² (the reference), SwiGLU or GELU. */
export type MlpActivation = 'relu2' | 'swiglu' | 'gelu';

/** A GPT's shape and architecture options. Options beyond the reference default to it. */
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
  /** MLP non-linearity (reference: relu2). */
  mlpActivation: MlpActivation;
  /** MLP hidden size as a multiple of nEmbd (reference: 4). */
  mlpRatio: number;
  /** Value embeddings with gates on alternating layers (reference: on). */
  valueEmbeds: boolean;
  /** Logit soft-cap value, or false for none (reference: 15). */
  softcap: number | false;
  /** Rotary embedding base (reference: 10000). */
  rotaryBase: number;
}

/** The knobs the training config uses to size a model (SPEC §6 names). */
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

export const MODEL_DEFAULTS = {
  windowPattern: 'SSSL',
  mlpActivation: 'relu2' as MlpActivation,
  mlpRatio: 4,
  valueEmbeds: true,
  softcap: 15 as number | false,
  rotaryBase: 10000,
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
  if (!['relu2', 'swiglu', 'gelu'].includes(c.mlpActivation)) {
    throw new ConfigError(`mlpActivation '${c.mlpActivation}' is not one of relu2, swiglu, gelu`);
  }
  if (!(c.mlpRatio > 0)) throw new ConfigError(`mlpRatio must be positive (got ${c.mlpRatio})`);
  if (c.valueEmbeds && c.nEmbd < 32) throw new ConfigError('value embeddings gate on 32 channels: nEmbd must be at least 32');
  if (c.softcap !== false && !(c.softcap > 0)) throw new ConfigError(`softcap must be a positive number or false (got ${c.softcap})`);
  if (!(c.rotaryBase > 1)) throw new ConfigError(`rotaryBase must be greater than 1 (got ${c.rotaryBase})`);
  resolveWindows(c.windowPattern, c.nLayer, c.sequenceLen);
  return c;
}

/** The resolved numbers the addon takes. */
export function toNativeConfig(c: ModelConfig): NativeModelConfig {
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

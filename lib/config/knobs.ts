// The knob table: every setting of train/config.ts, described once. Everything else reads it:
// the ExperimentConfig type (experiment-config.ts), the checks of a loaded config
// (runner/validate-config.ts), the defaults of the model and optimizer configs handed to the
// addon (model-config.ts, lib/optimizer.ts), `autoresearch init`, the builtin agent's moves,
// and the knob tables of program.md (program-tables.ts; regenerate with `npm run gen:program`).
//
// Adding a knob: one entry here, one line in train/config.ts, `npm run gen:program`, and its
// use (modelConfigFromKnobs for the model's, runner/train.ts for the optimizer's).
// This file imports nothing, so the rest of lib/config builds on it without cycles.

/** The MLP non-linearities the model implements. */
export const MLP_ACTIVATIONS = ['relu2', 'swiglu', 'gelu'] as const;
/** The MLP's activation: relu² (the reference), SwiGLU or GELU. */
export type MlpActivation = (typeof MLP_ACTIVATIONS)[number];

/** The values a knob accepts: a type guard and the words that name them in error messages. */
export interface Kind<T> {
  /** e.g. 'a positive integer', completing "DEPTH must be …". */
  readonly expected: string;
  /** The kind this one narrows (a positive integer is a number): checked first, for a plainer message. */
  readonly base?: Kind<unknown>;
  is(value: unknown): value is T;
}

const kind = <T>(expected: string, is: (value: unknown) => boolean, base?: Kind<unknown>): Kind<T> => ({
  expected,
  is: ((v: unknown) => (base ? base.is(v) : true) && is(v)) as (value: unknown) => value is T,
  ...(base ? { base } : {}),
});
const number = kind<number>('a number', (v) => typeof v === 'number' && Number.isFinite(v));
const isPositiveInteger = (v: unknown) => Number.isInteger(v) && (v as number) >= 1;

/** What a value lacks to be of a kind ('a number', 'a positive integer', …), or null when it is one. */
export function mismatch(k: Kind<unknown>, value: unknown): string | null {
  if (k.base && !k.base.is(value)) return k.base.expected;
  return k.is(value) ? null : k.expected;
}

export const kinds = {
  number,
  positiveInteger: kind<number>('a positive integer', isPositiveInteger, number),
  /** A share of the time budget, or a multiplier of the lr. */
  unitInterval: kind<number>('a number in [0, 1]', (v) => (v as number) >= 0 && (v as number) <= 1, number),
  string: kind<string>('a string', (v) => typeof v === 'string'),
  boolean: kind<boolean>('a boolean', (v) => typeof v === 'boolean'),
  positiveIntegerOrNull: kind<number | null>('null or a positive integer', (v) => v === null || isPositiveInteger(v)),
  positiveOrFalse: kind<number | false>('a positive number or false', (v) => v === false || (number.is(v) && v > 0)),
  betas: kind<[number, number]>(
    'two numbers in [0, 1)',
    (v) => Array.isArray(v) && v.length === 2 && v.every((b) => number.is(b) && b >= 0 && b < 1),
  ),
  mlpActivation: kind<MlpActivation>(
    MLP_ACTIVATIONS.map((a) => `'${a}'`).join(', ').replace(/, ([^,]*)$/, ' or $1'),
    (v) => (MLP_ACTIVATIONS as readonly unknown[]).includes(v),
  ),
};

/**
 * How the builtin agent moves a knob (lib/loop/agents/builtin-agent.ts implements each):
 * - factor: ×0.7 and ×1.4 (often), ×0.5 and ×2 (rarely); `toZero` adds a move to 0
 * - scale: ×0.5 and ×2, rarely
 * - count: ±1 and ±25%, at least 1
 * - width: ±25%, rounded, at least 1
 * - headDim: ×2 and ÷2, staying even
 * - kvHeads: null or a divisor of the head count
 * - ratio: ±25% in steps of 0.5, at least 0.5
 * - choice: one of `choices`
 * - softcap: off, ×0.7, ×1.4; back to the reference value when off
 * - totalBatch / deviceBatch: powers of two, TOTAL a multiple of DEVICE × MAX_SEQ_LEN
 * - betas: 1 − β by ×0.7 and ×1.4, per β
 * - fromZero: from 0 to small values, else ×2, ÷2 or back to 0
 * - shift: ±0.1 (often) and ±0.2 (rarely) within [0, 1]
 * - frozen: never changed
 */
export type Mutation =
  | { by: 'factor'; toZero?: boolean }
  | { by: 'scale' | 'count' | 'width' | 'headDim' | 'kvHeads' | 'ratio' | 'softcap' | 'totalBatch' | 'deviceBatch' | 'betas' | 'shift' | 'frozen' }
  | { by: 'choice'; choices: readonly (string | boolean)[] }
  | { by: 'fromZero'; from: readonly [number, number] };

export type KnobGroup = 'model' | 'batch' | 'optimizer' | 'schedule';

export interface Knob<T> {
  group: KnobGroup;
  kind: Kind<T>;
  /** The reference's value (SPEC §6: DEPTH 8 on one GPU with a 2048 context). */
  default: T;
  /** What one unit is ('' when it is a plain count or has none). */
  unit: string;
  /** Advice for program.md: typical values on a small CPU machine and on one large GPU. */
  range: { cpu: string; gpu: string };
  /** One line: what it does. */
  doc: string;
  mutate: Mutation;
}

const knob = <T>(spec: Knob<T>): Knob<T> => spec;

/** The knobs, in the order train/config.ts lists them. */
export const KNOBS = {
  // --- model ---------------------------------------------------------------------------
  DEPTH: knob({
    group: 'model', kind: kinds.positiveInteger, default: 8, unit: 'layers', range: { cpu: '2–6', gpu: '6–12' },
    doc: 'transformer layers; also sets the width through ASPECT_RATIO',
    mutate: { by: 'count' },
  }),
  ASPECT_RATIO: knob({
    group: 'model', kind: kinds.positiveInteger, default: 64, unit: 'channels per layer', range: { cpu: '32–64', gpu: '48–96' },
    doc: '`model_dim = ceil(DEPTH × ASPECT_RATIO / HEAD_DIM) × HEAD_DIM`',
    mutate: { by: 'width' },
  }),
  HEAD_DIM: knob({
    group: 'model', kind: kinds.positiveInteger, default: 128, unit: 'channels', range: { cpu: '32–128', gpu: '64–128' },
    doc: 'channels per head; heads = model_dim / HEAD_DIM; must be even',
    mutate: { by: 'headDim' },
  }),
  N_KV_HEAD: knob<number | null>({
    group: 'model', kind: kinds.positiveIntegerOrNull, default: null, unit: 'heads', range: { cpu: 'null, or a divisor', gpu: 'null, 2–4' },
    doc: 'key/value heads (GQA); `null` = one per query head; must divide the heads',
    mutate: { by: 'kvHeads' },
  }),
  WINDOW_PATTERN: knob({
    group: 'model', kind: kinds.string, default: 'SSSL', unit: '', range: { cpu: '`L`, `SL`', gpu: '`SSSL`, `SSL`, `SL`, `L`' },
    doc: 'attention window per layer, repeated: `S` = half context, `L` = full; the last layer is always full',
    mutate: { by: 'choice', choices: ['L', 'SL', 'SSL', 'SSSL'] },
  }),
  MLP_ACTIVATION: knob<MlpActivation>({
    group: 'model', kind: kinds.mlpActivation, default: 'relu2', unit: '', range: { cpu: 'any', gpu: 'any' },
    doc: '`relu2` (ReLU²), `swiglu` (gated; adds a third matrix), `gelu`',
    mutate: { by: 'choice', choices: MLP_ACTIVATIONS },
  }),
  MLP_RATIO: knob({
    group: 'model', kind: kinds.number, default: 4, unit: '× model_dim', range: { cpu: '2–4', gpu: '2.5–4' },
    doc: 'MLP hidden size / model_dim (any positive number); with swiglu, ~8/3 keeps the parameter count of relu2 at 4',
    mutate: { by: 'ratio' },
  }),
  VALUE_EMBEDS: knob({
    group: 'model', kind: kinds.boolean, default: true, unit: '', range: { cpu: 'true/false', gpu: 'true/false' },
    doc: 'gated value embeddings on alternating layers (extra embedding tables)',
    mutate: { by: 'choice', choices: [true, false] },
  }),
  SOFTCAP: knob<number | false>({
    group: 'model', kind: kinds.positiveOrFalse, default: 15, unit: 'logits', range: { cpu: '10–30, false', gpu: '10–30, false' },
    doc: 'logit soft-cap `c·tanh(x/c)`, or `false` for none',
    mutate: { by: 'softcap' },
  }),
  ROTARY_BASE: knob({
    group: 'model', kind: kinds.number, default: 10000, unit: '', range: { cpu: '1e3–1e5', gpu: '1e3–1e5' },
    doc: 'rotary embedding base; larger = slower-rotating positions',
    mutate: { by: 'scale' },
  }),
  // --- batch ---------------------------------------------------------------------------
  TOTAL_BATCH_SIZE: knob({
    group: 'batch', kind: kinds.positiveInteger, default: 2 ** 19, unit: 'tokens', range: { cpu: '2^12–2^16', gpu: '2^17–2^20' },
    doc: 'tokens per optimizer step; a multiple of DEVICE_BATCH_SIZE × MAX_SEQ_LEN',
    mutate: { by: 'totalBatch' },
  }),
  DEVICE_BATCH_SIZE: knob({
    group: 'batch', kind: kinds.positiveInteger, default: 128, unit: 'rows', range: { cpu: '4–32', gpu: '32–128' },
    doc: 'rows per forward/backward; gradient accumulation makes up the rest. Changes speed and memory, not the math',
    mutate: { by: 'deviceBatch' },
  }),
  // --- optimizer -----------------------------------------------------------------------
  EMBEDDING_LR: knob({
    group: 'optimizer', kind: kinds.number, default: 0.6, unit: '', range: { cpu: '0.1–1.5', gpu: '0.1–1.5' },
    doc: 'AdamW lr of the token and value embeddings, scaled by (model_dim/768)^-0.5',
    mutate: { by: 'factor' },
  }),
  UNEMBEDDING_LR: knob({
    group: 'optimizer', kind: kinds.number, default: 0.004, unit: '', range: { cpu: '0.001–0.02', gpu: '0.001–0.02' },
    doc: 'AdamW lr of the output head, same scaling',
    mutate: { by: 'factor' },
  }),
  MATRIX_LR: knob({
    group: 'optimizer', kind: kinds.number, default: 0.04, unit: '', range: { cpu: '0.01–0.1', gpu: '0.01–0.1' },
    doc: 'Muon lr of every matrix inside the blocks',
    mutate: { by: 'factor' },
  }),
  SCALAR_LR: knob({
    group: 'optimizer', kind: kinds.number, default: 0.5, unit: '', range: { cpu: '0.1–1', gpu: '0.1–1' },
    doc: 'AdamW lr of the per-layer x0 lambdas (resid lambdas get 1% of it)',
    mutate: { by: 'factor' },
  }),
  WEIGHT_DECAY: knob({
    group: 'optimizer', kind: kinds.number, default: 0.2, unit: '', range: { cpu: '0–0.4', gpu: '0–0.4' },
    doc: 'Muon cautious weight decay at the start (schedule: `weightDecay`)',
    mutate: { by: 'factor', toZero: true },
  }),
  ADAM_BETAS: knob<[number, number]>({
    group: 'optimizer', kind: kinds.betas, default: [0.8, 0.95], unit: '', range: { cpu: 'β1 0.7–0.9, β2 0.9–0.99', gpu: 'β1 0.7–0.9, β2 0.9–0.99' },
    doc: 'AdamW (β1, β2)',
    mutate: { by: 'betas' },
  }),
  // --- schedule ------------------------------------------------------------------------
  WARMUP_RATIO: knob({
    group: 'schedule', kind: kinds.unitInterval, default: 0, unit: 'share of the budget', range: { cpu: '0–0.1', gpu: '0–0.1' },
    doc: 'share of the budget warming the lr up linearly',
    mutate: { by: 'fromZero', from: [0.02, 0.05] },
  }),
  WARMDOWN_RATIO: knob({
    group: 'schedule', kind: kinds.unitInterval, default: 0.5, unit: 'share of the budget', range: { cpu: '0.2–0.8', gpu: '0.2–0.8' },
    doc: 'share of the budget at the end decaying the lr linearly',
    mutate: { by: 'shift' },
  }),
  FINAL_LR_FRAC: knob({
    group: 'schedule', kind: kinds.unitInterval, default: 0, unit: '× lr', range: { cpu: '0–0.1', gpu: '0–0.1' },
    doc: 'lr multiplier reached at the very end',
    mutate: { by: 'fromZero', from: [0.05, 0.1] },
  }),
  SEED: knob({
    group: 'schedule', kind: kinds.number, default: 42, unit: '', range: { cpu: 'leave it', gpu: 'leave it' },
    doc: 'seed of the weights and the data order',
    mutate: { by: 'frozen' },
  }),
};

export type KnobName = keyof typeof KNOBS;
/** The knob names, in table order. */
export const KNOB_NAMES = Object.keys(KNOBS) as KnobName[];

/** The value type of each knob, read off its kind. */
export type KnobSettings = { [K in KnobName]: (typeof KNOBS)[K] extends Knob<infer T> ? T : never };

/** The reference's values (SPEC §6): DEPTH 8 on a GPU with a 2048 context. */
export const REFERENCE_DEFAULTS = Object.freeze(
  Object.fromEntries(KNOB_NAMES.map((name) => [name, KNOBS[name].default])) as KnobSettings,
);

/** The schedules of train/config.ts: functions of training progress (or the step). */
export const SCHEDULE_KEYS = ['lrMultiplier', 'muonMomentum', 'weightDecay'] as const;

/** Polar Express iterations of Muon: a fixed part of the optimizer, not a knob. */
export const NS_STEPS = 5;

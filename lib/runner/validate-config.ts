// Checks a loaded train/config.ts before anything is built: every knob present with the type
// and range of its kind in the knob table (config/knobs.ts), no unknown keys (a typo would
// otherwise be silently ignored), schedules that return finite numbers, and sizes that fit
// together with the fixed constants. Each problem is named with what would work; the runner
// reports them as a crash with this message.
import { ConfigError } from '../errors';
import { CONFIG_KEYS, REFERENCE_DEFAULTS, SCHEDULE_KEYS, type ExperimentConfig } from '../config/experiment-config';
import { KNOBS, mismatch } from '../config/knobs';
import { modelConfigFromKnobs, type ModelConfig } from '../config/model-config';

export interface ResolvedExperiment {
  config: ExperimentConfig;
  model: ModelConfig;
  /** Micro-batches per optimizer step: TOTAL_BATCH_SIZE / (DEVICE_BATCH_SIZE * MAX_SEQ_LEN). */
  accumSteps: number;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? `"${value}"` : Array.isArray(value) ? `[${value.join(', ')}]` : String(value);
}

/** The closest known key (edit distance <= 3), for "did you mean". */
function closest(key: string): string | null {
  const known: string[] = [...CONFIG_KEYS, ...SCHEDULE_KEYS];
  let best: string | null = null;
  let bestDistance = 4;
  for (const candidate of known) {
    const a = key.toUpperCase();
    const b = candidate.toUpperCase();
    const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0]![j] = j;
    for (let i = 1; i <= a.length; i++) {
      for (let j = 1; j <= b.length; j++) {
        d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      }
    }
    if (d[a.length]![b.length]! < bestDistance) {
      bestDistance = d[a.length]![b.length]!;
      best = candidate;
    }
  }
  return best;
}

const isPowerOfTwo = (n: number) => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;

/** The fixed constants a config is checked against (from the prepared data). */
export interface FixedConstants {
  maxSeqLen: number;
  vocabSize: number;
  /** EVAL_TOKENS; when given, one micro-batch must fit in it (the evaluation runs in micro-batches). */
  evalTokens?: number;
}

export function validateExperimentConfig(raw: unknown, constants: FixedConstants): ResolvedExperiment {
  const problems: string[] = [];
  if (typeof raw !== 'object' || raw === null) {
    throw new ConfigError('train/config.ts must `export default` an object of settings (see ExperimentConfig)');
  }
  const c = raw as Record<string, unknown>;
  for (const key of Object.keys(c)) {
    if (!(CONFIG_KEYS as string[]).includes(key) && !(SCHEDULE_KEYS as readonly string[]).includes(key)) {
      const hint = closest(key);
      problems.push(`unknown setting ${key}${hint ? ` (did you mean ${hint}?)` : ''}`);
    }
  }
  // Each knob against its kind in the table: type and range in one check.
  for (const key of CONFIG_KEYS) {
    const value = c[key];
    if (value === undefined) {
      problems.push(`${key} is missing (reference value: ${describe(REFERENCE_DEFAULTS[key])})`);
    } else {
      const expected = mismatch(KNOBS[key].kind, value);
      if (expected) problems.push(`${key} must be ${expected} (got ${describe(value)})`);
    }
  }
  for (const key of SCHEDULE_KEYS) {
    if (typeof c[key] !== 'function') problems.push(`${key} must be a function (the ${key === 'muonMomentum' ? 'step' : 'progress'} -> value schedule)`);
  }
  if (problems.length > 0) throw new ConfigError(`train/config.ts: ${problems.join('; ')}`);
  const config = c as unknown as ExperimentConfig;

  const rowTokens = config.DEVICE_BATCH_SIZE * constants.maxSeqLen;
  if (config.TOTAL_BATCH_SIZE % rowTokens !== 0) {
    const fit = Math.max(rowTokens, Math.round(config.TOTAL_BATCH_SIZE / rowTokens) * rowTokens);
    problems.push(
      `TOTAL_BATCH_SIZE ${config.TOTAL_BATCH_SIZE} is not a multiple of DEVICE_BATCH_SIZE ${config.DEVICE_BATCH_SIZE} x MAX_SEQ_LEN ` +
        `${constants.maxSeqLen} = ${rowTokens}; e.g. TOTAL_BATCH_SIZE ${fit}` +
        (isPowerOfTwo(config.TOTAL_BATCH_SIZE) ? ` or DEVICE_BATCH_SIZE ${Math.max(1, Math.floor(config.TOTAL_BATCH_SIZE / constants.maxSeqLen))}` : ''),
    );
  }
  if (problems.length === 0 && constants.evalTokens !== undefined && rowTokens > constants.evalTokens) {
    problems.push(
      `DEVICE_BATCH_SIZE ${config.DEVICE_BATCH_SIZE} x MAX_SEQ_LEN ${constants.maxSeqLen} = ${rowTokens} tokens is more than ` +
        `EVAL_TOKENS ${constants.evalTokens}, and the evaluation scores whole micro-batches: use DEVICE_BATCH_SIZE ` +
        `${Math.max(1, Math.floor(constants.evalTokens / constants.maxSeqLen))} or less`,
    );
  }
  if (problems.length > 0) throw new ConfigError(`train/config.ts: ${problems.join('; ')}`);

  for (const [name, fn, points] of [
    ['lrMultiplier', config.lrMultiplier, [0, 0.25, 0.5, 0.75, 0.999]],
    ['muonMomentum', config.muonMomentum, [0, 1, 150, 300, 1000]],
    ['weightDecay', config.weightDecay, [0, 0.5, 0.999]],
  ] as const) {
    for (const x of points) {
      let y: unknown;
      try {
        y = (fn as (v: number) => unknown)(x);
      } catch (err) {
        if (err instanceof ConfigError) throw err; // from the sandbox: already says what happened
        throw new ConfigError(`train/config.ts: ${name}(${x}) threw: ${(err as Error).message}`);
      }
      if (typeof y !== 'number' || !Number.isFinite(y)) throw new ConfigError(`train/config.ts: ${name}(${x}) returned ${describe(y)}, not a finite number`);
      if (name === 'muonMomentum' && (y < 0 || y >= 1)) throw new ConfigError(`train/config.ts: muonMomentum(${x}) = ${y} must lie in [0, 1)`);
    }
  }

  let model: ModelConfig;
  try {
    model = modelConfigFromKnobs(config, { vocabSize: constants.vocabSize, sequenceLen: constants.maxSeqLen });
  } catch (err) {
    throw new ConfigError(`train/config.ts: ${(err as Error).message}`);
  }
  return { config, model, accumSteps: config.TOTAL_BATCH_SIZE / rowTokens };
}

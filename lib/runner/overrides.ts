// Config overrides for one run (`autoresearch run --set DEPTH=1`, runExperiment's `overrides`):
// knob values that replace the config's own for this run only, so a CI job or a script never
// edits train/config.ts. They are applied in the worker to the values copied out of the
// sandbox (as `seed` is) and then validated with the rest of the config.
import { ConfigError } from '../errors';
import { CONFIG_KEYS } from '../config/experiment-config';
import type { ConfigValue } from './config-sandbox';

export type ConfigOverrides = Readonly<Record<string, ConfigValue>>;

const isPlain = (v: unknown): v is number | string | boolean | null =>
  v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

/** Checks names and value types (the config's validation checks the values themselves). */
export function checkOverrides(overrides: unknown): ConfigOverrides {
  if (overrides === null || typeof overrides !== 'object' || Array.isArray(overrides)) {
    throw new ConfigError('overrides must be an object of setting names and values, e.g. { DEPTH: 1 }');
  }
  const out: Record<string, ConfigValue> = {};
  for (const [key, value] of Object.entries(overrides)) {
    if (!(CONFIG_KEYS as string[]).includes(key)) {
      throw new ConfigError(`override ${key}: not a setting of train/config.ts (settings: ${CONFIG_KEYS.join(', ')}; schedules cannot be overridden)`);
    }
    if (!isPlain(value) && !(Array.isArray(value) && value.every(isPlain))) {
      throw new ConfigError(`override ${key}: the value must be a number, string, boolean, null or an array of those`);
    }
    out[key] = Array.isArray(value) ? [...(value as (number | string | boolean | null)[])] : (value as ConfigValue);
  }
  return out;
}

/**
 * Parses `NAME=VALUE` assignments: VALUE as JSON when it parses (1, 0.5, true, null,
 * [0.8,0.95], "text"), else as a plain string (relu2, SSSL). Throws ConfigError naming the
 * assignment.
 */
export function parseAssignments(assignments: readonly string[]): ConfigOverrides {
  const raw: Record<string, unknown> = {};
  for (const a of assignments) {
    const eq = a.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--set ${a}: write NAME=VALUE, e.g. --set DEPTH=1`);
    const name = a.slice(0, eq).trim();
    const text = a.slice(eq + 1).trim();
    if (text === '') throw new ConfigError(`--set ${a}: the value is empty`);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = text;
    }
    raw[name] = value;
  }
  return checkOverrides(raw);
}

// The second half of loading train/config.ts, in the experiment's worker: the compiled config
// (config-compile.ts) is evaluated in a fresh node:vm context, because it is written by an
// agent and must not reach the clock, the evaluator, the result channel or the data.
//
// - The context gets no host object: the global is backed by a null-prototype object, so no
//   host `Function` (and with it `process`) is reachable; code generation from strings and
//   WebAssembly are off; `Date`, `SharedArrayBuffer`, `Atomics` and `WebAssembly` are removed:
//   the config is data plus pure functions.
// - Every entry into the sandbox is a vm script with a timeout, with the context's own
//   microtask queue run inside it (`afterEvaluate`): an endless loop, at load or in a schedule,
//   ends within the limit, and no promise job outlives the call.
// - The host never touches a sandbox object (a getter or proxy trap would run agent code
//   outside any timeout). A harness installed before the config runs copies the knobs into
//   fresh null-prototype objects of own data properties, and passes schedule arguments and
//   results through a Float64Array; the host reads only primitives and property descriptors.
import vm from 'node:vm';
import { types } from 'node:util';

import { SCHEDULE_KEYS } from '../config/knobs';
import { ConfigError } from '../errors';
import type { CompiledConfig } from './config-compile';

/** How long the config may take to load, and one schedule call (defaults). */
export const CONFIG_LOAD_TIMEOUT_MS = 10_000;
const SCHEDULE_CALL_TIMEOUT_MS = 1_000;

/** A knob value as copied out of the sandbox. */
export type ConfigValue = number | string | boolean | null | (number | string | boolean | null)[];

export const SCHEDULE_NAMES = SCHEDULE_KEYS;
export type ScheduleName = (typeof SCHEDULE_NAMES)[number];

/** One optimizer step's schedule values (the addon's step settings). */
export interface ScheduleValues {
  lrMultiplier: number;
  muonMomentum: number;
  muonWeightDecay: number;
}

// Runs in the sandbox before the config. `io`: [0] progress, [1] step, [2..4] the schedules'
// results. call(k) calls schedule k (0..2) or all three (3) and returns '' or what went wrong.
const HARNESS = String.raw`(() => {
  'use strict';
  const g = globalThis;
  const { create, defineProperty, freeze, getOwnPropertyDescriptors, getPrototypeOf } = Object;
  const { apply, ownKeys } = Reflect;
  const isArray = Array.isArray;
  const ObjectProto = Object.prototype;
  const ArrayProto = Array.prototype;
  const toText = String;
  for (const name of ['Date', 'SharedArrayBuffer', 'Atomics', 'WebAssembly', 'console']) delete g[name];
  const io = new Float64Array(5);
  const module = create(null);
  module.exports = create(null);
  const NAMES = ${JSON.stringify(SCHEDULE_KEYS)};
  const fns = [null, null, null];
  const describe = (value) => {
    try {
      if (value !== null && typeof value === 'object' && typeof value.message === 'string') {
        return (typeof value.name === 'string' ? value.name + ': ' : '') + value.message;
      }
      return 'a non-Error value (' + toText(value) + ')';
    } catch {
      return 'a value that cannot be printed';
    }
  };
  const show = (v) => {
    try { return typeof v === 'string' ? JSON.stringify(v) : toText(v); } catch { return typeof v; }
  };
  const primitive = (v) => v === null || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean';
  const put = (target, key, value) => defineProperty(target, key, { value, enumerable: true, writable: false, configurable: false });
  let copied = null;
  let target = null;
  const harness = freeze({
    load(factory) {
      try {
        apply(factory, undefined, [module, module.exports]);
        return '';
      } catch (e) {
        return 'train/config.ts threw while loading: ' + describe(e);
      }
    },
    // The default export as a fresh null-prototype object of primitives, arrays of primitives
    // and the names of function values ('function' entries); or a string saying what is wrong.
    extract() {
      try {
        const exported = module.exports;
        const value = exported !== null && typeof exported === 'object' && 'default' in exported ? exported.default : undefined;
        target = value;
        if (value === null || typeof value !== 'object' || isArray(value)) return 'train/config.ts must export default a plain object of settings';
        const proto = getPrototypeOf(value);
        if (proto !== ObjectProto && proto !== null) return 'the default export must be a plain object literal, not an instance of a class';
        const descriptors = getOwnPropertyDescriptors(value);
        const out = create(null);
        for (const key of ownKeys(descriptors)) {
          if (typeof key !== 'string') return 'the default export has a symbol key; use plain names';
          const d = descriptors[key];
          if (!('value' in d)) return key + ' is a getter or setter; give it a plain value';
          const v = d.value;
          if (typeof v === 'function') {
            const k = NAMES.indexOf(key);
            if (k >= 0) fns[k] = v;
            put(out, key, 'function');
          } else if (primitive(v)) {
            put(out, key, v);
          } else if (isArray(v) && getPrototypeOf(v) === ArrayProto) {
            const items = getOwnPropertyDescriptors(v);
            const arr = create(null);
            const length = items.length.value;
            for (let i = 0; i < length; i++) {
              const item = items[i];
              if (!item || !('value' in item) || !primitive(item.value)) return key + '[' + i + '] must be a plain number, string or boolean';
              put(arr, i, item.value);
            }
            put(arr, 'length', length);
            put(out, key, arr);
          } else {
            return key + ' must be a number, string, boolean, null or an array of those (got ' + (typeof v === 'object' ? 'an object' : typeof v) + ')';
          }
        }
        copied = freeze(out);
        return '';
      } catch (e) {
        return 'reading the default export threw: ' + describe(e);
      }
    },
    copied() {
      return copied;
    },
    target() {
      return target;
    },
    fn(k) {
      return fns[k];
    },
    call(which) {
      const first = which === 3 ? 0 : which;
      const last = which === 3 ? 2 : which;
      for (let k = first; k <= last; k++) {
        const x = k === 1 ? io[1] : io[0];
        let y;
        try {
          y = apply(fns[k], undefined, [x]);
        } catch (e) {
          return NAMES[k] + '(' + x + ') threw: ' + describe(e);
        }
        if (typeof y !== 'number') return NAMES[k] + '(' + x + ') returned ' + show(y) + ' (' + typeof y + '), not a number';
        io[2 + k] = y;
      }
      return '';
    },
  });
  defineProperty(g, '__autoresearch', { value: harness, writable: false, enumerable: false, configurable: false });
  return io;
})()`;

/** Reads a value thrown out of the sandbox without running any of its code. */
function thrownMessage(err: unknown, what: string, timeoutMs: number): string {
  if (err !== null && typeof err === 'object' && !types.isProxy(err)) {
    const code = Object.getOwnPropertyDescriptor(err, 'code');
    if (code && 'value' in code && code.value === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
      return `${what} did not finish within ${timeoutMs / 1000} s (an endless loop?)`;
    }
  }
  return `${what} escaped the sandbox's error handling (threw ${typeof err === 'object' && err !== null ? 'an object' : typeof err})`;
}

/** An own data property of a host-visible sandbox object, or undefined; runs no sandbox code. */
function own(target: object, key: string | number): unknown {
  const d = Object.getOwnPropertyDescriptor(target, key);
  return d && 'value' in d ? d.value : undefined;
}

/** The config's knob values (copied) and its schedules (called in the sandbox, with a timeout). */
export class SandboxedConfig {
  private readonly context: vm.Context;
  private readonly io: Float64Array;
  private readonly scripts = new Map<number, vm.Script>();
  /** Knobs as plain host values; function-valued keys hold the string 'function'. */
  readonly values: Readonly<Record<string, ConfigValue>>;
  /** Which exported keys are functions. */
  readonly functionKeys: readonly string[];

  private constructor(
    compiled: CompiledConfig,
    private readonly callTimeoutMs: number,
    loadTimeoutMs: number,
  ) {
    this.context = vm.createContext(Object.create(null), {
      name: 'train/config.ts',
      codeGeneration: { strings: false, wasm: false },
      microtaskMode: 'afterEvaluate',
    });
    const io = new vm.Script(HARNESS, { filename: 'autoresearch-harness.js' }).runInContext(this.context, { timeout: loadTimeoutMs }) as unknown;
    if (!types.isFloat64Array(io) || types.isProxy(io)) throw new Error('the config sandbox did not start');
    this.io = io;

    const load = new vm.Script(`__autoresearch.load(function (module, exports) {\n${compiled.code}\n})`, { filename: compiled.file, lineOffset: -1 });
    this.expectEmpty(() => load.runInContext(this.context, { timeout: loadTimeoutMs }), `${compiled.file} (loading)`, loadTimeoutMs);
    this.expectEmpty(() => this.run('__autoresearch.extract()', loadTimeoutMs), `${compiled.file} (reading the default export)`, loadTimeoutMs);
    // A proxy could answer each read differently (its traps ran above, within the time limit).
    if (types.isProxy(this.run('__autoresearch.target()', loadTimeoutMs))) {
      throw new ConfigError(`${compiled.file}: the default export must be a plain object, not a proxy`);
    }

    const copied = this.run('__autoresearch.copied()', loadTimeoutMs);
    if (copied === null || typeof copied !== 'object' || types.isProxy(copied) || Object.getPrototypeOf(copied) !== null) {
      throw new ConfigError(`${compiled.file}: the config interfered with the sandbox's harness`);
    }
    const values: Record<string, ConfigValue> = {};
    const functionKeys: string[] = [];
    for (const key of Object.getOwnPropertyNames(copied)) {
      const v = own(copied, key);
      if (v !== null && typeof v === 'object') {
        const length = own(v, 'length');
        if (typeof length !== 'number' || types.isProxy(v)) throw new ConfigError(`${compiled.file}: ${key} could not be read`);
        values[key] = Array.from({ length }, (_, i) => own(v, i) as number | string | boolean | null);
      } else {
        values[key] = v as ConfigValue;
        if (v === 'function') functionKeys.push(key);
      }
    }
    // The schedules must be real functions: a proxy could answer differently each call.
    SCHEDULE_NAMES.forEach((name, k) => {
      if (!functionKeys.includes(name)) return;
      const fn = this.run(`__autoresearch.fn(${k})`, loadTimeoutMs);
      if (types.isProxy(fn)) throw new ConfigError(`${compiled.file}: ${name} must be a plain function, not a proxy`);
    });
    this.values = values;
    this.functionKeys = functionKeys;
  }

  /** Evaluates a compiled config; throws ConfigError when it does not load or is not plain data. */
  static load(compiled: CompiledConfig, limits: { loadTimeoutMs?: number; callTimeoutMs?: number } = {}): SandboxedConfig {
    return new SandboxedConfig(compiled, limits.callTimeoutMs ?? SCHEDULE_CALL_TIMEOUT_MS, limits.loadTimeoutMs ?? CONFIG_LOAD_TIMEOUT_MS);
  }

  private run(source: string, timeoutMs: number): unknown {
    return new vm.Script(source, { filename: 'autoresearch-harness.js' }).runInContext(this.context, { timeout: timeoutMs });
  }

  private expectEmpty(run: () => unknown, what: string, timeoutMs: number): void {
    let result: unknown;
    try {
      result = run();
    } catch (err) {
      throw new ConfigError(thrownMessage(err, what, timeoutMs));
    }
    if (typeof result !== 'string') throw new ConfigError(`${what}: the config interfered with the sandbox's harness`);
    if (result !== '') throw new ConfigError(result.startsWith('train/config.ts') ? result : `train/config.ts: ${result}`);
  }

  private callScript(which: number): vm.Script {
    let script = this.scripts.get(which);
    if (!script) {
      script = new vm.Script(`__autoresearch.call(${which})`, { filename: 'autoresearch-harness.js' });
      this.scripts.set(which, script);
    }
    return script;
  }

  private invoke(which: number, progress: number, step: number): void {
    this.io[0] = progress;
    this.io[1] = step;
    const what = which === 3 ? 'the schedules' : `${SCHEDULE_NAMES[which]}(${which === 1 ? step : progress})`;
    this.expectEmpty(() => this.callScript(which).runInContext(this.context, { timeout: this.callTimeoutMs }), what, this.callTimeoutMs);
  }

  /** Calls one schedule; throws ConfigError unless it returns a finite number in time. */
  call(name: ScheduleName, x: number): number {
    const k = SCHEDULE_NAMES.indexOf(name);
    if (k < 0 || !this.functionKeys.includes(name)) throw new ConfigError(`train/config.ts: ${name} is not a function`);
    this.invoke(k, k === 1 ? 0 : x, k === 1 ? x : 0);
    const y = this.io[2 + k]!;
    if (!Number.isFinite(y)) throw new ConfigError(`train/config.ts: ${name}(${x}) returned ${y}, not a finite number`);
    return y;
  }

  /** All three schedules for one optimizer step, in one call into the sandbox. */
  scheduleAt(progress: number, step: number): ScheduleValues {
    this.invoke(3, progress, step);
    const [lr, momentum, decay] = [this.io[2]!, this.io[3]!, this.io[4]!];
    for (const [name, x, y] of [['lrMultiplier', progress, lr], ['muonMomentum', step, momentum], ['weightDecay', progress, decay]] as const) {
      if (!Number.isFinite(y)) throw new ConfigError(`train/config.ts: ${name}(${x}) returned ${y}, not a finite number`);
    }
    return { lrMultiplier: lr, muonMomentum: momentum, muonWeightDecay: decay };
  }

  /** The exported object as validate-config.ts expects it: knobs plus host-side schedule functions. */
  toRaw(): Record<string, unknown> {
    const raw: Record<string, unknown> = { ...this.values };
    for (const key of this.functionKeys) {
      raw[key] = (SCHEDULE_NAMES as readonly string[]).includes(key)
        ? (x: number) => this.call(key as ScheduleName, x)
        : () => {
            throw new ConfigError(`train/config.ts: ${key} is not a schedule`);
          };
    }
    return raw;
  }
}

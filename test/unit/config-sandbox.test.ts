// The agent-written config is untrusted input: compiled with imports of types only, evaluated
// in a vm context with no host object, every entry bounded in time, and read back as plain
// data. Each case is one an agent might try; each must end in a ConfigError that says what
// happened, or load as plain data with no effect on the host.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { compileConfig } from '../../lib/runner/config-compile';
import { SandboxedConfig } from '../../lib/runner/config-sandbox';
import { ConfigError } from '../../lib/errors';

const root = path.resolve(__dirname, '../..');
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-sandbox-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let n = 0;
async function load(source: string, limits = { loadTimeoutMs: 500, callTimeoutMs: 200 }): Promise<SandboxedConfig> {
  const file = path.join(dir, `config-${n++}.ts`);
  fs.writeFileSync(file, source);
  return SandboxedConfig.load(await compileConfig(file), limits);
}

async function refusal(source: string, limits?: { loadTimeoutMs: number; callTimeoutMs: number }): Promise<string> {
  try {
    await load(source, limits);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('the config was accepted');
}

const schedules = `
  lrMultiplier: (p: number) => 1 - p,
  muonMomentum: (s: number) => 0.9,
  weightDecay: (p: number) => 0,`;

describe('a well-behaved config', () => {
  test("the repository's train/config.ts loads as plain values and callable schedules", async () => {
    const config = SandboxedConfig.load(await compileConfig(path.join(root, 'train', 'config.ts')));
    expect(config.values).toMatchObject({ DEPTH: 8, WINDOW_PATTERN: 'SSSL', N_KV_HEAD: null, SOFTCAP: 15, VALUE_EMBEDS: true, ADAM_BETAS: [0.8, 0.95] });
    expect([...config.functionKeys].sort()).toEqual(['lrMultiplier', 'muonMomentum', 'weightDecay']);
    expect(config.call('lrMultiplier', 0.25)).toBe(1);
    expect(config.call('lrMultiplier', 0.75)).toBeCloseTo(0.5, 12);
    expect(config.call('muonMomentum', 150)).toBeCloseTo(0.9, 12);
    expect(config.scheduleAt(0.75, 300)).toEqual({ lrMultiplier: config.call('lrMultiplier', 0.75), muonMomentum: 0.95, muonWeightDecay: 0.2 * 0.25 });
  });

  test('values are copies: arrays are host arrays of primitives', async () => {
    const config = await load(`export default { A: [1, 'x', true, null], ${schedules} };`);
    const a = config.values.A as unknown[];
    expect(Array.isArray(a)).toBe(true);
    expect(Object.getPrototypeOf(a)).toBe(Array.prototype);
    expect(a).toEqual([1, 'x', true, null]);
  });

  test('`import type` is allowed and leaves nothing behind', async () => {
    const config = await load(`import type { ExperimentConfig } from 'autoresearch';\nexport default { DEPTH: 2 } as Partial<ExperimentConfig>;`);
    expect(config.values).toEqual({ DEPTH: 2 });
  });
});

describe('imports', () => {
  test.each([
    ["import fs from 'node:fs';", 'node:fs'],
    ["import { ConfigError } from 'autoresearch';", 'autoresearch'],
    ["import './other';", './other'],
    ["const fs = require('fs');", 'fs'],
    ["const m = import('node:child_process');", 'node:child_process'],
  ])('%s is refused with its line and the rule', async (line, name) => {
    const message = await refusal(`// a comment\n${line}\nexport default { DEPTH: 1 };`);
    expect(message).toContain(`train/config.ts:2:`);
    expect(message).toContain(`'${name}'`);
    expect(message).toContain('may only import types');
  });

  test.each([
    ['a computed name', "const name = ['node', 'fs'].join(':');\nconst m = import(name);"],
    ['spacing and a comment', "const name = 'fs';\nconst m = import /* x */ (name);"],
  ])('import() of %s is refused: its rejection would carry a host object', async (_, lines) => {
    const message = await refusal(`${lines}\nexport default { DEPTH: 1 };`);
    expect(message).toContain('train/config.ts:2: import() is not allowed');
    expect(message).toContain('may only import types');
  });

  test('a syntax error names the line', async () => {
    expect(await refusal(`const a = ;\nexport default {};`)).toMatch(/train\/config\.ts:1:\d+: /);
  });
});

describe('nothing of the host is reachable', () => {
  test('no process, require, fs, Buffer, timers, performance, Date, console or WebAssembly inside', async () => {
    const names = ['process', 'require', 'module', 'Buffer', 'setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask', 'performance', 'Date', 'console', 'WebAssembly', 'SharedArrayBuffer', 'Atomics', 'fetch', 'globalThis.process'];
    const config = await load(`export default { SEEN: [${names.map((x) => `typeof ${x}`).join(', ')}] };`);
    // `module` is the harness's own exports holder; everything else is absent.
    expect(config.values.SEEN).toEqual(names.map((x) => (x === 'module' ? 'object' : 'undefined')));
  });

  test.each([
    ['the Function constructor', "(function () {}).constructor('return process')()"],
    ["the global's constructor", "(globalThis as any).constructor.constructor('return process')()"],
    ['eval', "eval('1 + 1')"],
    ['an async function constructor', "(async function () {}).constructor('return process')"],
  ])('%s cannot compile code from strings', async (_, expr) => {
    const message = await refusal(`const p = ${expr};\nexport default { DEPTH: 1 };`);
    expect(message).toMatch(/threw while loading: EvalError: Code generation from strings disallowed/);
  });

  test("a stack trace's frames lead to no host function", async () => {
    const config = await load(`
      (Error as any).prepareStackTrace = (_: unknown, frames: any[]) => frames;
      const frames = (new Error() as any).stack as any[];
      const escape = (f: any) => {
        for (const v of [f.getFunction(), f.getThis()]) {
          try {
            if (v && typeof v.constructor.constructor('return process')() === 'object') return 'escaped';
          } catch {}
        }
        return 'no';
      };
      export default { FRAMES: frames.length, ESCAPES: frames.map(escape) };`);
    expect(config.values.FRAMES).toBeGreaterThan(3); // host frames are in the trace...
    expect((config.values.ESCAPES as string[]).every((t) => t === 'no')).toBe(true); // ...but lead nowhere
  });

  test('Object.prototype changed inside does not leak out', async () => {
    await load(`(Object.prototype as any).polluted = 'yes'; (Array.prototype as any).push = null; export default { DEPTH: 1 };`);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(typeof [].push).toBe('function');
  });
});

describe('the default export must be plain data', () => {
  test('a getter is refused (it could answer differently on each read)', async () => {
    expect(await refusal(`let n = 0; export default { get DEPTH() { return ++n; } };`)).toMatch(/DEPTH is a getter or setter/);
  });

  test('a proxy is refused', async () => {
    expect(await refusal(`export default new Proxy({ DEPTH: 1 }, {});`)).toMatch(/proxy/);
  });

  test('a proxy schedule is refused', async () => {
    expect(await refusal(`export default { lrMultiplier: new Proxy((p: number) => 1, {}) };`)).toMatch(/lrMultiplier must be a plain function, not a proxy/);
  });

  test('a class instance is refused', async () => {
    expect(await refusal(`class C { DEPTH = 1 }\nexport default new C();`)).toMatch(/not an instance of a class/);
  });

  test('nested objects are refused', async () => {
    expect(await refusal(`export default { DEPTH: { valueOf: () => 8 } };`)).toMatch(/DEPTH must be a number, string, boolean, null or an array/);
  });

  test('no default export is refused', async () => {
    expect(await refusal(`export const DEPTH = 1;`)).toMatch(/must export default a plain object/);
  });
});

describe('every entry is bounded in time', () => {
  test('an endless loop at import ends with a message saying so', async () => {
    const t = performance.now();
    expect(await refusal(`for (;;) {}\nexport default {};`)).toMatch(/did not finish within 0.5 s \(an endless loop\?\)/);
    expect(performance.now() - t).toBeLessThan(5000);
  });

  test('an endless chain of promise jobs at import is bounded too', async () => {
    expect(await refusal(`const f = (): Promise<void> => Promise.resolve().then(f); f();\nexport default {};`)).toMatch(/did not finish within 0.5 s/);
  });

  test('a getter that never returns is bounded', async () => {
    expect(await refusal(`export default { get DEPTH() { for (;;) {} } };`)).toMatch(/getter or setter/);
    expect(await refusal(`export default new Proxy({}, { ownKeys() { for (;;) {} } });`)).toMatch(/did not finish within 0.5 s/);
  });
});

describe('schedules', () => {
  const withLr = (body: string) => `export default { lrMultiplier: (p: number): any => { ${body} }, muonMomentum: (s: number) => 0.9, weightDecay: (p: number) => 0 };`;
  const callError = async (body: string): Promise<string> => {
    const config = await load(withLr(body));
    try {
      config.scheduleAt(0.5, 3);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error('the schedule was accepted');
  };

  test('NaN, Infinity, a string and an object are refused with the value', async () => {
    expect(await callError('return NaN;')).toMatch(/lrMultiplier\(0.5\) returned NaN, not a finite number/);
    expect(await callError('return 1 / 0;')).toMatch(/lrMultiplier\(0.5\) returned Infinity/);
    expect(await callError("return '1';")).toMatch(/lrMultiplier\(0.5\) returned "1" \(string\), not a number/);
    expect(await callError('return { valueOf: () => 1 };')).toMatch(/lrMultiplier\(0.5\) returned .* \(object\), not a number/);
  });

  test('a throw of an Error or of a non-Error is reported', async () => {
    expect(await callError("throw new RangeError('too far');")).toMatch(/lrMultiplier\(0.5\) threw: RangeError: too far/);
    expect(await callError("throw 'a string';")).toMatch(/lrMultiplier\(0.5\) threw: a non-Error value \(a string\)/);
    expect(await callError('throw { get message(): string { throw 1; } };')).toMatch(/threw: a value that cannot be printed/);
  });

  test('process.exit in a schedule is only a ReferenceError', async () => {
    expect(await callError('(process as any).exit(0); return 1;')).toMatch(/lrMultiplier\(0.5\) threw: ReferenceError: process is not defined/);
  });

  test('an endless loop in a schedule ends within the call limit', async () => {
    const t = performance.now();
    expect(await callError('for (;;) {}')).toMatch(/the schedules did not finish within 0.2 s/);
    expect(performance.now() - t).toBeLessThan(3000);
  });

  test('the config cannot replace the harness', async () => {
    const config = await load(`
      const g = globalThis as any;
      g.__autoresearch = null;
      try { delete g.__autoresearch; } catch {}
      try { Object.defineProperty(g, '__autoresearch', { value: null }); } catch {}
      export default { ${schedules} };`);
    expect(config.scheduleAt(0.25, 1)).toEqual({ lrMultiplier: 0.75, muonMomentum: 0.9, muonWeightDecay: 0 });
  });
});

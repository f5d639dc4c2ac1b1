// The builtin agent: the knob parser and editor on the real train/config.ts, and the proposer
// in simulated sessions (real files; statuses from a seeded coin).
import { promises as fs, readFileSync } from 'node:fs';
import * as ts from 'typescript';
import { AgentError, ConfigError } from '../../lib/errors';
import { CONFIG_KEYS, REFERENCE_DEFAULTS } from '../../lib/config/experiment-config';
import { BuiltinAgent, candidateMoves, knobProblems, planProposal } from '../../lib/loop/agents/builtin-agent';
import { seededRandom } from '../../lib/random';
import { configKey, findKnobs, parseKnobs, setKnob } from '../../lib/config/config-source';
import type { FixedConstants, HistoryEntry, KnobValue, KnobValues, ResultStatus } from '../../lib/loop/agents/types';
import trainConfig from '../../train/config';
import { CONFIG_SOURCE, contextFor, row, tempRepo, type TempRepo } from '../agents-fixtures';

let repo: TempRepo;
beforeEach(async () => (repo = await tempRepo()));
afterEach(() => repo.remove());

describe('parseKnobs / setKnob', () => {
  test('parseKnobs on train/config.ts gives every knob with the value the module exports', () => {
    const knobs = parseKnobs(CONFIG_SOURCE);
    expect(Object.keys(knobs).sort()).toEqual([...CONFIG_KEYS].sort());
    for (const key of CONFIG_KEYS) expect(knobs[key]).toEqual(trainConfig[key]); // the module itself, evaluated
    expect(knobs).toEqual(REFERENCE_DEFAULTS);
    expect(knobs.TOTAL_BATCH_SIZE).toBe(524288); // 2 ** 19
    expect(findKnobs(CONFIG_SOURCE).find((s) => s.name === 'TOTAL_BATCH_SIZE')!.text).toBe('2 ** 19');
  });

  test('literals and expressions are knobs; calls, identifiers, templates, indented and multi-line values are not', () => {
    const source = [
      'const A = 2 ** 19; // c',
      'const B = -1e-3;',
      'const C = (1 + 2) / 4;',
      'const D = 1_000;',
      'export const E = "double; quoted"; /* block */',
      "const F = 'it\\'s';",
      'const G: number | null = null;',
      'const H = [0.9, 0.999,];',
      'const I = 0x10',
      'const J = 10 % 4 - 2 * 3;',
      'const NOT_A = Math.max(1, 2);',
      'const NOT_B = A * 2;',
      'const NOT_C = `template`;',
      'const lower = 5;',
      '  const INDENTED = 3;',
      'function f() {',
      '  const INNER = 1;',
      '}',
      'const NOT_D = [',
      '  1,',
      '];',
      'const NOT_E = 5; extra();',
      'let NOT_F = 5;',
    ].join('\n');
    expect(parseKnobs(source)).toEqual({ A: 524288, B: -0.001, C: 0.75, D: 1000, E: 'double; quoted', F: "it's", G: null, H: [0.9, 0.999], I: 16, J: -4 });
  });

  test('the properties of the config object are knobs, with the same literals', () => {
    const source = [
      'const config = {',
      '  A: 2 ** 19, // c',
      '  B: -1e-3,',
      "  E: 'with, comma', /* block */",
      '  G: null,',
      '  H: [0.9, 0.999],',
      '  K: false',
      '  NOT_A: Math.max(1, 2),',
      '  NOT_B: config.A,',
      '  lower: 5,',
      '  NOT_C: 5, extra: 1,',
      '  NOT_D: [',
      '    1,',
      '  ],',
      'NOT_E: 1,',
      '  f(x: number): number {',
      '    return x;',
      '  },',
      '};',
    ].join('\n');
    expect(parseKnobs(source)).toEqual({ A: 524288, B: -0.001, E: 'with, comma', G: null, H: [0.9, 0.999], K: false });
    expect(setKnob(source, 'E', 'L')).toBe(source.replace("'with, comma'", "'L'"));
  });

  test('setKnob changes only that literal: the rest of the file is byte-identical', () => {
    const replacement = (v: KnobValue): KnobValue => {
      if (typeof v === 'number') return Number.isInteger(v) ? v * 3 + 1 : v * 1.5;
      if (typeof v === 'string') return v === 'L' ? 'SL' : 'L';
      if (typeof v === 'boolean') return !v;
      if (v === null) return 4;
      return v.map((x) => x / 2);
    };
    const knobs = parseKnobs(CONFIG_SOURCE);
    for (const site of findKnobs(CONFIG_SOURCE)) {
      const value = replacement(site.value);
      const edited = setKnob(CONFIG_SOURCE, site.name, value);
      const suffix = CONFIG_SOURCE.length - site.end;
      expect(edited.slice(0, site.start)).toBe(CONFIG_SOURCE.slice(0, site.start));
      expect(edited.slice(edited.length - suffix)).toBe(CONFIG_SOURCE.slice(site.end));
      expect(edited).not.toBe(CONFIG_SOURCE);
      expect(parseKnobs(edited)).toEqual({ ...knobs, [site.name]: value });
    }
  });

  test('setKnob keeps the style of the literal: powers of two, quotes, only the changed tuple element', () => {
    const line = (src: string, name: string) => src.split('\n').find((l) => l.startsWith(`  ${name}:`));
    expect(line(setKnob(CONFIG_SOURCE, 'TOTAL_BATCH_SIZE', 2 ** 18), 'TOTAL_BATCH_SIZE')).toBe('  TOTAL_BATCH_SIZE: 2 ** 18, // tokens per optimizer step');
    expect(line(setKnob(CONFIG_SOURCE, 'TOTAL_BATCH_SIZE', 300000), 'TOTAL_BATCH_SIZE')).toBe('  TOTAL_BATCH_SIZE: 300000, // tokens per optimizer step');
    expect(line(setKnob(CONFIG_SOURCE, 'ADAM_BETAS', [0.85, 0.95]), 'ADAM_BETAS')).toBe('  ADAM_BETAS: [0.85, 0.95], // AdamW (beta1, beta2)');
    expect(line(setKnob(CONFIG_SOURCE, 'SOFTCAP', false), 'SOFTCAP')).toBe('  SOFTCAP: false, // logit soft-cap (false: none)');
    expect(line(setKnob(CONFIG_SOURCE, 'MATRIX_LR', 0.056), 'MATRIX_LR')).toBe('  MATRIX_LR: 0.056, // Muon, matrices inside the blocks');
    expect(setKnob('const P = "SSSL"; // x\n', 'P', 'L')).toBe('const P = "L"; // x\n');
    expect(setKnob(CONFIG_SOURCE, 'DEPTH', 8)).toBe(CONFIG_SOURCE);
    expect(() => setKnob(CONFIG_SOURCE, 'NO_SUCH_KNOB', 1)).toThrow(ConfigError);
    expect(() => setKnob(CONFIG_SOURCE, 'NO_SUCH_KNOB', 1)).toThrow(/no knob NO_SUCH_KNOB: expected a line `NO_SUCH_KNOB: <literal>,` in the config object/);
  });
});

/** Syntax errors of a TypeScript source (none for a well-formed module). */
function syntaxErrors(source: string): string[] {
  const out = ts.transpileModule(source, { reportDiagnostics: true, compilerOptions: { module: ts.ModuleKind.CommonJS } });
  return (out.diagnostics ?? []).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

interface Step {
  description: string;
  source: string;
  status: ResultStatus;
}

/**
 * A simulated session: the baseline, then `steps` proposals, each kept, discarded or crashed by
 * a seeded coin; the file is reset to the best config before each proposal, as the loop does.
 */
async function simulate(seed: number, steps: number, fixed?: FixedConstants, each?: (before: string, after: string, tried: Set<string>) => void): Promise<Step[]> {
  const agent = new BuiltinAgent({ seed });
  const coin = seededRandom(1000 + seed);
  let best = CONFIG_SOURCE;
  const history: HistoryEntry[] = [{ ...row(1, 'keep', 1.5, 'baseline'), knobs: parseKnobs(best) }];
  const tried = new Set([configKey(parseKnobs(best))]);
  const out: Step[] = [];
  for (let i = 0; i < steps; i++) {
    await fs.writeFile(repo.configPath, best);
    const context = contextFor(repo, { configSource: best, results: history, history, best: history[0]!, ...(fixed ? { fixed } : {}) });
    const { description } = await agent.propose(context, { timeoutMs: 1000 });
    const source = readFileSync(repo.configPath, 'utf8');
    each?.(best, source, tried);
    tried.add(configKey(parseKnobs(source)));
    const r = coin();
    const status: ResultStatus = r < 0.3 ? 'keep' : r < 0.9 ? 'discard' : 'crash';
    history.push({ ...row(history.length + 1, status, 1.5 - i / 1000, description), knobs: parseKnobs(source) });
    if (status === 'keep') best = source;
    out.push({ description, source, status });
  }
  return out;
}

describe('the builtin agent', () => {
  test('50 proposals from a seed never repeat a config and stay valid, each a minimal edit', async () => {
    const names = Object.keys(parseKnobs(CONFIG_SOURCE));
    const steps = await simulate(7, 50, undefined, (before, after, tried) => {
      const knobs = parseKnobs(after);
      expect(tried.has(configKey(knobs))).toBe(false); // never a config already tried
      expect(Object.keys(knobs)).toEqual(names); // parses again, every knob still there
      expect(knobProblems(knobs)).toEqual([]);
      expect(syntaxErrors(after)).toEqual([]);
      expect(knobs.SEED).toBe(42);
      // Only the lines of the changed knobs differ, and within them only the literal.
      const a = before.split('\n');
      const b = after.split('\n');
      expect(b).toHaveLength(a.length);
      const beforeKnobs = parseKnobs(before);
      const changed = names.filter((n) => JSON.stringify(beforeKnobs[n]) !== JSON.stringify(knobs[n]));
      expect(changed.length).toBeGreaterThanOrEqual(1);
      const changedLines = a.map((l, i) => (l === b[i] ? -1 : i)).filter((i) => i >= 0);
      expect(changedLines.map((i) => /^ {2}([A-Z_]+):/.exec(a[i]!)![1]).sort()).toEqual([...changed].sort());
      for (const i of changedLines) {
        const site = findKnobs(before).find((s) => s.line === i)!;
        const lineStart = before.lastIndexOf('\n', site.start - 1) + 1;
        const head = a[i]!.slice(0, site.start - lineStart);
        const tail = a[i]!.slice(site.end - lineStart);
        expect(b[i]!.startsWith(head) && b[i]!.endsWith(tail)).toBe(true);
      }
    });
    expect(steps).toHaveLength(50);
    for (const s of steps) expect(s.description).toMatch(/^[A-Z][A-Z0-9_]* \S.* -> \S/);
    expect(new Set(steps.map((s) => s.description.split(' ')[0])).size).toBeGreaterThan(8); // it explores many knobs
  });

  test('deterministic for a seed; another seed gives another session', async () => {
    const a = await simulate(3, 15);
    const b = await simulate(3, 15);
    const c = await simulate(4, 15);
    expect(b).toEqual(a);
    expect(c.map((s) => s.description)).not.toEqual(a.map((s) => s.description));
  });

  /** How often, over many seeds, the next proposal raises MATRIX_LR above `current`. */
  async function rateOfIncrease(current: number, history: HistoryEntry[]): Promise<number> {
    const source = setKnob(CONFIG_SOURCE, 'MATRIX_LR', current);
    let ups = 0;
    const trials = 400;
    for (let seed = 0; seed < trials; seed++) {
      const context = contextFor(repo, { configSource: source, results: history, history, best: history.at(-1)! });
      const { description } = await new BuiltinAgent({ seed }).propose(context, { timeoutMs: 1000 });
      const m = /^MATRIX_LR (\S+) -> (\S+)$/.exec(description);
      if (m && Number(m[2]) > Number(m[1])) ups++;
    }
    return ups / trials;
  }

  const entry = (n: number, status: ResultStatus, knobs: KnobValues, description: string): HistoryEntry => ({ ...row(n, status, 1.5 - n / 100, description), knobs });

  test('a kept increase of MATRIX_LR makes a further increase more likely than chance', async () => {
    const base = parseKnobs(CONFIG_SOURCE);
    const learned = await rateOfIncrease(0.056, [entry(1, 'keep', base, 'baseline'), entry(2, 'keep', { ...base, MATRIX_LR: 0.056 }, 'MATRIX_LR 0.04 -> 0.056')]);
    // Chance: the same config with no history to learn from.
    const chance = await rateOfIncrease(0.056, [entry(1, 'keep', { ...base, MATRIX_LR: 0.056 }, 'baseline')]);
    expect(chance).toBeGreaterThan(0.005);
    expect(chance).toBeLessThan(0.1);
    expect(learned).toBeGreaterThan(2.5 * chance);
  });

  test('a direction discarded twice is avoided; the same learned from descriptions when knobs are unknown', async () => {
    const base = parseKnobs(CONFIG_SOURCE);
    const downs = async (history: HistoryEntry[]) => {
      let n = 0;
      for (let seed = 0; seed < 300; seed++) {
        const context = contextFor(repo, { configSource: CONFIG_SOURCE, results: history, history, best: history[0]! });
        const { description } = await new BuiltinAgent({ seed }).propose(context, { timeoutMs: 1000 });
        const m = /^MATRIX_LR (\S+) -> (\S+)$/.exec(description);
        if (m && Number(m[2]) < Number(m[1])) n++;
      }
      return n;
    };
    const withKnobs = [
      entry(1, 'keep', base, 'baseline'),
      entry(2, 'discard', { ...base, MATRIX_LR: 0.028 }, 'MATRIX_LR 0.04 -> 0.028'),
      entry(3, 'discard', { ...base, MATRIX_LR: 0.02 }, 'MATRIX_LR 0.04 -> 0.02'),
    ];
    expect(await downs([withKnobs[0]!])).toBeGreaterThan(0); // possible without the history
    expect(await downs(withKnobs)).toBe(0);
    expect(await downs(withKnobs.map((e, i) => (i === 0 ? e : { ...e, knobs: null })))).toBe(0);
  });

  test('batch sizes stay powers of two and TOTAL_BATCH_SIZE a multiple of DEVICE_BATCH_SIZE × MAX_SEQ_LEN', async () => {
    const fixed = { TIME_BUDGET: 300, MAX_SEQ_LEN: 256, EVAL_TOKENS: 65536 };
    let source = setKnob(CONFIG_SOURCE, 'TOTAL_BATCH_SIZE', 2 ** 14);
    source = setKnob(source, 'DEVICE_BATCH_SIZE', 64); // 64 × 256 = 2^14: no gradient accumulation
    const moves = candidateMoves(parseKnobs(source), fixed);
    const halve = moves.find((m) => m.changes[0]!.name === 'TOTAL_BATCH_SIZE' && m.changes[0]!.to === 2 ** 13)!;
    expect(halve.changes[1]).toEqual({ name: 'DEVICE_BATCH_SIZE', from: 64, to: 32 }); // coupled to stay a multiple
    expect(moves.some((m) => m.changes[0]!.name === 'DEVICE_BATCH_SIZE' && m.changes[0]!.to === 128)).toBe(false);
    await fs.writeFile(repo.configPath, source);
    const agent = new BuiltinAgent({ seed: 11 });
    for (let i = 0; i < 40; i++) {
      await agent.propose(contextFor(repo, { configSource: source, fixed }), { timeoutMs: 1000 });
      const k = parseKnobs(readFileSync(repo.configPath, 'utf8'));
      const [t, d] = [k.TOTAL_BATCH_SIZE as number, k.DEVICE_BATCH_SIZE as number];
      expect([t & (t - 1), d & (d - 1), t % (d * 256)]).toEqual([0, 0, 0]);
    }
    // Without MAX_SEQ_LEN known, the accumulation ratio never shrinks: no doubling of DEVICE_BATCH_SIZE alone.
    expect(candidateMoves(parseKnobs(source)).some((m) => m.changes[0]!.name === 'DEVICE_BATCH_SIZE' && m.changes[0]!.to === 128)).toBe(false);
  });

  test('what other workers run is not proposed again: N proposals in flight are N distinct configs', () => {
    const inFlight: Array<{ number: number; description: string; knobs: ReturnType<typeof parseKnobs> }> = [];
    const keys = new Set<string>();
    for (let i = 0; i < 6; i++) {
      // The same seed each time: without the in-flight list every call would pick the same move.
      const plan = planProposal({ configSource: CONFIG_SOURCE, history: [], inFlight }, seededRandom(5))!;
      const knobs = parseKnobs(plan.source);
      expect(keys.has(configKey(knobs))).toBe(false);
      keys.add(configKey(knobs));
      inFlight.push({ number: i + 1, description: plan.description, knobs });
    }
    const again = planProposal({ configSource: CONFIG_SOURCE, history: [] }, seededRandom(5))!;
    expect(again.description).toBe(inFlight[0]!.description);
  });

  test('when every config within reach was tried: AgentError no-change', async () => {
    const source = 'const VALUE_EMBEDS = true;\nexport default { VALUE_EMBEDS };\n';
    await fs.writeFile(repo.configPath, source);
    const history = [
      { ...row(1, 'keep', 1.5, 'baseline'), knobs: { VALUE_EMBEDS: true } },
      { ...row(2, 'discard', 1.6, 'VALUE_EMBEDS true -> false'), knobs: { VALUE_EMBEDS: false } },
    ];
    const context = contextFor(repo, { configSource: source, results: history, history });
    await expect(new BuiltinAgent().propose(context, { timeoutMs: 1000 })).rejects.toMatchObject({ kind: 'no-change' });
    await expect(new BuiltinAgent().propose(context, { timeoutMs: 1000 })).rejects.toBeInstanceOf(AgentError);
    expect(readFileSync(repo.configPath, 'utf8')).toBe(source);
    // With the one neighbour untried, it is proposed.
    const fresh = contextFor(repo, { configSource: source, results: history.slice(0, 1), history: history.slice(0, 1) });
    expect(await new BuiltinAgent().propose(fresh, { timeoutMs: 1000 })).toEqual({ description: 'VALUE_EMBEDS true -> false' });
  });
});

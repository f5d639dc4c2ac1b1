// The builtin agent: an offline proposer that needs no LLM. It reads the knobs of the current
// train/config.ts (the best config so far), lists the one-knob moves around it (each knob moves
// the way its entry in the knob table says: multiplicative steps for learning rates, ±1 / ±25%
// for sizes, powers of two for the batch sizes, the alternatives of categorical knobs), drops
// moves that make an invalid config or one already tried, weighs the rest by what the history
// says (a kept direction is favoured, a direction discarded twice since its last keep is
// avoided) and picks one with a seeded PRNG.
// The edit is minimal (setKnob: only the literal changes) and described as `NAME old -> new`.
// A proposal is a function of (seed, the context, the number of calls made): runs replay exactly.

import { promises as fs } from 'node:fs';
import { AgentError, ConfigError } from '../../errors';
import { KNOBS, KNOB_NAMES, REFERENCE_DEFAULTS, mismatch, type KnobSettings, type Mutation } from '../../config/knobs';
import { modelConfigFromKnobs } from '../../config/model-config';
import { configKey, findKnobs, parseKnobs, setKnob } from '../../config/config-source';
import { seededRandom } from '../../random';
import type { Agent, AgentContext, FixedConstants, HistoryEntry, KnobValue, KnobValues, Proposal, ProposeOptions } from './types';

export { configKey, findKnobs, formatKnobValue, parseKnobs, setKnob, type KnobSite } from '../../config/config-source';

/** Options of the builtin agent. */
export interface BuiltinAgentOptions {
  /** Seed of the proposals (default 0): the same seed and contexts give the same proposals. */
  seed?: number;
}

/** One knob's change inside a move. */
export interface KnobChange {
  name: string;
  from: KnobValue;
  to: KnobValue;
}

/** A candidate change of the config: one knob (sometimes a coupled second one). */
export interface Move {
  /** The changes, the primary one first. */
  changes: KnobChange[];
  /** The direction it goes, e.g. `MATRIX_LR:up`, `MLP_ACTIVATION="swiglu"`; the unit the history learns on. */
  direction: string;
  /** Prior weight before the history is taken into account. */
  weight: number;
}

/** What the history says about one direction. */
export interface DirectionStats {
  /** Times a change in this direction was kept. */
  keeps: number;
  /** Discards since the last keep (a crash counts as two). */
  failuresSinceKeep: number;
}

const sig = (x: number, digits = 3): number => Number(x.toPrecision(digits));
const isPow2 = (x: number): boolean => Number.isInteger(x) && x >= 1 && (x & (x - 1)) === 0 && x <= 2 ** 30;
const pow2Below = (x: number): number => 2 ** Math.floor(Math.log2(x));
const round6 = (x: number): number => Number(x.toFixed(6));

/** The model width and head count of a set of knobs (SPEC §4 sizing). */
function heads(k: KnobValues): { modelDim: number; nHead: number } | null {
  const { DEPTH, ASPECT_RATIO, HEAD_DIM } = k;
  if (typeof DEPTH !== 'number' || typeof ASPECT_RATIO !== 'number' || typeof HEAD_DIM !== 'number' || HEAD_DIM <= 0) return null;
  const modelDim = Math.ceil((DEPTH * ASPECT_RATIO) / HEAD_DIM) * HEAD_DIM;
  return { modelDim, nHead: modelDim / HEAD_DIM };
}

/**
 * The problems of a set of knob values, one string each (empty: the builtin agent considers it
 * runnable): each knob against its kind in the knob table, the model's own checks (heads,
 * windows, widths; knobs left out take the reference's values), and a few limits of the
 * agent's search. With the fixed constants, also that TOTAL_BATCH_SIZE is a multiple of
 * DEVICE_BATCH_SIZE × MAX_SEQ_LEN.
 */
export function knobProblems(k: KnobValues, fixed?: FixedConstants): string[] {
  const problems: string[] = [];
  for (const name of KNOB_NAMES) {
    const expected = name in k ? mismatch(KNOBS[name].kind, k[name]) : null;
    if (expected) problems.push(`${name} must be ${expected}`);
  }
  if (problems.length === 0) {
    try {
      modelConfigFromKnobs({ ...REFERENCE_DEFAULTS, ...k } as KnobSettings, { vocabSize: 8192, sequenceLen: fixed?.MAX_SEQ_LEN ?? 2048 });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(err.message);
    }
  }
  // The search's own limits: learning rates stay positive, decay non-negative, the lr schedule within the budget.
  const num = (name: string): number | undefined => (typeof k[name] === 'number' ? (k[name] as number) : undefined);
  for (const name of ['EMBEDDING_LR', 'UNEMBEDDING_LR', 'MATRIX_LR', 'SCALAR_LR']) {
    if (name in k && !((num(name) ?? 0) > 0)) problems.push(`${name} must be positive`);
  }
  if ('WEIGHT_DECAY' in k && !((num('WEIGHT_DECAY') ?? -1) >= 0)) problems.push('WEIGHT_DECAY must be >= 0');
  if ((num('WARMUP_RATIO') ?? 0) + (num('WARMDOWN_RATIO') ?? 0) > 1) problems.push('WARMUP_RATIO + WARMDOWN_RATIO must be <= 1');
  const total = num('TOTAL_BATCH_SIZE');
  const device = num('DEVICE_BATCH_SIZE');
  if (fixed && total !== undefined && device !== undefined && total % (device * fixed.MAX_SEQ_LEN) !== 0) {
    problems.push('TOTAL_BATCH_SIZE must be a multiple of DEVICE_BATCH_SIZE × MAX_SEQ_LEN');
  }
  return problems;
}

/** The direction of one change: `NAME:up` / `NAME:down` for numbers, `NAME=<value>` otherwise. */
export function directionOf(name: string, from: KnobValue, to: KnobValue): string {
  if (typeof from === 'number' && typeof to === 'number') return `${name}:${to > from ? 'up' : 'down'}`;
  return `${name}=${JSON.stringify(to)}`;
}

/** The directions of the difference between two configs (array knobs per element: `ADAM_BETAS[1]:up`). */
export function directionsBetween(from: KnobValues, to: KnobValues): string[] {
  const out: string[] = [];
  for (const name of Object.keys(to)) {
    const a = from[name];
    const b = to[name]!;
    if (a === undefined || JSON.stringify(a) === JSON.stringify(b)) continue;
    if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
      a.forEach((x, i) => {
        if (x !== b[i]) out.push(directionOf(`${name}[${i}]`, x, b[i]!));
      });
    } else out.push(directionOf(name, a, b));
  }
  return out;
}

/** The directions named by a builtin description (`MATRIX_LR 0.04 -> 0.056, ...`), for history without knobs. */
export function directionsFromDescription(description: string): string[] {
  const out: string[] = [];
  const re = /([A-Z][A-Z0-9_]*) (.+?) -> (.+?)(?=, [A-Z][A-Z0-9_]* |$)/g;
  for (const m of description.matchAll(re)) {
    const from = parseKnobs(`const ${m[1]} = ${m[2]};`)[m[1]!];
    const to = parseKnobs(`const ${m[1]} = ${m[3]};`)[m[1]!];
    if (from === undefined || to === undefined) continue;
    out.push(...directionsBetween({ [m[1]!]: from }, { [m[1]!]: to }));
  }
  return out;
}

/** What the history says: per-direction stats and the configs already tried. */
export function learnFromHistory(history: readonly HistoryEntry[]): { stats: Map<string, DirectionStats>; tried: Set<string> } {
  const stats = new Map<string, DirectionStats>();
  const tried = new Set<string>();
  // The parent of an experiment is the best config when it ran: the baseline, then each kept one.
  let parent: KnobValues | null = null;
  history.forEach((entry, i) => {
    if (entry.knobs) tried.add(configKey(entry.knobs));
    const directions =
      i === 0 ? [] : entry.knobs && parent ? directionsBetween(parent, entry.knobs) : directionsFromDescription(entry.description);
    for (const d of directions) {
      const s = stats.get(d) ?? { keeps: 0, failuresSinceKeep: 0 };
      if (entry.status === 'keep') {
        s.keeps++;
        s.failuresSinceKeep = 0;
      } else s.failuresSinceKeep += entry.status === 'crash' ? 2 : 1;
      stats.set(d, s);
    }
    if (i === 0 || entry.status === 'keep') parent = entry.knobs; // null when unknown: fall back to descriptions
  });
  return { stats, tried };
}

function opposite(direction: string): string | null {
  if (direction.endsWith(':up')) return `${direction.slice(0, -3)}:down`;
  if (direction.endsWith(':down')) return `${direction.slice(0, -5)}:up`;
  return null;
}

/** A move's weight after the history: ×5 for a kept direction, avoided after two failures. */
export function historyWeight(move: Move, stats: Map<string, DirectionStats>): number {
  const s = stats.get(move.direction);
  let w = move.weight;
  if (s) {
    if (s.failuresSinceKeep >= 2) return 0;
    if (s.keeps > 0) w *= 5;
    if (s.failuresSinceKeep === 1) w *= 0.5;
  }
  const o = opposite(move.direction);
  if (o && (stats.get(o)?.keeps ?? 0) > 0) w *= 0.5; // going back on a kept change is less promising
  return w;
}

/** The one-knob moves around a config (before validity, novelty and history filters), each knob moved as the table says. */
export function candidateMoves(k: KnobValues, fixed?: FixedConstants): Move[] {
  const moves: Move[] = [];
  const add = (name: string, to: KnobValue, weight: number, also: KnobChange[] = []) => {
    const from = k[name];
    if (from === undefined || JSON.stringify(from) === JSON.stringify(to)) return;
    if (typeof to === 'number' && !Number.isFinite(to)) return;
    moves.push({ changes: [{ name, from, to }, ...also], direction: directionOf(name, from, to), weight });
  };
  for (const name of KNOB_NAMES) {
    if (name in k) movesOf(name, KNOBS[name].mutate, k, add, moves, fixed);
  }
  // Deduplicate moves that land on the same values (e.g. DEPTH ±1 and ±25% at DEPTH 4).
  const seen = new Set<string>();
  return moves.filter((m) => {
    const key = JSON.stringify(m.changes.map((c) => [c.name, c.to]));
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

type AddMove = (name: string, to: KnobValue, weight: number, also?: KnobChange[]) => void;

/** The moves of one knob by its mutation (see Mutation in lib/config/knobs.ts). */
function movesOf(name: string, mutate: Mutation, k: KnobValues, add: AddMove, moves: Move[], fixed?: FixedConstants): void {
  const value = k[name];
  const v = typeof value === 'number' ? value : undefined;
  switch (mutate.by) {
    case 'frozen': // a new seed is noise, not research
      return;
    case 'factor': {
      if (v === undefined) return;
      if (v === 0) {
        const fallback = (REFERENCE_DEFAULTS as Record<string, unknown>)[name];
        add(name, typeof fallback === 'number' && fallback > 0 ? fallback : 0.1, 1);
        return;
      }
      add(name, sig(v * 0.7), 1);
      add(name, sig(v * 1.4), 1);
      add(name, sig(v * 0.5), 0.3);
      add(name, sig(v * 2), 0.3);
      if (mutate.toZero && v > 0) add(name, 0, 0.2);
      return;
    }
    case 'scale':
      if (v === undefined) return;
      add(name, sig(v * 0.5), 0.25);
      add(name, sig(v * 2), 0.25);
      return;
    case 'count':
      if (v === undefined) return;
      add(name, v + 1, 1);
      if (v > 1) add(name, v - 1, 1);
      add(name, Math.max(1, Math.round(v * 1.25)), 0.3);
      add(name, Math.max(1, Math.round(v * 0.75)), 0.3);
      return;
    case 'width':
      if (v === undefined) return;
      add(name, Math.max(1, Math.round(v * 1.25)), 1);
      add(name, Math.max(1, Math.round(v * 0.75)), 1);
      return;
    case 'headDim':
      if (v === undefined) return;
      add(name, v * 2, 0.5);
      if (v >= 16) add(name, Math.round(v / 4) * 2, 0.5);
      return;
    case 'kvHeads': {
      const h = heads(k);
      if (!h) return;
      const divisors = Array.from({ length: h.nHead }, (_, i) => i + 1).filter((d) => h.nHead % d === 0 && d < h.nHead);
      const others = ([null, ...divisors] as KnobValue[]).filter((o) => o !== value);
      for (const o of others) add(name, o, 1 / others.length);
      return;
    }
    case 'ratio':
      if (v === undefined) return;
      add(name, Math.max(0.5, Math.round(v * 1.25 * 2) / 2), 1);
      add(name, Math.max(0.5, Math.round(v * 0.75 * 2) / 2), 1);
      return;
    case 'choice': {
      const others = mutate.choices.filter((c) => c !== value);
      for (const c of others) add(name, c, (typeof value === 'boolean' ? 1 : 2) / others.length);
      return;
    }
    case 'softcap':
      if (value === false) add(name, (REFERENCE_DEFAULTS as Record<string, unknown>)[name] as number, 1);
      else if (v !== undefined) {
        add(name, false, 0.5);
        add(name, sig(v * 0.7), 0.5);
        add(name, sig(v * 1.4), 0.5);
      }
      return;
    case 'totalBatch':
    case 'deviceBatch': {
      // Powers of two; TOTAL_BATCH_SIZE stays a multiple of DEVICE_BATCH_SIZE × MAX_SEQ_LEN.
      // Without MAX_SEQ_LEN known, the accumulation ratio TOTAL / DEVICE never shrinks.
      const total = typeof k.TOTAL_BATCH_SIZE === 'number' ? k.TOTAL_BATCH_SIZE : undefined;
      const device = typeof k.DEVICE_BATCH_SIZE === 'number' ? k.DEVICE_BATCH_SIZE : undefined;
      if (total === undefined || device === undefined) return;
      const seq = fixed?.MAX_SEQ_LEN;
      const fits = (t: number, d: number) => (seq ? t % (d * seq) === 0 : t / d >= total / device);
      if (mutate.by === 'totalBatch') {
        if (!isPow2(total)) {
          add(name, pow2Below(total), 1);
          add(name, pow2Below(total) * 2, 1);
        } else {
          add(name, total * 2, 1);
          if (fits(total / 2, device)) add(name, total / 2, 1);
          else if (device >= 2 && isPow2(device)) add(name, total / 2, 1, [{ name: 'DEVICE_BATCH_SIZE', from: device, to: device / 2 }]);
        }
      } else if (!isPow2(device)) add(name, pow2Below(device), 0.5);
      else {
        if (device >= 2) add(name, device / 2, 0.5);
        if (fits(total, device * 2)) add(name, device * 2, 0.5);
      }
      return;
    }
    case 'betas': {
      if (!Array.isArray(value) || value.length !== 2) return;
      value.forEach((b, i) => {
        if (!(b > 0 && b < 1)) return;
        for (const f of [0.7, 1.4]) {
          const next = round6(1 - sig(Math.min(0.999, (1 - b) * f), 2));
          if (next <= 0 || next >= 1 || next === b) continue;
          const to = [...value];
          to[i] = next;
          moves.push({ changes: [{ name, from: value, to }], direction: directionOf(`${name}[${i}]`, b, next), weight: 0.5 });
        }
      });
      return;
    }
    case 'fromZero':
      if (v === undefined) return;
      if (v === 0) {
        for (const to of mutate.from) add(name, to, 0.5);
      } else {
        add(name, Math.min(1, sig(v * 2)), 0.5);
        add(name, sig(v / 2), 0.5);
        add(name, 0, 0.5);
      }
      return;
    case 'shift':
      if (v === undefined) return;
      add(name, round6(Math.min(1, v + 0.1)), 1);
      add(name, round6(Math.max(0, v - 0.1)), 1);
      add(name, round6(Math.min(1, v + 0.2)), 0.3);
      add(name, round6(Math.max(0, v - 0.2)), 0.3);
      return;
  }
}

function mix(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x01000193) >>> 0;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h;
}

function applyMove(k: KnobValues, move: Move): KnobValues {
  const next = { ...k };
  for (const c of move.changes) next[c.name] = c.to;
  return next;
}

function pickWeighted<T>(items: { item: T; weight: number }[], rand: () => number): T | null {
  const total = items.reduce((s, x) => s + x.weight, 0);
  if (!(total > 0)) return null;
  let r = rand() * total;
  for (const x of items) {
    r -= x.weight;
    if (r < 0) return x.item;
  }
  return items.at(-1)!.item;
}

/** The result of planning one proposal: the new source and what changed. */
export interface BuiltinPlan {
  source: string;
  description: string;
  changes: KnobChange[];
}

/**
 * Plans one proposal without touching the disk: the move chosen around `context.configSource`.
 * Returns null when every config within two moves was already tried or is invalid.
 */
export function planProposal(context: Pick<AgentContext, 'configSource' | 'history' | 'fixed' | 'inFlight'>, rand: () => number): BuiltinPlan | null {
  const base = parseKnobs(context.configSource);
  const { stats, tried } = learnFromHistory(context.history);
  tried.add(configKey(base));
  // What other workers are running (or will run) is not proposed again.
  for (const e of context.inFlight ?? []) if (e.knobs) tried.add(configKey(e.knobs));
  const baseProblems = new Set(knobProblems(base, context.fixed));
  const acceptable = (k: KnobValues) => !tried.has(configKey(k)) && knobProblems(k, context.fixed).every((p) => baseProblems.has(p));

  const moves = candidateMoves(base, context.fixed).filter((m) => acceptable(applyMove(base, m)));
  let chosen: Move[] | null = null;
  if (moves.length > 0) {
    const weighted = moves.map((m) => ({ item: m, weight: historyWeight(m, stats) }));
    // Every direction avoided: still better to try something new than nothing.
    const pool = weighted.some((w) => w.weight > 0) ? weighted : weighted.map((w) => ({ ...w, weight: w.item.weight }));
    const one = pickWeighted(pool, rand);
    if (one) chosen = [one];
  } else {
    // The neighbourhood is exhausted: two moves on different knobs.
    const all = candidateMoves(base, context.fixed);
    for (let attempt = 0; attempt < 500 && !chosen && all.length > 1; attempt++) {
      const a = all[Math.floor(rand() * all.length)]!;
      const afterA = applyMove(base, a);
      const second = candidateMoves(afterA, context.fixed).filter((m) => m.changes[0]!.name !== a.changes[0]!.name);
      const b = second[Math.floor(rand() * second.length)];
      if (b && acceptable(applyMove(afterA, b))) chosen = [a, b];
    }
  }
  if (!chosen) return null;

  let source = context.configSource;
  const changes: KnobChange[] = [];
  const parts: string[] = [];
  for (const move of chosen) {
    for (const c of move.changes) {
      const before = findKnobs(source).find((s) => s.name === c.name)!;
      source = setKnob(source, c.name, c.to);
      const after = findKnobs(source).find((s) => s.name === c.name)!;
      changes.push(c);
      parts.push(`${c.name} ${before.text} -> ${after.text}`);
    }
  }
  return { source, description: parts.join(', '), changes };
}

/** The builtin agent (`--agent builtin`, the default). */
export class BuiltinAgent implements Agent {
  readonly name = 'builtin';
  readonly seed: number;
  private calls = 0;

  constructor(options: BuiltinAgentOptions = {}) {
    this.seed = options.seed ?? 0;
  }

  async propose(context: AgentContext, options: ProposeOptions): Promise<Proposal> {
    options.signal?.throwIfAborted();
    const rand = seededRandom(mix(this.seed, context.results.length, context.history.length, this.calls++));
    const knobs = findKnobs(context.configSource);
    if (knobs.length === 0) {
      throw new AgentError('failed', `builtin agent: ${context.configPath} has no knobs (lines \`NAME: <literal>,\` in the config object) to change`);
    }
    const plan = planProposal(context, rand);
    if (!plan) {
      throw new AgentError('no-change', 'builtin agent: every config within reach of the best one was already tried or is invalid; use an LLM agent to go further');
    }
    await fs.writeFile(context.configPath, plan.source);
    return { description: plan.description };
  }
}

/** The builtin agent with a seed. */
export function createBuiltinAgent(options: BuiltinAgentOptions = {}): BuiltinAgent {
  return new BuiltinAgent(options);
}

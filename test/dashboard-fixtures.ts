// Result rows for the dashboard's tests and benchmark: what appendResult writes, made up
// (a random walk of val_bpb with kept, discarded and crashed experiments), with real diffs; and
// a folder that ran two loop tags one after the other, with the run state the loop leaves.
import fs from 'node:fs';
import path from 'node:path';

import { unifiedDiff } from '../lib/loop/diff';
import { seededRandom } from '../lib/random';
import { toResultRow, type NewResult, type ResultRow, type ResultStatus } from '../lib/loop/results';
import { stateText, type RunState } from '../lib/loop/run-state';

const HARNESS = { dataset: 'sotu', maxSeqLen: 64, evalTokens: 2048, vocabSize: 512, timeBudget: 1, data: 'sha256:0123abcd' };
const HARDWARE = { device: 'cpu', libtorch: '1.13.1', cuda: null, threads: 2 };

const hex = (rand: () => number) => Array.from({ length: 40 }, () => Math.floor(rand() * 16).toString(16)).join('');

/**
 * `count` rows of a made-up loop tag (default 'synthetic') starting at experiment `start` with
 * its baseline, one minute apart.
 */
export function syntheticRows(
  count: number,
  options: { seed?: number; start?: number; startTime?: number; tag?: string; worker?: (i: number) => string | undefined } = {},
): Array<ResultRow & { worker?: string }> {
  const rand = seededRandom(options.seed ?? 1);
  const start = options.start ?? 0;
  const t0 = options.startTime ?? Date.parse('2026-01-01T00:00:00Z');
  let best = 1.5;
  let parent = hex(rand);
  let lr = 0.04;
  const rows: Array<ResultRow & { worker?: string }> = [];
  for (let i = 0; i < count; i++) {
    const experiment = start + i;
    const commit = hex(rand);
    const baseline = i === 0;
    const u = rand();
    let status: ResultStatus;
    let value: number | null;
    if (baseline) {
      status = 'keep';
      value = best;
    } else if (u < 0.05) {
      status = 'crash';
      value = null;
    } else {
      value = best + (rand() - 0.25) * 0.02 + (rand() < 0.02 ? 0.5 : 0);
      status = value < best ? 'keep' : 'discard';
    }
    const newLr = Number((lr * (rand() < 0.5 ? 0.7 : 1.4)).toFixed(6));
    const before = `const DEPTH = 1;\nconst MATRIX_LR = ${lr};\nconst EMBEDDING_LR = 0.6;\n`;
    const after = `const DEPTH = 1;\nconst MATRIX_LR = ${newLr};\nconst EMBEDDING_LR = 0.6;\n`;
    const description = baseline ? 'baseline' : `MATRIX_LR ${lr} -> ${newLr}`;
    const result: NewResult = {
      experiment,
      tag: options.tag ?? 'synthetic',
      status,
      description,
      commit,
      parent: baseline ? null : parent,
      agent: 'builtin',
      summary:
        value === null
          ? null
          : {
              val_bpb: Number(value.toFixed(6)),
              training_seconds: 300.1,
              total_seconds: 309.2,
              peak_vram_mb: 700 + Math.round(rand() * 100),
              mfu_percent: 40.1,
              total_tokens_M: 2.5,
              num_steps: 600 + Math.round(rand() * 100),
              num_params_M: 3.1,
              depth: 1,
            },
      diff: baseline ? '' : unifiedDiff('train/config.ts', before, after),
      fingerprint: { hardware: HARDWARE, harness: HARNESS },
      time: new Date(t0 + (i + 1) * 60_000),
    };
    const worker = options.worker?.(i);
    // Where a parallel loop records the worker (lib/loop/loop.ts: the placement of the run).
    if (worker !== undefined) result.fingerprint = { hardware: { ...HARDWARE, executor: worker.split(':')[0], worker, node: 'node1', device: 'cpu' }, harness: HARNESS };
    const row: ResultRow & { worker?: string } = toResultRow(result);
    rows.push(row);
    if (status === 'keep') {
      best = value!;
      parent = commit;
      lr = newLr;
    }
  }
  return rows;
}

/** Writes `rows` as results.jsonl in `dir` (replacing it). */
export function writeResults(dir: string, rows: readonly object[]): void {
  fs.writeFileSync(path.join(dir, 'results.jsonl'), rows.map((r) => JSON.stringify(r) + '\n').join(''));
}

/** Appends one row to results.jsonl in `dir` with one write, as the loop does. */
export function appendRow(dir: string, row: object): void {
  fs.appendFileSync(path.join(dir, 'results.jsonl'), JSON.stringify(row) + '\n');
}

/** Writes .autoresearch/run.json in `dir` as the loop does when it starts a tag (replacing it). */
export function writeRunState(dir: string, state: RunState): void {
  const file = path.join(dir, '.autoresearch', 'run.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(`${file}.tmp`, stateText(state));
  fs.renameSync(`${file}.tmp`, file);
}

/**
 * A folder that ran `loop --tag a` (experiments 0-4), then `loop --tag b` (5-11), which is the
 * loop's tag in run.json: the rows of both (b's a day later, from another seed).
 */
export function twoTagRows(): { a: ResultRow[]; b: ResultRow[]; state: RunState } {
  const a = syntheticRows(5, { seed: 21, tag: 'a' });
  const b = syntheticRows(7, { seed: 22, tag: 'b', start: 5, startTime: Date.parse('2026-01-02T00:00:00Z') });
  return { a, b, state: { tag: 'b', firstExperiment: 5, nextExperiment: 12 } };
}

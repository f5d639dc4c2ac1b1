// The experiments as the dashboard holds them: results.jsonl read incrementally (only the
// bytes appended since the last read are parsed, so a session of 10,000 experiments costs
// nothing per new row), every row normalised as `readResults` does, plus the worker that ran it
// (a parallel loop records it in `fingerprint.hardware.worker`; rows written before that named it
// in a top-level `worker`, still read). The file is only read, never repaired: a loop in another
// process may be writing it. Rows are grouped by loop tag as they arrive (TagGroups): the page
// shows one tag, as `autoresearch results` does.
import fs from 'node:fs';

import type { TagCounts } from '../loop/report';
import { inferredTag, RESULT_STATUSES, type ResultRow, type ResultStatus } from '../loop/results';
import type { RunState } from '../loop/run-state';
import { SUMMARY_KEYS } from '../runner/types';

/** A result row with what the dashboard adds: the worker that ran it, when rows name one. */
export interface DashboardRow extends ResultRow {
  /** The parallel worker that ran the experiment, when the row names one. */
  worker: string | null;
}

/** The table's view of a row: everything but the diff and the fingerprint. */
export interface CompactRow {
  /** Position in results.jsonl (0-based): the row's id on the page and in /api/rows/:index. */
  index: number;
  experiment: number;
  status: ResultStatus;
  val_bpb: number | null;
  peak_vram_mb: number | null;
  num_steps: number | null;
  training_seconds: number | null;
  total_seconds: number | null;
  description: string;
  commit: string;
  parent: string | null;
  agent: string;
  time: string;
  worker: string | null;
}

/**
 * The table's and chart's view of a row on the wire, as an array (a session of 10,000 rows is
 * ~1 MB this way, against ~3.5 MB as objects with full commits): see {@link TABLE_FIELDS}.
 */
export type TableRow = [
  index: number,
  experiment: number,
  status: ResultStatus,
  val_bpb: number | null,
  peak_vram_mb: number | null,
  num_steps: number | null,
  /** When it finished, ms since the epoch. */
  time: number | null,
  description: string,
  /** The commit's first 7 characters. */
  commit: string,
  worker: string | null,
];

/** The names of a {@link TableRow}'s positions, in order. */
export const TABLE_FIELDS = ['index', 'experiment', 'status', 'val_bpb', 'peak_vram_mb', 'num_steps', 'time', 'description', 'commit', 'worker'] as const;

/** The wire form of row `index`. */
export function tableRow(row: DashboardRow, index: number): TableRow {
  const time = Date.parse(row.time);
  return [index, row.experiment, row.status, row.val_bpb, row.peak_vram_mb, row.num_steps, Number.isFinite(time) ? time : null, row.description, row.commit.slice(0, 7), row.worker];
}

/** A row of results.jsonl that could not be read. */
export interface SkippedLine {
  line: number;
  reason: string;
}

/** The row a results.jsonl line holds, or a reason why it holds none. */
function parseDashboardRow(line: string): DashboardRow | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return 'not JSON';
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return 'not an object';
  const row = value as Record<string, unknown>;
  if (typeof row.experiment !== 'number' || !Number.isInteger(row.experiment)) return 'no experiment number';
  if (!RESULT_STATUSES.includes(row.status as ResultStatus)) return `status '${String(row.status)}' is not keep, discard or crash`;
  if (typeof row.commit !== 'string') return 'no commit';
  const out = {
    experiment: row.experiment,
    tag: typeof row.tag === 'string' && row.tag !== '' ? row.tag : null,
    status: row.status as ResultStatus,
  } as DashboardRow;
  for (const key of SUMMARY_KEYS) out[key] = typeof row[key] === 'number' && Number.isFinite(row[key]) ? row[key] : null;
  const fingerprint = row.fingerprint as ResultRow['fingerprint'] | undefined;
  Object.assign(out, {
    description: typeof row.description === 'string' ? row.description : '',
    commit: row.commit,
    parent: typeof row.parent === 'string' ? row.parent : null,
    agent: typeof row.agent === 'string' ? row.agent : '',
    time: typeof row.time === 'string' ? row.time : '',
    fingerprint: fingerprint && typeof fingerprint === 'object' ? fingerprint : { hardware: {}, harness: {} },
    diff: typeof row.diff === 'string' ? row.diff : '',
    worker: workerName((fingerprint?.hardware as Record<string, unknown> | undefined)?.worker) ?? workerName(row.worker),
  });
  return out;
}

function workerName(value: unknown): string | null {
  if (typeof value === 'string' && value !== '') return value;
  return typeof value === 'number' && Number.isFinite(value) ? String(value) : null;
}

/** The table's view of row `index`. */
export function compactRow(row: DashboardRow, index: number): CompactRow {
  return {
    index,
    experiment: row.experiment,
    status: row.status,
    val_bpb: row.val_bpb,
    peak_vram_mb: row.peak_vram_mb,
    num_steps: row.num_steps,
    training_seconds: row.training_seconds,
    total_seconds: row.total_seconds,
    description: row.description,
    commit: row.commit,
    parent: row.parent,
    agent: row.agent,
    time: row.time,
    worker: row.worker,
  };
}

/** What a {@link ResultsTail.poll} found. */
export type RowsChange = { kind: 'none' } | { kind: 'appended'; from: number } | { kind: 'reset' };

/**
 * results.jsonl, followed as it grows. `poll()` reads what was appended since the last call; a
 * file that shrank or was replaced is read again from the start, and when its rows are no
 * longer the ones held (an edited or rewritten log) the change is a reset.
 */
export class ResultsTail {
  rows: DashboardRow[] = [];
  /** Each row's {@link TableRow} as JSON, made once when the row is read. */
  tableJson: string[] = [];
  skipped: SkippedLine[] = [];
  private offset = 0;
  private lines = 0;
  private inode = -1;

  constructor(readonly file: string) {}

  async poll(): Promise<RowsChange> {
    let stat: fs.Stats;
    try {
      stat = await fs.promises.stat(this.file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      if (this.rows.length === 0 && this.offset === 0) return { kind: 'none' };
      this.clear();
      return { kind: 'reset' };
    }
    if (stat.ino !== this.inode || stat.size < this.offset) {
      // Replaced (e.g. rewritten through a rename) or cut: read it again and compare.
      const previous = this.rows;
      this.clear();
      this.inode = stat.ino;
      await this.readFrom(0, stat.size);
      const keepsPrefix =
        this.rows.length >= previous.length && previous.every((r, i) => JSON.stringify(r) === JSON.stringify(this.rows[i]));
      if (!keepsPrefix) return { kind: 'reset' };
      return this.rows.length > previous.length ? { kind: 'appended', from: previous.length } : { kind: 'none' };
    }
    if (stat.size === this.offset) return { kind: 'none' };
    const from = this.rows.length;
    await this.readFrom(this.offset, stat.size);
    return this.rows.length > from ? { kind: 'appended', from } : { kind: 'none' };
  }

  private clear(): void {
    this.rows = [];
    this.tableJson = [];
    this.skipped = [];
    this.offset = 0;
    this.lines = 0;
    this.inode = -1;
  }

  /** Parses the complete lines in [start, end); a torn last line waits for its end. */
  private async readFrom(start: number, end: number): Promise<void> {
    if (end <= start) return;
    const handle = await fs.promises.open(this.file, 'r');
    let buffer: Buffer;
    try {
      buffer = Buffer.alloc(end - start);
      let got = 0;
      while (got < buffer.length) {
        const { bytesRead } = await handle.read(buffer, got, buffer.length - got, start + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      buffer = buffer.subarray(0, got);
    } finally {
      await handle.close();
    }
    const lastNewline = buffer.lastIndexOf(0x0a);
    if (lastNewline < 0) return;
    const text = buffer.subarray(0, lastNewline).toString('utf8');
    this.offset = start + lastNewline + 1;
    for (const line of text.split('\n')) {
      this.lines++;
      if (line.trim() === '') continue;
      const row = parseDashboardRow(line);
      if (typeof row === 'string') this.skipped.push({ line: this.lines, reason: row });
      else {
        this.tableJson.push(JSON.stringify(tableRow(row, this.rows.length)));
        this.rows.push(row);
      }
    }
  }
}

/** One loop tag's rows, as {@link TagGroups} keeps them. */
export interface TagGroup {
  tag: string | null;
  /** The tag's rows, in file order. */
  rows: DashboardRow[];
  /** Each row's position in results.jsonl (its id on the page and in /api/rows/:index). */
  indices: number[];
  /** The lowest experiment number: the tag's #0, as `tagNumbering` numbers a report. */
  first: number;
  /** The best kept row (`bestKept`'s choice: the lowest val_bpb, the earliest on a tie) and its position, or null. */
  best: { index: number; row: DashboardRow } | null;
}

/**
 * The rows grouped by loop tag, kept up to date one appended row at a time (no pass over the
 * rows already held). A row's tag is its own, else the one the run state infers for it
 * (`inferredTag`), so the groups are those of `autoresearch results`.
 */
export class TagGroups {
  private groups = new Map<string | null, TagGroup>();
  private experiments = new Set<number>();
  /** How many rows have no tag of their own: their group depends on the run state. */
  untagged = 0;
  /** The tag of the last row added (undefined before the first). */
  lastTag: string | null | undefined = undefined;

  /** Adds row `index` of results.jsonl, its tag inferred from `state` when it has none. */
  add(row: DashboardRow, index: number, state: Partial<Pick<RunState, 'tag' | 'firstExperiment'>> | null): void {
    const tag = inferredTag(row, state);
    let group = this.groups.get(tag);
    if (!group) {
      group = { tag, rows: [], indices: [], first: row.experiment, best: null };
      this.groups.set(tag, group);
    }
    group.rows.push(row);
    group.indices.push(index);
    group.first = Math.min(group.first, row.experiment);
    if (row.status === 'keep' && row.val_bpb !== null && (group.best === null || row.val_bpb < group.best.row.val_bpb!)) group.best = { index, row };
    this.experiments.add(row.experiment);
    if (row.tag === null) this.untagged++;
    this.lastTag = tag;
  }

  clear(): void {
    this.groups.clear();
    this.experiments.clear();
    this.untagged = 0;
    this.lastTag = undefined;
  }

  get(tag: string | null): TagGroup | undefined {
    return this.groups.get(tag);
  }

  /** Every group, in the order of its first row (as `rowsByTag` orders them). */
  list(): TagGroup[] {
    return [...this.groups.values()];
  }

  /** Every tag and its number of experiments, in the order of its first row. */
  counts(): TagCounts {
    return this.list().map((g) => ({ tag: g.tag, experiments: g.rows.length }));
  }

  /** True when a row of experiment `n` was added. */
  has(experiment: number): boolean {
    return this.experiments.has(experiment);
  }
}

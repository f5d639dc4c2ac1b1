// A research session as the dashboard sees it, kept up to date from the files a loop writes:
// results.jsonl (the experiments), run.log (the experiment in progress), .autoresearch/run.json
// (the tag and the experiment numbers handed out), .autoresearch/loop.lock (whether a loop is
// running) and .autoresearch/stop (a pending stop request). It only reads them. A loop may be
// running in another process or none at all (a finished session reads the same way).
//
// Changes are noticed through fs.watch on the two folders and, as a fallback (fs.watch can
// miss events, e.g. on network file systems), a poll every `pollMs`. The training curve of each
// run is remembered once its summary block is seen, keyed by its val_bpb, so that the
// incumbent's curve can be drawn beside the running one when this process saw the incumbent's
// run (the loop keeps only the latest run.log).
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { readStopRequest, type StopRequest } from '../loop/control';
import { commitSubject, headSha } from '../loop/git';
import { isProcessAlive, readLock } from '../loop/lock';
import { RESULTS_JSONL, RUN_LOG, STATE_DIR } from '../loop/paths';
import { summarizeResults, type ResultsSummary } from '../loop/report';
import { bestKept } from '../loop/results';
import { ResultsTail, TABLE_FIELDS, compactRow, tableRow, type CompactRow, type DashboardRow, type SkippedLine, type TableRow } from './rows';
import { RunLogReader, lossAtProgress, type LossPoint, type RunPhase } from './runlog';

/** What the loop is doing, as far as its files tell. */
export type LoopPhase = 'idle' | 'proposing' | RunPhase;

/** The state of the loop and of the experiment in progress. */
export interface LoopStatus {
  /** A loop holds the lock and its process is alive (on this host). */
  running: boolean;
  /** The lock's holder, when there is a lock. */
  lock: { pid: number; host: string; started: string; alive: boolean | null } | null;
  tag: string | null;
  phase: LoopPhase;
  /** The experiment in progress (number and description), when one is. */
  current: { experiment: number | null; description: string | null } | null;
  /** The last progress line of the run in progress. */
  step: LossPoint | null;
  /** The incumbent's loss at the running experiment's progress, when its curve is known. */
  incumbentLossNow: number | null;
  stopRequested: StopRequest | null;
  /** The id of the run whose log is being read (changes when run.log starts over). */
  runId: number;
  /** The last lines run.log printed. */
  logTail: string[];
}

/** The running-best and count figures of the summary cards. */
export interface DashboardSummary extends ResultsSummary {
  /** When the session started: the first experiment's finish time less its total seconds (ms since epoch). */
  startedAt: number | null;
  /** When the last experiment finished (ms since epoch). */
  lastAt: number | null;
}

/** A run's training curve and what it belongs to. */
export interface Curve {
  /** The row (index in results.jsonl) the curve belongs to, when known. */
  index: number | null;
  experiment: number | null;
  val_bpb: number | null;
  points: LossPoint[];
}

/** A parallel worker and its latest experiment. */
export interface WorkerRow {
  worker: string;
  experiments: number;
  kept: number;
  last: CompactRow;
}

/** Everything the page needs to draw itself; later changes come as events. */
export interface Snapshot {
  dir: string;
  /** The positions of each row's array. */
  fields: typeof TABLE_FIELDS;
  rows: TableRow[];
  skipped: SkippedLine[];
  summary: DashboardSummary;
  status: LoopStatus;
  live: { runId: number; points: LossPoint[] };
  incumbent: Curve | null;
  workers: WorkerRow[];
  /** The latest row's fingerprint, and how many distinct harness fingerprints the rows carry. */
  fingerprint: { latest: DashboardRow['fingerprint'] | null; harnesses: number };
}

/** The events a {@link Session} emits. */
export interface SessionEvents {
  /** Rows were appended: the new rows and the summary after them. */
  rows: [{ from: number; rows: TableRow[]; summary: DashboardSummary; workers: WorkerRow[]; fingerprint: Snapshot['fingerprint'] }];
  /** results.jsonl was rewritten: reload everything. */
  reset: [];
  /** New loss points of the run in progress (`restart`: a new run began). */
  live: [{ runId: number; restart: boolean; points: LossPoint[] }];
  /** The incumbent's curve changed (a new best, or its curve became known). */
  incumbent: [Curve | null];
  status: [LoopStatus];
}

/** Options of {@link Session}. */
export interface SessionOptions {
  /** The research repository (where results.jsonl and run.log are). */
  dir: string;
  /** Poll interval in ms (default 250). */
  pollMs?: number;
  /** How many finished runs' curves to remember (default 500). */
  keepCurves?: number;
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Follows a research session's files; emits {@link SessionEvents}. */
export class Session extends EventEmitter<SessionEvents> {
  readonly dir: string;
  private readonly results: ResultsTail;
  private log = new RunLogReader();
  private logOffset = 0;
  private logInode = -1;
  private runId = 0;
  private readonly curves = new Map<string, LossPoint[]>();
  private readonly keepCurves: number;
  private status: LoopStatus;
  private incumbent: Curve | null = null;
  private summary: DashboardSummary;
  /** Figures of the rows, made when they change (a page load then costs no pass over them). */
  private derived: { workers: WorkerRow[]; fingerprint: Snapshot['fingerprint']; rowsJson: string } = {
    workers: [],
    fingerprint: { latest: null, harnesses: 0 },
    rowsJson: '[]',
  };
  private head: { sha: string; subject: string } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private watchers: fs.FSWatcher[] = [];
  private polling: Promise<void> | null = null;
  private again = false;
  private readonly pollMs: number;

  constructor(options: SessionOptions) {
    super();
    this.dir = path.resolve(options.dir);
    this.pollMs = options.pollMs ?? 250;
    this.keepCurves = options.keepCurves ?? 500;
    this.results = new ResultsTail(path.join(this.dir, RESULTS_JSONL));
    this.summary = dashboardSummary([]);
    this.status = this.idleStatus();
  }

  /** Reads everything once and starts following changes. */
  async start(): Promise<void> {
    await this.poll();
    this.timer = setInterval(() => void this.poll(), this.pollMs);
    this.timer.unref();
    for (const folder of [this.dir, path.join(this.dir, STATE_DIR)]) {
      try {
        const watcher = fs.watch(folder, () => void this.poll());
        watcher.on('error', () => watcher.close());
        watcher.unref();
        this.watchers.push(watcher);
      } catch {
        // the folder does not exist (yet): the poll covers it
      }
    }
  }

  /** Stops following. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const w of this.watchers) w.close();
    this.watchers = [];
  }

  /** All rows (full, with diffs). */
  get rows(): readonly DashboardRow[] {
    return this.results.rows;
  }

  /** Everything the page needs, as of now. */
  snapshot(): Snapshot {
    return { ...this.snapshotRest(), rows: this.results.rows.map(tableRow) };
  }

  /** The rows from index `from` on, with the figures after them (the `rows` event). */
  rowsSince(from: number): SessionEvents['rows'][0] {
    const rows = this.results.rows;
    return {
      from,
      rows: rows.slice(from).map((r, i) => tableRow(r, from + i)),
      summary: this.summary,
      workers: this.derived.workers,
      fingerprint: this.derived.fingerprint,
    };
  }

  /** The loop's status as last read. */
  get loopStatus(): LoopStatus {
    return this.status;
  }

  /** {@link snapshot} as JSON, built from each row's JSON made when it was read. */
  snapshotJson(): string {
    return `{"rows":${this.derived.rowsJson},${JSON.stringify(this.snapshotRest()).slice(1)}`;
  }

  private snapshotRest(): Omit<Snapshot, 'rows'> {
    return {
      dir: this.dir,
      fields: TABLE_FIELDS,
      skipped: this.results.skipped,
      summary: this.summary,
      status: this.status,
      live: { runId: this.runId, points: [...this.log.points] },
      incumbent: this.incumbent,
      workers: this.derived.workers,
      fingerprint: this.derived.fingerprint,
    };
  }

  /** The training curve recorded for row `index`, when this process saw its run. */
  curveOf(index: number): LossPoint[] | null {
    const row = this.results.rows[index];
    if (!row || row.val_bpb === null || row.status === 'crash') return null;
    return this.curves.get(row.val_bpb.toFixed(6)) ?? null;
  }

  /** Checks every file once (runs are serialised; a call during one schedules another). */
  poll(): Promise<void> {
    if (this.polling) {
      this.again = true;
      return this.polling;
    }
    this.polling = (async () => {
      try {
        do {
          this.again = false;
          await this.pollOnce();
        } while (this.again);
      } catch (error) {
        // A file caught mid-rename or a git object mid-write: the next poll reads it again.
        if (process.env.AUTORESEARCH_DASHBOARD_DEBUG) process.stderr.write(`dashboard: ${(error as Error).message}\n`);
      } finally {
        this.polling = null;
      }
    })();
    return this.polling;
  }

  private async pollOnce(): Promise<void> {
    await this.pollLog();
    const change = await this.results.poll();
    if (change.kind !== 'none') {
      const rows = this.results.rows;
      this.summary = dashboardSummary(rows);
      this.derived = { workers: workerRows(rows), fingerprint: fingerprintInfo(rows), rowsJson: `[${this.results.tableJson.join(',')}]` };
      if (change.kind === 'reset') this.emit('reset');
      else {
        this.emit('rows', this.rowsSince(change.from));
      }
    }
    this.updateIncumbent();
    const status = await this.readStatus();
    if (!sameJson(status, this.status)) {
      this.status = status;
      this.emit('status', status);
    }
  }

  /** Reads what run.log gained; a truncated or replaced log is a new run. */
  private async pollLog(): Promise<void> {
    const file = path.join(this.dir, RUN_LOG);
    let stat: fs.Stats;
    try {
      stat = await fs.promises.stat(file);
    } catch {
      return;
    }
    let restart = stat.ino !== this.logInode || stat.size < this.logOffset;
    if (restart) this.newRun(stat.ino);
    if (stat.size <= this.logOffset) {
      if (restart) this.emit('live', { runId: this.runId, restart: true, points: [] });
      return;
    }
    const handle = await fs.promises.open(file, 'r');
    let chunk: Buffer;
    try {
      chunk = Buffer.alloc(stat.size - this.logOffset);
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, this.logOffset);
      chunk = chunk.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
    // Only whole UTF-8 characters: stop after the last newline (the reader keeps partial lines anyway).
    const end = chunk.lastIndexOf(0x0a) + 1;
    if (end === 0) return;
    const text = chunk.subarray(0, end).toString('utf8');
    let added = this.log.push(text);
    if (this.log.restarted) {
      // The next run rewrote the file past our offset before we saw it shrink: read it afresh.
      this.newRun(stat.ino);
      restart = true;
      this.logOffset = 0;
      return this.pollLog();
    }
    this.logOffset += end;
    if (this.log.valBpb !== null) this.remember(this.log.valBpb, this.log.points);
    if (restart) added = [...this.log.points];
    if (added.length > 0 || restart) this.emit('live', { runId: this.runId, restart, points: added });
  }

  private newRun(inode: number): void {
    this.log = new RunLogReader();
    this.logOffset = 0;
    this.logInode = inode;
    this.runId++;
  }

  private remember(valBpb: number, points: LossPoint[]): void {
    const key = valBpb.toFixed(6);
    if (this.curves.has(key)) return;
    this.curves.set(key, [...points]);
    if (this.curves.size > this.keepCurves) this.curves.delete(this.curves.keys().next().value!);
  }

  private updateIncumbent(): void {
    const rows = this.results.rows;
    const best = bestKept(rows);
    let next: Curve | null = null;
    if (best) {
      const index = rows.indexOf(best as DashboardRow);
      const points = this.curveOf(index);
      next = points ? { index, experiment: best.experiment, val_bpb: best.val_bpb, points } : { index, experiment: best.experiment, val_bpb: best.val_bpb, points: [] };
    }
    const key = (c: Curve | null) => (c ? `${c.index}:${c.points.length}` : '');
    if (key(next) !== key(this.incumbent)) {
      this.incumbent = next;
      this.emit('incumbent', next);
    }
  }

  private idleStatus(): LoopStatus {
    return {
      running: false,
      lock: null,
      tag: null,
      phase: 'idle',
      current: null,
      step: null,
      incumbentLossNow: null,
      stopRequested: null,
      runId: this.runId,
      logTail: [],
    };
  }

  private async readStatus(): Promise<LoopStatus> {
    const status = this.idleStatus();
    status.logTail = this.log.tail.slice(-8);
    const lock = readLock(this.dir);
    if (lock) {
      const alive = lock.host === os.hostname() ? isProcessAlive(lock.pid) : null;
      status.lock = { ...lock, alive };
      status.running = alive === true;
    }
    const state = await readRunState(this.dir);
    status.tag = state?.tag ?? null;
    status.stopRequested = await readStopRequest(this.dir);
    if (!status.running) return status;

    const rows = this.results.rows;
    // The number handed out last: its experiment is in progress until its row appears.
    const handedOut = state?.nextExperiment !== undefined ? state.nextExperiment - 1 : null;
    const inProgress = handedOut !== null && !rows.some((r) => r.experiment === handedOut);
    const runActive = this.log.phase === 'starting' || this.log.phase === 'training' || this.log.phase === 'evaluating';
    if (!inProgress) {
      status.phase = 'proposing';
      return status;
    }
    status.phase = runActive ? this.log.phase : 'proposing';
    let description: string | null = null;
    if (handedOut !== null && state && handedOut === state.firstExperiment) description = 'baseline';
    else if (runActive) description = await this.headSubject(rows);
    status.current = { experiment: handedOut, description };
    const last = this.log.points[this.log.points.length - 1] ?? null;
    if (runActive && last) {
      status.step = last;
      const curve = this.incumbent?.points;
      status.incumbentLossNow = curve && curve.length > 0 && last.progress > 0 ? lossAtProgress(curve, [last.progress])[0] ?? null : null;
    }
    return status;
  }

  /** The subject of HEAD (the experiment's commit while it runs), or null. */
  private async headSubject(rows: readonly DashboardRow[]): Promise<string | null> {
    try {
      const sha = await headSha(this.dir);
      if (rows.some((r) => r.commit === sha)) return null; // not an experiment commit yet
      if (this.head?.sha !== sha) this.head = { sha, subject: await commitSubject(this.dir, sha) };
      return this.head.subject;
    } catch {
      return null;
    }
  }
}

/** The loop's run state (.autoresearch/run.json), or null. */
async function readRunState(dir: string): Promise<{ tag?: string; firstExperiment?: number; nextExperiment?: number } | null> {
  try {
    const value = JSON.parse(await fs.promises.readFile(path.join(dir, STATE_DIR, 'run.json'), 'utf8')) as Record<string, unknown>;
    return {
      tag: typeof value.tag === 'string' ? value.tag : undefined,
      firstExperiment: typeof value.firstExperiment === 'number' ? value.firstExperiment : undefined,
      nextExperiment: typeof value.nextExperiment === 'number' ? value.nextExperiment : undefined,
    };
  } catch {
    return null;
  }
}

/** The cards' figures: those of `autoresearch results` plus the session's time span. */
function dashboardSummary(rows: readonly DashboardRow[]): DashboardSummary {
  const summary = summarizeResults(rows, { top: 5 });
  const first = rows[0];
  const last = rows[rows.length - 1];
  const firstAt = first ? Date.parse(first.time) : NaN;
  const lastAt = last ? Date.parse(last.time) : NaN;
  return {
    ...summary,
    startedAt: Number.isFinite(firstAt) ? firstAt - (first!.total_seconds ?? 0) * 1000 : null,
    lastAt: Number.isFinite(lastAt) ? lastAt : null,
  };
}

/** One row per parallel worker (empty when no row names a worker). */
function workerRows(rows: readonly DashboardRow[]): WorkerRow[] {
  const byWorker = new Map<string, WorkerRow>();
  rows.forEach((row, index) => {
    if (row.worker === null) return;
    const entry = byWorker.get(row.worker) ?? { worker: row.worker, experiments: 0, kept: 0, last: compactRow(row, index) };
    entry.experiments++;
    if (row.status === 'keep') entry.kept++;
    entry.last = compactRow(row, index);
    byWorker.set(row.worker, entry);
  });
  return [...byWorker.values()].sort((a, b) => a.worker.localeCompare(b.worker, 'en', { numeric: true }));
}

function fingerprintInfo(rows: readonly DashboardRow[]): Snapshot['fingerprint'] {
  const harnesses = new Set(rows.map((r) => JSON.stringify(r.fingerprint.harness)));
  return { latest: rows[rows.length - 1]?.fingerprint ?? null, harnesses: harnesses.size };
}

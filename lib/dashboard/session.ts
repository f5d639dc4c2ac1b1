// A research session as the dashboard sees it, kept up to date from the files a loop writes:
// results.jsonl (the experiments), run.log (the experiment in progress with one worker),
// .autoresearch/queue.json (the experiments queued or running, and on which worker),
// .autoresearch/logs/<n>.log (each run's log: written live with several workers, copied there
// when it ends with one), .autoresearch/run.json (the tag and the experiment numbers handed
// out), .autoresearch/loop.lock (whether a loop is running) and .autoresearch/stop (a pending
// stop request). It only reads them. A loop may be running in another process or none at all
// (a finished session reads the same way).
//
// The rows, cards and charts are those of one loop tag, chosen as `autoresearch results`
// chooses it but preferring the loop's own (run.json's tag): the tag asked for, else the loop's,
// else the run branch's, else the last row's. Without a tag asked for, the view follows the loop
// to a new tag (a `reset`: the page reloads). Rows are grouped by tag as they are read, so an
// update costs work in the shown tag's rows at most, never in every tag's.
//
// Changes are noticed through fs.watch on the folders and, as a fallback (fs.watch can miss
// events, e.g. on network file systems), a poll every `pollMs`. The training curve of each run
// is remembered once its summary block is seen, keyed by its val_bpb; the incumbent's curve
// comes from that memory or else from its kept log under .autoresearch/logs/.
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { readStopRequest, type StopRequest } from '../loop/control';
import { UnknownTagError } from '../errors';
import { checkedOutTag, commitSubject, headSha } from '../loop/git';
import { isProcessAlive, readLock } from '../loop/lock';
import { LOGS_DIR, RESULTS_JSONL, RUN_LOG, STATE_DIR } from '../loop/paths';
import { QUEUE_FILE } from '../loop/queue';
import { defaultTag, summarizeResults, tagOption, unknownTagProblem, type ResultsSummary, type TagCounts } from '../loop/report';
import type { RunState } from '../loop/run-state';
import {
  ResultsTail,
  TABLE_FIELDS,
  TagGroups,
  compactRow,
  tableRow,
  type CompactRow,
  type DashboardRow,
  type RowsChange,
  type SkippedLine,
  type TableRow,
} from './rows';
import { RunLogReader, lossAtProgress, type LossPoint, type RunPhase } from './runlog';

/** What the loop is doing, as far as its files tell. */
export type LoopPhase = 'idle' | 'proposing' | RunPhase;

/** The state of the loop and of the experiment in progress. */
export interface LoopStatus {
  /** A loop holds the lock and its process is alive (on this host). */
  running: boolean;
  /** The lock's holder, when there is a lock. */
  lock: { pid: number; host: string; started: string; alive: boolean | null } | null;
  /** The loop's tag (run.json's). */
  tag: string | null;
  /**
   * The stored experiment number of #0 of the loop's tag (the tag shown when there is no run
   * state): the experiments in flight and the incumbent show as `experiment - first`.
   */
  first: number;
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
  /** How many experiments the queue says are running (on any worker). */
  inFlight: number;
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

/** What a worker runs now, from the queue's running entry and that run's log. */
export interface WorkerRun {
  experiment: number;
  description: string;
  /** 'confirm': the second run of an experiment that beat the best once. */
  phase: 'run' | 'confirm';
  /** Runs started for this phase (2: a retry after a lost worker). */
  attempts: number;
  /** Where the run is, as its log tells. */
  state: RunPhase;
  /** The log followed, relative to the session's folder. */
  log: string;
  /** The run's last progress line. */
  step: LossPoint | null;
  /** The incumbent's loss at that progress, when its curve is known. */
  incumbentLossNow: number | null;
}

/** A worker: its finished experiments and what it runs now. */
export interface WorkerRow {
  worker: string;
  experiments: number;
  kept: number;
  /** Its latest finished experiment (null before its first one ends). */
  last: CompactRow | null;
  current: WorkerRun | null;
}

/** An experiment in flight whose log is followed, and its loss so far (one curve of the live chart). */
export interface LiveRun {
  /** `<experiment>` or `<experiment>.confirm`: the name of its log. */
  key: string;
  experiment: number;
  worker: string | null;
  phase: 'run' | 'confirm';
  points: LossPoint[];
}

/** The loop tag whose rows the page shows, and the other tags present. */
export interface TagView {
  /** Changes whenever the rows shown start over: another tag, or results.jsonl rewritten. */
  id: number;
  tag: string | null;
  /** The stored experiment number of the tag's #0: a row shows as `experiment - first`. */
  first: number;
  /** No tag was asked for: the view follows the loop to a new tag. */
  following: boolean;
  /** Every tag present and its number of experiments, in the order of its first row. */
  tags: TagCounts;
}

/** Everything the page needs to draw itself; later changes come as events. */
export interface Snapshot {
  dir: string;
  view: TagView;
  /** The positions of each row's array. */
  fields: typeof TABLE_FIELDS;
  /** The shown tag's rows. */
  rows: TableRow[];
  skipped: SkippedLine[];
  summary: DashboardSummary;
  status: LoopStatus;
  live: { runId: number; points: LossPoint[] };
  /** The experiments in flight with a log of their own (several workers); empty with one worker. */
  runs: LiveRun[];
  incumbent: Curve | null;
  workers: WorkerRow[];
  /** The latest row's fingerprint, and how many distinct harness fingerprints the rows carry. */
  fingerprint: { latest: DashboardRow['fingerprint'] | null; harnesses: number };
}

/** The events a {@link Session} emits. */
export interface SessionEvents {
  /**
   * Rows of the shown tag were appended (`from`: how many the view held before): the new rows
   * and the figures after them.
   */
  rows: [{ view: number; from: number; rows: TableRow[]; summary: DashboardSummary; workers: WorkerRow[]; fingerprint: Snapshot['fingerprint'] }];
  /** The view starts over (results.jsonl was rewritten, or another tag is shown): reload everything. */
  reset: [];
  /** The tags present or their counts changed. */
  tags: [{ tags: TagCounts }];
  /** New loss points of the run in progress (`restart`: a new run began). */
  live: [{ runId: number; restart: boolean; points: LossPoint[] }];
  /** New loss points of an experiment in flight on one of several workers (`restart`: its log started over). */
  run: [{ key: string; experiment: number; worker: string | null; phase: 'run' | 'confirm'; restart: boolean; points: LossPoint[] }];
  /** The workers' rows changed (what they run, how far it is, or the set of runs in flight). */
  workers: [{ workers: WorkerRow[]; runs: string[] }];
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
  /**
   * The loop tag to show, as `--tag` takes it ('(untagged)' for rows without one); default: the
   * loop's (run.json's), followed to a new one.
   */
  tag?: string;
}

/** The run state (.autoresearch/run.json) as far as the dashboard reads it. */
type RunStateFields = Partial<Pick<RunState, 'tag' | 'firstExperiment' | 'nextExperiment'>>;

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** A running entry of .autoresearch/queue.json, as far as the dashboard needs it. */
interface RunningEntry {
  experiment: number;
  description: string;
  worker: string | null;
  attempts: number;
  phase: 'run' | 'confirm';
}

/** The name of an experiment run's log under .autoresearch/logs/, as the loop names it. */
const logKey = (experiment: number, phase: 'run' | 'confirm') => `${experiment}${phase === 'confirm' ? '.confirm' : ''}`;

/**
 * A log followed as it grows: only what was appended since the last read is parsed; a file
 * that shrank or was replaced (a retry rewrites it) is a new run, read from its start.
 */
class LogFollower {
  reader = new RunLogReader();
  /** The file existed at the last poll. */
  exists = false;
  private offset = 0;
  private inode = -1;

  constructor(readonly file: string) {}

  /** The bytes read so far (whole lines). */
  get size(): number {
    return this.offset;
  }

  /** What the log gained since the last call; null while the file does not exist. */
  async poll(): Promise<{ restart: boolean; added: LossPoint[] } | null> {
    let stat: fs.Stats;
    try {
      stat = await fs.promises.stat(this.file);
    } catch {
      this.exists = false;
      return null;
    }
    this.exists = true;
    const restart = stat.ino !== this.inode || stat.size < this.offset;
    if (restart) {
      this.reader = new RunLogReader();
      this.offset = 0;
      this.inode = stat.ino;
    }
    const chunk = await readRange(this.file, this.offset, stat.size);
    const end = chunk.lastIndexOf(0x0a) + 1;
    if (end === 0) return { restart, added: restart ? [...this.reader.points] : [] };
    const added = this.reader.push(chunk.subarray(0, end).toString('utf8'));
    this.offset += end;
    if (this.reader.restarted) {
      this.inode = -1;
      return this.poll();
    }
    return { restart, added: restart ? [...this.reader.points] : added };
  }
}

/** The bytes of `file` in [start, end) (fewer if it shrank meanwhile). */
async function readRange(file: string, start: number, end: number): Promise<Buffer> {
  if (end <= start) return Buffer.alloc(0);
  const handle = await fs.promises.open(file, 'r');
  try {
    const buffer = Buffer.alloc(end - start);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, start);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Follows a research session's files; emits {@link SessionEvents}. */
export class Session extends EventEmitter<SessionEvents> {
  readonly dir: string;
  private readonly results: ResultsTail;
  /** The rows by tag; `view` is the tag shown, `requested` the one asked for (null: follow the loop's). */
  private readonly groups = new TagGroups();
  private readonly requested: { tag: string | null; option: string } | null;
  private view: TagView;
  /** How many rows the view held when its figures were made. */
  private viewCount = 0;
  private runState: RunStateFields | null = null;
  /** The tag of the run branch checked out at start (the fallback without a run state). */
  private branchTag: string | null = null;
  private log = new RunLogReader();
  private logOffset = 0;
  private logInode = -1;
  private runId = 0;
  private readonly curves = new Map<string, LossPoint[]>();
  /** Finished runs' curves read from their kept logs, by experiment (with the file's size then). */
  private readonly loggedCurves = new Map<number, { size: number; points: LossPoint[] }>();
  /** queue.json as last read (its text), and its running entries. */
  private queueText = '';
  private running: RunningEntry[] = [];
  /** The logs of the experiments in flight, by {@link logKey}. */
  private readonly followers = new Map<string, { entry: RunningEntry; follower: LogFollower }>();
  /** The workers' rows with what they run now (the finished-row figures are in `derived`). */
  private workersNow: WorkerRow[] = [];
  private runKeys: string[] = [];
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
    this.requested = options.tag === undefined ? null : { tag: tagOption(options.tag), option: options.tag };
    this.view = { id: 0, tag: this.requested?.tag ?? null, first: 0, following: this.requested === null, tags: [] };
    this.summary = dashboardSummary([]);
    this.status = this.idleStatus();
  }

  /**
   * Reads everything once and starts following changes. An UnknownTagError when the tag asked
   * for has no row and is not the loop's (a loop that has just started one).
   */
  async start(): Promise<void> {
    this.branchTag = await checkedOutTag(this.dir);
    await this.poll();
    const problem = this.tagProblem();
    if (problem !== null) throw new UnknownTagError(problem);
    this.timer = setInterval(() => void this.poll(), this.pollMs);
    this.timer.unref();
    for (const folder of [this.dir, path.join(this.dir, STATE_DIR), path.join(this.dir, LOGS_DIR)]) {
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

  /** All rows of every tag (full, with diffs), indexed by their position in results.jsonl. */
  get rows(): readonly DashboardRow[] {
    return this.results.rows;
  }

  /** The tag shown and the others present. */
  get tagView(): TagView {
    return this.view;
  }

  /** How many rows the shown tag has. */
  get viewRows(): number {
    return this.viewCount;
  }

  /** Everything the page needs, as of now. */
  snapshot(): Snapshot {
    return { ...this.snapshotRest(), rows: this.viewIndices().map((i) => tableRow(this.results.rows[i]!, i)) };
  }

  /** The shown tag's rows from its `from`th on, with the figures after them (the `rows` event). */
  rowsSince(from: number): SessionEvents['rows'][0] {
    return {
      view: this.view.id,
      from,
      rows: this.viewIndices(from).map((i) => tableRow(this.results.rows[i]!, i)),
      summary: this.summary,
      workers: this.workersNow,
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
      view: this.view,
      fields: TABLE_FIELDS,
      skipped: this.results.skipped,
      summary: this.summary,
      status: this.status,
      live: { runId: this.runId, points: [...this.log.points] },
      runs: this.liveRuns(),
      incumbent: this.incumbent,
      workers: this.workersNow,
      fingerprint: this.derived.fingerprint,
    };
  }

  /** The training curve recorded for row `index`, when this process saw its run. */
  curveOf(index: number): LossPoint[] | null {
    const row = this.results.rows[index];
    if (!row || row.val_bpb === null || row.status === 'crash') return null;
    return this.curves.get(row.val_bpb.toFixed(6)) ?? null;
  }

  /** Row `index`'s training curve: as this process saw its run, or else from its kept log. */
  async curveFor(index: number): Promise<LossPoint[] | null> {
    const row = this.results.rows[index];
    if (!row || row.val_bpb === null || row.status === 'crash') return null;
    return this.curveOf(index) ?? (await this.loggedCurve(row.experiment));
  }

  /** The curve of experiment `n`'s kept log (.autoresearch/logs/<n>.log), or null. */
  private async loggedCurve(experiment: number): Promise<LossPoint[] | null> {
    if (!Number.isSafeInteger(experiment) || experiment < 0) return null;
    const file = path.join(this.dir, LOGS_DIR, `${experiment}.log`);
    let size: number;
    try {
      size = (await fs.promises.stat(file)).size;
    } catch {
      return null;
    }
    const cached = this.loggedCurves.get(experiment);
    if (cached?.size === size) return cached.points.length > 0 ? cached.points : null;
    const reader = new RunLogReader();
    reader.push((await readRange(file, 0, size)).toString('utf8') + '\n');
    this.loggedCurves.set(experiment, { size, points: reader.points });
    if (this.loggedCurves.size > this.keepCurves) this.loggedCurves.delete(this.loggedCurves.keys().next().value!);
    return reader.points.length > 0 ? reader.points : null;
  }

  /** The experiments in flight whose own log exists, with their loss so far. */
  private liveRuns(): LiveRun[] {
    return this.liveKeys().map((key) => {
      const { entry, follower } = this.followers.get(key)!;
      return { key, experiment: entry.experiment, worker: entry.worker, phase: entry.phase, points: [...follower.reader.points] };
    });
  }

  /** The keys of {@link liveRuns}: the curves the live chart draws. */
  private liveKeys(): string[] {
    return [...this.followers].filter(([, { follower }]) => follower.exists && !this.isRunLogCopy(follower)).map(([key]) => key);
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
    await this.pollQueue();
    const change = await this.results.poll();
    const rebuilt = this.updateGroups(change, await readRunState(this.dir));
    const viewChange = this.updateView(rebuilt);
    await this.updateIncumbent();
    const status = await this.readStatus();
    const workers = this.currentWorkers(status);
    const runKeys = this.liveKeys();
    const workersChanged = !sameJson(workers, this.workersNow) || !sameJson(this.runKeys, runKeys);
    this.workersNow = workers;
    this.runKeys = runKeys;
    if (viewChange === 'reset') this.emit('reset');
    else {
      if (viewChange !== null) this.emit('rows', this.rowsSince(viewChange.from));
      this.emitTags();
    }
    if (workersChanged) this.emit('workers', { workers, runs: this.runKeys });
    if (!sameJson(status, this.status)) {
      this.status = status;
      this.emit('status', status);
    }
  }

  /**
   * Files the rows read since the last poll by tag. Returns true when the groups were rebuilt:
   * results.jsonl was rewritten, or the run state names another tag while rows without a tag
   * of their own (whose tag it infers) are present.
   */
  private updateGroups(change: RowsChange, state: RunStateFields | null): boolean {
    const inference = (s: RunStateFields | null) => `${s?.tag}:${s?.firstExperiment}`;
    const regroup = change.kind === 'reset' || (this.groups.untagged > 0 && inference(state) !== inference(this.runState));
    this.runState = state;
    const rows = this.results.rows;
    if (regroup) this.groups.clear();
    const from = regroup ? 0 : change.kind === 'appended' ? change.from : rows.length;
    for (let i = from; i < rows.length; i++) this.groups.add(rows[i]!, i, state);
    return regroup;
  }

  /** The tag to show: the one asked for, else the loop's (run.json's), the run branch's, the last row's. */
  private shownTag(): string | null {
    if (this.requested) return this.requested.tag;
    return defaultTag(this.runState?.tag ?? this.branchTag, this.groups.lastTag);
  }

  /** The stored number of `tag`'s #0: its lowest row's, else where the loop numbers it from. */
  private firstOf(tag: string | null): number {
    const group = this.groups.get(tag);
    if (group) return group.first;
    const state = this.runState;
    return state?.tag === tag && Number.isSafeInteger(state?.firstExperiment) ? state!.firstExperiment! : 0;
  }

  /**
   * Makes the view's figures current: 'reset' when it starts over (another tag or another #0,
   * or regrouped rows), `{ from }` when rows of its tag were appended, else null.
   */
  private updateView(rebuilt: boolean): 'reset' | { from: number } | null {
    const tag = this.shownTag();
    const first = this.firstOf(tag);
    if (rebuilt || tag !== this.view.tag || first !== this.view.first) {
      this.view = { id: this.view.id + 1, tag, first, following: this.requested === null, tags: this.groups.counts() };
      this.deriveView();
      return 'reset';
    }
    const from = this.viewCount;
    if ((this.groups.get(tag)?.rows.length ?? 0) === from) return null;
    this.deriveView();
    return { from };
  }

  /** The figures of the shown tag's rows (made when they change: a page load then costs no pass over them). */
  private deriveView(): void {
    const group = this.groups.get(this.view.tag);
    const rows = group?.rows ?? [];
    const indices = group?.indices ?? [];
    this.viewCount = rows.length;
    this.summary = dashboardSummary(rows);
    this.derived = {
      workers: workerRows(rows, indices),
      fingerprint: fingerprintInfo(rows),
      rowsJson: `[${indices.map((i) => this.results.tableJson[i]).join(',')}]`,
    };
  }

  /** The positions in results.jsonl of the rows the view holds, from its `from`th on. */
  private viewIndices(from = 0): number[] {
    return (this.groups.get(this.view.tag)?.indices ?? []).slice(from, this.viewCount);
  }

  /** Announces the tags present when they or their counts changed. */
  private emitTags(): void {
    const tags = this.groups.counts();
    if (sameJson(tags, this.view.tags)) return;
    this.view = { ...this.view, tags };
    this.emit('tags', { tags });
  }

  /** Why the tag asked for cannot be shown (no row has it, and the loop is not running it), or null. */
  private tagProblem(): string | null {
    if (!this.requested || this.requested.tag === this.runState?.tag) return null;
    const problem = unknownTagProblem(this.groups.list(), this.requested.option);
    if (problem === null) return null;
    return `${problem}${this.groups.list().length > 0 ? ', or' : ';'} leave out --tag to show the loop's tag`;
  }

  /** Reads queue.json when it changed, and what the logs of its running entries gained. */
  private async pollQueue(): Promise<void> {
    let text = '';
    try {
      text = await fs.promises.readFile(path.join(this.dir, QUEUE_FILE), 'utf8');
    } catch {
      // no queue (yet, or a loop of an older version): nothing in flight as far as it tells
    }
    if (text !== this.queueText) {
      this.queueText = text;
      this.running = runningEntries(text);
    }
    const keys = new Set<string>();
    for (const entry of this.running) {
      const key = logKey(entry.experiment, entry.phase);
      keys.add(key);
      let followed = this.followers.get(key);
      if (!followed) {
        followed = { entry, follower: new LogFollower(path.join(this.dir, LOGS_DIR, `${key}.log`)) };
        this.followers.set(key, followed);
      }
      followed.entry = entry;
      const got = await followed.follower.poll();
      if (got && (got.restart || got.added.length > 0) && !this.isRunLogCopy(followed.follower)) {
        this.emit('run', { key, experiment: entry.experiment, worker: entry.worker, phase: entry.phase, restart: got.restart, points: got.added });
      }
    }
    for (const key of this.followers.keys()) if (!keys.has(key)) this.followers.delete(key);
  }

  /**
   * True for the copy of run.log a one-worker loop makes when its run ends: that run's curve is
   * already the live one, and drawing it twice for a moment would only flicker.
   */
  private isRunLogCopy(follower: LogFollower): boolean {
    return this.running.length === 1 && this.logOffset > 0 && follower.size === this.logOffset;
  }

  /**
   * One row per worker: the figures of its finished rows and, while a loop runs, what the queue
   * says it runs now. With one worker the run's own log appears only when it ends; run.log is
   * its live log until then.
   */
  private currentWorkers(status: LoopStatus): WorkerRow[] {
    const byWorker = new Map(this.derived.workers.map((w) => [w.worker, { ...w, current: null as WorkerRun | null }]));
    const live = status.running || status.lock?.alive === null;
    if (live) {
      for (const entry of this.running) {
        if (entry.worker === null) continue;
        const key = logKey(entry.experiment, entry.phase);
        const follower = this.followers.get(key)?.follower;
        const runLogActive = this.log.phase === 'starting' || this.log.phase === 'training' || this.log.phase === 'evaluating';
        let reader: RunLogReader | null = null;
        let log = `${LOGS_DIR}/${key}.log`;
        if (follower?.exists) reader = follower.reader;
        else if (this.running.length === 1 && runLogActive) {
          reader = this.log;
          log = RUN_LOG;
        }
        const step = reader?.points[reader.points.length - 1] ?? null;
        const curve = this.incumbent?.points;
        const current: WorkerRun = {
          experiment: entry.experiment,
          description: entry.description,
          phase: entry.phase,
          attempts: entry.attempts,
          state: reader?.phase ?? 'starting',
          log,
          step,
          incumbentLossNow: step && curve && curve.length > 0 && step.progress > 0 ? lossAtProgress(curve, [step.progress])[0] ?? null : null,
        };
        const row = byWorker.get(entry.worker) ?? { worker: entry.worker, experiments: 0, kept: 0, last: null, current: null };
        row.current = current;
        byWorker.set(entry.worker, row);
      }
    }
    return [...byWorker.values()].sort((a, b) => a.worker.localeCompare(b.worker, 'en', { numeric: true }));
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

  /** The loop's tag: run.json's, else the one shown. */
  private loopTag(): string | null {
    return this.runState?.tag ?? this.view.tag;
  }

  /** The incumbent: the best kept row of the loop's tag (what its runs compete with). */
  private async updateIncumbent(): Promise<void> {
    const best = this.groups.get(this.loopTag())?.best ?? null;
    let next: Curve | null = null;
    if (best) {
      const { index, row } = best;
      const points = await this.curveFor(index);
      next = { index, experiment: row.experiment, val_bpb: row.val_bpb, points: points ?? [] };
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
      first: 0,
      phase: 'idle',
      current: null,
      step: null,
      incumbentLossNow: null,
      stopRequested: null,
      runId: this.runId,
      logTail: [],
      inFlight: this.running.length,
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
    const state = this.runState;
    status.tag = state?.tag ?? null;
    status.first = this.firstOf(this.loopTag());
    status.stopRequested = await readStopRequest(this.dir);
    if (!status.running) return status;

    const rows = this.results.rows;
    // The number handed out last: its experiment is in progress until its row appears.
    const handedOut = state?.nextExperiment !== undefined ? state.nextExperiment - 1 : null;
    const inProgress = handedOut !== null && !this.groups.has(handedOut);
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
async function readRunState(dir: string): Promise<RunStateFields | null> {
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

/** The running entries of queue.json's text (none when it is missing or unreadable). */
function runningEntries(text: string): RunningEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return [];
  }
  const entries = (parsed as { entries?: unknown } | null)?.entries;
  if (!Array.isArray(entries)) return [];
  const out: RunningEntry[] = [];
  for (const e of entries as Array<Record<string, unknown>>) {
    // The number and phase name a log file: only well-formed ones are followed.
    if (!e || e.state !== 'running' || !Number.isSafeInteger(e.experiment) || (e.experiment as number) < 0) continue;
    out.push({
      experiment: e.experiment as number,
      description: typeof e.description === 'string' ? e.description : '',
      worker: typeof e.worker === 'string' && e.worker !== '' ? e.worker : null,
      attempts: typeof e.attempts === 'number' ? e.attempts : 1,
      phase: e.phase === 'confirm' ? 'confirm' : 'run',
    });
  }
  return out;
}

/** One row per worker that ran a finished experiment of `rows` (at `indices` in results.jsonl); empty when no row names a worker. */
function workerRows(rows: readonly DashboardRow[], indices: readonly number[]): WorkerRow[] {
  const byWorker = new Map<string, WorkerRow>();
  rows.forEach((row, i) => {
    if (row.worker === null) return;
    const index = indices[i]!;
    const entry = byWorker.get(row.worker) ?? { worker: row.worker, experiments: 0, kept: 0, last: compactRow(row, index), current: null };
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

// The parallel loop's durable queue: every experiment that has a commit but no result row yet,
// with its state (queued, or running on a worker). Each change is written to
// .autoresearch/queue.json (a temporary file, synced, renamed) before the loop acts on it, so
// `--resume` after a kill -9 of the loop finds every experiment exactly once: a row in the
// results, or an entry here, never both (an entry is removed right after its row is written,
// and an entry whose row exists is dropped on reading).
import fs from 'node:fs';
import path from 'node:path';

import { writeFileAtomic } from '../atomic-file';
import type { ExperimentResult } from '../runner/types';
import { STATE_DIR } from './paths';

export const QUEUE_FILE = `${STATE_DIR}/queue.json`;

export interface QueueEntry {
  /** The experiment number (its ref is refs/autoresearch/<tag>/<n>). */
  experiment: number;
  commit: string;
  /** The best kept commit it was proposed on (or moved onto). */
  parent: string;
  description: string;
  state: 'queued' | 'running';
  /** The worker running it (`local:0`, `slurm:1234`), while running. */
  worker: string | null;
  /** Runs started for the current phase; a worker that died is retried once. */
  attempts: number;
  /** 'confirm': it beat the best once and runs again with another seed (--confirm). */
  phase: 'run' | 'confirm';
  /** The first run's result, kept while the confirmation runs. */
  first?: ExperimentResult;
}

export class ExperimentQueue {
  private constructor(
    private readonly file: string,
    private readonly tag: string,
    private list: QueueEntry[],
  ) {}

  /**
   * The queue of a research folder for `tag` (empty unless resuming that tag); entries whose
   * experiment already has a row are dropped.
   */
  static open(home: string, tag: string, options: { resume: boolean; recorded: ReadonlySet<number> }): ExperimentQueue {
    const file = path.join(home, QUEUE_FILE);
    let list: QueueEntry[] = [];
    try {
      const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as { tag?: string; entries?: QueueEntry[] };
      if (options.resume && parsed.tag === tag && Array.isArray(parsed.entries)) {
        list = parsed.entries.filter((e) => Number.isInteger(e.experiment) && typeof e.commit === 'string' && typeof e.parent === 'string');
      }
    } catch {
      list = []; // none yet, or unreadable: its experiments' refs remain, nothing runs twice
    }
    const queue = new ExperimentQueue(file, tag, list.filter((e) => !options.recorded.has(e.experiment)));
    queue.save();
    return queue;
  }

  get entries(): readonly QueueEntry[] {
    return this.list;
  }

  /** The file's exact text (the loop restores it if an agent touched it). */
  text(): string {
    return JSON.stringify({ tag: this.tag, entries: this.list }, null, 2) + '\n';
  }

  get(experiment: number): QueueEntry | undefined {
    return this.list.find((e) => e.experiment === experiment);
  }

  /** The next entry waiting for a worker, oldest first. */
  nextQueued(): QueueEntry | undefined {
    return this.list.find((e) => e.state === 'queued');
  }

  add(entry: QueueEntry): void {
    this.list = [...this.list.filter((e) => e.experiment !== entry.experiment), entry];
    this.save();
  }

  update(experiment: number, patch: Partial<QueueEntry>): QueueEntry {
    const entry = this.get(experiment);
    if (!entry) throw new Error(`experiment ${experiment} is not in the queue`);
    Object.assign(entry, patch);
    this.save();
    return entry;
  }

  remove(experiment: number): void {
    this.list = this.list.filter((e) => e.experiment !== experiment);
    this.save();
  }

  private save(): void {
    writeFileAtomic(this.file, this.text());
  }
}

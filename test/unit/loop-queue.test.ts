// The loop's durable queue on disk: what --resume reads back after a kill -9 at any point,
// including between an experiment's row being written and its entry being removed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ExperimentQueue, QUEUE_FILE, type QueueEntry } from '../../lib/loop/queue';

let home: string;
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-queue-'));
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

const entry = (experiment: number, state: QueueEntry['state']): QueueEntry => ({
  experiment,
  commit: `${experiment}`.repeat(40).slice(0, 40),
  parent: 'a'.repeat(40),
  description: `variant ${experiment}`,
  state,
  worker: state === 'running' ? `local:${experiment % 2}` : null,
  attempts: state === 'running' ? 1 : 0,
  phase: 'run',
});

const onDisk = () => JSON.parse(fs.readFileSync(path.join(home, QUEUE_FILE), 'utf8')) as { tag: string; entries: QueueEntry[] };

test('every change is on disk before the call returns', () => {
  const queue = ExperimentQueue.open(home, 'q', { resume: false, recorded: new Set() });
  queue.add(entry(1, 'queued'));
  queue.add(entry(2, 'queued'));
  queue.update(1, { state: 'running', worker: 'local:0', attempts: 1 });
  expect(onDisk()).toEqual({ tag: 'q', entries: [{ ...entry(1, 'queued'), state: 'running', worker: 'local:0', attempts: 1 }, entry(2, 'queued')] });
  queue.remove(1);
  expect(onDisk().entries.map((e) => e.experiment)).toEqual([2]);
  expect(() => queue.update(1, { state: 'queued' })).toThrow('experiment 1 is not in the queue');
});

test('a kill -9 after a row was written but before its entry was removed: --resume drops the entry', () => {
  const first = ExperimentQueue.open(home, 'q', { resume: false, recorded: new Set() });
  first.add(entry(1, 'running'));
  first.add(entry(3, 'running'));
  // The loop dies here: experiment 1's row is in the results, its entry still in the file.
  expect(onDisk().entries.map((e) => e.experiment)).toEqual([1, 3]);
  const resumed = ExperimentQueue.open(home, 'q', { resume: true, recorded: new Set([0, 1]) });
  expect(resumed.entries.map((e) => e.experiment)).toEqual([3]);
  expect(onDisk().entries.map((e) => e.experiment)).toEqual([3]);
});

test('only --resume of the same tag reads the queue back', () => {
  ExperimentQueue.open(home, 'q', { resume: false, recorded: new Set() }).add(entry(2, 'queued'));
  expect(ExperimentQueue.open(home, 'other', { resume: true, recorded: new Set() }).entries).toEqual([]);
  ExperimentQueue.open(home, 'q', { resume: false, recorded: new Set() }).add(entry(2, 'queued'));
  expect(ExperimentQueue.open(home, 'q', { resume: false, recorded: new Set() }).entries).toEqual([]);
  fs.writeFileSync(path.join(home, QUEUE_FILE), '{ not json');
  expect(ExperimentQueue.open(home, 'q', { resume: true, recorded: new Set() }).entries).toEqual([]);
});

// RunLog: the log file an experiment process writes itself, read back for a live reader.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { FOLLOW_INTERVAL_MS, RunLog } from '../../lib/runner/run-log';

let dir: string;
beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-run-log-'))));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('a follower gets what another writer appends, whole characters only, and the rest at close', async () => {
  const file = path.join(dir, 'run.log');
  fs.writeFileSync(file, 'old run\n');
  const log = new RunLog(file);
  expect(fs.readFileSync(file, 'utf8')).toBe(''); // emptied
  const got: string[] = [];
  log.follow((text) => got.push(text));
  // Another writer on the same open file (as the worker's stdout is), cutting "é" in two.
  const bytes = Buffer.from('step 1 é\n', 'utf8');
  const cut = bytes.indexOf(0xc3) + 1;
  fs.writeSync(log.fd, bytes.subarray(0, cut));
  await sleep(FOLLOW_INTERVAL_MS * 2.5);
  expect(got.join('')).toBe('step 1 ');
  fs.writeSync(log.fd, bytes.subarray(cut));
  log.append('---\nval_bpb: 1.0\n');
  log.close();
  expect(got.join('')).toBe('step 1 é\n---\nval_bpb: 1.0\n');
  expect(fs.readFileSync(file, 'utf8')).toBe('step 1 é\n---\nval_bpb: 1.0\n');
});

test('lastLines reads only the end of a long log', () => {
  const log = new RunLog(path.join(dir, 'run.log'));
  for (let i = 0; i < 20_000; i++) log.append(`step ${i} ${'x'.repeat(20)}\n`);
  log.append('crash: out of memory\n\n');
  const tail = log.lastLines(3).split('\n');
  expect(tail).toEqual([`step 19998 ${'x'.repeat(20)}`, `step 19999 ${'x'.repeat(20)}`, 'crash: out of memory']);
  expect(log.lastLines(1e6).split('\n')[0]).toMatch(/^step \d+ x{20}$/); // whole lines from a 64 KB tail
  log.close();
});

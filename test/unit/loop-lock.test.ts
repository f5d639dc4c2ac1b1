// The loop lock with real processes: a live holder is refused by name, a dead one (a child
// process that has exited) is taken over, and release only removes a lock that is ours.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { LockHeldError } from '../../lib/errors';
import { acquireLock, isProcessAlive, lockPath, readLock } from '../../lib/loop/lock';

let dir: string;
let child: ChildProcess | null = null;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-lock-'));
});
afterEach(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  child = null;
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The pid of a process that has run and exited (and been reaped). */
function deadPid(): number {
  const out = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const pid = Number(out.stdout);
  expect(isProcessAlive(pid)).toBe(false);
  return pid;
}

function writeLock(content: object | string): void {
  fs.mkdirSync(path.dirname(lockPath(dir)), { recursive: true });
  fs.writeFileSync(lockPath(dir), typeof content === 'string' ? content : JSON.stringify(content));
}

test('the lock file names this process; a second loop is refused with the holder\'s pid and start time; release frees it', async () => {
  const release = await acquireLock(dir);
  expect(release.note).toBeNull();
  const onDisk = JSON.parse(fs.readFileSync(path.join(dir, '.autoresearch/loop.lock'), 'utf8'));
  expect(onDisk).toEqual({ pid: process.pid, host: os.hostname(), started: release.info.started });
  expect(Date.parse(onDisk.started)).toBeGreaterThan(Date.now() - 60_000);

  const error = await acquireLock(dir).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(LockHeldError);
  expect((error as Error).message).toContain(`pid ${process.pid}`);
  expect((error as Error).message).toContain(`started ${release.info.started}`);
  expect((error as LockHeldError).holder).toEqual(onDisk);

  release();
  release(); // idempotent
  expect(fs.existsSync(lockPath(dir))).toBe(false);
  const again = await acquireLock(dir);
  again();
});

test('a lock held by another live process is refused', async () => {
  child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  const pid = child.pid!;
  writeLock({ pid, host: os.hostname(), started: '2025-03-05T10:00:00.000Z' });
  await expect(acquireLock(dir)).rejects.toThrow(
    new RegExp(`Another research loop holds .*loop\\.lock: pid ${pid} on .*started 2025-03-05T10:00:00\\.000Z\\. Stop it first \\(kill ${pid}\\)`),
  );
  expect(readLock(dir)?.pid).toBe(pid);
});

test('a stale lock (its process has exited) is taken over, with a note', async () => {
  const pid = deadPid();
  writeLock({ pid, host: os.hostname(), started: '2025-03-05T10:00:00.000Z' });
  const release = await acquireLock(dir);
  expect(release.note).toBe(`Took over a stale lock: pid ${pid} (started 2025-03-05T10:00:00.000Z) is no longer running.`);
  expect(readLock(dir)).toEqual(release.info);
  expect(fs.readdirSync(path.join(dir, '.autoresearch'))).toEqual(['loop.lock']); // nothing left aside
  release();
});

test('an empty lock file (killed while creating it) is taken over after a short wait', async () => {
  writeLock('');
  const release = await acquireLock(dir);
  expect(release.note).toMatch(/unreadable lock file/);
  release();
});

test('a holder on another host cannot be checked and is refused', async () => {
  writeLock({ pid: deadPid(), host: 'some-other-host', started: '2025-03-05T10:00:00.000Z' });
  await expect(acquireLock(dir)).rejects.toThrow(/on some-other-host.*another host/);
});

test('release leaves a lock that is no longer ours', async () => {
  const release = await acquireLock(dir);
  writeLock({ pid: 1, host: os.hostname(), started: 'x' });
  release();
  expect(readLock(dir)).toEqual({ pid: 1, host: os.hostname(), started: 'x' });
});

test('loops starting together on a stale lock: exactly one wins', async () => {
  writeLock({ pid: deadPid(), host: os.hostname(), started: '2025-03-05T10:00:00.000Z' });
  const lockModule = path.join(__dirname, '../../lib/loop/lock.ts');
  const script =
    `const { acquireLock } = require(${JSON.stringify(lockModule)});` +
    `acquireLock(process.argv[1]).then((release) => { process.stdout.write('won'); setTimeout(() => release(), 1500); },` +
    ` (e) => { process.stdout.write(e.name); });`;
  const runs = await Promise.all(
    [0, 1, 2].map(
      () =>
        new Promise<string>((resolve) => {
          const p = spawn(process.execPath, ['--require', 'tsx/cjs', '-e', script, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
          let out = '';
          p.stdout.on('data', (d: Buffer) => (out += d.toString()));
          p.on('exit', () => resolve(out));
        }),
    ),
  );
  expect(runs.sort()).toEqual(['LockHeldError', 'LockHeldError', 'won']);
  expect(fs.existsSync(lockPath(dir))).toBe(false); // the winner released it
}, 30_000);

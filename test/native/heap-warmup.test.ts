// The heap warm-up of a training process (native/heap/warm_heap.c, lib/native/heap-warmup.ts):
// heap written on a second thread and freed is reused by the next allocations without page
// faults, while memory past it still faults a page at a time. Fresh processes, so that the heap
// has nothing freed to reuse but what the warm-up freed.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

import { DEFAULT_HEAP_WARMUP_MB, heapModulePath, startHeapWarmup, trainsOnCpu } from '../../lib/native/heap-warmup';
import { addon, packageRoot } from '../../lib/native/load';

const root = packageRoot();
const glibc = (process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header.glibcVersionRuntime;
const supported = process.platform === 'linux' && glibc !== undefined && heapModulePath() !== null;
const onLinux = supported ? test : test.skip;
if (!supported) {
  process.stderr.write(`heap-warmup: skipped: needs Linux with glibc and build/Release/autoresearch_heap.node (npm run build:native)\n`);
}

/** Runs `body` in a fresh Node process with `heap` (the module) and `faults()` in scope; its JSON output. */
function fresh(body: string, env: NodeJS.ProcessEnv = {}): unknown {
  const script = `const heap = require(${JSON.stringify(heapModulePath())});
    const faults = () => process.resourceUsage().minorPageFault;
    /** Page faults of writing a new 16 MB buffer. */
    const write16 = () => { const f = faults(); Buffer.allocUnsafeSlow(16 << 20).fill(1); return faults() - f; };
    ${body}`;
  const out = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', script], { env: { ...process.env, ...env }, encoding: 'utf8', cwd: root });
  if (out.status !== 0) throw new Error(out.stderr);
  return JSON.parse(out.stdout.trim().split('\n').pop()!);
}

onLinux('16 MB warmed on another thread are written again without faults; the next 16 MB fault page by page', () => {
  const got = fresh(`const started = heap.start(16); const warmed = heap.finish();
    console.log(JSON.stringify({ started, warmed, reused: write16(), fresh: write16() }));`) as Record<string, number | boolean>;
  expect(got.started).toBe(true);
  expect(got.warmed).toBe(16);
  expect(got.reused).toBeLessThan(256); // of 4,096 pages
  expect(got.fresh).toBeGreaterThan(2048);
}, 60_000);

onLinux('start() refuses a bad size, does nothing for 0, and finish() without a start is 0', () => {
  const got = fresh(`let threw = '';
    try { heap.start(-1); } catch (e) { threw = e.message; }
    console.log(JSON.stringify({ threw, zero: heap.start(0), finished: heap.finish() }));`) as Record<string, unknown>;
  expect(got.threw).toMatch(/a number >= 0 is required/);
  expect(got.zero).toBe(false);
  expect(got.finished).toBe(0);
}, 60_000);

onLinux('startHeapWarmup: a CPU run warms the default size; cuda, one thread, 0 MB and the system malloc do not', () => {
  const script = (device: string) => `const { startHeapWarmup } = require(${JSON.stringify(path.join(root, 'lib', 'native', 'heap-warmup'))});
    const w = startHeapWarmup(${JSON.stringify(device)}); console.log(JSON.stringify(w ? w.finish() : null));`;
  const run = (device: string, env: NodeJS.ProcessEnv = {}) => {
    const out = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', script(device)], { env: { ...process.env, ...env }, encoding: 'utf8', cwd: root });
    if (out.status !== 0) throw new Error(out.stderr);
    return JSON.parse(out.stdout.trim().split('\n').pop()!);
  };
  expect(run('cpu')).toBe(DEFAULT_HEAP_WARMUP_MB);
  expect(run('cpu', { AUTORESEARCH_HEAP_WARMUP_MB: '32' })).toBe(32);
  expect(run('cpu', { AUTORESEARCH_HEAP_WARMUP_MB: '0' })).toBeNull();
  expect(run('cpu', { AUTORESEARCH_SYSTEM_MALLOC: '1' })).toBeNull();
  expect(run('cuda')).toBeNull();
  // A worker given one core (a loop with as many workers as cores) leaves the others' alone.
  expect(run('cpu', { AUTORESEARCH_THREADS: '1' })).toBeNull();
  expect(run('cpu', { AUTORESEARCH_THREADS: '2' })).toBe(DEFAULT_HEAP_WARMUP_MB);
  expect(() => run('cpu', { AUTORESEARCH_HEAP_WARMUP_MB: 'lots' })).toThrow(/AUTORESEARCH_HEAP_WARMUP_MB=lots is not a whole number >= 0/);
}, 60_000);

test('trainsOnCpu: cpu yes, a CUDA device no, auto as the addon was built (its record against the binary itself)', () => {
  expect(trainsOnCpu('cpu')).toBe(true);
  expect(trainsOnCpu('cuda:0')).toBe(false);
  expect(trainsOnCpu('auto')).toBe(!addon().buildInfo().cuda);
  expect(startHeapWarmup('cuda')).toBeNull();
});

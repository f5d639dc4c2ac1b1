// The host allocator (native/runtime/allocator.h): memory an allocation grows the heap by is
// made resident at once, by one madvise, instead of one page fault per page at its first write.
// Fresh processes, so that a 64 MB tensor has to grow the heap (no freed memory to reuse).
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

import { packageRoot } from '../../lib/native/load';

const root = packageRoot();
const MB = 2 ** 20;

/** MB that became resident when a fresh process allocated an unwritten 64 MB CPU tensor. */
function residentGrowth(extraEnv: NodeJS.ProcessEnv): number {
  const script = `const { addon } = require(${JSON.stringify(path.join(root, 'lib', 'native', 'load'))});
    console.log(addon().testing.residentGrowthOfAllocation(${64 * MB}));`;
  const env = { ...process.env, AUTORESEARCH_TEST_ADDON: '1', ...extraEnv };
  const out = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', script], { env, encoding: 'utf8', cwd: root });
  if (out.status !== 0) throw new Error(out.stderr);
  return Number(out.stdout.trim().split('\n').pop()) / MB;
}

// glibc on Linux 5.14+ only (the heap settings and madvise(MADV_POPULATE_WRITE)).
const glibc = (process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header.glibcVersionRuntime;
const [major = 0, minor = 0] = os.release().split('.').map(Number);
const supported = process.platform === 'linux' && glibc !== undefined && (major > 5 || (major === 5 && minor >= 14));
const onLinux = supported ? test : test.skip;
if (!supported) process.stderr.write(`allocator: skipped: the heap population needs Linux 5.14+ with glibc (here ${process.platform} ${os.release()})\n`);

onLinux('an allocation that grows the heap is resident before it is written; with the system malloc it is not', () => {
  const populated = residentGrowth({});
  const system = residentGrowth({ AUTORESEARCH_SYSTEM_MALLOC: '1' });
  expect(populated).toBeGreaterThanOrEqual(63);
  expect(populated).toBeLessThan(72); // the tensor's pages and glibc's top pad, not more
  expect(system).toBeLessThan(8);
}, 60_000);

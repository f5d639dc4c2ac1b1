// Which OpenBLAS build libtorch gets, read before the addon loads (it sets OMP_WAIT_POLICY),
// against the build that did load. Fresh Node processes: the addon loads once per process.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { runtimeInfo } from '../../lib/internals';
import { chooseOmpWaitPolicy, loadedBlasThreading, systemBlasThreading } from '../../lib/native/blas-threading';
import { packageRoot } from '../../lib/native/load';

const root = packageRoot();
const multiarch = process.arch === 'x64' ? 'x86_64-linux-gnu' : 'aarch64-linux-gnu';
const blasDir = (build: string) => `/usr/lib/${multiarch}/openblas-${build}`;

let dir: string;
const saved = { ld: process.env.LD_LIBRARY_PATH, omp: process.env.OMP_WAIT_POLICY };
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-blas-'));
});
afterEach(() => {
  for (const [key, value] of [['LD_LIBRARY_PATH', saved.ld], ['OMP_WAIT_POLICY', saved.omp]] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A directory whose libblas.so.3 links to a library inside `target` (as Debian's alternatives do). */
function linkedBlas(name: string, target: string): string {
  const lib = path.join(dir, target, 'libopenblasp-r0.3.21.so');
  fs.mkdirSync(path.dirname(lib), { recursive: true });
  fs.writeFileSync(lib, '');
  const linkDir = path.join(dir, name);
  fs.mkdirSync(linkDir);
  fs.symlinkSync(lib, path.join(linkDir, 'libblas.so.3'));
  return linkDir;
}

test('the build is read from where libblas.so.3 resolves, LD_LIBRARY_PATH first', () => {
  process.env.LD_LIBRARY_PATH = linkedBlas('a', 'openblas-openmp');
  expect(systemBlasThreading()).toBe('openmp');
  process.env.LD_LIBRARY_PATH = [path.join(dir, 'missing'), linkedBlas('b', 'openblas-pthread')].join(':');
  expect(systemBlasThreading()).toBe('pthread');
  process.env.LD_LIBRARY_PATH = linkedBlas('c', 'blas'); // the reference BLAS
  expect(systemBlasThreading()).toBe('other');
});

test('the wait policy: libgomp default with the OpenMP build, PASSIVE otherwise, a set value kept', () => {
  delete process.env.OMP_WAIT_POLICY;
  expect(chooseOmpWaitPolicy('openmp')).toBe('default');
  expect(process.env.OMP_WAIT_POLICY).toBeUndefined();
  expect(chooseOmpWaitPolicy('pthread')).toBe('PASSIVE');
  expect(process.env.OMP_WAIT_POLICY).toBe('PASSIVE');
  process.env.OMP_WAIT_POLICY = 'ACTIVE';
  expect(chooseOmpWaitPolicy('pthread')).toBe('ACTIVE');
  expect(loadedBlasThreading('OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY USE_OPENMP SkylakeX MAX_THREADS=64')).toBe('openmp');
  expect(loadedBlasThreading('OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY SkylakeX MAX_THREADS=64')).toBe('pthread');
  expect(loadedBlasThreading('MKL')).toBe('other');
});

test('in this process, the build read before loading is the one that loaded', () => {
  const info = runtimeInfo();
  expect(info.blasThreading).toBe(systemBlasThreading());
  expect(info.ompWaitPolicy).toBe(process.env.OMP_WAIT_POLICY ?? 'default');
});

/**
 * runtimeInfo() in a fresh process with `ldPath` first in LD_LIBRARY_PATH and OMP_WAIT_POLICY
 * unset. What LD_LIBRARY_PATH held stays after it: libraries the addon needs may be found there.
 */
function loadWith(ldPath: string): { blasThreading: string; ompWaitPolicy: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, LD_LIBRARY_PATH: [ldPath, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') };
  delete env.OMP_WAIT_POLICY;
  const script = `const { runtimeInfo } = require(${JSON.stringify(path.join(root, 'lib', 'native', 'runtime'))});
    const { blasThreading, ompWaitPolicy } = runtimeInfo(); console.log(JSON.stringify({ blasThreading, ompWaitPolicy }));`;
  const out = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', script], { env, encoding: 'utf8', cwd: root });
  if (out.status !== 0) throw new Error(out.stderr);
  return JSON.parse(out.stdout.trim().split('\n').pop()!);
}

// Debian/Ubuntu machines with that OpenBLAS build installed (npm run setup installs the OpenMP
// one). A test skipped here says why, in the test's name and on stderr.
const withBuild = (build: string) => {
  const lib = path.join(blasDir(build), 'libblas.so.3');
  if (fs.existsSync(lib)) return test;
  const why = `skipped: ${lib} is not installed (apt-get install libopenblas0-${build === 'openmp' ? 'openmp' : 'pthread'} to run it)`;
  process.stderr.write(`blas-threading: ${why}\n`);
  return (name: string, fn: () => void, timeout?: number) => test.skip(`${name} [${why}]`, fn, timeout);
};

withBuild('openmp')('the OpenMP OpenBLAS loads with libgomp left at its default', () => {
  expect(loadWith(blasDir('openmp'))).toEqual({ blasThreading: 'openmp', ompWaitPolicy: 'default' });
}, 60_000);

withBuild('pthread')('the pthreads OpenBLAS loads with OMP_WAIT_POLICY PASSIVE', () => {
  expect(loadWith(blasDir('pthread'))).toEqual({ blasThreading: 'pthread', ompWaitPolicy: 'PASSIVE' });
}, 60_000);

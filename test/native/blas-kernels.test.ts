// OPENBLAS_CORETYPE, chosen before the addon loads: AVX-512 kernels on an AMD AVX-512 CPU (which
// OpenBLAS 0.3.21 would give its AVX2 ones), the environment's value kept otherwise, and
// AUTORESEARCH_OPENBLAS_CORETYPE over both. Fresh Node processes show what OpenBLAS then loaded.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { chooseOpenblasCoreType, openblasCoreTypeFor, readCpuFeatures, withOpenblasCoreType, type CpuFeatures } from '../../lib/native/blas-kernels';
import { packageRoot } from '../../lib/native/load';

const root = packageRoot();
const AVX512 = 'fpu sse sse2 avx avx2 fma avx512f avx512dq avx512cd avx512bw avx512vl';
const cpu = (vendor: string, flags: string): CpuFeatures => ({ vendor, flags: new Set(flags.split(' ')) });
const zen5 = cpu('AuthenticAMD', `${AVX512} avx512_bf16 avx512_vnni`);

let dir: string;
const saved = process.env.OPENBLAS_CORETYPE;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-blas-kernels-'));
});
afterEach(() => {
  if (saved === undefined) delete process.env.OPENBLAS_CORETYPE;
  else process.env.OPENBLAS_CORETYPE = saved;
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('the vendor and flags are read from the first processor of /proc/cpuinfo', () => {
  const file = path.join(dir, 'cpuinfo');
  const processor = (n: number, flags: string) =>
    `processor\t: ${n}\nvendor_id\t: AuthenticAMD\ncpu family\t: 26\nmodel name\t: AMD EPYC\nflags\t\t: ${flags}\n\n`;
  fs.writeFileSync(file, processor(0, 'fpu avx2 avx512f avx512bw') + processor(1, 'fpu'));
  const read = readCpuFeatures(file)!;
  expect(read.vendor).toBe('AuthenticAMD');
  expect([...read.flags]).toEqual(['fpu', 'avx2', 'avx512f', 'avx512bw']);
  expect(readCpuFeatures(path.join(dir, 'missing'))).toBeNull();
  fs.writeFileSync(file, 'Processor\t: AArch64 Processor rev 1\nFeatures\t: fp asimd\n');
  expect(readCpuFeatures(file)).toBeNull();
});

test('AVX-512 kernels for AMD and Hygon CPUs with AVX-512 only; Cooperlake with AVX512-BF16', () => {
  expect(openblasCoreTypeFor(zen5)).toBe('Cooperlake');
  expect(openblasCoreTypeFor(cpu('AuthenticAMD', AVX512))).toBe('SkylakeX');
  expect(openblasCoreTypeFor(cpu('HygonGenuine', AVX512))).toBe('SkylakeX');
  expect(openblasCoreTypeFor(cpu('AuthenticAMD', 'fpu sse2 avx avx2 fma'))).toBeUndefined(); // Zen 3
  expect(openblasCoreTypeFor(cpu('AuthenticAMD', 'avx2 avx512f avx512cd'))).toBeUndefined(); // no BW/DQ/VL
  expect(openblasCoreTypeFor(cpu('GenuineIntel', `${AVX512} avx512_bf16`))).toBeUndefined(); // OpenBLAS knows these
  expect(openblasCoreTypeFor(null)).toBeUndefined();
});

test('the environment is kept unless it holds an AVX-512 CPU to older kernels; the setting decides over both', () => {
  const amdAvx2 = cpu('AuthenticAMD', 'avx2');
  const intel = cpu('GenuineIntel', AVX512);
  expect(chooseOpenblasCoreType({ cpu: zen5 })).toEqual({ coreType: 'Cooperlake', setBy: 'autoresearch' });
  expect(chooseOpenblasCoreType({ setting: 'auto', cpu: zen5, inherited: 'Haswell' })).toEqual({
    coreType: 'Cooperlake',
    setBy: 'autoresearch',
    replaced: 'Haswell',
  });
  // OpenBLAS compares names without case; an AVX-512 core the environment names is kept.
  expect(chooseOpenblasCoreType({ cpu: zen5, inherited: 'skylakex' })).toEqual({ coreType: 'skylakex', setBy: 'environment' });
  expect(chooseOpenblasCoreType({ setting: 'keep', cpu: zen5, inherited: 'Haswell' })).toEqual({ coreType: 'Haswell', setBy: 'environment' });
  expect(chooseOpenblasCoreType({ setting: 'keep', cpu: zen5 })).toEqual({ coreType: null, setBy: null });
  expect(chooseOpenblasCoreType({ cpu: intel, inherited: 'Haswell' })).toEqual({ coreType: 'Haswell', setBy: 'environment' });
  expect(chooseOpenblasCoreType({ cpu: amdAvx2 })).toEqual({ coreType: null, setBy: null });
  expect(chooseOpenblasCoreType({ setting: 'Sandybridge', cpu: zen5, inherited: 'Haswell' })).toEqual({
    coreType: 'Sandybridge',
    setBy: 'AUTORESEARCH_OPENBLAS_CORETYPE',
  });
});

test('OPENBLAS_CORETYPE is set for the load only; the environment is put back, also after a throw', () => {
  process.env.OPENBLAS_CORETYPE = 'Haswell';
  expect(withOpenblasCoreType({ coreType: 'SkylakeX', setBy: 'autoresearch' }, () => process.env.OPENBLAS_CORETYPE)).toBe('SkylakeX');
  expect(process.env.OPENBLAS_CORETYPE).toBe('Haswell');
  delete process.env.OPENBLAS_CORETYPE;
  expect(() =>
    withOpenblasCoreType({ coreType: 'SkylakeX', setBy: 'autoresearch' }, () => {
      throw new Error('load failed');
    }),
  ).toThrow('load failed');
  expect(process.env.OPENBLAS_CORETYPE).toBeUndefined();
  expect(withOpenblasCoreType({ coreType: null, setBy: null }, () => process.env.OPENBLAS_CORETYPE)).toBeUndefined();
});

/** The loaded BLAS's build string and the choice, in a fresh process with this environment. */
function loadWith(vars: Record<string, string | undefined>): { blas: string; blasKernels: unknown } {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [key, value] of Object.entries(vars)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  const script = `const { runtimeInfo } = require(${JSON.stringify(path.join(root, 'lib', 'native', 'runtime'))});
    const { blas, blasKernels } = runtimeInfo(); console.log(JSON.stringify({ blas, blasKernels }));`;
  const out = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', script], { env, encoding: 'utf8', cwd: root });
  if (out.status !== 0) throw new Error(out.stderr);
  return JSON.parse(out.stdout.trim().split('\n').pop()!);
}

// Forcing a core type needs an x86-64 OpenBLAS (the one `npm run setup` installs).
const here = readCpuFeatures();
const x86OpenBlas = process.arch === 'x64' && here !== null && fs.existsSync('/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3');
const withOpenBlas = x86OpenBlas ? test : test.skip;
if (!x86OpenBlas) process.stderr.write('blas-kernels: skipped: the loading tests need x86-64 Linux with the OpenMP OpenBLAS (npm run setup)\n');

withOpenBlas('OpenBLAS loads the kernels chosen, over an environment that says Haswell', () => {
  const auto = loadWith({ OPENBLAS_CORETYPE: 'Haswell', AUTORESEARCH_OPENBLAS_CORETYPE: undefined });
  const chosen = openblasCoreTypeFor(here);
  expect(auto.blas).toContain(` ${chosen ?? 'Haswell'} `);
  expect(auto.blasKernels).toEqual(
    chosen ? { coreType: chosen, setBy: 'autoresearch', replaced: 'Haswell' } : { coreType: 'Haswell', setBy: 'environment' },
  );
  const kept = loadWith({ OPENBLAS_CORETYPE: 'Haswell', AUTORESEARCH_OPENBLAS_CORETYPE: 'keep' });
  expect(kept.blas).toContain(' Haswell ');
  const named = loadWith({ OPENBLAS_CORETYPE: 'Haswell', AUTORESEARCH_OPENBLAS_CORETYPE: 'Sandybridge' });
  expect(named.blas).toContain(' Sandybridge ');
  expect(named.blasKernels).toEqual({ coreType: 'Sandybridge', setBy: 'AUTORESEARCH_OPENBLAS_CORETYPE' });
}, 120_000);

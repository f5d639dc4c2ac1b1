// The addon loader: candidate order, build records, and one error listing the fixes that
// match the cause. Each failure case runs in a fresh Node process (the addon loads once).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { addonCandidates, loadAddon, packageRoot, readBuildRecord } from '../../lib/native/load';

const root = packageRoot();
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-load-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function loadIn(addonPath: string): { name?: string; message?: string; fixes?: string[]; ok?: boolean } {
  const script = `
    const { loadAddon } = require(${JSON.stringify(path.join(root, 'lib/native/load'))});
    try { loadAddon(); console.log(JSON.stringify({ ok: true })); }
    catch (e) { console.log(JSON.stringify({ name: e.name, message: e.message, fixes: e.fixes })); }`;
  const out = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', script], {
    env: { ...process.env, AUTORESEARCH_ADDON: addonPath },
    encoding: 'utf8',
    cwd: root,
  });
  return JSON.parse(out.stdout.trim().split('\n').pop()!);
}

function copyBinary(name: string, record: Record<string, unknown> | null): string {
  const target = path.join(dir, name);
  fs.mkdirSync(target, { recursive: true });
  const binary = path.join(target, 'autoresearch.node');
  fs.copyFileSync(loadAddon().binary, binary);
  const own = readBuildRecord(loadAddon().binary);
  if (record) fs.writeFileSync(path.join(target, 'autoresearch.build.json'), JSON.stringify({ ...own, ...record }));
  return binary;
}

test('the binary in use carries a build record that matches what it reports', () => {
  const { addon, binary, record } = loadAddon();
  expect(record).not.toBeNull();
  expect(record!.libtorchVersion.split('.').slice(0, 2)).toEqual(addon.buildInfo().libtorchVersion.split('.').slice(0, 2));
  expect(record!.cuda).toBe(addon.buildInfo().cuda);
  expect(fs.existsSync(binary)).toBe(true);
});

test('a working copy with its record loads', () => {
  expect(loadIn(copyBinary('good', {}))).toEqual({ ok: true });
});

test('a file that is not a binary for this platform', () => {
  const file = path.join(dir, 'garbage.node');
  fs.writeFileSync(file, 'not an ELF file');
  const result = loadIn(file);
  expect(result.name).toBe('AddonLoadError');
  expect(result.message).toMatch(/could not be loaded/);
  expect(result.message).toMatch(/Possible solutions:/);
  expect(result.fixes!.join('\n')).toMatch(/another platform/);
});

test('libtorch gone from where the binary was built against it', () => {
  const result = loadIn(copyBinary('moved', { libDir: path.join(dir, 'no-such-libtorch') }));
  expect(result.name).toBe('AddonLoadError');
  expect(result.message).toMatch(/no longer there/);
  expect(result.fixes!.join('\n')).toMatch(/apt-get install libtorch-dev/);
});

test('a build record that disagrees with the binary (stale build)', () => {
  const result = loadIn(copyBinary('stale', { libtorchVersion: '2.5.1', cuda: true }));
  expect(result.message).toMatch(/build record says 2\.5\.1 CUDA/);
  expect(result.fixes!.join('\n')).toMatch(/npx autoresearch rebuild/);
});

test('a binary whose libtorch cannot be found at load time', () => {
  // A real shared object linked against a libtorch library that is then removed (a name the
  // system does not have, or the dynamic linker would find the system's).
  const libDir = path.join(dir, 'fakelib');
  fs.mkdirSync(libDir, { recursive: true });
  fs.writeFileSync(path.join(libDir, 'stub.c'), 'int torch_stub(void) { return 1; }\n');
  execFileSync('gcc', ['-shared', '-fPIC', '-o', path.join(libDir, 'libtorch_gone.so'), path.join(libDir, 'stub.c')]);
  fs.writeFileSync(path.join(libDir, 'addon.c'), 'int torch_stub(void); int use(void) { return torch_stub(); }\n');
  const binary = path.join(libDir, 'needs-libtorch.node');
  execFileSync('gcc', ['-shared', '-fPIC', '-o', binary, path.join(libDir, 'addon.c'), `-L${libDir}`, '-ltorch_gone', `-Wl,-rpath,${libDir}`]);
  fs.rmSync(path.join(libDir, 'libtorch_gone.so'));
  const result = loadIn(binary);
  expect(result.message).toMatch(/libtorch_gone\.so: cannot open shared object file/);
  expect(result.fixes!.join('\n')).toMatch(/libtorch not found/);
});

describe('candidate order', () => {
  const make = (file: string, mtime: number) => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, '');
    fs.utimesSync(file, mtime, mtime);
  };
  const saved = process.env.AUTORESEARCH_ADDON;
  beforeEach(() => delete process.env.AUTORESEARCH_ADDON);
  afterEach(() => {
    if (saved === undefined) delete process.env.AUTORESEARCH_ADDON;
    else process.env.AUTORESEARCH_ADDON = saved;
  });

  test('prebuilds first, then build/Release; a newer local build wins', () => {
    const pkg = path.join(dir, 'pkg');
    const prebuild = path.join(pkg, 'prebuilds', `${process.platform}-${process.arch}`, 'autoresearch.glibc.node');
    const local = path.join(pkg, 'build', 'Release', 'autoresearch.node');
    expect(addonCandidates(pkg)).toEqual([]);
    make(local, 1000);
    make(prebuild, 2000);
    expect(addonCandidates(pkg)).toEqual([prebuild, local]);
    fs.utimesSync(local, 3000, 3000);
    expect(addonCandidates(pkg)).toEqual([local, prebuild]);
    process.env.AUTORESEARCH_ADDON = '/explicit/autoresearch.node';
    expect(addonCandidates(pkg)).toEqual(['/explicit/autoresearch.node']);
  });
});

// The addon loader: candidate order, build records, and one error listing the fixes that
// match the cause. Each failure case runs in a fresh Node process (the addon loads once).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { addonCandidates, diagnose, loadAddon, packageRoot, readBuildRecord } from '../../lib/native/load';

const root = packageRoot();
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-load-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

type LoadResult = { name?: string; message?: string; fixes?: string[]; ok?: boolean; binary?: string };

/** Loads in a fresh process: AUTORESEARCH_ADDON=addonPath, or (null) the candidates of packageDir. */
function loadIn(addonPath: string | null, packageDir = root, extraEnv: Record<string, string> = {}): LoadResult {
  const script = `
    const { loadAddonFrom } = require(${JSON.stringify(path.join(root, 'lib/native/load'))});
    try { const { binary } = loadAddonFrom(${JSON.stringify(packageDir)}); console.log(JSON.stringify({ ok: true, binary })); }
    catch (e) { console.log(JSON.stringify({ name: e.name, message: e.message, fixes: e.fixes })); }`;
  const env: Record<string, string | undefined> = { ...process.env, ...extraEnv };
  if (addonPath === null) delete env.AUTORESEARCH_ADDON;
  else env.AUTORESEARCH_ADDON = addonPath;
  const out = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', script], { env, encoding: 'utf8', cwd: root });
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
  const binary = copyBinary('good', {});
  expect(loadIn(binary)).toEqual({ ok: true, binary });
});

describe('a binary without its build record', () => {
  let pkg: string;
  let binary: string;
  beforeAll(() => {
    pkg = path.join(dir, 'no-record-pkg');
    binary = path.join(pkg, 'build', 'Release', 'autoresearch.node');
    fs.mkdirSync(path.dirname(binary), { recursive: true });
    fs.copyFileSync(loadAddon().binary, binary);
  });

  test('found in build/Release, it is refused: the libtorch it needs is unknown', () => {
    const result = loadIn(null, pkg);
    expect(result.name).toBe('AddonLoadError');
    expect(result.message).toContain(`${binary} has no build record (autoresearch.build.json beside it)`);
    expect(result.fixes).toEqual([
      'build it with npx autoresearch rebuild, which writes the record (in a clone: npm run build:native or npm run prebuild)',
      `load it anyway: AUTORESEARCH_ADDON=${binary}`,
    ]);
  });

  test('named by AUTORESEARCH_ADDON, it loads', () => {
    expect(loadIn(binary, pkg)).toEqual({ ok: true, binary });
  });

  test('with its record written beside it, it loads from build/Release', () => {
    const record = readBuildRecord(loadAddon().binary);
    fs.writeFileSync(path.join(path.dirname(binary), 'autoresearch.build.json'), JSON.stringify(record));
    expect(loadIn(null, pkg)).toEqual({ ok: true, binary });
  });
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
  // The package that provides the libtorch of the record: the CUDA one for a CUDA build.
  const apt = readBuildRecord(loadAddon().binary)!.cuda ? 'libtorch-cuda-dev' : 'libtorch-dev libopenblas0-openmp';
  expect(result.fixes!.join('\n')).toContain(`Debian/Ubuntu: sudo apt-get install ${apt}\n`);
});

test('a build record that disagrees with the binary (stale build)', () => {
  const result = loadIn(copyBinary('stale', { libtorchVersion: '2.5.1', cuda: true }));
  expect(result.message).toMatch(/build record says 2\.5\.1 CUDA/);
  expect(result.fixes!.join('\n')).toMatch(/npx autoresearch rebuild/);
});

/**
 * A real shared object linked against a library that is then removed. The names are ones no
 * system has (or the dynamic linker would find the real one), with the prefixes that matter.
 */
function binaryNeeding(lib: string): string {
  const libDir = path.join(dir, `needs-${lib}`);
  fs.mkdirSync(libDir, { recursive: true });
  fs.writeFileSync(path.join(libDir, 'stub.c'), 'int lib_stub(void) { return 1; }\n');
  execFileSync('gcc', ['-shared', '-fPIC', `-Wl,-soname,${lib}`, '-o', path.join(libDir, lib), path.join(libDir, 'stub.c')]);
  fs.writeFileSync(path.join(libDir, 'addon.c'), 'int lib_stub(void); int use(void) { return lib_stub(); }\n');
  const binary = path.join(libDir, 'autoresearch.node');
  execFileSync('gcc', ['-shared', '-fPIC', '-o', binary, path.join(libDir, 'addon.c'), path.join(libDir, lib), `-Wl,-rpath,${libDir}`]);
  fs.rmSync(path.join(libDir, lib));
  return binary;
}

// LD_LIBRARY_PATH emptied: the build matrix puts a stand-in libcudnn there.
const noLibraryPath = { LD_LIBRARY_PATH: '' };

test('libtorch missing at load time: that libtorch named, reinstall it, rebuild only against another', () => {
  const binary = binaryNeeding('libtorch_gone.so');
  const own = readBuildRecord(loadAddon().binary)!;
  fs.writeFileSync(path.join(path.dirname(binary), 'autoresearch.build.json'), JSON.stringify({ ...own, libtorchVersion: '2.6.0', cuda: true }));
  const result = loadIn(binary, root, noLibraryPath);
  expect(result.message).toMatch(/libtorch_gone\.so: cannot open shared object file/);
  expect(result.message).toContain(`libtorch_gone.so is missing: part of the libtorch 2.6.0 (CUDA) in ${own.libDir} this binary was built against`);
  expect(result.fixes![0]).toBe('reinstall that libtorch (Debian/Ubuntu: sudo apt-get install libtorch-cuda-dev)');
  expect(result.fixes!.join('\n')).toMatch(/another libtorch is installed here now: rebuild/);
});

test('cuDNN missing: named with what provides it, and no rebuild offered', () => {
  const result = loadIn(binaryNeeding('libcudnn.so.99'), root, noLibraryPath);
  expect(result.name).toBe('AddonLoadError');
  expect(result.message).toContain('libcudnn.so.99 is missing: cuDNN 9');
  const fixes = result.fixes!.join('\n');
  expect(fixes).toMatch(/Debian's nvidia-cudnn/);
  expect(fixes).toMatch(/NVIDIA's cuDNN packages/);
  expect(fixes).toMatch(/LD_LIBRARY_PATH/);
  expect(fixes).not.toMatch(/rebuild the addon/);
});

test('the CUDA runtime missing: named, nvidia-cuda-toolkit offered, no rebuild', () => {
  const result = loadIn(binaryNeeding('libcudart.so.99'), root, noLibraryPath);
  expect(result.message).toContain('libcudart.so.99 is missing: part of the CUDA runtime');
  expect(result.fixes!.join('\n')).toMatch(/apt-get install nvidia-cuda-toolkit/);
  expect(result.fixes!.join('\n')).not.toMatch(/rebuild the addon/);
});

test('the NVIDIA driver library missing', () => {
  const result = loadIn(binaryNeeding('libcuda.so.99'), root, noLibraryPath);
  expect(result.message).toContain("libcuda.so.99 is missing: the NVIDIA driver's CUDA library");
  expect(result.fixes![0]).toMatch(/install the NVIDIA driver/);
});

test('an unknown library missing: named, with how to find its package', () => {
  const result = loadIn(binaryNeeding('libsomething_else.so.3'), root, noLibraryPath);
  expect(result.message).toContain('libsomething_else.so.3 is missing');
  expect(result.fixes).toEqual([
    'install the package that provides libsomething_else.so.3 (Debian/Ubuntu: apt-file search libsomething_else.so.3), or add the folder holding it to LD_LIBRARY_PATH',
  ]);
});

describe('diagnose: the cause read from the loader message', () => {
  test('a cuDNN symbol missing means a libcudnn that is not cuDNN 9', () => {
    const d = diagnose('/x/autoresearch.node: undefined symbol: cudnnCreate', null);
    expect(d.cause).toMatch(/cudnnCreate is missing from the libcudnn found/);
    expect(d.fixes.join('\n')).not.toMatch(/rebuild/);
  });

  test('another undefined symbol, or a missing symbol version, is a mismatch that a rebuild fixes', () => {
    for (const message of [
      '/x/autoresearch.node: undefined symbol: _ZN3c1015SmallVectorBase',
      "/lib/libstdc++.so.6: version `GLIBCXX_3.4.32' not found (required by /x/autoresearch.node)",
    ]) {
      const d = diagnose(message, null);
      expect(d.cause).toMatch(/do not match/);
      expect(d.fixes[0]).toMatch(/^rebuild the addon against the libtorch installed here/);
    }
  });

  test('the library is read from the full dlopen message', () => {
    const d = diagnose(
      'Error: libnvrtc.so.12: cannot open shared object file: No such file or directory\n    at Module._extensions..node',
      null,
    );
    expect(d.cause).toBe('libnvrtc.so.12 is missing: part of the CUDA runtime, which the CUDA libtorch this binary was built against needs');
  });
});

describe('candidate order', () => {
  const make = (file: string, mtime: number) => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, '');
    fs.utimesSync(file, mtime, mtime);
  };
  const saved = { addon: process.env.AUTORESEARCH_ADDON, test: process.env.AUTORESEARCH_TEST_ADDON };
  const restore = (name: string, value: string | undefined) => {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  };
  beforeEach(() => {
    delete process.env.AUTORESEARCH_ADDON;
    delete process.env.AUTORESEARCH_TEST_ADDON;
  });
  afterEach(() => {
    restore('AUTORESEARCH_ADDON', saved.addon);
    restore('AUTORESEARCH_TEST_ADDON', saved.test);
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

  test('AUTORESEARCH_TEST_ADDON=1 puts the test addon first when it is built', () => {
    const pkg = path.join(dir, 'pkg-test-addon');
    const local = path.join(pkg, 'build', 'Release', 'autoresearch.node');
    const test = path.join(pkg, 'build', 'Release', 'autoresearch_testing.node');
    make(local, 1000);
    process.env.AUTORESEARCH_TEST_ADDON = '1';
    expect(addonCandidates(pkg)).toEqual([local]);
    make(test, 1000);
    expect(addonCandidates(pkg)).toEqual([test, local]);
    delete process.env.AUTORESEARCH_TEST_ADDON;
    expect(addonCandidates(pkg)).toEqual([local]);
  });
});

describe('test hooks only in the test addon', () => {
  const release = path.join(root, 'build', 'Release', 'autoresearch.node');
  const probe = `
    const { testing, loadAddon } = require(${JSON.stringify(path.join(root, 'lib/native/load'))});
    const { addon, binary } = loadAddon();
    let error = null;
    try { testing(); } catch (e) { error = { name: e.name, message: e.message }; }
    console.log(JSON.stringify({ binary, exports: Object.keys(addon), error }));`;
  const run = (extra: Record<string, string>) => {
    const env: Record<string, string | undefined> = { ...process.env, ...extra };
    if (!extra.AUTORESEARCH_ADDON) delete env.AUTORESEARCH_ADDON;
    const out = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', probe], { env, encoding: 'utf8', cwd: root });
    return JSON.parse(out.stdout.trim().split('\n').pop()!) as { binary: string; exports: string[]; error: { name: string; message: string } | null };
  };

  test('the release addon exports no testing object, and testing() names the fix', () => {
    const result = run({ AUTORESEARCH_ADDON: release });
    expect(result.binary).toBe(release);
    expect(result.exports).toContain('NativeModel');
    expect(result.exports).not.toContain('testing');
    expect(result.error?.name).toBe('AddonLoadError');
    expect(result.error?.message).toMatch(/is a release addon: it has no test hooks/);
    expect(result.error?.message).toMatch(/npm run build:native/);
    expect(result.error?.message).toMatch(/AUTORESEARCH_TEST_ADDON=1/);
  });

  test('the test addon is the release addon plus the testing object', () => {
    const result = run({ AUTORESEARCH_TEST_ADDON: '1' });
    expect(path.basename(result.binary)).toBe('autoresearch_testing.node');
    expect(result.error).toBeNull();
    expect([...result.exports].sort()).toEqual([...run({ AUTORESEARCH_ADDON: release }).exports, 'testing'].sort());
  });
});

#!/usr/bin/env node
// One libtorch discovery and one list of native sources for both build front-ends:
// CMakeLists.txt (cmake-js, the canonical build) and binding.gyp (node-gyp, used by
// prebuildify and by node-gyp-build's install fallback). Neither build duplicates this.
//
// Where libtorch comes from, first match wins:
//   1. Torch_DIR, or a prefix in CMAKE_PREFIX_PATH / LIBTORCH (e.g. an unpacked libtorch zip)
//   2. the `torch` Python package, if importable (torch.utils.cmake_prefix_path): the usual
//      way to get a CUDA libtorch
//   3. the system's (Debian/Ubuntu `libtorch-dev`)
//
// Usage: node scripts/libtorch.js <command>
//   info                 JSON description of the libtorch found
//   torch-dir            directory holding TorchConfig.cmake (for CMake's Torch_DIR)
//   sources              native sources of the release addon (native/**/*.cc without native/testing/;
//                        cuda_* files only for a CUDA libtorch)
//   shared-sources       the part of `sources` compiled once for both addons (CMake)
//   per-addon-sources    the part of `sources` holding a test-only switch, compiled per addon
//   testing-sources      the test hooks (native/testing/), only in the test addon
//   include-dirs         include directories (libtorch, node-addon-api, CUDA when needed)
//   lib-dir              directory holding libtorch.so
//   libraries            linker flags for node-gyp (libs + runtime search path)
//   cuda-libraries       what a CUDA build links besides libtorch's CPU part (empty for CPU)
//   system-libraries     other libraries both builds link (PCRE2)
//   defines              preprocessor definitions shared by both builds
//   write-build-info DIR record what the addon in DIR was built against
'use strict';

const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..');
const BUILD_INFO_FILE = 'autoresearch.build.json';

function isTorchDir(dir) {
  return !!dir && fs.existsSync(path.join(dir, 'TorchConfig.cmake'));
}

/** Candidate Torch_DIRs under an install prefix (libtorch zip, pip wheel, /usr). */
function torchDirsUnder(prefix) {
  return [
    prefix,
    path.join(prefix, 'Torch'),
    path.join(prefix, 'share', 'cmake', 'Torch'),
    path.join(prefix, 'lib', 'cmake', 'Torch'),
  ];
}

function fromEnvironment() {
  if (process.env.Torch_DIR) {
    if (isTorchDir(process.env.Torch_DIR)) return { dir: process.env.Torch_DIR, source: 'Torch_DIR' };
    fail(`Torch_DIR=${process.env.Torch_DIR} does not contain TorchConfig.cmake.`);
  }
  const prefixes = [
    ...(process.env.CMAKE_PREFIX_PATH || '').split(path.delimiter),
    process.env.LIBTORCH || '',
  ].filter(Boolean);
  for (const prefix of prefixes) {
    const dir = torchDirsUnder(prefix).find(isTorchDir);
    if (dir) return { dir, source: 'CMAKE_PREFIX_PATH/LIBTORCH' };
  }
  return null;
}

function fromPython() {
  if (process.env.AUTORESEARCH_NO_PYTHON_TORCH) return null;
  for (const python of ['python3', 'python']) {
    try {
      const out = execFileSync(python, ['-c', 'import torch.utils; print(torch.utils.cmake_prefix_path)'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 60_000,
      }).trim();
      const dir = torchDirsUnder(out).find(isTorchDir);
      if (dir) return { dir, source: `${python} torch package` };
    } catch {
      // not importable: try the next interpreter, then the system libtorch
    }
  }
  return null;
}

function fromSystem() {
  const candidates = ['/usr/local/lib/cmake/Torch', '/usr/local/share/cmake/Torch', '/usr/share/cmake/Torch', '/usr/lib/cmake/Torch'];
  try {
    for (const entry of fs.readdirSync('/usr/lib')) candidates.push(path.join('/usr/lib', entry, 'cmake', 'Torch'));
  } catch {
    // no /usr/lib (not Linux): nothing to scan
  }
  const dir = candidates.find(isTorchDir);
  return dir ? { dir, source: 'system' } : null;
}

function fail(message) {
  process.stderr.write(`autoresearch: ${message}\n`);
  process.exit(1);
}

/** Walk up from the CMake config dir to the prefix that holds the headers. */
function findPrefix(torchDir) {
  let dir = torchDir;
  for (let i = 0; i < 6; i++) {
    dir = path.dirname(dir);
    if (fs.existsSync(path.join(dir, 'include', 'torch', 'csrc', 'api', 'include', 'torch', 'version.h'))) return dir;
  }
  return null;
}

function findLibDir(prefix, torchDir) {
  const candidates = [path.join(prefix, 'lib'), path.join(prefix, 'lib64'), path.resolve(torchDir, '..', '..'), path.resolve(torchDir, '..', '..', '..')];
  return candidates.find((d) => fs.existsSync(path.join(d, 'libtorch.so')) || fs.existsSync(path.join(d, 'libtorch.dylib'))) || null;
}

function readVersion(prefix) {
  const header = fs.readFileSync(path.join(prefix, 'include', 'torch', 'csrc', 'api', 'include', 'torch', 'version.h'), 'utf8');
  const part = (name) => (header.match(new RegExp(`#define TORCH_VERSION_${name} (\\d+)`)) || [])[1];
  return `${part('MAJOR')}.${part('MINOR')}.${part('PATCH')}`;
}

/** The C++ ABI libtorch was built with; TorchConfig.cmake carries it (pip wheels: 0 before 2.7). */
function readCxx11Abi(torchDir) {
  const config = fs.readFileSync(path.join(torchDir, 'TorchConfig.cmake'), 'utf8');
  const match = config.match(/_GLIBCXX_USE_CXX11_ABI=(\d)/);
  return match ? Number(match[1]) : 1;
}

/** Multiarch library folders of the system (/usr/lib/x86_64-linux-gnu on Debian/Ubuntu). */
function multiarchLibDirs() {
  try {
    return fs
      .readdirSync('/usr/lib')
      .filter((e) => /-linux-gnu/.test(e))
      .map((e) => path.join('/usr/lib', e));
  } catch {
    return [];
  }
}

/**
 * The CUDA runtime a CUDA libtorch needs at build time: cuda_runtime_api.h and libcudart.
 * Looked for in CUDA_HOME / CUDA_PATH, /usr/local/cuda, the pip wheel's nvidia-cuda-runtime
 * package beside torch, and the system (Debian/Ubuntu nvidia-cuda-toolkit). The library may
 * exist only as libcudart.so.N (pip wheels): it is then linked by its full path.
 */
function findCudaRuntime(prefix) {
  const homes = [
    process.env.CUDA_HOME,
    process.env.CUDA_PATH,
    '/usr/local/cuda',
    path.resolve(prefix, '..', 'nvidia', 'cuda_runtime'),
    '/usr',
  ].filter(Boolean);
  const libraryIn = (dir) => {
    if (fs.existsSync(path.join(dir, 'libcudart.so'))) return path.join(dir, 'libcudart.so');
    let names = [];
    try {
      names = fs.readdirSync(dir).filter((f) => /^libcudart\.so\.\d+$/.test(f));
    } catch {
      return null;
    }
    names.sort((a, b) => Number(b.split('.').pop()) - Number(a.split('.').pop()));
    return names.length ? path.join(dir, names[0]) : null;
  };
  for (const home of homes) {
    const include = path.join(home, 'include');
    if (!fs.existsSync(path.join(include, 'cuda_runtime_api.h'))) continue;
    const libDirs = [path.join(home, 'lib64'), path.join(home, 'lib'), ...(home === '/usr' ? multiarchLibDirs() : [])];
    for (const dir of libDirs) {
      const library = libraryIn(dir);
      // /usr/include is searched anyway; naming it with -I would reorder the system headers.
      if (library) return { includeDir: include === '/usr/include' ? null : include, library };
    }
  }
  return null;
}

let cached = null;
function discover() {
  if (cached) return cached;
  const found = fromEnvironment() || fromPython() || fromSystem();
  if (!found) {
    fail(
      'libtorch not found. Fixes:\n' +
        '  - Debian/Ubuntu: sudo apt-get install libtorch-dev libopenblas0-openmp (or run: npm run setup)\n' +
        '  - a libtorch zip: export Torch_DIR=/path/to/libtorch/share/cmake/Torch\n' +
        '  - a CUDA libtorch from pip: pip install torch (found through torch.utils.cmake_prefix_path)',
    );
  }
  const torchDir = path.resolve(found.dir);
  const prefix = findPrefix(torchDir);
  if (!prefix) fail(`libtorch headers not found above ${torchDir} (looked for include/torch/csrc/api/include/torch/version.h).`);
  const libDir = findLibDir(prefix, torchDir);
  if (!libDir) fail(`libtorch.so not found near ${prefix} (looked in lib/, lib64/ and beside the CMake files).`);
  const cuda = fs.existsSync(path.join(libDir, 'libtorch_cuda.so'));
  const cudaRuntime = cuda ? findCudaRuntime(prefix) : null;
  cached = {
    source: found.source,
    torchDir,
    prefix,
    libDir,
    version: readVersion(prefix),
    cuda,
    cxx11Abi: readCxx11Abi(torchDir),
    includeDirs: [path.join(prefix, 'include'), path.join(prefix, 'include', 'torch', 'csrc', 'api', 'include')],
    cudaInclude: cudaRuntime ? cudaRuntime.includeDir : null,
    cudaRuntimeLibrary: cudaRuntime ? cudaRuntime.library : null,
  };
  return cached;
}

/** Every .cc under native/, recursively, as native/<folder>/<file>.cc, sorted. */
function allSources() {
  const walk = (dir) =>
    fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(`${dir}/${e.name}`) : e.name.endsWith('.cc') ? [`${dir}/${e.name}`] : [],
    );
  return walk('native').sort();
}

/**
 * The addon's sources: every .cc under native/ except the test hooks in native/testing/, and the
 * cuda_* ones only when libtorch has CUDA. What both front-ends compile into the release addon.
 */
function sources() {
  const info = discover();
  return allSources()
    .filter((f) => !f.startsWith('native/testing/'))
    .filter((f) => info.cuda || !path.basename(f).startsWith('cuda_'));
}

/** The test hooks (native/testing/), compiled only into the test addon. */
function testingSources() {
  return allSources().filter((f) => f.startsWith('native/testing/'));
}

/**
 * Sources that hold a test-only switch (they test AUTORESEARCH_TESTING): compiled once per
 * addon, with the define in the test addon. The rest are compiled once and shared.
 */
function perAddonSources() {
  return sources().filter((f) => fs.readFileSync(path.join(ROOT, f), 'utf8').includes('AUTORESEARCH_TESTING'));
}

function sharedSources() {
  const perAddon = new Set(perAddonSources());
  return sources().filter((f) => !perAddon.has(f));
}

function defines() {
  const info = discover();
  const [major, minor] = info.version.split('.');
  return [
    'NAPI_VERSION=8',
    'NAPI_CPP_EXCEPTIONS',
    'NODE_ADDON_API_DISABLE_DEPRECATED',
    `_GLIBCXX_USE_CXX11_ABI=${info.cxx11Abi}`,
    `AUTORESEARCH_TORCH_MAJOR=${major}`,
    `AUTORESEARCH_TORCH_MINOR=${minor}`,
    `AUTORESEARCH_WITH_CUDA=${info.cuda ? 1 : 0}`,
  ];
}

function includeDirs() {
  const info = discover();
  requireCudaRuntime(info);
  const napi = path.dirname(require.resolve('node-addon-api/package.json', { paths: [ROOT] }));
  // native/ itself: sources include each other by folder ("model/gpt.h").
  return [napi, path.join(ROOT, 'native'), ...info.includeDirs, ...(info.cudaInclude ? [info.cudaInclude] : [])];
}

/** A CUDA libtorch's build needs the CUDA runtime's headers and library: stop when they are missing. */
function requireCudaRuntime(info) {
  if (!info.cuda || info.cudaRuntimeLibrary) return;
  fail(
    `the libtorch in ${info.libDir} is a CUDA build, but the CUDA runtime it needs to build against ` +
      '(cuda_runtime_api.h and libcudart) was not found. Fixes:\n' +
      '  - Debian/Ubuntu: sudo apt-get install nvidia-cuda-toolkit\n' +
      '  - the CUDA toolkit elsewhere: export CUDA_HOME=/path/to/cuda (holding include/ and lib64/)\n' +
      '  - or build for the CPU against a CPU libtorch (Debian/Ubuntu libtorch-dev, or Torch_DIR)',
  );
}

/**
 * What a CUDA build links besides libtorch's CPU libraries, by full path: libtorch_cuda and
 * libc10_cuda, and the CUDA runtime the addon calls itself (cudaGetDeviceProperties).
 * libtorch_cuda is kept even by linkers that drop unused libraries (--as-needed, Ubuntu's
 * default): nothing references it directly, but without it loaded libtorch has no CUDA backend.
 * Empty for a CPU libtorch. Both front-ends link this list.
 */
function cudaLibraries() {
  const info = discover();
  if (!info.cuda) return [];
  requireCudaRuntime(info);
  const runtimeDir = path.dirname(info.cudaRuntimeLibrary);
  const systemDir = ['/usr/lib', '/lib', ...multiarchLibDirs()].includes(runtimeDir);
  return [
    '-Wl,--no-as-needed',
    path.join(info.libDir, 'libtorch_cuda.so'),
    path.join(info.libDir, 'libc10_cuda.so'),
    info.cudaRuntimeLibrary,
    '-Wl,--as-needed',
    ...(systemDir ? [] : [`-Wl,-rpath,${runtimeDir}`]),
  ];
}

function libraries() {
  const info = discover();
  const libs = ['torch', 'torch_cpu', 'c10'];
  return [
    `-L${info.libDir}`,
    `-Wl,-rpath,${info.libDir}`,
    ...libs.map((l) => `-l${l}`),
    ...cudaLibraries(),
    ...systemLibraries().map((l) => `-l${l}`),
  ];
}

/** Libraries besides libtorch, linked by both builds: PCRE2 for the tokenizer's split pattern. */
function systemLibraries() {
  return ['pcre2-8'];
}

function writeBuildInfo(dir) {
  const info = discover();
  const target = path.resolve(ROOT, dir);
  const binaries = fs.existsSync(target) ? fs.readdirSync(target).filter((f) => f.endsWith('.node')) : [];
  if (binaries.length === 0) fail(`no .node file in ${target}: build the addon first.`);
  const record = {
    libtorchVersion: info.version,
    cuda: info.cuda,
    cxx11Abi: info.cxx11Abi,
    libDir: info.libDir,
    torchDir: info.torchDir,
    cudaRuntime: info.cudaRuntimeLibrary,
    source: info.source,
    platform: `${process.platform}-${process.arch}`,
    binaries,
    builtAt: new Date().toISOString(),
  };
  fs.writeFileSync(path.join(target, BUILD_INFO_FILE), JSON.stringify(record, null, 2) + '\n');
  process.stdout.write(`autoresearch: recorded build info in ${path.relative(ROOT, path.join(target, BUILD_INFO_FILE))}\n`);
}

function main() {
  const [command, arg] = process.argv.slice(2);
  switch (command) {
    case 'info':
      return process.stdout.write(JSON.stringify(discover(), null, 2) + '\n');
    case 'torch-dir':
      return process.stdout.write(discover().torchDir);
    case 'sources':
      return process.stdout.write(sources().join(' '));
    case 'shared-sources':
      return process.stdout.write(sharedSources().join(' '));
    case 'per-addon-sources':
      return process.stdout.write(perAddonSources().join(' '));
    case 'testing-sources':
      return process.stdout.write(testingSources().join(' '));
    case 'include-dirs':
      return process.stdout.write(includeDirs().join(' '));
    case 'lib-dir':
      return process.stdout.write(discover().libDir);
    case 'libraries':
      return process.stdout.write(libraries().join(' '));
    case 'cuda-libraries':
      return process.stdout.write(cudaLibraries().join(' '));
    case 'system-libraries':
      return process.stdout.write(systemLibraries().join(' '));
    case 'defines':
      return process.stdout.write(defines().join(' '));
    case 'write-build-info':
      return writeBuildInfo(arg || 'build/Release');
    default:
      fail(`unknown command '${command}'. Commands: info, torch-dir, sources, shared-sources, per-addon-sources, testing-sources, include-dirs, lib-dir, libraries, cuda-libraries, system-libraries, defines, write-build-info DIR`);
  }
}

module.exports = { discover, sources, testingSources, defines, includeDirs, libraries, cudaLibraries, writeBuildInfo, BUILD_INFO_FILE };
if (require.main === module) main();

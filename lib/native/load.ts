// The only module that loads the .node file.
//
// Candidates, first usable wins: AUTORESEARCH_ADDON (an explicit path), then the prebuild
// for this platform in prebuilds/ (picked with node-gyp-build's own tag matching), then the
// local build in build/Release — except that a local build newer than the prebuild wins,
// so a developer's fresh compile is never shadowed by an old prebuild.
//
// A binary only works with the libtorch (version, CUDA or CPU, C++ ABI) it was built against.
// Each build records those in autoresearch.build.json beside the binary; they are checked
// before loading and against what the binary reports after. Failures end in one
// AddonLoadError listing the fixes that match the cause.
import fs from 'node:fs';
import path from 'node:path';

import { env } from '../env';
import { AddonLoadError } from '../errors';
import type { NativeAddon } from './addon';
import { chooseOmpWaitPolicy } from './blas-threading';

/** What scripts/libtorch.js records next to each built binary. */
export interface BuildRecord {
  libtorchVersion: string;
  cuda: boolean;
  cxx11Abi: number;
  libDir: string;
  torchDir: string;
  source: string;
  platform: string;
  builtAt: string;
}

export interface LoadedAddon {
  addon: NativeAddon;
  /** Path of the .node file that was loaded. */
  binary: string;
  record: BuildRecord | null;
}

const BUILD_INFO_FILE = 'autoresearch.build.json';

/** The package root: the nearest directory above this file whose package.json is ours. */
export function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest)) {
      const pkg = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string };
      if (pkg.name === 'autoresearch') return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('autoresearch: cannot find the package root above ' + __dirname);
    dir = parent;
  }
}

interface NodeGypBuild {
  parseTuple(name: string): { name: string } | undefined;
  matchTuple(platform: string, arch: string): (t: unknown) => boolean;
  compareTuples(a: unknown, b: unknown): number;
  parseTags(file: string): { file: string } | undefined;
  matchTags(runtime: string, abi: string): (t: unknown) => boolean;
  compareTags(runtime: string): (a: unknown, b: unknown) => number;
}

function prebuildCandidate(root: string): string | null {
  const dir = path.join(root, 'prebuilds');
  if (!fs.existsSync(dir)) return null;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const gyp = require('node-gyp-build') as NodeGypBuild;
  const tuple = fs
    .readdirSync(dir)
    .map(gyp.parseTuple)
    .filter(gyp.matchTuple(process.platform, process.arch))
    .sort(gyp.compareTuples)[0];
  if (!tuple) return null;
  const flavours = path.join(dir, tuple.name);
  const winner = fs
    .readdirSync(flavours)
    .map(gyp.parseTags)
    .filter(gyp.matchTags('node', process.versions.modules))
    .sort(gyp.compareTags('node'))[0];
  return winner ? path.join(flavours, winner.file) : null;
}

function localBuildCandidate(root: string): string | null {
  const file = path.join(root, 'build', 'Release', 'autoresearch.node');
  return fs.existsSync(file) ? file : null;
}

/** Candidate binaries in the order they are tried. */
export function addonCandidates(root = packageRoot()): string[] {
  const explicit = env.addonPath();
  if (explicit) return [path.resolve(explicit)];
  const prebuild = prebuildCandidate(root);
  const local = localBuildCandidate(root);
  if (prebuild && local && fs.statSync(local).mtimeMs > fs.statSync(prebuild).mtimeMs) return [local, prebuild];
  return [prebuild, local].filter((p): p is string => p !== null);
}

export function readBuildRecord(binary: string): BuildRecord | null {
  const file = path.join(path.dirname(binary), BUILD_INFO_FILE);
  if (!fs.existsSync(file)) return null;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as BuildRecord;
  } catch {
    return null;
  }
}

const REBUILD = 'rebuild the addon against the libtorch installed here: npx autoresearch rebuild';

/** Problems visible before loading: wrong platform, libtorch gone from where it was. */
function preflight(binary: string, record: BuildRecord | null): { problem: string; fixes: string[] } | null {
  if (!record) return null;
  const platform = `${process.platform}-${process.arch}`;
  if (record.platform !== platform) {
    return { problem: `${binary} was built for ${record.platform}, this is ${platform}`, fixes: [REBUILD] };
  }
  const lib = ['libtorch_cpu.so', 'libtorch_cpu.dylib'].some((f) => fs.existsSync(path.join(record.libDir, f)));
  if (!lib) {
    return {
      problem: `${binary} was built against libtorch ${record.libtorchVersion} in ${record.libDir}, which is no longer there`,
      fixes: [
        'Debian/Ubuntu: sudo apt-get install libtorch-dev libopenblas0-openmp',
        'if libtorch moved: export Torch_DIR=/path/to/libtorch/share/cmake/Torch, then ' + REBUILD,
      ],
    };
  }
  return null;
}

/** Fixes for an error thrown by require() of the binary, chosen from its message. */
function diagnose(message: string, record: BuildRecord | null): string[] {
  if (/libcuda|libcudart|libcublas|libnvrtc|CUDA driver/i.test(message)) {
    return [
      'this binary needs CUDA libraries this machine does not have: install the NVIDIA driver and CUDA runtime',
      'or use the CPU build: install Debian libtorch-dev (CPU), unset Torch_DIR, then npx autoresearch rebuild',
    ];
  }
  if (/lib(torch|c10)[\w.]*\.so[\w.]*: cannot open shared object file/.test(message)) {
    const where = record ? ` (built against libtorch ${record.libtorchVersion} in ${record.libDir})` : '';
    return [
      `libtorch not found${where}: sudo apt-get install libtorch-dev libopenblas0-openmp`,
      'a libtorch elsewhere: add its lib/ folder to LD_LIBRARY_PATH, or ' + REBUILD,
    ];
  }
  if (/undefined symbol|version `[^']+' not found/.test(message)) {
    return [
      'libtorch version or C++ ABI mismatch between the build and the libtorch found at run time: ' + REBUILD,
      'several libtorch installations: set Torch_DIR to the one you want before rebuilding',
    ];
  }
  if (/invalid ELF header|wrong ELF class|file too short|not a valid Win32/.test(message)) {
    return ['the binary is for another platform: ' + REBUILD];
  }
  return [REBUILD, 'check the system set-up with: npx autoresearch doctor'];
}

function checkRecord(addon: NativeAddon, record: BuildRecord | null, binary: string): string | null {
  if (!record) return null;
  const info = addon.buildInfo();
  const [maj, min] = info.libtorchVersion.split('.');
  const [rmaj, rmin] = record.libtorchVersion.split('.');
  if (maj !== rmaj || min !== rmin || info.cuda !== record.cuda || Number(info.cxx11Abi) !== record.cxx11Abi) {
    return (
      `${binary} reports libtorch ${info.libtorchVersion} ${info.cuda ? 'CUDA' : 'CPU'} ABI ${Number(info.cxx11Abi)}, ` +
      `its build record says ${record.libtorchVersion} ${record.cuda ? 'CUDA' : 'CPU'} ABI ${record.cxx11Abi}`
    );
  }
  return null;
}

let loaded: LoadedAddon | null = null;
let ompWaitPolicy = 'default';

/** OMP_WAIT_POLICY as libgomp read it when the addon was loaded ('default': not set). */
export function loadedOmpWaitPolicy(): string {
  return ompWaitPolicy;
}

/** Loads the addon once per process; throws AddonLoadError with the fixes on failure. */
export function loadAddon(): LoadedAddon {
  if (loaded) return loaded;
  const root = packageRoot();
  const candidates = addonCandidates(root);
  if (candidates.length === 0) {
    throw new AddonLoadError('autoresearch: the native addon has not been built (no prebuilds/, no build/Release/).', [
      'install libtorch (Debian/Ubuntu: sudo apt-get install libtorch-dev libopenblas0-openmp libpcre2-dev cmake g++)',
      'then build the addon: npx autoresearch rebuild',
    ]);
  }
  const problems: string[] = [];
  const fixes = new Set<string>();
  for (const binary of candidates) {
    const record = readBuildRecord(binary);
    const early = preflight(binary, record);
    if (early) {
      problems.push(early.problem);
      early.fixes.forEach((f) => fixes.add(f));
      continue;
    }
    let addon: NativeAddon;
    try {
      // How idle OpenMP threads wait depends on the OpenBLAS build (lib/native/blas-threading.ts);
      // libgomp reads it once, when libtorch is loaded, i.e. right here.
      ompWaitPolicy = chooseOmpWaitPolicy();
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      addon = require(binary) as NativeAddon;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      problems.push(`${binary}: ${message.split('\n')[0]}`);
      diagnose(message, record).forEach((f) => fixes.add(f));
      continue;
    }
    const mismatch = checkRecord(addon, record, binary);
    if (mismatch) {
      problems.push(mismatch);
      fixes.add(REBUILD);
      continue;
    }
    loaded = { addon, binary, record };
    return loaded;
  }
  throw new AddonLoadError(`autoresearch: the native addon could not be loaded.\n${problems.join('\n')}`, [...fixes]);
}

/** The addon, applying AUTORESEARCH_THREADS on first use. */
export function addon(): NativeAddon {
  const first = loaded === null;
  const { addon: native } = loadAddon();
  if (first) {
    const threads = env.threads();
    if (threads !== undefined) native.setNumThreads(threads);
  }
  return native;
}

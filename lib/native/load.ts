// The only module that loads the .node file.
//
// Candidates, first usable wins: AUTORESEARCH_ADDON (an explicit path), then the prebuild
// for this platform in prebuilds/ (picked with node-gyp-build's own tag matching), then the
// local build in build/Release — except that a local build newer than the prebuild wins,
// so a developer's fresh compile is never shadowed by an old prebuild.
//
// The test hooks (addon().testing) are only in the test addon, build/Release/
// autoresearch_testing.node, which `npm run build:native` builds beside the release addon and
// neither the prebuild nor the package contains. It is the release addon plus the hooks, so a
// process loads one or the other, never both: with AUTORESEARCH_TEST_ADDON=1 (set by the
// test-suite) it is tried first.
//
// A binary only works with the libtorch (version, CUDA or CPU, C++ ABI) it was built against.
// Each build records those in autoresearch.build.json beside the binary; they are checked
// before loading and against what the binary reports after, and a binary found without its
// record is refused unless AUTORESEARCH_ADDON names it. Failures end in one AddonLoadError
// that names the cause (e.g. which shared library is missing and what provides it) and lists
// the fixes that help with it: "rebuild" only where a rebuild can help.
import fs from 'node:fs';
import path from 'node:path';

import { env } from '../env';
import { AddonLoadError } from '../errors';
import type { NativeAddon, NativeTesting } from './addon';
import { chooseOpenblasCoreType, withOpenblasCoreType, type BlasKernelChoice } from './blas-kernels';
import { chooseOmpWaitPolicy } from './blas-threading';

/** What scripts/libtorch.js records next to each built binary. */
export interface BuildRecord {
  libtorchVersion: string;
  cuda: boolean;
  cxx11Abi: number;
  libDir: string;
  torchDir: string;
  /** The CUDA runtime library linked (CUDA builds; absent in records of older builds). */
  cudaRuntime?: string | null;
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

function localBuildCandidate(root: string, file = 'autoresearch.node'): string | null {
  const binary = path.join(root, 'build', 'Release', file);
  return fs.existsSync(binary) ? binary : null;
}

const TEST_ADDON = 'autoresearch_testing.node';

/**
 * Candidate binaries in the order they are tried (AUTORESEARCH_ADDON: that file only;
 * AUTORESEARCH_TEST_ADDON=1: the test addon first, when built).
 */
export function addonCandidates(root = packageRoot()): string[] {
  const explicit = env.addonPath();
  if (explicit) return [path.resolve(explicit)];
  const prebuild = prebuildCandidate(root);
  const local = localBuildCandidate(root);
  const test = env.testAddon() ? localBuildCandidate(root, TEST_ADDON) : null;
  const ordered = prebuild && local && fs.statSync(local).mtimeMs > fs.statSync(prebuild).mtimeMs ? [local, prebuild] : [prebuild, local];
  return [test, ...ordered].filter((p): p is string => p !== null);
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
        `Debian/Ubuntu: sudo apt-get install ${record.cuda ? 'libtorch-cuda-dev' : 'libtorch-dev libopenblas0-openmp'}`,
        'if libtorch moved: export Torch_DIR=/path/to/libtorch/share/cmake/Torch, then ' + REBUILD,
      ],
    };
  }
  return null;
}

/** What require() of a binary failed on, in words, and the fixes that help with that cause. */
export interface Diagnosis {
  /** The cause named, e.g. which missing library and what provides it; null when unknown. */
  cause: string | null;
  fixes: string[];
}

const CUDA_RUNTIME_LIBS = /^lib(cudart|cublasLt|cublas|cufft|curand|cusparseLt|cusparse|cusolver|nvrtc|nvJitLink|nvToolsExt|cupti|nccl|cufile)\b/;

function torchDescription(record: BuildRecord | null): string {
  return record ? `libtorch ${record.libtorchVersion} (${record.cuda ? 'CUDA' : 'CPU'}) in ${record.libDir}` : 'libtorch';
}

/** A shared library the dynamic linker did not find: what it is, who provides it, what helps. */
function missingLibrary(lib: string, record: BuildRecord | null): Diagnosis {
  const cpuBuild =
    'or train on the CPU: install a CPU libtorch (Debian/Ubuntu: libtorch-dev), unset Torch_DIR, then npx autoresearch rebuild';
  if (/^libcudnn/.test(lib)) {
    return {
      cause: `${lib} is missing: cuDNN 9, which the CUDA libtorch this binary was built against loads with it`,
      fixes: [
        "install cuDNN 9: NVIDIA's cuDNN packages (libcudnn9-cuda-12), or Debian's nvidia-cudnn (contrib; it downloads cuDNN from NVIDIA when installed)",
        'cuDNN installed elsewhere (e.g. the pip wheel nvidia-cudnn-cu12): add the folder holding ' + lib + ' to LD_LIBRARY_PATH',
        cpuBuild,
      ],
    };
  }
  if (/^libcuda\.so/.test(lib)) {
    return {
      cause: `${lib} is missing: the NVIDIA driver's CUDA library`,
      fixes: ['install the NVIDIA driver (Debian: nvidia-driver and libcuda1; Ubuntu: nvidia-driver-NNN)', cpuBuild],
    };
  }
  if (CUDA_RUNTIME_LIBS.test(lib)) {
    return {
      cause: `${lib} is missing: part of the CUDA runtime, which the CUDA libtorch this binary was built against needs`,
      fixes: [
        'Debian/Ubuntu: sudo apt-get install nvidia-cuda-toolkit (the CUDA runtime libraries come with it)',
        "NVIDIA's CUDA toolkit, or the pip wheels beside torch (nvidia-*-cu12): add the folder holding " + lib + ' to LD_LIBRARY_PATH',
        cpuBuild,
      ],
    };
  }
  if (/^lib(torch|c10|shm|caffe2)/.test(lib)) {
    const apt = record?.cuda ? 'libtorch-cuda-dev' : 'libtorch-dev';
    return {
      cause: `${lib} is missing: part of the ${torchDescription(record)} this binary was built against`,
      fixes: [
        `reinstall that libtorch (Debian/Ubuntu: sudo apt-get install ${apt})`,
        'that libtorch moved: add its lib/ folder to LD_LIBRARY_PATH',
        'another libtorch is installed here now: ' + REBUILD,
      ],
    };
  }
  if (/^libpcre2/.test(lib)) {
    return { cause: `${lib} is missing: PCRE2, the tokenizer's regular expressions`, fixes: ['Debian/Ubuntu: sudo apt-get install libpcre2-8-0'] };
  }
  if (/^lib(openblas|blas|lapack|gomp)/.test(lib)) {
    return {
      cause: `${lib} is missing: the BLAS or OpenMP runtime libtorch uses`,
      fixes: ['Debian/Ubuntu: sudo apt-get install libopenblas0-openmp libgomp1'],
    };
  }
  return {
    cause: `${lib} is missing: a shared library this binary or its libtorch needs`,
    fixes: [
      `install the package that provides ${lib} (Debian/Ubuntu: apt-file search ${lib}), or add the folder holding it to LD_LIBRARY_PATH`,
    ],
  };
}

/** The cause of an error thrown by require() of the binary, read from its message. */
export function diagnose(message: string, record: BuildRecord | null): Diagnosis {
  const missing = message.match(/([^\s:/]+\.so(?:\.[\w.]+)?): cannot open shared object file/);
  if (missing) return missingLibrary(missing[1]!, record);
  const symbol = message.match(/undefined symbol: ([^\s,]+)/);
  if (symbol && /^cudnn/.test(symbol[1]!)) {
    return {
      cause: `${symbol[1]} is missing from the libcudnn found: it is not cuDNN 9, or a stand-in`,
      fixes: ["install cuDNN 9: NVIDIA's cuDNN packages (libcudnn9-cuda-12), or Debian's nvidia-cudnn (contrib)"],
    };
  }
  if (/CUDA driver|CUDA driver version is insufficient/i.test(message)) {
    return {
      cause: 'the NVIDIA driver is missing or older than the CUDA runtime this libtorch was built with',
      fixes: ['install or update the NVIDIA driver', 'or use a CPU libtorch (Debian/Ubuntu: libtorch-dev), then npx autoresearch rebuild'],
    };
  }
  if (symbol || /version `[^']+' not found/.test(message)) {
    return {
      cause: 'the binary and the libraries found at run time do not match (another libtorch version, C++ ABI or C++ library)',
      fixes: [REBUILD, 'several libtorch installations: set Torch_DIR to the one you want before rebuilding'],
    };
  }
  if (/invalid ELF header|wrong ELF class|file too short|not a valid Win32/.test(message)) {
    return { cause: 'the file is not a binary for this platform', fixes: ['the binary is for another platform: ' + REBUILD] };
  }
  return { cause: null, fixes: [REBUILD, 'check the system set-up with: npx autoresearch doctor'] };
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
let blasKernels: BlasKernelChoice = { coreType: null, setBy: null };

/** OMP_WAIT_POLICY as libgomp read it when the addon was loaded ('default': not set). */
export function loadedOmpWaitPolicy(): string {
  return ompWaitPolicy;
}

/** OPENBLAS_CORETYPE as OpenBLAS read it when the addon was loaded, and who set it. */
export function loadedBlasKernelChoice(): BlasKernelChoice {
  return blasKernels;
}

/**
 * Tries the candidates of a package root in order and loads the first usable one. A binary
 * found in prebuilds/ or build/Release/ must carry its build record (it says which libtorch
 * the binary needs); one without it is loaded only when AUTORESEARCH_ADDON names it.
 */
export function loadAddonFrom(root: string, explicit = env.addonPath()): LoadedAddon {
  const candidates = explicit ? [path.resolve(explicit)] : addonCandidates(root);
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
    if (!record && !explicit) {
      problems.push(`${binary} has no build record (${BUILD_INFO_FILE} beside it), so the libtorch it needs is unknown`);
      fixes.add('build it with npx autoresearch rebuild, which writes the record (in a clone: npm run build:native or npm run prebuild)');
      fixes.add(`load it anyway: AUTORESEARCH_ADDON=${binary}`);
      continue;
    }
    const early = preflight(binary, record);
    if (early) {
      problems.push(early.problem);
      early.fixes.forEach((f) => fixes.add(f));
      continue;
    }
    let addon: NativeAddon;
    try {
      // How idle OpenMP threads wait depends on the OpenBLAS build (lib/native/blas-threading.ts),
      // and OpenBLAS's kernels on the CPU (lib/native/blas-kernels.ts); libgomp and OpenBLAS
      // read them once, when libtorch is loaded, i.e. right here.
      ompWaitPolicy = chooseOmpWaitPolicy();
      blasKernels = chooseOpenblasCoreType();
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      addon = withOpenblasCoreType(blasKernels, () => require(binary) as NativeAddon);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const diagnosis = diagnose(message, record);
      problems.push(`${binary}: ${message.split('\n')[0]}` + (diagnosis.cause ? `\n  ${diagnosis.cause}` : ''));
      diagnosis.fixes.forEach((f) => fixes.add(f));
      continue;
    }
    const mismatch = checkRecord(addon, record, binary);
    if (mismatch) {
      problems.push(mismatch);
      fixes.add(REBUILD);
      continue;
    }
    return { addon, binary, record };
  }
  throw new AddonLoadError(`autoresearch: the native addon could not be loaded.\n${problems.join('\n')}`, [...fixes]);
}

/** Loads the addon once per process; throws AddonLoadError with the fixes on failure. */
export function loadAddon(): LoadedAddon {
  if (loaded) return loaded;
  loaded = loadAddonFrom(packageRoot());
  return loaded;
}

/**
 * The test hooks of the test addon. Throws, naming the fix, when the process loaded the release
 * addon (which has none): build the test addon and set AUTORESEARCH_TEST_ADDON=1.
 */
export function testing(): NativeTesting {
  const hooks = addon().testing;
  if (hooks) return hooks;
  throw new AddonLoadError(`autoresearch: ${loadAddon().binary} is a release addon: it has no test hooks.`, [
    `build the test addon (build/Release/${TEST_ADDON}): npm run build:native`,
    'and load it instead of the release addon: AUTORESEARCH_TEST_ADDON=1 (the test-suite sets it in test/setup.ts)',
  ]);
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

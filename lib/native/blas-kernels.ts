// Which OpenBLAS kernels run libtorch's fp32 matmuls (most of a CPU training step), chosen
// before the addon is loaded: OpenBLAS picks its kernels by CPU model once, when it is loaded,
// and reads OPENBLAS_CORETYPE then.
//
// OpenBLAS 0.3.21 (Debian 12's) does not know AMD's AVX-512 CPUs (Zen 4 and Zen 5) and gives them
// its AVX2 "Haswell" kernels; newer releases give them the AVX-512 "SkylakeX" kernels, or
// "Cooperlake" where the CPU has AVX512-BF16. Measured on a 2-core AMD EPYC (family 26, Zen 5)
// with 0.3.21, alternating: the 1024^3 matmul 183-190 GFLOP/s with Haswell against 329-341 with
// SkylakeX or Cooperlake, and `npm run bench:step` 1,297-1,308 ms against 856-899 ms a step.
//
// So on an AMD (or Hygon) CPU with AVX-512, OPENBLAS_CORETYPE is set to what the newer releases
// choose. Intel CPUs are left to OpenBLAS, which knows its AVX-512 ones. An OPENBLAS_CORETYPE
// already in the environment is kept, except one that would hold such a CPU to AVX2 or older
// kernels (a machine-wide OPENBLAS_CORETYPE=Haswell, say): that one is replaced, and the run
// says so. AUTORESEARCH_OPENBLAS_CORETYPE decides instead: `keep` leaves OPENBLAS_CORETYPE as the
// environment has it, a core name (Haswell, SkylakeX, ...) is used as it is. Other BLAS
// libraries ignore the variable.
import fs from 'node:fs';

import { env } from '../env';

/** What decides the kernels: the vendor and the feature flags the kernel reports. */
export interface CpuFeatures {
  vendor: string;
  flags: ReadonlySet<string>;
}

/** OPENBLAS_CORETYPE when libtorch was loaded, and where it came from. */
export interface BlasKernelChoice {
  /** OPENBLAS_CORETYPE in effect, or null (OpenBLAS chooses by CPU model). */
  coreType: string | null;
  /**
   * 'environment': OPENBLAS_CORETYPE as it was; 'autoresearch': chosen for an AMD AVX-512 CPU;
   * 'AUTORESEARCH_OPENBLAS_CORETYPE': that variable's value; null: unset.
   */
  setBy: 'environment' | 'autoresearch' | 'AUTORESEARCH_OPENBLAS_CORETYPE' | null;
  /** The environment's OPENBLAS_CORETYPE that autoresearch replaced, if it replaced one. */
  replaced?: string;
}

/** The subsets OpenBLAS's SkylakeX kernels use (its own check is for AVX512BW and the OS's ZMM state). */
const AVX512 = ['avx512f', 'avx512cd', 'avx512bw', 'avx512dq', 'avx512vl'];

/** The first processor's vendor and flags from /proc/cpuinfo (Linux); null where there is none. */
export function readCpuFeatures(cpuinfo = '/proc/cpuinfo'): CpuFeatures | null {
  let text: string;
  try {
    text = fs.readFileSync(cpuinfo, 'utf8');
  } catch {
    return null;
  }
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim();
  const vendor = field('vendor_id');
  const flags = field('flags');
  if (vendor === undefined || flags === undefined) return null;
  return { vendor, flags: new Set(flags.split(/\s+/)) };
}

/**
 * The OpenBLAS core type for this CPU where OpenBLAS 0.3.21 would pick a slower one: SkylakeX
 * or Cooperlake on an AMD or Hygon CPU with AVX-512; undefined otherwise.
 */
export function openblasCoreTypeFor(cpu: CpuFeatures | null): string | undefined {
  if (!cpu || !['AuthenticAMD', 'HygonGenuine'].includes(cpu.vendor)) return undefined;
  if (!AVX512.every((f) => cpu.flags.has(f))) return undefined;
  return cpu.flags.has('avx512_bf16') ? 'Cooperlake' : 'SkylakeX';
}

/** OpenBLAS's AVX-512 core types (x86-64), which an environment's value may name and keep. */
const AVX512_CORES = ['skylakex', 'cooperlake', 'sapphirerapids'];

/** What the choice depends on. */
export interface KernelInputs {
  /** AUTORESEARCH_OPENBLAS_CORETYPE: undefined or 'auto', 'keep', or a core name. */
  setting?: string;
  cpu: CpuFeatures | null;
  /** The environment's OPENBLAS_CORETYPE. */
  inherited?: string;
}

/** This process's inputs: its environment and, on Linux, /proc/cpuinfo. */
export function kernelInputs(): KernelInputs {
  return {
    setting: env.openblasCoreType(),
    cpu: process.platform === 'linux' ? readCpuFeatures() : null,
    inherited: process.env.OPENBLAS_CORETYPE || undefined,
  };
}

/**
 * The OPENBLAS_CORETYPE for the OpenBLAS about to be loaded (see the header comment). The
 * caller sets it for the load only: OpenBLAS reads it once, and processes started later (an
 * agent's tools, say) get the environment as it was.
 */
export function chooseOpenblasCoreType({ setting, cpu, inherited }: KernelInputs = kernelInputs()): BlasKernelChoice {
  if (setting !== undefined && setting !== 'auto' && setting !== 'keep') return { coreType: setting, setBy: 'AUTORESEARCH_OPENBLAS_CORETYPE' };
  const kept: BlasKernelChoice = inherited ? { coreType: inherited, setBy: 'environment' } : { coreType: null, setBy: null };
  if (setting === 'keep') return kept;
  const chosen = openblasCoreTypeFor(cpu);
  if (!chosen || (inherited && AVX512_CORES.includes(inherited.toLowerCase()))) return kept;
  return inherited ? { coreType: chosen, setBy: 'autoresearch', replaced: inherited } : { coreType: chosen, setBy: 'autoresearch' };
}

/** Runs `load` with OPENBLAS_CORETYPE as `choice` says, then puts the environment back. */
export function withOpenblasCoreType<T>(choice: BlasKernelChoice, load: () => T): T {
  const before = process.env.OPENBLAS_CORETYPE;
  if (choice.coreType) process.env.OPENBLAS_CORETYPE = choice.coreType;
  try {
    return load();
  } finally {
    if (before === undefined) delete process.env.OPENBLAS_CORETYPE;
    else process.env.OPENBLAS_CORETYPE = before;
  }
}

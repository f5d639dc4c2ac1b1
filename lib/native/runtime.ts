// Process-wide native facts and settings: build, threads, BLAS, devices, seed, matmul speed.
import type { NativeBuildInfo, NativeRuntimeInfo } from './addon';
import type { BlasKernelChoice } from './blas-kernels';
import { loadedBlasThreading, type BlasThreading } from './blas-threading';
import { addon, loadAddon, loadedBlasKernelChoice, loadedOmpWaitPolicy } from './load';

/** The native runtime of this process: libtorch, devices, threads, and how the addon was built. */
export interface RuntimeInfo extends NativeRuntimeInfo {
  build: NativeBuildInfo;
  /** The .node file in use. */
  binary: string;
  /** How the loaded OpenBLAS runs its threads: with libtorch's OpenMP ones, its own, or not OpenBLAS. */
  blasThreading: BlasThreading;
  /** OMP_WAIT_POLICY when libtorch was loaded ('default': libgomp's, spin briefly then sleep). */
  ompWaitPolicy: string;
  /** OPENBLAS_CORETYPE when libtorch was loaded, and who set it (lib/native/blas-kernels.ts). */
  blasKernels: BlasKernelChoice;
}

/** What the addon was built against and what it sees at run time. */
export function runtimeInfo(): RuntimeInfo {
  const native = addon();
  const info = native.runtimeInfo();
  return {
    ...info,
    build: native.buildInfo(),
    binary: loadAddon().binary,
    blasThreading: loadedBlasThreading(info.blas),
    ompWaitPolicy: loadedOmpWaitPolicy(),
    blasKernels: loadedBlasKernelChoice(),
  };
}

/** Intra-op threads for all native work (default: the machine's cores, or AUTORESEARCH_THREADS). */
export function setThreads(threads: number): void {
  addon().setNumThreads(threads);
}

/** Threads libtorch uses for intra-op parallelism in this process. */
export function getThreads(): number {
  return addon().getNumThreads();
}

/** Seeds libtorch's global generators. */
export function manualSeed(seed: number): void {
  addon().manualSeed(seed);
}

/** Measured fp32 matmul throughput (FLOP/s) of an n x n x n product, best of `repeats`. */
export function measureMatmulFlops(n = 1024, repeats = 5, device = 'auto'): Promise<number> {
  return addon().measureMatmulFlops(n, repeats, device);
}

/**
 * measureMatmulFlops on the calling thread, blocking it. A process that trains on the CPU
 * should probe this way: OpenMP work on a second thread (the thread pool the Promise version
 * runs on) makes libgomp shorten every idle thread's spin from then on, which slows every
 * later training step.
 */
export function measureMatmulFlopsSync(n = 1024, repeats = 5, device = 'auto'): number {
  return addon().measureMatmulFlopsSync(n, repeats, device);
}

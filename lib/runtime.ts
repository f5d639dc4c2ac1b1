// Process-wide native facts and settings: build, threads, BLAS, devices, seed, matmul speed.
import type { NativeBuildInfo, NativeRuntimeInfo } from './native/addon';
import { addon, loadAddon } from './native/load';

export interface RuntimeInfo extends NativeRuntimeInfo {
  build: NativeBuildInfo;
  /** The .node file in use. */
  binary: string;
}

/** What the addon was built against and what it sees at run time. */
export function runtimeInfo(): RuntimeInfo {
  const native = addon();
  return { ...native.runtimeInfo(), build: native.buildInfo(), binary: loadAddon().binary };
}

/** Intra-op threads for all native work (default: the machine's cores, or AUTORESEARCH_THREADS). */
export function setThreads(threads: number): void {
  addon().setNumThreads(threads);
}

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

// Which OpenBLAS build libtorch will get, read before the addon is loaded: it decides how
// idle OpenMP threads should wait, and libgomp reads that (OMP_WAIT_POLICY) only once, when
// libtorch is loaded.
//
// - The OpenMP build shares libtorch's OpenMP threads. Idle threads then do best spinning a
//   little before they sleep (libgomp's default): measured on 2 cores, a training step at the
//   `init` config 395-407 ms, against 529-538 ms with the pthreads build.
// - The pthreads build keeps its own threads, and OpenMP threads that spin steal their cores
//   (974 ms a step with libgomp's default): idle OpenMP threads must sleep at once (PASSIVE).
// Debian and Ubuntu keep each build in its own directory (openblas-openmp/, openblas-pthread/)
// and select one with update-alternatives; `npm run setup` selects the OpenMP one.
import fs from 'node:fs';
import path from 'node:path';

export type BlasThreading = 'openmp' | 'pthread' | 'other';

const MULTIARCH: Partial<Record<string, string>> = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu', ppc64: 'powerpc64le-linux-gnu' };

/** Directories the dynamic linker searches for libblas.so.3, in its order. */
function searchPath(): string[] {
  const triplet = MULTIARCH[process.arch];
  return [
    ...(process.env.LD_LIBRARY_PATH ?? '').split(path.delimiter).filter(Boolean),
    ...(triplet ? [`/lib/${triplet}`, `/usr/lib/${triplet}`] : []),
    '/lib64',
    '/usr/lib64',
    '/lib',
    '/usr/lib',
  ];
}

/** The threading of the libblas.so.3 libtorch will be linked with at load time (Linux). */
export function systemBlasThreading(): BlasThreading {
  for (const dir of searchPath()) {
    let target: string;
    try {
      target = fs.realpathSync(path.join(dir, 'libblas.so.3'));
    } catch {
      continue; // not in this directory
    }
    if (target.includes('/openblas-openmp/')) return 'openmp';
    if (target.includes('/openblas-pthread/')) return 'pthread';
    return 'other';
  }
  return 'other';
}

/** The threading of the OpenBLAS actually loaded, from its build string (openblas_get_config). */
export function loadedBlasThreading(blas: string): BlasThreading {
  if (!/^OpenBLAS/.test(blas)) return 'other';
  return /\bUSE_OPENMP\b/.test(blas) ? 'openmp' : 'pthread';
}

/**
 * Sets OMP_WAIT_POLICY for the BLAS about to be loaded, unless the user set it: libgomp's
 * default (spin briefly, then sleep) with the OpenMP OpenBLAS, PASSIVE otherwise.
 * @returns the policy in effect ('default' when left to libgomp).
 */
export function chooseOmpWaitPolicy(threading: BlasThreading = systemBlasThreading()): string {
  if (process.env.OMP_WAIT_POLICY === undefined && threading !== 'openmp') process.env.OMP_WAIT_POLICY = 'PASSIVE';
  return process.env.OMP_WAIT_POLICY || 'default';
}

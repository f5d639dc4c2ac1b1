// A training process's heap made resident while libtorch loads (native/heap/warm_heap.c).
// The first training step writes a few hundred MB that nothing wrote before, and the first
// write to a page is a page fault: on virtual machines whose faults cost microseconds that was
// most of the first step's extra time. Loading libtorch keeps one core busy for ~0.7 s, so the
// training worker starts this small module (no libtorch, loads in milliseconds) first: a second
// thread writes heap blocks and frees them for the model and the steps to reuse. Best effort:
// without the module (a prebuilt or node-gyp install builds only the addon), nothing happens.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { env } from '../env';
import { addonCandidates, packageRoot, readBuildRecord } from './load';

interface HeapModule {
  /** Starts warming `megabytes` of heap on a second thread; false if it did not start. */
  start(megabytes: number): boolean;
  /** Waits for that thread; the megabytes it made resident. */
  finish(): number;
}

/** A warm-up under way: finish() waits for it and returns the megabytes made resident. */
export interface HeapWarmup {
  readonly megabytes: number;
  finish(): number;
}

/** How much heap a CPU training process warms unless AUTORESEARCH_HEAP_WARMUP_MB says otherwise. */
export const DEFAULT_HEAP_WARMUP_MB = 384;

/** build/Release/autoresearch_heap.node of this package, built with the addon by cmake-js. */
export function heapModulePath(root = packageRoot()): string | null {
  const file = path.join(root, 'build', 'Release', 'autoresearch_heap.node');
  return fs.existsSync(file) ? file : null;
}

/**
 * Whether a run on `device` trains on the CPU, decided before libtorch loads: `cpu`, or `auto`
 * with an addon built against a libtorch without CUDA.
 */
export function trainsOnCpu(device: string): boolean {
  if (device === 'cpu') return true;
  if (device !== 'auto') return false;
  const binary = addonCandidates()[0];
  const record = binary ? readBuildRecord(binary) : null;
  return record !== null && !record.cuda;
}

/**
 * Starts warming the heap for a training process on `device` that may use `threads` cores
 * (call it before anything loads the addon). Null when it does not apply: not Linux, not the
 * CPU, fewer than 2 threads, no module, turned off with AUTORESEARCH_HEAP_WARMUP_MB=0 or
 * AUTORESEARCH_SYSTEM_MALLOC=1. The warming thread must run on a core of the process's own:
 * a worker given one core of a machine shared with other workers would take it from their
 * training, whose time counts.
 */
export function startHeapWarmup(
  device: string,
  threads = env.threads() ?? os.availableParallelism(),
  megabytes = env.heapWarmupMb() ?? DEFAULT_HEAP_WARMUP_MB,
): HeapWarmup | null {
  if (megabytes <= 0 || threads < 2 || process.platform !== 'linux' || env.systemMalloc()) return null;
  if (!trainsOnCpu(device)) return null;
  const file = heapModulePath();
  if (!file) return null;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const heap = require(file) as HeapModule;
  if (!heap.start(megabytes)) return null;
  return { megabytes, finish: () => heap.finish() };
}

// `autoresearch smoke`: the whole pipeline in seconds, offline, for CI and for checking an
// install: the built-in corpus prepared small into a cache folder, a DEPTH 1 config written
// from the package's train/config.ts, one experiment of a few seconds through the real
// runner (sandboxed config, worker process, addon). Nothing outside the two folders is
// written; temporary folders are removed unless kept.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { prepare } from '../data/prepare';
import { setKnob, type KnobValue } from '../config/config-source';
import { packageRoot } from '../native/load';
import { runExperiment } from '../runner/run-experiment';
import type { ExperimentResult } from '../runner/types';

/** The smoke test's data: the built-in corpus, small. */
export const SMOKE_DATA = { dataset: 'sotu', vocabSize: 512, seqLen: 64, evalTokens: 4096 } as const;
/** The smoke test's model: one layer of width 64, 1024 tokens a step. */
export const SMOKE_KNOBS: Readonly<Record<string, KnobValue>> = { DEPTH: 1, ASPECT_RATIO: 64, HEAD_DIM: 32, TOTAL_BATCH_SIZE: 1024, DEVICE_BATCH_SIZE: 8 };
const SMOKE_TIME_BUDGET = 3;

export interface SmokeOptions {
  /** Where to prepare the data (default: a temporary folder, removed afterwards). */
  cacheDir?: string;
  /** Where to write train/config.ts and run.log (default: a temporary folder, removed afterwards). */
  dir?: string;
  /** Training seconds (default 3). */
  timeBudget?: number;
  device?: string;
  /** Keep the temporary folders (their paths are in the result). */
  keep?: boolean;
  signal?: AbortSignal;
  /** Status lines. */
  log?: (line: string) => void;
  /** The run's output as it arrives. */
  onOutput?: (text: string) => void;
}

export interface SmokeResult {
  status: ExperimentResult['status'];
  run: ExperimentResult;
  /** Wall-clock seconds: preparing the data, the experiment, everything. */
  seconds: { prepare: number; run: number; total: number };
  cacheDir: string;
  dir: string;
  /** False when the folders were temporary and are gone. */
  kept: boolean;
}

export async function smoke(options: SmokeOptions = {}): Promise<SmokeResult> {
  const started = performance.now();
  const log = options.log ?? (() => undefined);
  const tempCache = options.cacheDir === undefined;
  const tempDir = options.dir === undefined;
  const cacheDir = path.resolve(options.cacheDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-smoke-cache-')));
  const dir = path.resolve(options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-smoke-')));
  try {
    log(`smoke: preparing the built-in corpus (vocab ${SMOKE_DATA.vocabSize}, MAX_SEQ_LEN ${SMOKE_DATA.seqLen}) in ${cacheDir}`);
    await prepare({ ...SMOKE_DATA, cacheDir, progress: false, log: () => undefined });
    const prepared = performance.now();

    let source = fs.readFileSync(path.join(packageRoot(), 'train', 'config.ts'), 'utf8');
    for (const [name, value] of Object.entries(SMOKE_KNOBS)) source = setKnob(source, name, value);
    fs.mkdirSync(path.join(dir, 'train'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'train', 'config.ts'), source);
    const timeBudget = options.timeBudget ?? SMOKE_TIME_BUDGET;
    log(`smoke: a DEPTH 1 model for ${timeBudget} s in ${dir}`);

    const run = await runExperiment({
      dir,
      cacheDir,
      dataset: SMOKE_DATA.dataset,
      timeBudget,
      device: options.device,
      totalTimeLimit: 120 + timeBudget,
      signal: options.signal,
      onOutput: options.onOutput,
    });
    const end = performance.now();
    return {
      status: run.status,
      run,
      seconds: { prepare: (prepared - started) / 1000, run: (end - prepared) / 1000, total: (end - started) / 1000 },
      cacheDir,
      dir,
      kept: options.keep === true || (!tempCache && !tempDir),
    };
  } finally {
    if (!options.keep) {
      if (tempCache) fs.rmSync(cacheDir, { recursive: true, force: true });
      if (tempDir) fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}

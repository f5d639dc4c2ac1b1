// `autoresearch init`: a fresh train/config.ts and program.md in any directory, with the
// reference's config scaled to the hardware found. On a GPU the reference values stay; on a
// CPU the model shrinks to one that does useful work in a 300 s budget (DEPTH 4, width 128,
// 16 rows per step: ~0.5 s steps, ~550 optimizer steps on a 2-core machine) and the batch is
// fitted to the prepared MAX_SEQ_LEN.
import fs from 'node:fs/promises';
import path from 'node:path';

import { findPreparedDataset, readPreparedMeta } from './data/prepared';
import { ConfigError } from './errors';
import { setKnob } from './loop/agents/knobs';
import type { KnobValue } from './loop/agents/types';
import { packageRoot } from './native/load';
import { runtimeInfo } from './runtime';

export interface InitOptions {
  /** Target directory (created if missing). */
  dir: string;
  /** Overwrite existing files. */
  force?: boolean;
  /** Fit the batch to this dataset's MAX_SEQ_LEN (default: the prepared one, else 256). */
  dataset?: string;
  cacheDir?: string;
  /** Pretend the machine has (or lacks) a GPU. Default: what libtorch sees. */
  gpu?: boolean;
}

export interface InitResult {
  files: string[];
  /** Knobs changed from the reference values, with the reason. */
  scaled: Record<string, KnobValue>;
  machine: string;
}

/**
 * Knob values for a CPU: ~4096 tokens per optimizer step fitted to the context length, in
 * micro-batches that fit in EVAL_TOKENS (the evaluation runs whole micro-batches).
 */
export function cpuKnobs(maxSeqLen: number, evalTokens = Infinity): Record<string, KnobValue> {
  const rows = Math.max(1, Math.min(64, Math.round(4096 / maxSeqLen)));
  const limit = Math.max(1, Math.floor(evalTokens / maxSeqLen));
  let deviceBatch = Math.min(rows, limit);
  while (rows % deviceBatch !== 0) deviceBatch--; // gradient accumulation does the rest
  return {
    DEPTH: 4,
    ASPECT_RATIO: 32,
    HEAD_DIM: 64,
    DEVICE_BATCH_SIZE: deviceBatch,
    TOTAL_BATCH_SIZE: rows * maxSeqLen,
  };
}

/** MAX_SEQ_LEN and EVAL_TOKENS of the prepared data the config is for. */
async function preparedConstants(options: InitOptions): Promise<{ maxSeqLen: number; evalTokens?: number }> {
  try {
    const dataset = options.dataset ?? (await findPreparedDataset(options.cacheDir));
    return await readPreparedMeta(dataset, options.cacheDir);
  } catch {
    return { maxSeqLen: 256 }; // nothing prepared yet: the small-machine default (SPEC §8)
  }
}

export async function init(options: InitOptions): Promise<InitResult> {
  const root = packageRoot();
  const dir = path.resolve(options.dir);
  const targets = [path.join(dir, 'train', 'config.ts'), path.join(dir, 'program.md')];
  if (!options.force) {
    for (const file of targets) {
      const exists = await fs.stat(file).then(() => true, () => false);
      if (exists) throw new ConfigError(`${file} already exists: pass --force to overwrite it`);
    }
  }
  const gpu = options.gpu ?? runtimeInfo().cudaAvailable;
  let source = await fs.readFile(path.join(root, 'train', 'config.ts'), 'utf8');
  const constants = gpu ? null : await preparedConstants(options);
  const scaled = constants ? cpuKnobs(constants.maxSeqLen, constants.evalTokens) : {};
  for (const [name, value] of Object.entries(scaled)) source = setKnob(source, name, value);
  const machine = gpu ? `a CUDA GPU (${runtimeInfo().cudaDevices[0] ?? 'unknown'})` : 'a CPU';
  if (!gpu) {
    source = source.replace(
      /Values below are the reference's \(DEPTH 8 on one GPU\);\n\/\/ `npx autoresearch init` writes a copy scaled to the machine it runs on\./,
      "Written by `autoresearch init` for a CPU: the reference's values (DEPTH 8 on one GPU),\n" +
        '// with the model and batch scaled down to do useful work in the time budget.',
    );
  }
  await fs.mkdir(path.join(dir, 'train'), { recursive: true });
  await fs.writeFile(targets[0]!, source);
  await fs.copyFile(path.join(root, 'program.md'), targets[1]!);
  return { files: targets, scaled, machine };
}

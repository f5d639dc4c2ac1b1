// `autoresearch init`: a fresh train/config.ts and program.md in any directory, with the
// reference's config scaled to the hardware found. On a GPU the reference values stay; on a
// CPU the sizes are what `autoresearch doctor` recommends (lib/setup/recommend.ts) from training steps
// timed here, for the prepared data's vocabulary, MAX_SEQ_LEN and EVAL_TOKENS.
import os from 'node:os';
import fs from 'node:fs/promises';
import path from 'node:path';

import { findPreparedDataset, readPreparedMeta, type PreparedMeta } from '../data/prepared';
import { ConfigError } from '../errors';
import { REFERENCE_DEFAULTS } from '../config/experiment-config';
import { setKnob, type KnobValue } from '../config/config-source';
import { packageRoot } from '../native/load';
import { recommendConfig, recommendTimed } from './recommend';
import { measureMatmulFlopsSync, runtimeInfo } from '../native/runtime';
import { cpuTimer } from './step-timer';

/** The folder to set up and how to size its config. */
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
  /**
   * Size for a CPU of this fp32 matmul rate (GFLOP/s), by the estimate alone, without timing
   * steps here. Default: measured now (~0.1 s), then training steps are timed (~10 s).
   */
  matmulGflops?: number;
  /** Size the CPU model from the matmul rate alone, skipping the timed training steps (which take seconds). */
  quick?: boolean;
  /** Called with a line before and after each CPU model timed. */
  progress?: (line: string) => void;
}

/** What init wrote, and the recommendation its config follows. */
export interface InitResult {
  /** The files written (absolute paths). */
  files: string[];
  /** Knobs changed from the reference values, with the reason. */
  scaled: Record<string, KnobValue>;
  machine: string;
  /** How the CPU sizes were chosen (recommendConfig's rule); null on a GPU. */
  rule: string | null;
}

/** The prepared data the config is for: the named dataset, else the latest; null if none. */
async function preparedFor(options: InitOptions): Promise<PreparedMeta | null> {
  try {
    const dataset = options.dataset ?? (await findPreparedDataset(options.cacheDir));
    return await readPreparedMeta(dataset, options.cacheDir);
  } catch {
    return null; // nothing prepared yet: sized for the small-machine defaults (SPEC §8)
  }
}

/** The train/config.ts knobs recommendConfig gives this CPU (the ones doctor prints). */
async function cpuSizes(options: InitOptions): Promise<{ knobs: Record<string, KnobValue>; rule: string }> {
  const meta = await preparedFor(options);
  const estimateOnly = options.matmulGflops !== undefined || options.quick === true;
  const gflops = options.matmulGflops ?? Math.round(measureMatmulFlopsSync(1024, 5, 'cpu') / 1e9);
  const report = {
    addon: { cudaAvailable: false },
    matmulGflops: gflops,
    memoryGiB: os.totalmem() / 2 ** 30,
    gpuMemoryGiB: null,
    prepared: meta ? [meta] : [],
  };
  const overrides = meta ? { vocabSize: meta.vocabSize, maxSeqLen: meta.maxSeqLen, evalTokens: meta.evalTokens } : { maxSeqLen: 256 };
  const rec = estimateOnly ? recommendConfig(report, overrides) : recommendTimed(report, overrides, cpuTimer, options.progress);
  return { knobs: { ...rec.config }, rule: rec.rule };
}

/**
 * A tsconfig.json for the research folder, so that `tsc -p <dir>` and editors check
 * train/config.ts as the harness runs it: strict, and without Node's types (the config is
 * evaluated in a sandbox with no `process`, `require` or `Buffer`, so an editor flags them).
 * Its `import type { ExperimentConfig } from 'autoresearch'` resolves through node_modules when
 * the folder is inside a project that depends on the package; otherwise `paths` maps it to this
 * installation's type declarations. A tsconfig.json already there is left alone. Returns the
 * file written, or null.
 */
async function writeTsconfig(dir: string, root: string): Promise<string | null> {
  const exists = (file: string) => fs.stat(file).then(() => true, () => false);
  const file = path.join(dir, 'tsconfig.json');
  if (await exists(file)) return null;
  // tsc resolves a bare 'autoresearch' through node_modules in dir or a folder above it.
  let reachable = false;
  for (let d = dir; !reachable; d = path.dirname(d)) {
    reachable = await exists(path.join(d, 'node_modules', 'autoresearch', 'package.json'));
    if (path.dirname(d) === d) break;
  }
  const built = path.join(root, 'dist', 'lib', 'index.d.ts');
  const types = (await exists(built)) ? built : path.join(root, 'lib', 'index.ts');
  const tsconfig = {
    compilerOptions: {
      target: 'ES2022',
      module: 'commonjs',
      moduleResolution: 'node',
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: [],
      ...(reachable ? {} : { paths: { autoresearch: [types] } }),
    },
    include: ['train/**/*.ts'],
  };
  await fs.writeFile(file, JSON.stringify(tsconfig, null, 2) + '\n');
  return file;
}

/** Writes a fresh train/config.ts (sized for this machine) and program.md into a folder: `autoresearch init`. */
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
  const sizes = gpu ? null : await cpuSizes(options);
  const scaled: Record<string, KnobValue> = {};
  for (const [name, value] of Object.entries(sizes?.knobs ?? {})) {
    if (value === REFERENCE_DEFAULTS[name as keyof typeof REFERENCE_DEFAULTS]) continue;
    scaled[name] = value;
    source = setKnob(source, name, value);
  }
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
  const tsconfig = await writeTsconfig(dir, root);
  return { files: tsconfig ? [...targets, tsconfig] : targets, scaled, machine, rule: sizes?.rule ?? null };
}

// The child process of one experiment (started by runExperiment, never imported). It loads
// train/config.ts through tsx, validates it, trains, evaluates and prints the summary block.
// Any failure prints `crash: <cause>` and exits 1; a native abort or an OOM kill ends the
// process, never the caller.
import fs from 'node:fs';

import { readPreparedMeta, resolveCacheDir, findPreparedDataset } from '../data/prepared';
import { formatSummary } from './summary';
import { trainAndEvaluate } from './train';
import { validateExperimentConfig } from './validate-config';

/** What the parent passes (JSON in AUTORESEARCH_WORKER_REQUEST). */
export interface WorkerRequest {
  configPath: string;
  dataset?: string;
  cacheDir?: string;
  timeBudget: number;
  device: string;
  saveCheckpoint?: string;
  /** Replaces the config's SEED (seed-to-seed noise runs, confirmation runs). */
  seed?: number;
  /** Only load and validate the config, print `config ok`, and exit. */
  checkOnly?: boolean;
}

function print(line: string): void {
  fs.writeSync(1, line + '\n');
}

/** Ends this process if the one that started it is gone (e.g. killed with -9). */
function watchParent(): void {
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.exit(1);
  }, 1000).unref();
}

async function main(): Promise<void> {
  watchParent();
  const request = JSON.parse(process.env.AUTORESEARCH_WORKER_REQUEST ?? '{}') as WorkerRequest;
  const cacheDir = resolveCacheDir(request.cacheDir);
  const dataset = request.dataset ?? (await findPreparedDataset(cacheDir));
  const meta = await readPreparedMeta(dataset, cacheDir);
  print(`data: ${dataset} (MAX_SEQ_LEN ${meta.maxSeqLen}, EVAL_TOKENS ${meta.evalTokens}, vocab ${meta.vocabSize}) from ${cacheDir}`);

  let raw: unknown;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const loaded = require(request.configPath) as { default?: unknown };
    raw = loaded.default ?? loaded;
  } catch (err) {
    throw new Error(`train/config.ts does not load: ${(err as Error).message}`);
  }
  if (request.seed !== undefined && typeof raw === 'object' && raw !== null) raw = { ...raw, SEED: request.seed };
  const experiment = validateExperimentConfig(raw, { maxSeqLen: meta.maxSeqLen, vocabSize: meta.vocabSize, evalTokens: meta.evalTokens });
  if (request.checkOnly) {
    print('config ok');
    return;
  }
  const summary = await trainAndEvaluate({
    experiment,
    meta,
    cacheDir,
    timeBudget: request.timeBudget,
    device: request.device,
    startedAt: 0, // performance.now() counts from process start: total_seconds includes start-up
    print,
    saveCheckpoint: request.saveCheckpoint,
  });
  print(formatSummary(summary));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    print(`crash: ${err instanceof Error ? err.message : String(err)}`);
    if (err instanceof Error && err.stack && !/ConfigError|TrainingDiverged|MissingDataError/.test(err.name)) {
      fs.writeSync(2, err.stack + '\n');
    }
    process.exit(1);
  },
);

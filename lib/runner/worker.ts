// The child process of one experiment (started by worker-process.ts, never imported). It takes
// its request over IPC, checks the prepared data against meta.json, evaluates the compiled
// config in the sandbox (config-sandbox.ts), validates it, trains, evaluates, and reports
// over IPC: the config check, the start and end of the counted training, the summary, or
// the cause of a failure. stdout is progress for people and carries no result.
import fs from 'node:fs';

import { readPreparedMeta, resolveCacheDir, findPreparedDataset } from '../data/prepared';
import { verifyPreparedData } from '../data/verify';
import { DataIntegrityError } from '../errors';
import { startHeapWarmup } from '../native/heap-warmup';
import { loadAddon } from '../native/load';
import { SandboxedConfig } from './config-sandbox';
import { trainAndEvaluate, TrainingDiverged } from './train';
import { validateExperimentConfig } from './validate-config';
import type { ParentMessage, WorkerFailure, WorkerMessage, WorkerRequest } from './worker-process';

function print(line: string): void {
  fs.writeSync(1, line + '\n');
}

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

/** Ends this process if the one that started it is gone (e.g. killed with -9). */
function watchParent(): void {
  const parent = process.ppid;
  process.on('disconnect', () => process.exit(1));
  setInterval(() => {
    if (process.ppid !== parent) process.exit(1);
  }, 1000).unref();
}

function request(): Promise<WorkerRequest> {
  return new Promise((resolve) => process.once('message', (m: ParentMessage) => resolve(m.request)));
}

/**
 * A promise the config rejected and never handled belongs to the sandbox: ignore it, without
 * touching its reason (a sandbox object). Any other unhandled rejection is a crash of ours.
 */
function ignoreSandboxRejections(): void {
  process.on('unhandledRejection', (reason, promise) => {
    if (Object.getPrototypeOf(promise) !== Promise.prototype) return;
    throw reason;
  });
}

async function main(): Promise<void> {
  watchParent();
  ignoreSandboxRejections();
  const r = await request();
  // Before the addon loads: it applies AUTORESEARCH_THREADS on first use.
  if (r.threads !== undefined) process.env.AUTORESEARCH_THREADS = String(r.threads);
  // Before libtorch loads, which keeps one core busy for a while: the first step's heap made
  // resident on another core meanwhile (lib/native/heap-warmup.ts).
  const heapWarmup = r.checkOnly ? null : startHeapWarmup(r.device, r.threads);
  const cacheDir = resolveCacheDir(r.cacheDir);
  const dataset = r.dataset ?? (await findPreparedDataset(cacheDir));
  const meta = await readPreparedMeta(dataset, cacheDir);
  print(`data: ${dataset} (MAX_SEQ_LEN ${meta.maxSeqLen}, EVAL_TOKENS ${meta.evalTokens}, vocab ${meta.vocabSize}) from ${cacheDir}`);

  const sandbox = SandboxedConfig.load(r.config);
  const raw = sandbox.toRaw();
  for (const [key, value] of Object.entries(r.overrides ?? {})) raw[key] = value;
  if (r.seed !== undefined) raw.SEED = r.seed;
  if (r.overrides && Object.keys(r.overrides).length > 0) {
    print(`overrides: ${Object.entries(r.overrides).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')}`);
  }
  const experiment = validateExperimentConfig(raw, { maxSeqLen: meta.maxSeqLen, vocabSize: meta.vocabSize, evalTokens: meta.evalTokens });
  if (r.checkOnly) {
    print('config ok');
    await send({ type: 'config-ok' });
    return;
  }
  // The validation tokens and token_bytes.bin in full; the training tokens by size, mtime and
  // sampled blocks (in full when asked: once per loop session).
  const verified = await verifyPreparedData(meta, cacheDir, { trainInFull: r.verifyTrainInFull ?? false });
  print(`data verified: ${verified.map((v) => `${v.file} (${v.how})`).join(', ')}`);
  if (heapWarmup) {
    loadAddon();
    print(`heap: ${heapWarmup.finish()} MB made resident while libtorch loaded (AUTORESEARCH_HEAP_WARMUP_MB)`);
  }
  const summary = await trainAndEvaluate({
    experiment,
    schedule: (progress, step) => sandbox.scheduleAt(progress, step),
    meta,
    cacheDir,
    timeBudget: r.timeBudget,
    device: r.device,
    print,
    report: (event) => void send(event),
    saveCheckpoint: r.saveCheckpoint,
  });
  await send({ type: 'summary', summary });
}

function failureKind(err: unknown): WorkerFailure {
  if (err instanceof DataIntegrityError) return 'data';
  if (err instanceof TrainingDiverged) return 'diverged';
  return err instanceof Error && err.name === 'ConfigError' ? 'config' : 'crash';
}

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    print(`crash: ${message}`);
    const kind = failureKind(err);
    if (kind === 'crash' && err instanceof Error && err.stack) fs.writeSync(2, err.stack + '\n');
    await send({ type: 'error', kind, message });
    process.exit(1);
  },
);

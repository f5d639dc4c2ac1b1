// What makes two results comparable: the hardware and build they ran on, and the fixed
// harness (dataset, constants, tokenizer, token files, time budget, evaluator version). Each results row carries
// both; the loop refuses to compare rows whose harness differs and checks before every run
// that the harness files are unchanged.
import { createHash } from 'node:crypto';
import os from 'node:os';

import { EVALUATOR_VERSION } from '../runner/scorer';
import { readPreparedMeta, type PreparedMeta } from '../data/prepared';
import { runtimeInfo } from '../native/runtime';

export interface Fingerprint {
  /** blas: the loaded BLAS's build string (OpenBLAS names its kernels, e.g. Haswell or SkylakeX). */
  hardware: { device: string; libtorch: string; cuda: boolean; threads: number; blas: string };
  harness: {
    dataset: string;
    maxSeqLen: number;
    evalTokens: number;
    vocabSize: number;
    timeBudget: number;
    /** EVALUATOR_VERSION of lib/runner/scorer.ts: what computed val_bpb. */
    evaluator: number;
    /** sha256 over the content digests meta.json records of every prepared file (verify.ts checks them). */
    digest: string;
  };
}

function digestOf(meta: PreparedMeta): string {
  const hash = createHash('sha256');
  for (const name of Object.keys(meta.files).sort()) hash.update(`${name}:${meta.files[name]!.sha256}\n`);
  return hash.digest('hex').slice(0, 16);
}

export async function fingerprint(options: { dataset: string; cacheDir?: string; timeBudget: number; device: string }): Promise<Fingerprint> {
  const meta = await readPreparedMeta(options.dataset, options.cacheDir);
  const info = runtimeInfo();
  const gpu = options.device !== 'cpu' && info.cudaAvailable ? info.cudaDevices[0] : undefined;
  return {
    hardware: {
      device: gpu ?? `cpu: ${os.cpus()[0]?.model ?? 'unknown'} x${os.availableParallelism()}`,
      libtorch: info.build.libtorchVersion,
      cuda: info.build.cuda,
      threads: info.threads,
      blas: info.blas,
    },
    harness: {
      dataset: meta.dataset,
      maxSeqLen: meta.maxSeqLen,
      evalTokens: meta.evalTokens,
      vocabSize: meta.vocabSize,
      timeBudget: options.timeBudget,
      evaluator: EVALUATOR_VERSION,
      digest: digestOf(meta),
    },
  };
}

/**
 * Differences between two harnesses, as readable strings (empty when comparable). A field only
 * one of them has is a difference too: rows recorded before the evaluator version was in the
 * fingerprint do not compare with newer ones.
 */
export function harnessDifferences(a: Fingerprint['harness'], b: Fingerprint['harness']): string[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])] as (keyof Fingerprint['harness'])[];
  const show = (v: unknown) => (v === undefined ? '(none)' : String(v));
  return keys.filter((k) => a[k] !== b[k]).map((k) => `${k}: ${show(a[k])} -> ${show(b[k])}`);
}

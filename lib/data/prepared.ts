// Where prepared data lives and what it records. Every command takes the cache directory
// from --cache-dir, else AUTORESEARCH_CACHE_DIR, else ~/.cache/autoresearch:
//   <cache>/data/<dataset>/        downloaded shards (parquet datasets)
//   <cache>/tokenizer/<dataset>/   tokenizer.tiktoken, tokenizer.json, token_bytes.bin
//   <cache>/tokens/<dataset>/      train.bin, val.bin (BOS-prefixed documents), meta.json
// meta.json fixes MAX_SEQ_LEN, EVAL_TOKENS and the dataset for every later run: a run whose
// constants disagree with the prepared data refuses to start.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { env } from '../env';
import { ConfigError } from '../errors';

/**
 * Layout version of prepared data; older data is refused with "prepare again".
 * 2: the built-in corpus's documents became passages of whole sentences (were whole addresses).
 * 3: meta.json records a digest of every file (verify.ts), and why the dataset was chosen.
 */
export const META_VERSION = 3;

export interface SplitMeta {
  /** File name inside the tokens directory. */
  file: string;
  documents: number;
  tokens: number;
}

/** What meta.json records of one prepared file (checked by verify.ts before every run). */
export interface FileRecord {
  sha256: string;
  size: number;
  mtimeMs: number;
  /** SHA-256 over sampled blocks of the file, for the quick check of large files. */
  sampleSha256: string;
}

/** The fixed harness of every experiment on this data (SPEC §2). */
export interface PreparedMeta {
  version: number;
  dataset: string;
  /** MAX_SEQ_LEN: context length, also the evaluation sequence length. */
  maxSeqLen: number;
  /** EVAL_TOKENS: tokens scored by the evaluator. */
  evalTokens: number;
  vocabSize: number;
  bosId: number;
  /** Token id storage in train.bin / val.bin. */
  dtype: 'uint16' | 'uint32';
  train: SplitMeta;
  val: SplitMeta;
  /** Shards (or built-in documents) the splits came from. */
  sources: { train: string[]; val: string[] };
  /** Each prepared file by name (train.bin, val.bin, token_bytes.bin, tokenizer.json, tokenizer.tiktoken). */
  files: Record<string, FileRecord>;
  /** Why this dataset: named with --dataset, or the default and why (e.g. the offline fallback). */
  chosenBecause: string;
  createdAt: string;
}

export function resolveCacheDir(override?: string): string {
  return path.resolve(override ?? env.cacheDir() ?? path.join(os.homedir(), '.cache', 'autoresearch'));
}

export interface DatasetPaths {
  cacheDir: string;
  shards: string;
  tokenizer: string;
  tokens: string;
  meta: string;
}

export function datasetPaths(dataset: string, cacheDir?: string): DatasetPaths {
  const root = resolveCacheDir(cacheDir);
  const tokens = path.join(root, 'tokens', dataset);
  return {
    cacheDir: root,
    shards: path.join(root, 'data', dataset),
    tokenizer: path.join(root, 'tokenizer', dataset),
    tokens,
    meta: path.join(tokens, 'meta.json'),
  };
}

/** The prepared data of a dataset; throws with the command that prepares it when absent. */
export async function readPreparedMeta(dataset: string, cacheDir?: string): Promise<PreparedMeta> {
  const paths = datasetPaths(dataset, cacheDir);
  let raw: string;
  try {
    raw = await fs.readFile(paths.meta, 'utf8');
  } catch {
    throw new ConfigError(
      `no prepared data for '${dataset}' in ${paths.cacheDir}: run \`autoresearch prepare --dataset ${dataset}\` first`,
    );
  }
  const meta = JSON.parse(raw) as PreparedMeta;
  if (meta.version !== META_VERSION) {
    throw new ConfigError(`prepared data in ${paths.tokens} is from another version: run \`autoresearch prepare --dataset ${dataset}\` again`);
  }
  return meta;
}

/** Refuses constants that disagree with the prepared data (comparisons would be invalid). */
export function checkConstants(meta: PreparedMeta, requested: { maxSeqLen?: number; evalTokens?: number }): void {
  const clashes: string[] = [];
  if (requested.maxSeqLen !== undefined && requested.maxSeqLen !== meta.maxSeqLen) {
    clashes.push(`MAX_SEQ_LEN ${requested.maxSeqLen} (prepared: ${meta.maxSeqLen})`);
  }
  if (requested.evalTokens !== undefined && requested.evalTokens !== meta.evalTokens) {
    clashes.push(`EVAL_TOKENS ${requested.evalTokens} (prepared: ${meta.evalTokens})`);
  }
  if (clashes.length > 0) {
    throw new ConfigError(
      `${clashes.join(' and ')} disagree with the prepared '${meta.dataset}' data; results would not be comparable. ` +
        `Use the prepared values, or re-run \`autoresearch prepare --dataset ${meta.dataset}\` with the new ones.`,
    );
  }
}

export async function writePreparedMeta(paths: DatasetPaths, meta: PreparedMeta): Promise<void> {
  await fs.mkdir(paths.tokens, { recursive: true });
  const tmp = `${paths.meta}.tmp`;
  await fs.writeFile(tmp, JSON.stringify(meta, null, 2) + '\n');
  await fs.rename(tmp, paths.meta);
}

/**
 * Every dataset prepared in the cache directory (a readable meta.json of this version under
 * tokens/<dataset>/), most recently prepared first. Unreadable ones are left out: `doctor`
 * reports them.
 */
export async function listPreparedDatasets(cacheDir?: string): Promise<PreparedMeta[]> {
  const tokensDir = path.join(resolveCacheDir(cacheDir), 'tokens');
  let names: string[];
  try {
    names = (await fs.readdir(tokensDir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    return [];
  }
  const metas: PreparedMeta[] = [];
  for (const name of names.sort()) {
    try {
      metas.push(await readPreparedMeta(name, cacheDir));
    } catch {
      // not prepared, half-prepared or from another version
    }
  }
  return metas.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

/** The layout version a dataset's meta.json records; undefined when there is none readable. */
async function readMetaVersion(paths: DatasetPaths): Promise<unknown> {
  return fs
    .readFile(paths.meta, 'utf8')
    .then((raw) => (JSON.parse(raw) as { version?: unknown }).version)
    .catch(() => undefined);
}

/** Datasets whose meta.json is of another layout version (prepared by an older release). */
async function listStaleDatasets(cacheDir?: string): Promise<string[]> {
  const tokensDir = path.join(resolveCacheDir(cacheDir), 'tokens');
  const names = await fs.readdir(tokensDir).catch(() => [] as string[]);
  const stale: string[] = [];
  for (const name of names.sort()) {
    const version = await readMetaVersion(datasetPaths(name, cacheDir));
    if (version !== undefined && version !== META_VERSION) stale.push(name);
  }
  return stale;
}

/**
 * The prepared data a command works on: the named dataset, else the only (or most recently)
 * prepared one in the cache. Throws a ConfigError saying what to do when there is none.
 */
export async function resolvePreparedMeta(dataset: string | undefined, cacheDir?: string): Promise<PreparedMeta> {
  if (dataset !== undefined && dataset !== '') return readPreparedMeta(dataset, cacheDir);
  const [latest] = await listPreparedDatasets(cacheDir);
  if (!latest) {
    const [stale] = await listStaleDatasets(cacheDir);
    if (stale) {
      throw new ConfigError(
        `the data prepared in ${resolveCacheDir(cacheDir)} ('${stale}') is from another version of autoresearch: ` +
          `run \`autoresearch prepare --dataset ${stale}\` again`,
      );
    }
    throw new ConfigError(
      `no prepared data in ${resolveCacheDir(cacheDir)}: run \`autoresearch prepare\` first ` +
        '(or pass --dataset, and --cache-dir if the data was prepared elsewhere)',
    );
  }
  return latest;
}

/** The name of the dataset a command works on when none is named (see resolvePreparedMeta). */
export async function findPreparedDataset(cacheDir?: string): Promise<string> {
  return (await resolvePreparedMeta(undefined, cacheDir)).dataset;
}

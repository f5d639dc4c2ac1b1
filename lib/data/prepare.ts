// `autoresearch prepare`: download (parquet datasets), train the tokenizer on training
// documents only, tokenize both splits once into BOS-prefixed token files, and record the
// fixed constants (MAX_SEQ_LEN, EVAL_TOKENS, dataset) for every later run.
// The validation split is tokenized first, so an EVAL_TOKENS it cannot hold is refused before
// the long part starts. Every file is written to .tmp and renamed: an interrupted run leaves
// nothing half-written, and a second run reuses what is complete.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

import { ProgressBar } from '../progress';
import { ConfigError } from '../errors';
import { Tokenizer } from './tokenizer';
import { getDataset, resolveBaseUrl, shardsToFetch, type Dataset } from './datasets';
import { documentCount, documents } from './documents';
import { downloadShards } from './download';
import { datasetPaths, META_VERSION, writePreparedMeta, type DatasetPaths, type PreparedMeta, type SplitMeta } from './prepared';
import { preparedFiles, recordPreparedFiles } from './verify';

/** Characters of training text the tokenizer sees at most, and per document (SPEC §3). */
const TOKENIZER_MAX_CHARS = 1e9;
const TOKENIZER_DOC_CHARS = 10_000;
/** 256 byte tokens + 4 special tokens. */
const MIN_VOCAB_SIZE = 260;

/** What to prepare and where: the dataset, its sizes (sequence length, vocabulary, evaluation tokens) and the cache. */
export interface PrepareOptions {
  /** Dataset name; default: climbmix with a CUDA GPU, else the built-in sotu corpus (never decided by the network). */
  dataset?: string;
  /** Training shards to download (-1 = all). Default: the dataset's. */
  numShards?: number;
  downloadWorkers?: number;
  /** MAX_SEQ_LEN; default: the dataset's. */
  seqLen?: number;
  /** EVAL_TOKENS; default: the dataset's. */
  evalTokens?: number;
  vocabSize?: number;
  cacheDir?: string;
  /** Mirror of the dataset's host. */
  baseUrl?: string;
  /** Draw progress bars on stderr (default: true). */
  progress?: boolean;
  /** Where status lines go (default: stderr). */
  log?: (line: string) => void;
}

/** A prepared dataset: its meta.json and where its files are. */
export interface PrepareResult {
  meta: PreparedMeta;
  paths: DatasetPaths;
  seconds: { download: number; tokenizer: number; tokenize: number };
  tokenizerReused: boolean;
}

/**
 * The default dataset is chosen by the device, as `autoresearch doctor` reports it, never by
 * the network (a CI job's data must not depend on whether a host answered): with a CUDA GPU,
 * the reference's climbmix; on a CPU, the built-in corpus, which needs no download and which a
 * CPU can learn something from in the time budget.
 */
function pickDataset(options: PrepareOptions, log: (line: string) => void): { dataset: Dataset; because: string } {
  if (options.dataset) return { dataset: getDataset(options.dataset), because: `named with --dataset ${options.dataset}` };
  let gpu: string | null = null;
  try {
    // Loaded lazily: preparing named data needs no addon.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { runtimeInfo } = require('../native/runtime') as typeof import('../native/runtime');
    const info = runtimeInfo();
    gpu = info.cudaAvailable ? (info.cudaDevices[0] ?? 'a CUDA GPU') : null;
  } catch {
    gpu = null; // no addon: no GPU it could use
  }
  const because = gpu
    ? `no --dataset given and this machine has a CUDA GPU (${gpu}): the reference's dataset`
    : 'no --dataset given and this machine has no CUDA GPU (as `autoresearch doctor` reports): the built-in offline corpus';
  const dataset = getDataset(gpu ? 'climbmix' : 'sotu');
  log(`preparing ${dataset.name}: ${because}. Pass --dataset to choose (climbmix, fineweb-edu, tinystories, sotu).`);
  return { dataset, because };
}

/** The tokenizer beside prepared data of this version, when its files still match meta.json. */
async function intactTokenizerDir(paths: DatasetPaths): Promise<boolean> {
  let meta: Partial<PreparedMeta>;
  try {
    meta = JSON.parse(await fsp.readFile(paths.meta, 'utf8')) as Partial<PreparedMeta>;
  } catch {
    return false;
  }
  if (meta.version !== META_VERSION || !meta.files) return false;
  const files = preparedFiles(paths);
  for (const name of ['tokenizer.json', 'tokenizer.tiktoken', 'token_bytes.bin']) {
    const record = meta.files[name];
    const data = await fsp.readFile(files[name]!).catch(() => null);
    if (!record || !data || createHash('sha256').update(data).digest('hex') !== record.sha256) return false;
  }
  return true;
}

function checkRequest(dataset: Dataset, seqLen: number, evalTokens: number, vocabSize: number): void {
  if (!Number.isInteger(vocabSize) || vocabSize < MIN_VOCAB_SIZE) {
    throw new ConfigError(
      `--vocab-size ${vocabSize} is too small: the 256 byte tokens and the 4 special tokens need at least ${MIN_VOCAB_SIZE} ` +
        `(the ${dataset.name} default is ${dataset.defaults.vocabSize})`,
    );
  }
  if (vocabSize > 2 ** 31 - 1) throw new ConfigError(`--vocab-size ${vocabSize} is too large`);
  if (!Number.isInteger(seqLen) || seqLen < 8) {
    throw new ConfigError(`--seq-len ${seqLen} is too short: use at least 8 (the ${dataset.name} default is ${dataset.defaults.maxSeqLen})`);
  }
  if (!Number.isInteger(evalTokens) || evalTokens < seqLen) {
    throw new ConfigError(`--eval-tokens ${evalTokens} must be a whole number of at least one sequence (${seqLen})`);
  }
}

async function obtainTokenizer(
  dataset: Dataset,
  paths: DatasetPaths,
  vocabSize: number,
  log: (line: string) => void,
): Promise<{ tokenizer: Tokenizer; reused: boolean }> {
  // Reused only beside prepared data of this version whose digests it still matches: an older
  // layout may have trained it on other documents, and a changed file is not reused.
  if (fs.existsSync(path.join(paths.tokenizer, 'tokenizer.json')) && (await intactTokenizerDir(paths))) {
    try {
      const existing = await Tokenizer.load(paths.tokenizer);
      if (existing.vocabSize === vocabSize) {
        log(`tokenizer: reusing ${paths.tokenizer} (vocab ${vocabSize})`);
        return { tokenizer: existing, reused: true };
      }
    } catch {
      // unreadable: train a new one below
    }
  }
  log(`tokenizer: training byte-level BPE to ${vocabSize} tokens on the training split`);
  const tokenizer = await Tokenizer.train(documents(dataset, 'train', { dir: paths.shards }), {
    vocabSize,
    maxChars: TOKENIZER_MAX_CHARS,
    docChars: TOKENIZER_DOC_CHARS,
  });
  return { tokenizer, reused: false };
}

/**
 * Encodes one split into a BOS-prefixed token file, written to .tmp; `commit()` renames it into
 * place and `discard()` removes it, so a refused request leaves the existing data untouched.
 */
async function tokenizeSplit(
  dataset: Dataset,
  split: 'train' | 'val',
  tokenizer: Tokenizer,
  paths: DatasetPaths,
  dtype: 'uint16' | 'uint32',
  showProgress: boolean,
): Promise<{ meta: SplitMeta; commit: () => Promise<void>; discard: () => Promise<void> }> {
  const file = `${split}.bin`;
  const target = path.join(paths.tokens, file);
  const tmp = `${target}.tmp`;
  await fsp.mkdir(paths.tokens, { recursive: true });
  const out = await fsp.open(tmp, 'w');
  // The documents to come, so the bar moves from 0 to 100% (parquet footers: no text is read).
  const bar = showProgress ? new ProgressBar(`tokenizing ${split}`, await documentCount(dataset, split, { dir: paths.shards })) : null;
  let documentsCount = 0;
  let tokens = 0;
  try {
    let batch: string[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      const encoded = await tokenizer.encodeBatch(batch, { bos: true });
      for (const ids of encoded) {
        const data = dtype === 'uint16' ? Uint16Array.from(ids) : Uint32Array.from(ids);
        await out.write(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        tokens += ids.length;
      }
      documentsCount += batch.length;
      bar?.update(documentsCount, `documents, ${tokens} tokens`);
      batch = [];
    };
    for await (const text of documents(dataset, split, { dir: paths.shards })) {
      batch.push(text);
      if (batch.length >= 256) await flush();
    }
    await flush();
  } catch (err) {
    await out.close();
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  await out.close();
  if (documentsCount === 0) {
    await fsp.rm(tmp, { force: true });
    throw new ConfigError(`the ${split} split of '${dataset.name}' has no documents`);
  }
  bar?.finish(`${documentsCount} documents, ${tokens} tokens`);
  return {
    meta: { file, documents: documentsCount, tokens },
    commit: () => fsp.rename(tmp, target),
    discard: () => fsp.rm(tmp, { force: true }),
  };
}

/** Prepares a dataset end to end; see the file comment. */
export async function prepare(options: PrepareOptions = {}): Promise<PrepareResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const showProgress = options.progress ?? true;
  const { dataset, because } = pickDataset(options, log);
  const seqLen = options.seqLen ?? dataset.defaults.maxSeqLen;
  const evalTokens = options.evalTokens ?? dataset.defaults.evalTokens;
  const vocabSize = options.vocabSize ?? dataset.defaults.vocabSize;
  checkRequest(dataset, seqLen, evalTokens, vocabSize);
  const paths = datasetPaths(dataset.name, options.cacheDir);
  const seconds = { download: 0, tokenizer: 0, tokenize: 0 };

  let t = Date.now();
  const shards = shardsToFetch(dataset, { numShards: options.numShards });
  if (dataset.kind === 'parquet' && shards.length > 0) {
    const bar = showProgress ? new ProgressBar(`downloading ${shards.length} shards`, shards.length) : null;
    await downloadShards({
      shards,
      dir: paths.shards,
      baseUrl: resolveBaseUrl(dataset, options.baseUrl),
      workers: options.downloadWorkers ?? 8,
      onProgress: (e) => {
        if (e.type === 'retry') log(`  ${e.shard}: attempt ${e.attempt}/${e.attempts} failed (${e.error.message}); retrying in ${e.delayMs} ms`);
        bar?.update(e.shardsDone, `shards${e.type === 'progress' ? ` (${e.shard}: ${(e.receivedBytes / 2 ** 20).toFixed(0)} MB)` : ''}`);
      },
    });
    bar?.finish();
  }
  seconds.download = (Date.now() - t) / 1000;

  t = Date.now();
  const { tokenizer, reused } = await obtainTokenizer(dataset, paths, vocabSize, log);
  seconds.tokenizer = (Date.now() - t) / 1000;

  t = Date.now();
  const dtype = vocabSize <= 65536 ? 'uint16' : 'uint32';
  const valFile = await tokenizeSplit(dataset, 'val', tokenizer, paths, dtype, showProgress);
  const val = valFile.meta;
  // Evaluation packs rows of seqLen + 1 tokens and crops documents: leave it some slack.
  const usable = Math.floor((val.tokens * seqLen) / (seqLen + 1) / 2);
  if (evalTokens > usable) {
    const fits = Math.max(seqLen, Math.floor(usable / seqLen) * seqLen);
    await valFile.discard();
    throw new ConfigError(
      `--eval-tokens ${evalTokens} is more than the '${dataset.name}' validation split can supply ` +
        `(${val.tokens} tokens; at most ${fits} at --seq-len ${seqLen}). Use --eval-tokens ${fits} or less.`,
    );
  }
  const trainFile = await tokenizeSplit(dataset, 'train', tokenizer, paths, dtype, showProgress);
  const train = trainFile.meta;
  // Swap in the new data: without meta.json in between, so an interrupted swap is seen as
  // "not prepared" rather than as mismatched files.
  await fsp.rm(paths.meta, { force: true });
  if (!reused) await tokenizer.save(paths.tokenizer);
  await valFile.commit();
  await trainFile.commit();
  seconds.tokenize = (Date.now() - t) / 1000;

  const meta: PreparedMeta = {
    version: META_VERSION,
    dataset: dataset.name,
    maxSeqLen: seqLen,
    evalTokens,
    vocabSize,
    bosId: tokenizer.bosId,
    dtype,
    train,
    val,
    sources:
      dataset.kind === 'parquet'
        ? { train: shards.filter((s) => s.split === 'train').map((s) => s.name), val: shards.filter((s) => s.split === 'val').map((s) => s.name) }
        : { train: ['built-in training documents'], val: ['built-in validation documents'] },
    files: await recordPreparedFiles(paths),
    chosenBecause: because,
    createdAt: new Date().toISOString(),
  };
  await writePreparedMeta(paths, meta);
  return { meta, paths, seconds, tokenizerReused: reused };
}

export function formatPrepareSummary(r: PrepareResult): string {
  const m = r.meta;
  return [
    `prepared '${m.dataset}' in ${r.paths.cacheDir}`,
    `  MAX_SEQ_LEN ${m.maxSeqLen}, EVAL_TOKENS ${m.evalTokens}, vocab ${m.vocabSize} (BOS ${m.bosId})`,
    `  train   ${m.train.documents} documents, ${m.train.tokens} tokens -> ${path.join(r.paths.tokens, m.train.file)}`,
    `  val     ${m.val.documents} documents, ${m.val.tokens} tokens -> ${path.join(r.paths.tokens, m.val.file)}`,
    `  tokenizer ${r.tokenizerReused ? '(reused) ' : ''}-> ${r.paths.tokenizer}`,
    ...(m.dataset === 'sotu' ? [] : [`  shards  -> ${r.paths.shards}`]),
    `  time: download ${r.seconds.download.toFixed(1)} s, tokenizer ${r.seconds.tokenizer.toFixed(1)} s, tokenize ${r.seconds.tokenize.toFixed(1)} s`,
  ].join('\n');
}

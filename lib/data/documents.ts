// Documents of a dataset split as a stream of strings: what tokenizer training and the data
// loader consume. Parquet datasets read the shards `prepare` downloaded (training shards in
// registry order for 'train', only the pinned validation shard(s) for 'val'); the built-in
// corpus gives its pinned split from the npm package.

import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { MissingDataError } from '../errors';
import { getDataset, type Dataset, type ParquetDataset, type Split } from './datasets';
import { countRows, readTextColumn } from './parquet';
import { sotuPassages } from './sotu';

/** Options of `documents` and `localShards`. */
export interface DocumentsOptions {
  /** The directory holding this dataset's shards (see `datasetDir`); unused by builtin datasets. */
  readonly dir?: string;
}

function prepareHint(dataset: Dataset): string {
  return `run \`autoresearch prepare --dataset ${dataset.name}\` first`;
}

/**
 * Full paths of the shards of a split that are on disk, in registry order. 'train': every
 * training shard present (at least one is required); 'val': the pinned validation shard(s), all
 * required. Throws a MissingDataError saying what to run when they are not there.
 */
export async function localShards(dataset: ParquetDataset, split: Split, dir: string): Promise<string[]> {
  let present: Set<string>;
  try {
    present = new Set(await fs.readdir(dir));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    throw new MissingDataError(`No data for ${dataset.name} in ${dir} (the directory does not exist): ${prepareHint(dataset)}.`);
  }
  if (split === 'val') {
    const missing = dataset.valShards.filter((s) => !present.has(s.name));
    if (missing.length > 0) {
      throw new MissingDataError(
        `The validation shard ${missing.map((s) => s.name).join(', ')} of ${dataset.name} is not in ${dir}: ${prepareHint(dataset)}.`,
      );
    }
    return dataset.valShards.map((s) => path.join(dir, s.name));
  }
  const train = dataset.trainShards.filter((s) => present.has(s.name));
  if (train.length === 0) {
    throw new MissingDataError(
      `No training shards of ${dataset.name} in ${dir} (expected ${dataset.trainShards[0]?.name} …): ${prepareHint(dataset)}.`,
    );
  }
  return train.map((s) => path.join(dir, s.name));
}

/**
 * The documents of one split, one string per document, in a fixed order. For parquet datasets
 * `options.dir` is required and the shards must have been downloaded (MissingDataError
 * otherwise); the files are read row group by row group.
 */
export async function* documents(
  dataset: Dataset | string,
  split: Split,
  options: DocumentsOptions = {},
): AsyncGenerator<string, void, undefined> {
  const ds = typeof dataset === 'string' ? getDataset(dataset) : dataset;
  if (ds.kind === 'builtin') {
    // sotu is the only built-in corpus so far.
    for (const text of sotuPassages(split)) yield text;
    return;
  }
  if (options.dir === undefined) {
    throw new MissingDataError(`documents(${ds.name}) needs the directory its shards were downloaded to (options.dir)`);
  }
  for (const file of await localShards(ds, split, options.dir)) {
    yield* readTextColumn(file, ds.column);
  }
}

/**
 * How many documents `documents()` yields for a split, read cheaply (the parquet footers' row
 * counts, which may include null rows `documents()` skips): the total of a progress bar.
 */
export async function documentCount(dataset: Dataset | string, split: Split, options: DocumentsOptions = {}): Promise<number> {
  const ds = typeof dataset === 'string' ? getDataset(dataset) : dataset;
  if (ds.kind === 'builtin') return sotuPassages(split).length;
  if (options.dir === undefined) {
    throw new MissingDataError(`documentCount(${ds.name}) needs the directory its shards were downloaded to (options.dir)`);
  }
  let total = 0;
  for (const file of await localShards(ds, split, options.dir)) total += await countRows(file);
  return total;
}

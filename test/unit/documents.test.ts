// documents(): the split a tokenizer or loader reads, from downloaded shards or the built-in corpus.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { getDataset, type ParquetDataset } from '../../lib/data/datasets';
import { documentCount, documents, localShards } from '../../lib/data/documents';
import { passages, sotuSplit } from '../../lib/data/sotu';
import { MissingDataError } from '../../lib/errors';
import { parquetBytes, sampleDocs, tempDir } from '../data-fixtures';

const tiny = getDataset('tinystories') as ParquetDataset;
let dir: string;
let remove: () => Promise<void>;
beforeEach(async () => ({ dir, remove } = await tempDir()));
afterEach(() => remove());

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const s of it) out.push(s);
  return out;
}

/** Writes shard files under the registry's names: training shards 0, 1, 3 (not 2) and the val shard. */
async function writeShards(): Promise<void> {
  for (const i of [3, 0, 1]) {
    await fs.writeFile(path.join(dir, tiny.trainShards[i]!.name), parquetBytes(sampleDocs(i, 20 + i), { codec: 'SNAPPY', rowGroupSize: 8 }));
  }
  await fs.writeFile(path.join(dir, tiny.valShards[0]!.name), parquetBytes(sampleDocs(99, 15)));
  await fs.writeFile(path.join(dir, `${tiny.trainShards[2]!.name}.tmp`), 'partial'); // ignored
}

test("'train' reads the training shards present, in registry order; 'val' only the pinned val shard", async () => {
  await writeShards();
  expect(await collect(documents(tiny, 'train', { dir }))).toEqual([...sampleDocs(0, 20), ...sampleDocs(1, 21), ...sampleDocs(3, 23)]);
  expect(await collect(documents('tinystories', 'val', { dir }))).toEqual(sampleDocs(99, 15));
  expect(await localShards(tiny, 'train', dir)).toEqual([0, 1, 3].map((i) => path.join(dir, tiny.trainShards[i]!.name)));
  // The total of prepare's progress bar, from the parquet footers alone.
  expect(await documentCount(tiny, 'train', { dir })).toBe(20 + 21 + 23);
  expect(await documentCount('tinystories', 'val', { dir })).toBe(15);
});

test('missing shards: a MissingDataError telling which command to run', async () => {
  await expect(collect(documents(tiny, 'val', { dir }))).rejects.toThrow(MissingDataError);
  await expect(collect(documents(tiny, 'val', { dir }))).rejects.toThrow(
    /validation shard validation-00000-of-00001-869c898b519ad725\.parquet of tinystories is not in .*: run `autoresearch prepare --dataset tinystories` first/,
  );
  await fs.writeFile(path.join(dir, tiny.valShards[0]!.name), parquetBytes(['only val']));
  await expect(collect(documents(tiny, 'train', { dir }))).rejects.toThrow(/No training shards of tinystories .*autoresearch prepare --dataset tinystories/);
  await expect(collect(documents('climbmix', 'train', { dir: path.join(dir, 'nope') }))).rejects.toThrow(
    /No data for climbmix .*does not exist.*autoresearch prepare --dataset climbmix/,
  );
  await expect(collect(documents('climbmix', 'train'))).rejects.toThrow(/options\.dir/);
});

test('sotu gives its pinned split without any directory', async () => {
  const val = await collect(documents('sotu', 'val'));
  const train = await collect(documents('sotu', 'train', { dir }));
  // Documents are passages of the pinned addresses (23 validation, 210 training).
  expect(val).toEqual(sotuSplit('val').flatMap((d) => passages(d.text)));
  expect(await documentCount('sotu', 'val')).toBe(val.length);
  expect(await documentCount('sotu', 'train')).toBe(train.length);
  expect(sotuSplit('val')).toHaveLength(23);
  expect(sotuSplit('train')).toHaveLength(210);
  expect(train.length).toBeGreaterThan(10 * val.length / 2);
  const valSet = new Set(val);
  expect(train.filter((t) => valSet.has(t))).toEqual([]);
});

describe('sotu passages', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { passages, sotuPassages, sotuSplit, SOTU_PASSAGE_CHARS } = require('../../lib/data/sotu') as typeof import('../../lib/data/sotu');

  test('cut at sentence ends, never longer than the limit, and give the text back', () => {
    const text = 'First sentence here. Second one! A third? ' + 'word '.repeat(300) + 'End.';
    const parts = passages(text, 60);
    expect(parts.every((p) => p.length <= 60)).toBe(true);
    expect(parts[0]).toBe('First sentence here. Second one! A third?');
    expect(parts.join(' ').replace(/\s+/g, ' ')).toBe(text.trim().replace(/\s+/g, ' '));
  });

  test('every address of a split is kept whole, in passages, train and val disjoint', () => {
    for (const split of ['train', 'val'] as const) {
      const joined = sotuPassages(split).join(' ').replace(/\s+/g, ' ');
      const expected = sotuSplit(split).map((d) => d.text.trim()).join(' ').replace(/\s+/g, ' ');
      expect(joined).toBe(expected);
      expect(sotuPassages(split).every((p) => p.length <= SOTU_PASSAGE_CHARS)).toBe(true);
    }
  });
});

// Parquet reading: files written with hyparquet-writer read back exactly, codec by codec.
import * as fsSync from 'node:fs';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { CompressionCodec } from 'hyparquet';
import { countRows, isValidParquetFile, readParquetMetadata, readTextColumn, validateParquetFile } from '../../lib/data/parquet';
import { parquetBytes, sampleDocs, tempDir } from '../data-fixtures';

let dir: string;
let remove: () => Promise<void>;
beforeAll(async () => ({ dir, remove } = await tempDir()));
afterAll(() => remove());

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const s of it) out.push(s);
  return out;
}

test.each<CompressionCodec>(['GZIP', 'SNAPPY', 'BROTLI', 'UNCOMPRESSED'])(
  'readTextColumn returns exactly the documents written (%s, several row groups)',
  async (codec) => {
    const docs = sampleDocs(1, 250);
    const file = path.join(dir, `docs-${codec}.parquet`);
    await fs.writeFile(file, parquetBytes(docs, { codec, rowGroupSize: 64 }));
    const meta = await readParquetMetadata(file);
    expect(meta.row_groups).toHaveLength(4); // 64 + 64 + 64 + 58
    expect(meta.row_groups.map((g) => g.columns[0]?.meta_data?.codec)).toEqual(Array(4).fill(codec));
    expect(await collect(readTextColumn(file))).toEqual(docs);
    expect(await countRows(file)).toBe(250);
  },
);

test('null documents are skipped; another column can be named', async () => {
  const file = path.join(dir, 'nulls.parquet');
  await fs.writeFile(file, parquetBytes(['a', null, 'b', '', null, 'c'], { column: 'content', rowGroupSize: 4 }));
  expect(await collect(readTextColumn(file, 'content'))).toEqual(['a', 'b', '', 'c']);
  expect(await countRows(file)).toBe(6);
});

test('a missing column is named with the columns the file has', async () => {
  const file = path.join(dir, 'nocolumn.parquet');
  await fs.writeFile(file, parquetBytes(['x']));
  await expect(collect(readTextColumn(file, 'body'))).rejects.toThrow(/has no column "body" \(columns: text, id\)/);
});

test('stopping early closes the file (the iterator can be abandoned)', async () => {
  const file = path.join(dir, 'early.parquet');
  await fs.writeFile(file, parquetBytes(sampleDocs(2, 100), { rowGroupSize: 10 }));
  const openFds = () => fsSync.readdirSync('/proc/self/fd').length;
  const before = openFds();
  const first: string[] = [];
  for await (const doc of readTextColumn(file)) {
    first.push(doc);
    if (first.length === 1) expect(openFds()).toBe(before + 1); // the shard is open while iterating
    if (first.length === 3) break;
  }
  expect(first).toEqual(sampleDocs(2, 3));
  expect(openFds()).toBe(before);
});

test('truncated files and non-parquet files are rejected with the reason', async () => {
  const good = parquetBytes(sampleDocs(3, 40));
  const truncated = path.join(dir, 'truncated.parquet');
  await fs.writeFile(truncated, good.subarray(0, good.length - 100));
  await expect(validateParquetFile(truncated)).rejects.toThrow(/does not end with "PAR1"/);

  const html = path.join(dir, 'page.parquet');
  await fs.writeFile(html, '<html><body>Rate limited</body></html>');
  await expect(validateParquetFile(html)).rejects.toThrow(/does not start with "PAR1"/);

  // Magic at both ends but a footer that is garbage: hyparquet must be able to read it.
  const garbled = Buffer.from(good);
  garbled.fill(0x7f, garbled.length - 60, garbled.length - 8);
  const bad = path.join(dir, 'garbled.parquet');
  await fs.writeFile(bad, garbled);
  await expect(validateParquetFile(bad)).rejects.toThrow(/not a readable parquet file/);

  await expect(isValidParquetFile(path.join(dir, 'missing.parquet'))).resolves.toBe(false);
  await expect(isValidParquetFile(html)).resolves.toBe(false);
  const ok = path.join(dir, 'ok.parquet');
  await fs.writeFile(ok, good);
  await expect(isValidParquetFile(ok)).resolves.toBe(true);
});

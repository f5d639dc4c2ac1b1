// prepare() on a parquet dataset end to end: shards served by a real HTTP server on loopback
// (climbmix's layout under a mirror URL), downloaded, tokenized, recorded; a second run
// requests nothing again.
import fs from 'node:fs';
import path from 'node:path';

import { DataLoader, Tokenizer } from '../../lib';
import { prepare } from '../../lib/data/prepare';
import { parquetBytes, sampleDocs, serve, startServer, tempDir, type TestServer } from '../data-fixtures';

let server: TestServer;
let cache: { dir: string; remove: () => Promise<void> };
const quiet = { progress: false, log: () => undefined };

beforeAll(async () => {
  cache = await tempDir('autoresearch-prepare-parquet-');
  const long = (shard: number) => sampleDocs(shard, 60).map((d) => `${d} ${d} ${d}`);
  server = await startServer({
    '/shard_00000.parquet': serve(parquetBytes(long(0), { rowGroupSize: 16 })),
    '/shard_00001.parquet': serve(parquetBytes(long(1), { codec: 'SNAPPY' })),
    '/shard_06542.parquet': serve(parquetBytes(long(6542))),
  });
});
afterAll(async () => {
  await server.close();
  await cache.remove();
});

test('downloads the training shards and the pinned val shard, then tokenizes both splits', async () => {
  const options = { dataset: 'climbmix', numShards: 2, seqLen: 32, evalTokens: 64, vocabSize: 300, cacheDir: cache.dir, baseUrl: server.baseUrl, ...quiet };
  const result = await prepare(options);
  expect(result.meta.sources).toEqual({ train: ['shard_00000.parquet', 'shard_00001.parquet'], val: ['shard_06542.parquet'] });
  expect(result.meta.train.documents).toBe(120);
  expect(result.meta.val.documents).toBe(60);
  expect(fs.readdirSync(result.paths.shards).sort()).toEqual(['shard_00000.parquet', 'shard_00001.parquet', 'shard_06542.parquet']);

  // The val file holds exactly the val shard's documents, BOS-prefixed.
  const tokenizer = await Tokenizer.load(result.paths.tokenizer);
  const valIds = new Uint16Array(fs.readFileSync(path.join(result.paths.tokens, 'val.bin')).buffer.slice(0));
  const expected = (await tokenizer.encodeBatch(sampleDocs(6542, 60).map((d) => `${d} ${d} ${d}`), { bos: true })).flatMap((a) => Array.from(a));
  expect(Array.from(valIds)).toEqual(expected);

  using loader = DataLoader.open(path.join(result.paths.tokens, 'train.bin'), { batchSize: 2, seqLen: 32, bosId: result.meta.bosId });
  expect(loader.next().inputs[0]).toBe(result.meta.bosId);

  // Resume: a second run requests no shard again and reuses the tokenizer.
  const before = new Map(server.requests);
  const again = await prepare(options);
  expect(server.requests).toEqual(before);
  expect(again.tokenizerReused).toBe(true);
});

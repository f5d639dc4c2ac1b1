// The dataset registry and the built-in corpus split.
import { ConfigError } from '../../lib/errors';
import {
  DATASETS,
  DEFAULT_DATASET,
  datasetDir,
  datasetNames,
  getDataset,
  resolveBaseUrl,
  shardsToFetch,
  shardUrl,
  type ParquetDataset,
} from '../../lib/data/datasets';
import { sotuDocuments, sotuSplit } from '../../lib/data/sotu';

const climbmix = DATASETS.climbmix as ParquetDataset;

describe('climbmix (the reference)', () => {
  test('shard URLs have the reference form', () => {
    const base = resolveBaseUrl(climbmix);
    expect(base).toBe('https://huggingface.co/datasets/karpathy/climbmix-400b-shuffle/resolve/main');
    expect(shardUrl(base, climbmix.trainShards[0]!)).toBe(
      'https://huggingface.co/datasets/karpathy/climbmix-400b-shuffle/resolve/main/shard_00000.parquet',
    );
    expect(shardUrl(base, climbmix.valShards[0]!)).toBe(
      'https://huggingface.co/datasets/karpathy/climbmix-400b-shuffle/resolve/main/shard_06542.parquet',
    );
  });

  test('shard 06542 is pinned as validation and never in the training list', () => {
    expect(climbmix.trainShards).toHaveLength(6542);
    expect(climbmix.trainShards[6541]!.name).toBe('shard_06541.parquet');
    expect(climbmix.valShards.map((s) => s.name)).toEqual(['shard_06542.parquet']);
    expect(climbmix.trainShards.some((s) => s.name === 'shard_06542.parquet')).toBe(false);
    // Even "all shards" leaves it out of the training part.
    const all = shardsToFetch(climbmix, { numShards: -1 });
    expect(all.filter((s) => s.split === 'train')).toHaveLength(6542);
    expect(all.filter((s) => s.name === 'shard_06542.parquet')).toEqual([
      { name: 'shard_06542.parquet', path: 'shard_06542.parquet', split: 'val' },
    ]);
  });

  test('defaults are the reference constants', () => {
    expect(climbmix.column).toBe('text');
    expect(climbmix.defaults).toEqual({ maxSeqLen: 2048, evalTokens: 20_971_520, vocabSize: 8192, numShards: 10 });
    expect(DEFAULT_DATASET).toBe('climbmix');
  });
});

test('shardsToFetch: N training shards (default per dataset, -1 = all, capped) + the val shard', () => {
  const names = (n?: number) => shardsToFetch(climbmix, n === undefined ? {} : { numShards: n }).map((s) => `${s.split}:${s.name}`);
  expect(names()).toEqual([
    ...Array.from({ length: 10 }, (_, i) => `train:shard_0000${i}.parquet`),
    'val:shard_06542.parquet',
  ]);
  expect(names(2)).toEqual(['train:shard_00000.parquet', 'train:shard_00001.parquet', 'val:shard_06542.parquet']);
  expect(names(0)).toEqual(['val:shard_06542.parquet']);
  const tiny = getDataset('tinystories');
  expect(shardsToFetch(tiny, { numShards: 99 }).map((s) => s.split)).toEqual(['train', 'train', 'train', 'train', 'val']);
  expect(() => shardsToFetch(climbmix, { numShards: -2 })).toThrow(ConfigError);
  expect(() => shardsToFetch(climbmix, { numShards: 1.5 })).toThrow(/whole number/);
  expect(shardsToFetch(getDataset('sotu'))).toEqual([]);
});

test('every parquet dataset keeps its validation shards out of training, with unique names', () => {
  for (const name of datasetNames()) {
    const ds = getDataset(name);
    if (ds.kind !== 'parquet') continue;
    const train = new Set(ds.trainShards.map((s) => s.name));
    expect(train.size).toBe(ds.trainShards.length);
    expect(ds.valShards.length).toBeGreaterThan(0);
    for (const v of ds.valShards) {
      expect(train.has(v.name)).toBe(false);
      expect(ds.trainShards.some((t) => t.path === v.path)).toBe(false);
    }
    expect(ds.column).toBe('text');
    expect(ds.defaults.numShards).toBeGreaterThan(0);
  }
});

test('fineweb-edu and tinystories point at their hub files', () => {
  const fw = getDataset('fineweb-edu') as ParquetDataset;
  expect(shardUrl(fw.baseUrl, fw.trainShards[0]!)).toBe(
    'https://huggingface.co/datasets/HuggingFaceFW/fineweb-edu/resolve/main/sample/10BT/000_00000.parquet',
  );
  expect(fw.valShards.map((s) => s.path)).toEqual(['sample/10BT/013_00000.parquet']);
  const ts = getDataset('tinystories') as ParquetDataset;
  expect(shardUrl(ts.baseUrl, ts.valShards[0]!)).toBe(
    'https://huggingface.co/datasets/roneneldan/TinyStories/resolve/main/data/validation-00000-of-00001-869c898b519ad725.parquet',
  );
  expect(ts.defaults).toMatchObject({ maxSeqLen: 256, vocabSize: 4096 });
});

describe('base URL override', () => {
  const saved = process.env.AUTORESEARCH_DATA_BASE_URL;
  afterEach(() => {
    if (saved === undefined) delete process.env.AUTORESEARCH_DATA_BASE_URL;
    else process.env.AUTORESEARCH_DATA_BASE_URL = saved;
  });

  test('per-call option beats the env var, which beats the registry', () => {
    delete process.env.AUTORESEARCH_DATA_BASE_URL;
    expect(resolveBaseUrl(climbmix)).toBe(climbmix.baseUrl);
    process.env.AUTORESEARCH_DATA_BASE_URL = 'https://mirror.example/climbmix/';
    expect(resolveBaseUrl(climbmix)).toBe('https://mirror.example/climbmix');
    expect(shardUrl(resolveBaseUrl(climbmix), climbmix.valShards[0]!)).toBe('https://mirror.example/climbmix/shard_06542.parquet');
    expect(resolveBaseUrl(climbmix, 'http://127.0.0.1:8080/x')).toBe('http://127.0.0.1:8080/x');
  });

  test('a bad URL is refused, naming where it came from', () => {
    process.env.AUTORESEARCH_DATA_BASE_URL = 'mirror.example/climbmix';
    expect(() => resolveBaseUrl(climbmix)).toThrow(/AUTORESEARCH_DATA_BASE_URL "mirror.example\/climbmix" is not a URL/);
    expect(() => resolveBaseUrl(climbmix, 'ftp://mirror.example')).toThrow(/base URL option .* must be an http/);
  });
});

test('unknown datasets are refused with the list of known ones', () => {
  expect(() => getDataset('imagenet')).toThrow(ConfigError);
  expect(() => getDataset('imagenet')).toThrow('Known datasets: climbmix, fineweb-edu, tinystories, sotu');
  expect(() => getDataset('toString')).toThrow(ConfigError);
  expect(datasetDir('/cache/data', 'tinystories')).toBe('/cache/data/tinystories');
});

describe('sotu (built in)', () => {
  test('val and train are disjoint, deterministic and together all 233 documents', () => {
    const all = sotuDocuments();
    expect(all).toHaveLength(233);
    const val = sotuSplit('val');
    const train = sotuSplit('train');
    expect(val).toHaveLength(23);
    expect(train).toHaveLength(210);
    const key = (d: { year: number; name: string }) => `${d.year} ${d.name}`;
    const valKeys = new Set(val.map(key));
    expect(train.some((d) => valKeys.has(key(d)))).toBe(false);
    expect(new Set([...val, ...train].map(key)).size).toBe(233);
    // Texts too: no validation text appears in training.
    const valTexts = new Set(val.map((d) => d.text));
    expect(train.some((d) => valTexts.has(d.text))).toBe(false);
    // Pinned: every 10th document in (year, name) order, the same on every call.
    expect(val.map(key)).toEqual(all.filter((_, i) => i % 10 === 9).map(key));
    expect(sotuSplit('val').map(key)).toEqual(val.map(key));
    expect(val[0]).toMatchObject({ year: 1799, name: 'John Adams' });
  });

  test('documents are sorted by year and the val split holds the default evalTokens', () => {
    const years = sotuDocuments().map((d) => d.year);
    expect(years).toEqual([...years].sort((a, b) => a - b));
    const valBytes = sotuSplit('val').reduce((n, d) => n + Buffer.byteLength(d.text), 0);
    // ~1 MB: at a generous 6 bytes per token that is still > 2^17 tokens.
    expect(valBytes).toBeGreaterThan(6 * getDataset('sotu').defaults.evalTokens);
  });
});

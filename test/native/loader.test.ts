// The native data loader on real token files written here. Every document's tokens are
// distinct across the file, so any run of tokens names the document it came from. The packing
// is checked structurally (rows = whole documents + at most one cropped prefix at the end)
// and against an independent re-implementation of best-fit packing, written as plainly as
// the reference (a list scanned linearly), fed the same document order.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { DataLoader, DisposedError, type LoaderBatch, type TokenDtype } from '../../lib';
import { seededRandom as rng } from '../../lib/random';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-loader-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Corpus {
  file: string;
  bos: number;
  dtype: TokenDtype;
  /** Each document as stored: BOS, then its tokens. */
  docs: number[][];
  /** token id -> [document, position in it] for every non-BOS token. */
  where: Map<number, [number, number]>;
}

/**
 * Writes `count` documents with random lengths: mostly short, every `longEvery`-th one
 * longer than maxLen. Token ids are consecutive from firstId, so each occurs once.
 */
function writeCorpus(
  name: string,
  opts: { count: number; bos: number; dtype: TokenDtype; firstId: number; seed: number; shortMax: number; longMax: number },
): Corpus {
  const random = rng(opts.seed);
  const docs: number[][] = [];
  const where = new Map<number, [number, number]>();
  let id = opts.firstId;
  for (let d = 0; d < opts.count; d++) {
    const long = random() < 0.1;
    const content = 1 + Math.floor(random() * (long ? opts.longMax : opts.shortMax));
    const doc = [opts.bos];
    for (let k = 0; k < content; k++) {
      where.set(id, [d, doc.length]);
      doc.push(id++);
    }
    docs.push(doc);
  }
  const flat = docs.flat();
  const array = opts.dtype === 'uint16' ? Uint16Array.from(flat) : Uint32Array.from(flat);
  expect(Array.from(array)).toEqual(flat); // nothing overflowed the dtype
  const file = path.join(dir, name);
  fs.writeFileSync(file, Buffer.from(array.buffer, array.byteOffset, array.byteLength));
  return { file, bos: opts.bos, dtype: opts.dtype, docs, where };
}

/** Row b of a batch as the T + 1 packed tokens; checks that targets are inputs shifted by one. */
function rowOf(batch: LoaderBatch, b: number): number[] {
  const T = batch.seqLen;
  const inputs = Array.from(batch.inputs.subarray(b * T, (b + 1) * T));
  const targets = Array.from(batch.targets.subarray(b * T, (b + 1) * T));
  expect(targets.slice(0, T - 1)).toEqual(inputs.slice(1));
  return [...inputs, targets[T - 1]!];
}

interface Piece {
  doc: number;
  length: number;
  cropped: boolean;
}

/**
 * Splits a row into the documents it holds; fails unless the row is whole documents plus
 * at most one cropped document prefix at its end. A lone BOS at the end is a crop whose
 * document cannot be named (doc -1).
 */
function parseRow(row: number[], corpus: Corpus): Piece[] {
  expect(row[0]).toBe(corpus.bos);
  const pieces: Piece[] = [];
  let start = 0;
  while (start < row.length) {
    let end = start + 1;
    while (end < row.length && row[end] !== corpus.bos) end++;
    const segment = row.slice(start, end);
    const last = end === row.length;
    if (segment.length === 1) {
      expect(last).toBe(true); // every document has content: a bare BOS can only be a crop
      pieces.push({ doc: -1, length: 1, cropped: true });
    } else {
      const found = corpus.where.get(segment[1]!);
      expect(found).toBeDefined();
      const [doc, position] = found!;
      expect(position).toBe(1); // the piece starts at its document's beginning
      expect(segment).toEqual(corpus.docs[doc]!.slice(0, segment.length));
      const cropped = segment.length < corpus.docs[doc]!.length;
      if (cropped) expect(last).toBe(true);
      pieces.push({ doc, length: segment.length, cropped });
    }
    start = end;
  }
  return pieces;
}

/**
 * Best-fit packing as the reference writes it: a list of documents, topped up before every
 * pick, scanned for the largest that fits (first found wins ties), else the shortest (first
 * found) cropped. Documents come in file order, cycling; the buffer holds at most one copy of
 * each document (min(bufferDocs, documents)). Returns each batch's rows and epoch.
 */
function referencePacking(docs: number[][], B: number, T: number, bufferDocs: number, batches: number) {
  let pulled = 0;
  const buffer: number[][] = [];
  const refill = () => {
    while (buffer.length < Math.min(bufferDocs, docs.length)) buffer.push(docs[pulled++ % docs.length]!);
  };
  refill();
  const out: { rows: number[][]; epoch: number }[] = [];
  for (let n = 0; n < batches; n++) {
    const rows: number[][] = [];
    for (let b = 0; b < B; b++) {
      const row: number[] = [];
      while (row.length < T + 1) {
        refill();
        const remaining = T + 1 - row.length;
        let best = -1;
        for (let i = 0; i < buffer.length; i++) {
          if (buffer[i]!.length <= remaining && (best < 0 || buffer[i]!.length > buffer[best]!.length)) best = i;
        }
        if (best >= 0) {
          row.push(...buffer.splice(best, 1)[0]!);
        } else {
          let shortest = 0;
          for (let i = 1; i < buffer.length; i++) if (buffer[i]!.length < buffer[shortest]!.length) shortest = i;
          row.push(...buffer.splice(shortest, 1)[0]!.slice(0, remaining));
        }
      }
      rows.push(row);
    }
    out.push({ rows, epoch: Math.floor((pulled - 1) / docs.length) + 1 });
  }
  return out;
}

const small16 = () =>
  writeCorpus(`small16-${Math.random()}.bin`, { count: 300, bos: 60000, dtype: 'uint16', firstId: 1, seed: 7, shortMax: 40, longMax: 150 });

test('every row starts with BOS and holds whole documents plus at most one cropped prefix', () => {
  const corpus = small16();
  using loader = DataLoader.open(corpus.file, { batchSize: 4, seqLen: 64, bosId: corpus.bos, seed: 3 });
  let pieces = 0;
  let cropped = 0;
  for (const batch of loader.batches(100)) {
    expect(batch.inputs).toHaveLength(4 * 64);
    expect(batch.targets).toHaveLength(4 * 64);
    expect(batch.batchSize).toBe(4);
    expect(batch.seqLen).toBe(64);
    for (let b = 0; b < 4; b++) {
      const row = parseRow(rowOf(batch, b), corpus);
      expect(row.reduce((sum, p) => sum + p.length, 0)).toBe(65); // no padding
      pieces += row.length;
      cropped += row.filter((p) => p.cropped).length;
    }
  }
  expect(cropped).toBeGreaterThan(0);
  expect(pieces).toBeGreaterThan(2 * cropped); // mostly whole documents
  expect(loader.state().documentsConsumed).toBe(pieces);
});

test('a hand-worked packing: largest fitting document first, the shortest cropped when none fits', () => {
  // Documents (BOS = 0) of lengths 5, 5, 2, 12, 3, 3, 6 (BOS included); rows of T + 1 = 10, buffer of 3.
  const lengths = [5, 5, 2, 12, 3, 3, 6];
  let id = 1;
  const d = lengths.map((n) => [0, ...Array.from({ length: n - 1 }, () => id++)]);
  const file = path.join(dir, 'hand.bin');
  fs.writeFileSync(file, Buffer.from(Uint16Array.from(d.flat()).buffer));
  using loader = DataLoader.open(file, { batchSize: 2, seqLen: 9, bosId: 0, shuffle: false, bufferDocs: 3 });
  // row 1: {d0 5, d1 5, d2 2}: the largest is a tie, the first buffered wins: d0.
  //        +d3 -> {d1 5, d2 2, d3 12}, 5 left: d1 fits exactly (d2 would fit too but is smaller).
  // row 2: +d4 -> {d2, d3, d4 3}: d4; +d5 -> {d2, d3, d5 3}, 7 left: d5; +d6 -> {d2 2, d3, d6 6},
  //        4 left: d2; +d0 (second pass) -> {d3 12, d6 6, d0 5}, 2 left: none fits, the shortest
  //        (d0) is cropped to 2 tokens.
  const batch = loader.next();
  expect(rowOf(batch, 0)).toEqual([...d[0]!, ...d[1]!]);
  expect(rowOf(batch, 1)).toEqual([...d[4]!, ...d[5]!, ...d[2]!, ...d[0]!.slice(0, 2)]);
  expect(batch.epoch).toBe(2);
  expect(loader.state()).toEqual({ epoch: 2, documentsConsumed: 6, tokensServed: 20, documents: 7, tokens: 36 });
});

test.each([
  ['uint16', 4, 64, 1000],
  ['uint16', 3, 50, 7],
  ['uint16', 2, 16, 1],
  ['uint32', 4, 32, 1000],
  ['uint32', 1, 200, 13],
] as const)('%s B=%i T=%i bufferDocs=%i: rows equal an independent best-fit packing', (dtype, B, T, bufferDocs) => {
  const corpus =
    dtype === 'uint16'
      ? small16()
      : writeCorpus(`ref32-${B}-${T}.bin`, { count: 200, bos: 100000, dtype, firstId: 70000, seed: 11, shortMax: 30, longMax: 120 });
  const N = corpus.docs.length;
  const batches = Math.ceil((2.5 * corpus.docs.flat().length) / (B * (T + 1))); // a few passes
  const expected = referencePacking(corpus.docs, B, T, bufferDocs, batches);
  using loader = DataLoader.open(corpus.file, { batchSize: B, seqLen: T, bosId: corpus.bos, dtype, bufferDocs, shuffle: false });
  expect(loader.epoch).toBe(bufferDocs > N ? 1 : Math.floor((bufferDocs - 1) / N) + 1); // the buffer is filled at once
  for (let n = 0; n < batches; n++) {
    const batch = loader.next();
    const rows = Array.from({ length: B }, (_, b) => rowOf(batch, b));
    expect(rows).toEqual(expected[n]!.rows);
    expect(batch.epoch).toBe(expected[n]!.epoch);
  }
  expect(expected[batches - 1]!.epoch).toBeGreaterThan(expected[0]!.epoch + 1); // crossed several epochs
});

test('a document that fits in the remaining space is never cropped', () => {
  const corpus = small16();
  for (const bufferDocs of [1000, 5]) {
    using loader = DataLoader.open(corpus.file, { batchSize: 8, seqLen: 48, bosId: corpus.bos, bufferDocs, seed: 5 });
    let crops = 0;
    for (const batch of loader.batches(50)) {
      for (let b = 0; b < 8; b++) {
        for (const piece of parseRow(rowOf(batch, b), corpus)) {
          if (!piece.cropped || piece.doc < 0) continue;
          crops++;
          // it was cropped to the space left, so it did not fit there
          expect(corpus.docs[piece.doc]!.length).toBeGreaterThan(piece.length);
        }
      }
    }
    expect(crops).toBeGreaterThan(0);
  }
});

test('val never yields training documents', () => {
  const train = writeCorpus('train.bin', { count: 200, bos: 65000, dtype: 'uint16', firstId: 1, seed: 1, shortMax: 40, longMax: 100 });
  const firstVal = Math.max(...train.where.keys()) + 1;
  const val = writeCorpus('val.bin', { count: 60, bos: 65000, dtype: 'uint16', firstId: firstVal, seed: 2, shortMax: 40, longMax: 100 });
  using trainLoader = DataLoader.open(train.file, { batchSize: 4, seqLen: 32, bosId: 65000 });
  using valLoader = DataLoader.open(val.file, { batchSize: 4, seqLen: 32, bosId: 65000, shuffle: false });
  for (let n = 0; n < 40; n++) {
    const t = trainLoader.next();
    const v = valLoader.next();
    for (let b = 0; b < 4; b++) {
      parseRow(rowOf(t, b), train);
      parseRow(rowOf(v, b), val);
    }
    for (const id of v.inputs) expect(id === 65000 || id >= firstVal).toBe(true);
    for (const id of t.inputs) expect(id === 65000 || id < firstVal).toBe(true);
  }
  expect(valLoader.epoch).toBeGreaterThan(1); // val cycles too
});

test('same seed gives the same batches, another seed or file order different ones', () => {
  const corpus = small16();
  const take = (options: { seed?: number; shuffle?: boolean }) => {
    using loader = DataLoader.open(corpus.file, { batchSize: 2, seqLen: 32, bosId: corpus.bos, bufferDocs: 20, ...options });
    return Array.from(loader.batches(30), (b) => Array.from(b.inputs));
  };
  const a = take({ seed: 1 });
  expect(take({ seed: 1 })).toEqual(a);
  expect(take({ seed: 2 })).not.toEqual(a);
  expect(take({ shuffle: false })).not.toEqual(a);
  expect(take({})).toEqual(take({ seed: 42 })); // the default seed
});

test('each shuffled epoch visits every document once, in a new order', () => {
  const corpus = small16();
  const N = corpus.docs.length;
  // With a buffer of one, documents enter rows in exactly the order the stream yields them.
  using loader = DataLoader.open(corpus.file, { batchSize: 4, seqLen: 64, bosId: corpus.bos, bufferDocs: 1, seed: 9 });
  const sequence: number[] = [];
  while (sequence.length < 3 * N + 1) {
    const batch = loader.next();
    for (let b = 0; b < 4; b++) sequence.push(...parseRow(rowOf(batch, b), corpus).map((p) => p.doc));
    const consumed = loader.state().documentsConsumed;
    expect(consumed).toBe(sequence.length);
    expect(loader.epoch).toBe(Math.floor((consumed - 1) / N) + 1);
  }
  const epochs = [0, 1, 2].map((e) => sequence.slice(e * N, (e + 1) * N));
  for (const order of epochs) {
    const named = order.filter((d) => d >= 0); // a crop down to a bare BOS names no document
    expect(new Set(named).size).toBe(named.length);
    expect(named.length).toBeGreaterThan(N - 10);
  }
  const identity = Array.from({ length: N }, (_, i) => i);
  expect(epochs[0]).not.toEqual(identity);
  expect(epochs[1]).not.toEqual(epochs[0]);
  expect(epochs[2]).not.toEqual(epochs[1]);
});

test('the epoch increments after each full pass in file order', () => {
  const corpus = small16();
  const N = corpus.docs.length;
  using loader = DataLoader.open(corpus.file, { batchSize: 2, seqLen: 16, bosId: corpus.bos, bufferDocs: 1, shuffle: false });
  const seen = new Set<number>();
  let consumed = 0;
  while (consumed <= 2 * N) {
    const batch = loader.next();
    consumed = loader.state().documentsConsumed;
    expect(batch.epoch).toBe(Math.floor((consumed - 1) / N) + 1);
    if (consumed <= N) for (let b = 0; b < 2; b++) parseRow(rowOf(batch, b), corpus).forEach((p) => seen.add(p.doc));
  }
  seen.delete(-1); // crops down to a bare BOS
  expect(seen.size).toBeGreaterThan(0.9 * N);
  expect(loader.epoch).toBe(3);
});

test('uint32 files with ids beyond 65535', () => {
  const corpus = writeCorpus('wide.bin', { count: 100, bos: 1 << 20, dtype: 'uint32', firstId: 5_000_000, seed: 4, shortMax: 30, longMax: 90 });
  using loader = DataLoader.open(corpus.file, { batchSize: 3, seqLen: 40, bosId: corpus.bos, dtype: 'uint32' });
  for (const batch of loader.batches(20)) for (let b = 0; b < 3; b++) parseRow(rowOf(batch, b), corpus);
  expect(loader.state().documents).toBe(100);
  expect(loader.state().tokens).toBe(corpus.docs.flat().length);
  // The same bytes read as uint16 do not start with this BOS.
  expect(() => DataLoader.open(corpus.file, { batchSize: 1, seqLen: 8, bosId: 16, dtype: 'uint16' })).toThrow(/starts with token 0, not BOS/);
});

test('state counts documents and tokens', () => {
  const corpus = small16();
  // A buffer smaller than the file: the stream stays in its first pass.
  using loader = DataLoader.open(corpus.file, { batchSize: 3, seqLen: 20, bosId: corpus.bos, bufferDocs: 50 });
  let pieces = 0;
  for (const batch of loader.batches(7)) for (let b = 0; b < 3; b++) pieces += parseRow(rowOf(batch, b), corpus).length;
  expect(loader.state()).toEqual({
    epoch: 1,
    documentsConsumed: pieces,
    tokensServed: 7 * 3 * 21,
    documents: corpus.docs.length,
    tokens: corpus.docs.flat().length,
  });
});

describe('errors name the problem and the fix', () => {
  const options = { batchSize: 2, seqLen: 8, bosId: 7 };
  const write = (name: string, bytes: Buffer) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, bytes);
    return file;
  };
  const good = () => write('good.bin', Buffer.from(Uint16Array.from([7, 1, 2, 7, 3]).buffer));

  test('a missing file', () => {
    const file = path.join(dir, 'missing.bin');
    expect(() => DataLoader.open(file, options)).toThrow(`token file ${file} not found: run \`autoresearch prepare\``);
  });

  test('an empty file', () => {
    expect(() => DataLoader.open(write('empty.bin', Buffer.alloc(0)), options)).toThrow(/empty\.bin is empty: run `autoresearch prepare`/);
  });

  test('a size that is not a whole number of ids', () => {
    const odd = write('odd.bin', Buffer.from([7, 0, 1]));
    expect(() => DataLoader.open(odd, options)).toThrow(/has 3 bytes, not a multiple of 2 \(uint16\): a truncated file or the wrong dtype/);
    const six = write('six.bin', Buffer.from(Uint16Array.from([7, 1, 2]).buffer));
    expect(() => DataLoader.open(six, { ...options, dtype: 'uint32' })).toThrow(/has 6 bytes, not a multiple of 4 \(uint32\)/);
  });

  test('a file that does not start with BOS', () => {
    const file = write('nobos.bin', Buffer.from(Uint16Array.from([3, 7, 1, 2]).buffer));
    expect(() => DataLoader.open(file, options)).toThrow(/starts with token 3, not BOS \(7\): check bosId and dtype \(uint16\)/);
  });

  test('batchSize or seqLen below 1, and other bad options', () => {
    expect(() => DataLoader.open(good(), { ...options, batchSize: 0 })).toThrow(/options\.batchSize must be at least 1 \(got 0\)/);
    expect(() => DataLoader.open(good(), { ...options, seqLen: 0 })).toThrow(/options\.seqLen must be at least 1 \(got 0\)/);
    expect(() => DataLoader.open(good(), { ...options, bufferDocs: 0 })).toThrow(/options\.bufferDocs must be at least 1/);
    expect(() => DataLoader.open(good(), { ...options, seqLen: 2.5 })).toThrow(/options\.seqLen must be an integer/);
    expect(() => DataLoader.open(good(), { ...options, dtype: 'int8' as TokenDtype })).toThrow(/dtype 'int8' is not a token file dtype/);
    expect(() => DataLoader.open(good(), { ...options, bosId: 70000 })).toThrow(/bosId 70000 does not fit a uint16 token file: use dtype 'uint32'/);
  });

  test('use after dispose', () => {
    const loader = DataLoader.open(good(), options);
    expect(loader.next().inputs).toHaveLength(16);
    loader.dispose();
    expect(loader.disposed).toBe(true);
    expect(() => loader.next()).toThrow(DisposedError);
    expect(() => loader.state()).toThrow(DisposedError);
    loader.dispose(); // twice is harmless
  });
});

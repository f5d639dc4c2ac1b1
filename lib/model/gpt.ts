// The GPT of SPEC §4 on its device, as a TypeScript object over the native model.
// Training is synchronous per micro-batch (it is the hot loop and returns the loss);
// evaluation and checkpoint I/O return Promises and run off the JavaScript thread.
// GPU memory is released by dispose() (or `using`), never left to the garbage collector.
import type { TokenBatch } from '../data/batch';
import { buildHeader, configFromHeader, matchParameters, readHeader } from './checkpoint';
import { env } from '../env';
import { DisposedError } from '../errors';
import { REFERENCE_DEFAULTS } from '../config/knobs';
import { resolveWindows, toNativeConfig, validateModelConfig, type ModelConfig } from '../config/model-config';
import type { NativeBpbSums, NativeModel, NativeParamCounts, NativeParameterInfo } from '../native/addon';
import { addon } from '../native/load';
import { OPTIMIZER_CONSTANTS, OPTIMIZER_DEFAULTS, Optimizer, type OptimizerConfig, type StepSettings } from './optimizer';

/** Where a model lives and how it starts: the device, and the seed of its initialisation. */
export interface GPTOptions {
  /** 'auto' (CUDA if available, else CPU) | 'cpu' | 'cuda' | 'cuda:N'. Default: AUTORESEARCH_DEVICE or auto. */
  device?: string;
  /** Seed for the initial weights. Default: the SEED knob's reference value. */
  seed?: number;
}

export interface DeviceInfo {
  /** e.g. "cpu" or "cuda:0" */
  device: string;
  /** Activation dtype: Float (CPU) or BFloat16 (CUDA). */
  computeDtype: string;
  /** What was picked and why. */
  reason: string;
}

export type ParamCounts = NativeParamCounts;

// The one home of the parameter and FLOPs formulas: the native model only counts its real
// tensors (paramCounts(), which the tests hold these formulas to).

/** Parameter counts a model of this config has, without building it. */
export function estimateParams(c: ModelConfig): { total: number; wte: number; valueEmbeds: number; scalars: number } {
  const headDim = c.nEmbd / c.nHead;
  const kvDim = c.nKvHead * headDim;
  const hidden = Math.round(c.mlpRatio * c.nEmbd);
  const veLayers = c.valueEmbeds ? Array.from({ length: c.nLayer }, (_, i) => i).filter((i) => i % 2 === (c.nLayer - 1) % 2).length : 0;
  const attention = c.nEmbd * c.nEmbd * 2 + c.nEmbd * kvDim * 2; // c_q, c_proj; c_k, c_v
  const mlp = c.nEmbd * hidden * (c.mlpActivation === 'swiglu' ? 3 : 2);
  const matrices = c.nLayer * (attention + mlp) + veLayers * 32 * c.nKvHead;
  const wte = c.vocabSize * c.nEmbd;
  const valueEmbeds = veLayers * c.vocabSize * kvDim;
  const scalars = 2 * c.nLayer;
  return { total: wte + valueEmbeds + c.vocabSize * c.nEmbd + matrices + scalars, wte, valueEmbeds, scalars };
}

/**
 * Training FLOPs per token by the SPEC formula: 6 x (params - wte - value embeds - lambdas)
 * plus, per layer, 12 x H x D x min(window, T).
 */
export function estimateFlopsPerToken(c: ModelConfig): number {
  const p = estimateParams(c);
  const dense = 6 * (p.total - p.wte - p.valueEmbeds - p.scalars);
  const attention = resolveWindows(c.windowPattern, c.nLayer, c.sequenceLen).reduce(
    (sum, w) => sum + 12 * c.nEmbd * Math.min(w, c.sequenceLen),
    0,
  );
  return dense + attention;
}
export type ParameterInfo = NativeParameterInfo;

/**
 * The GPT of the reference (SPEC §4), trained and run by the native addon: create or load one,
 * train it with trainStep and its MuonAdamW optimizer, score it (evaluateBpb), save it as
 * safetensors. Dispose it (or `using`) to free its memory at once.
 */
export class GPT implements Disposable {
  #native: NativeModel | null;
  #optimizers = new Set<Optimizer>();
  readonly config: ModelConfig;
  readonly device: DeviceInfo;

  private constructor(native: NativeModel, config: ModelConfig) {
    this.#native = native;
    this.config = config;
    this.device = native.deviceInfo();
  }

  /** Builds a freshly initialised model (SPEC initialisation, seeded). */
  static create(config: ModelConfig, options: GPTOptions = {}): GPT {
    validateModelConfig(config);
    const native = new (addon().NativeModel)(toNativeConfig(config), {
      device: options.device ?? env.device(),
      seed: options.seed ?? REFERENCE_DEFAULTS.SEED,
    });
    return new GPT(native, { ...config });
  }

  /** Builds a model from a checkpoint's stored config and loads its weights. */
  static async load(path: string, options: GPTOptions = {}): Promise<GPT> {
    const header = await readHeader(path);
    const model = GPT.create(configFromHeader(path, header), options);
    try {
      await model.#loadWeights(path, header);
    } catch (err) {
      model.dispose();
      throw err;
    }
    return model;
  }

  #handle(): NativeModel {
    if (!this.#native) throw new DisposedError('the model has been disposed');
    return this.#native;
  }

  /**
   * Forward and backward pass of one micro-batch. Gradients accumulate until the optimizer
   * steps; lossScale (e.g. 1 / accumulation steps) scales them. Returns the mean loss (nats).
   */
  forwardBackward(batch: TokenBatch, lossScale = 1): number {
    return this.#handle().forwardBackward(batch.inputs, batch.targets, batch.batchSize, batch.seqLen, lossScale);
  }

  /**
   * One optimizer step over several micro-batches (gradient accumulation): each contributes
   * 1/n of the gradient. Returns the mean training loss.
   */
  trainStep(microBatches: TokenBatch[], optimizer: Optimizer, settings: StepSettings): number {
    if (microBatches.length === 0) throw new Error('trainStep needs at least one micro-batch');
    let loss = 0;
    for (const batch of microBatches) loss += this.forwardBackward(batch, 1 / microBatches.length);
    optimizer.step(settings);
    return loss / microBatches.length;
  }

  /** Soft-capped fp32 logits, B x T x vocab, row-major. */
  async logits(inputs: Int32Array, batchSize: number, seqLen: number): Promise<Float32Array> {
    return this.#handle().logits(inputs, batchSize, seqLen);
  }

  /** Cross entropy of every position in nats (0 where the target is -1), B x T. */
  async perTokenLoss(batch: TokenBatch): Promise<Float32Array> {
    return this.#handle().perTokenLoss(batch.inputs, batch.targets, batch.batchSize, batch.seqLen);
  }

  /** Loss and byte sums of one batch for val_bpb (the scorer: lib/runner/scorer.ts). */
  async bpbSums(batch: TokenBatch, tokenBytes: Int32Array): Promise<NativeBpbSums> {
    return this.#handle().bpbSums(batch.inputs, batch.targets, batch.batchSize, batch.seqLen, tokenBytes);
  }

  /**
   * bpbSums on the calling thread, blocking it. A process that trains on the CPU evaluates
   * this way: its OpenMP work then stays on one thread (see measureMatmulFlopsSync).
   */
  bpbSumsSync(batch: TokenBatch, tokenBytes: Int32Array): NativeBpbSums {
    return this.#handle().bpbSums(batch.inputs, batch.targets, batch.batchSize, batch.seqLen, tokenBytes, true);
  }

  /** MuonAdamW over this model's parameters; disposed together with the model. */
  createOptimizer(config: Partial<OptimizerConfig> = {}): Optimizer {
    const full: OptimizerConfig = { ...OPTIMIZER_DEFAULTS, ...config };
    const native = new (addon().NativeOptimizer)(this.#handle(), {
      embeddingLr: full.embeddingLr,
      unembeddingLr: full.unembeddingLr,
      matrixLr: full.matrixLr,
      scalarLr: full.scalarLr,
      weightDecay: full.weightDecay,
      beta1: full.adamBetas[0],
      beta2: full.adamBetas[1],
      adamEps: OPTIMIZER_CONSTANTS.adamEps,
      muonBeta2: OPTIMIZER_CONSTANTS.muonBeta2,
      nsSteps: full.nsSteps,
    });
    const optimizer = new Optimizer(native, full);
    this.#optimizers.add(optimizer);
    return optimizer;
  }

  /** Parameter counts in the reference's breakdown. */
  paramCounts(): ParamCounts {
    return this.#handle().paramCounts();
  }

  /** Names (reference naming), shapes and dtypes of all parameters. */
  parameters(): ParameterInfo[] {
    return this.#handle().parameters();
  }

  /** Training FLOPs per token (SPEC §4), for MFU. */
  flopsPerToken(): number {
    return estimateFlopsPerToken(this.config);
  }

  /** Waits for queued device work (CUDA); a no-op on the CPU. */
  synchronize(): void {
    this.#handle().synchronize();
  }

  /** Peak bytes held by the CUDA caching allocator; -1 on the CPU (use the process RSS there). */
  peakMemoryBytes(): number {
    return this.#handle().peakMemoryBytes();
  }

  resetPeakMemory(): void {
    this.#handle().resetPeakMemory();
  }

  /** Writes the weights as safetensors (reference names, config in the metadata). */
  async save(path: string): Promise<void> {
    const params = this.parameters();
    await this.#handle().save(path, buildHeader(params, this.config), params.map((p) => p.name));
  }

  /** Loads weights saved from a model of the same config; the model is untouched on error. */
  async loadWeights(path: string): Promise<void> {
    await this.#loadWeights(path, await readHeader(path));
  }

  async #loadWeights(path: string, header: Awaited<ReturnType<typeof readHeader>>): Promise<void> {
    matchParameters(path, header, this.parameters());
    await this.#handle().load(path, header.dataStart, header.entries);
  }

  get disposed(): boolean {
    return this.#native === null;
  }

  /** Frees the weights, gradients and optimizer state now. */
  dispose(): void {
    for (const optimizer of this.#optimizers) optimizer.dispose();
    this.#optimizers.clear();
    this.#native?.dispose();
    this.#native = null;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

// MuonAdamW over a GPT's parameters (SPEC §5); the schedules that feed step() live in
// TypeScript (the training config), the update itself in native/muon_adamw.cc.
import { DisposedError } from '../errors';
import type { NativeOptimizer, NativeOptimizerGroup } from '../native/addon';

/** Optimizer hyperparameters (SPEC §6 names in camelCase). */
export interface OptimizerConfig {
  /** AdamW lr of wte and value embeddings, scaled by (model_dim / 768)^-0.5. Reference: 0.6 */
  embeddingLr: number;
  /** AdamW lr of lm_head, scaled by (model_dim / 768)^-0.5. Reference: 0.004 */
  unembeddingLr: number;
  /** Muon lr of the block matrices. Reference: 0.04 */
  matrixLr: number;
  /** AdamW lr of x0_lambdas (resid_lambdas: 1% of it). Reference: 0.5 */
  scalarLr: number;
  /** Muon cautious weight decay before scheduling. Reference: 0.2 */
  weightDecay: number;
  /** AdamW betas. Reference: [0.8, 0.95] */
  adamBetas: [number, number];
  /** Polar Express iterations. Reference: 5 */
  nsSteps: number;
}

export const OPTIMIZER_DEFAULTS: OptimizerConfig = {
  embeddingLr: 0.6,
  unembeddingLr: 0.004,
  matrixLr: 0.04,
  scalarLr: 0.5,
  weightDecay: 0.2,
  adamBetas: [0.8, 0.95],
  nsSteps: 5,
};

/** Schedule values for one step. */
export interface StepSettings {
  /** Multiplies every group's initial lr. */
  lrMultiplier: number;
  /** Muon momentum (reference: ramps 0.85 -> 0.95 over 300 steps). */
  muonMomentum: number;
  /** Muon weight decay (reference: WEIGHT_DECAY * (1 - progress)). */
  muonWeightDecay: number;
}

export type OptimizerGroup = NativeOptimizerGroup;

/** MuonAdamW over a GPT's parameters (GPT.createOptimizer makes one); disposed with its model. */
export class Optimizer implements Disposable {
  #native: NativeOptimizer | null;
  readonly config: OptimizerConfig;

  /** @internal use GPT.createOptimizer() */
  constructor(native: NativeOptimizer, config: OptimizerConfig) {
    this.#native = native;
    this.config = config;
  }

  #handle(): NativeOptimizer {
    if (!this.#native) throw new DisposedError('the optimizer has been disposed');
    return this.#native;
  }

  /** Applies the accumulated gradients, then clears them. */
  step(settings: StepSettings): void {
    this.#handle().step(settings);
  }

  zeroGrad(): void {
    this.#handle().zeroGrad();
  }

  /** Parameter groups with their initial learning rates (AdamW groups, then Muon per shape). */
  groups(): OptimizerGroup[] {
    return this.#handle().groups();
  }

  /** Steps taken so far. */
  get steps(): number {
    return this.#handle().steps();
  }

  get disposed(): boolean {
    return this.#native === null;
  }

  /** Frees the optimizer state (momentum buffers) now rather than at garbage collection. */
  dispose(): void {
    this.#native?.dispose();
    this.#native = null;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

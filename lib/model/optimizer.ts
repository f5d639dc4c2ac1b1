// MuonAdamW over a GPT's parameters (SPEC §5); the schedules that feed step() live in
// TypeScript (the training config), the update itself in native/optimizer/muon_adamw.cc.
import { NS_STEPS, REFERENCE_DEFAULTS } from '../config/knobs';
import { DisposedError } from '../errors';
import type { NativeOptimizer, NativeOptimizerGroup } from '../native/addon';

/** Optimizer hyperparameters (SPEC §6 names in camelCase). */
export interface OptimizerConfig {
  /** AdamW lr of wte and value embeddings, scaled by (model_dim / 768)^-0.5. The EMBEDDING_LR knob. */
  embeddingLr: number;
  /** AdamW lr of lm_head, scaled by (model_dim / 768)^-0.5. The UNEMBEDDING_LR knob. */
  unembeddingLr: number;
  /** Muon lr of the block matrices. The MATRIX_LR knob. */
  matrixLr: number;
  /** AdamW lr of x0_lambdas (resid_lambdas: 1% of it). The SCALAR_LR knob. */
  scalarLr: number;
  /** Muon cautious weight decay before scheduling. The WEIGHT_DECAY knob. */
  weightDecay: number;
  /** AdamW betas. The ADAM_BETAS knob. */
  adamBetas: [number, number];
  /** Polar Express iterations (NS_STEPS; not a knob). */
  nsSteps: number;
}

/** The reference's values, from the knob table. */
export const OPTIMIZER_DEFAULTS: OptimizerConfig = {
  embeddingLr: REFERENCE_DEFAULTS.EMBEDDING_LR,
  unembeddingLr: REFERENCE_DEFAULTS.UNEMBEDDING_LR,
  matrixLr: REFERENCE_DEFAULTS.MATRIX_LR,
  scalarLr: REFERENCE_DEFAULTS.SCALAR_LR,
  weightDecay: REFERENCE_DEFAULTS.WEIGHT_DECAY,
  adamBetas: [...REFERENCE_DEFAULTS.ADAM_BETAS],
  nsSteps: NS_STEPS,
};

/** Fixed by the reference (SPEC §5), not tuned: AdamW's epsilon and NorMuon's second-moment decay. */
export const OPTIMIZER_CONSTANTS = { adamEps: 1e-10, muonBeta2: 0.95 } as const;

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

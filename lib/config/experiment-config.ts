// The shape of `train/config.ts`, the one module the research agent edits (SPEC §6): the knobs
// of the table in knobs.ts plus the three schedules. Knobs keep the reference's SCREAMING_CASE
// names; the schedules are plain functions. The fixed constants (TIME_BUDGET, MAX_SEQ_LEN,
// EVAL_TOKENS) are NOT here: they come from the prepared data and the human's settings, never
// from the agent's module.
import { KNOB_NAMES, type KnobSettings } from './knobs';

export { MLP_ACTIVATIONS, REFERENCE_DEFAULTS, SCHEDULE_KEYS, type MlpActivation } from './knobs';

/** The schedules: each turns training progress (or the optimizer step) into a value. */
export interface Schedules {
  /** lr multiplier from training progress in [0, 1] (share of the time budget used). */
  lrMultiplier(progress: number): number;
  /** Muon momentum at an optimizer step. */
  muonMomentum(step: number): number;
  /** Muon weight decay from training progress in [0, 1]. */
  weightDecay(progress: number): number;
}

/** What `train/config.ts` exports by default: every knob of the table, and the schedules. */
export type ExperimentConfig = KnobSettings & Schedules;

/** The knobs of ExperimentConfig (everything but the schedule functions), in table order. */
export const CONFIG_KEYS = KNOB_NAMES;

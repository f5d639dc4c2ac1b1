// The summary block every run ends with, exactly as the reference prints it (SPEC §6):
//   ---
//   val_bpb:          0.997900
//   training_seconds: 300.1
//   ...
// Keys in this order, values padded to column 19, fixed decimals per key.
import { SUMMARY_KEYS, type ExperimentSummary, type SummaryKey } from './types';

const DECIMALS: Record<SummaryKey, number> = {
  val_bpb: 6,
  training_seconds: 1,
  total_seconds: 1,
  peak_vram_mb: 1,
  mfu_percent: 2,
  total_tokens_M: 1,
  num_steps: 0,
  num_params_M: 1,
  depth: 0,
};

/** The summary as printed: each value rounded to its printed decimals (what the loop compares). */
export function roundSummary(summary: ExperimentSummary): ExperimentSummary {
  return Object.fromEntries(SUMMARY_KEYS.map((key) => [key, Number(summary[key].toFixed(DECIMALS[key]))])) as ExperimentSummary;
}

export function formatSummary(summary: ExperimentSummary): string {
  const lines = SUMMARY_KEYS.map((key) => `${`${key}:`.padEnd(18)}${summary[key].toFixed(DECIMALS[key])}`);
  return ['---', ...lines].join('\n');
}


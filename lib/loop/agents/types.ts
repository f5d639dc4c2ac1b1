// The agent interface of the research loop: what every proposer (a coding-agent CLI, an
// OpenAI-compatible model, the offline builtin) is given and what it hands back.
// An agent's whole output is its edit of train/config.ts, left on disk, plus a one-line
// description; the loop checks the edit (only that file changed, it loads, it is not a no-op),
// commits it, runs the experiment and keeps or resets it (SPEC §7).

import type { KnobValues } from '../../config/config-source';

export type { KnobValue, KnobValues } from '../../config/config-source';

/** What became of an experiment (the `status` column of results.tsv). */
export type ResultStatus = 'keep' | 'discard' | 'crash';

/** One past experiment: a row of results.tsv with its position in the session. */
export interface ResultRow {
  /** 1-based experiment number in this session (the baseline is 1). */
  number: number;
  /** Short commit hash of the experiment's config. */
  commit: string;
  /** The score (0 for crashes). */
  val_bpb: number;
  /** Peak memory in GB (0 for crashes). */
  memory_gb: number;
  status: ResultStatus;
  /** The agent's one-line description of the change. */
  description: string;
}

/**
 * A past experiment as the builtin agent learns from it: the result row and the knob values
 * of the config that ran (parseKnobs of its train/config.ts), or null when they are unknown
 * (e.g. a session resumed from results.tsv alone). Oldest first; the first kept entry is the
 * baseline.
 */
export interface HistoryEntry extends ResultRow {
  knobs: KnobValues | null;
}

/** The harness's fixed constants (never in train/config.ts; read-only for the agent). */
export interface FixedConstants {
  /** Training seconds per experiment. */
  TIME_BUDGET: number;
  /** Context length of training and evaluation. */
  MAX_SEQ_LEN: number;
  /** Tokens scored by the evaluator. */
  EVAL_TOKENS: number;
}

/** Everything an agent is given for one proposal. */
export interface AgentContext {
  /** The repository (worktree) the experiments run in; CLI agents run here. */
  repoDir: string;
  /** Absolute path of train/config.ts, the one file the agent may change. */
  configPath: string;
  /** The text of program.md: the human's research directives. */
  program: string;
  /** The current text of train/config.ts: the best config so far (the branch head). */
  configSource: string;
  /** Every experiment of the session so far, oldest first. */
  results: readonly ResultRow[];
  /** The best kept row, or null before the baseline has run. */
  best: ResultRow | null;
  /** The last 50 log lines when the last run crashed, else null. */
  crashLog: string | null;
  /** The experiments with their knob values, oldest first (the builtin agent learns from it). */
  history: readonly HistoryEntry[];
  /** The fixed constants of the prepared data, when the loop knows them. */
  fixed?: FixedConstants;
  /** Experiments proposed but not finished (queued or running on other workers): not to be proposed again. */
  inFlight?: readonly InFlightExperiment[];
}

/** An experiment another worker is running (or will run) while the agent proposes. */
export interface InFlightExperiment {
  number: number;
  description: string;
  /** Its knob values, when its config parses. */
  knobs: HistoryEntry['knobs'];
}

/** What an agent returns; its edit of train/config.ts is on disk. */
export interface Proposal {
  /** A short description of the change (one line, at most 200 characters). */
  description: string;
}

/** Per-call options of Agent.propose. */
export interface ProposeOptions {
  /** Aborting rejects the call with the signal's reason (and stops any process it started). */
  signal?: AbortSignal;
  /** Time limit of the proposal; past it the call fails with AgentError 'timeout'. */
  timeoutMs: number;
}

/** A proposer of experiments. */
export interface Agent {
  /** What the agent is, for logs (`builtin`, `openai:<model>`, the command line). */
  readonly name: string;
  /**
   * Changes train/config.ts on disk (context.configPath) and describes the change.
   * Rejects with AgentError ('failed' | 'timeout' | 'no-change' | 'bad-reply') when it cannot.
   */
  propose(context: AgentContext, options: ProposeOptions): Promise<Proposal>;
}

/** The longest description an agent returns; longer ones are cut with an ellipsis. */
export const MAX_DESCRIPTION_LENGTH = 200;

/** One line, trimmed, control characters and ANSI escapes removed, at most 200 characters. */
export function cleanDescription(text: string): string {
  const line = text.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '').replace(/[\x00-\x1f\x7f]+/g, ' ').replace(/\s+/g, ' ').trim();
  return line.length <= MAX_DESCRIPTION_LENGTH ? line : `${line.slice(0, MAX_DESCRIPTION_LENGTH - 1).trimEnd()}…`;
}

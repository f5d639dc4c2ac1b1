// `--agent <spec>` to an Agent: 'builtin' (the default, offline), 'openai:<model>' (an
// OpenAI-compatible chat model), anything else a coding-agent command line.

import { ConfigError } from '../../errors';
import { BuiltinAgent } from './builtin-agent';
import { CliAgent, type CliAgentOptions } from './cli-agent';
import { OpenAIAgent, type OpenAIAgentOptions } from './openai-agent';
import type { Agent } from './types';

/** The agent used when none is asked for. */
export const DEFAULT_AGENT = 'builtin';

/** Options for every kind; each kind uses its own. */
export interface CreateAgentOptions extends CliAgentOptions, OpenAIAgentOptions {
  /** Seed of the builtin agent's proposals. */
  seed?: number;
}

/** Which kind of agent a spec names. */
export function agentKind(spec: string): 'builtin' | 'openai' | 'cli' {
  const s = spec.trim();
  if (s === 'builtin') return 'builtin';
  if (/^openai:/.test(s)) return 'openai';
  return 'cli';
}

/** The agent for an `--agent` value. */
export function createAgent(spec: string = DEFAULT_AGENT, options: CreateAgentOptions = {}): Agent {
  const s = spec.trim();
  if (s === '') throw new ConfigError(`--agent is empty: use 'builtin', 'openai:<model>' or a command line, e.g. --agent "my-agent --yes"`);
  switch (agentKind(s)) {
    case 'builtin':
      return new BuiltinAgent({ ...(options.seed !== undefined ? { seed: options.seed } : {}) });
    case 'openai':
      return new OpenAIAgent(s.slice('openai:'.length).trim(), options);
    default:
      return new CliAgent(s, options);
  }
}

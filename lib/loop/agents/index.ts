// The research loop's agents: one interface, three kinds (builtin, openai:<model>, a command line).
export * from './types';
export { buildPrompt, formatResults, PROMPT_LAST_ROWS, type PromptOptions } from './prompt';
export { configKey, findKnobs, formatKnobValue, parseKnobs, setKnob, type KnobSite } from '../../config/config-source';
export {
  BuiltinAgent,
  candidateMoves,
  createBuiltinAgent,
  knobProblems,
  learnFromHistory,
  planProposal,
  type BuiltinAgentOptions,
  type BuiltinPlan,
  type DirectionStats,
  type KnobChange,
  type Move,
} from './builtin-agent';
export { CliAgent, createCliAgent, DESCRIPTION_FILE, type CliAgentOptions } from './cli-agent';
export { createOpenAIAgent, DEFAULT_OPENAI_BASE_URL, OpenAIAgent, parseReply, type OpenAIAgentOptions } from './openai-agent';
export { agentKind, createAgent, DEFAULT_AGENT, type CreateAgentOptions } from './factory';

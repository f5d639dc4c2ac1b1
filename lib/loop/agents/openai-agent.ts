// A chat model behind an OpenAI-compatible API as the research agent (`--agent openai:<model>`).
// One POST to {baseUrl}/chat/completions with the prompt (reply form: the whole new
// train/config.ts in a ```ts block and a `DESCRIPTION: ...` line); the module replaces the file.
// Works with any server that speaks the protocol (OpenAI, vLLM, llama.cpp's server, Ollama's
// /v1), given its base URL. No retries here: a failed proposal is the loop's to count and retry.

import { promises as fs } from 'node:fs';
import { env } from '../../env';
import { AgentError, ConfigError } from '../../errors';
import { buildPrompt } from './prompt';
import { cleanDescription, type Agent, type AgentContext, type Proposal, type ProposeOptions } from './types';

/** The API used when neither the option nor AUTORESEARCH_OPENAI_BASE_URL says otherwise. */
export const DEFAULT_OPENAI_BASE_URL = 'https://api.openai.com/v1';

/** Options of the OpenAI-compatible agent. */
export interface OpenAIAgentOptions {
  /** API base URL (default: AUTORESEARCH_OPENAI_BASE_URL, else https://api.openai.com/v1). */
  baseUrl?: string;
  /** Bearer token (default: AUTORESEARCH_API_KEY, else OPENAI_API_KEY). */
  apiKey?: string;
  /** Sampling temperature; left out of the request (the server's default) when not given. */
  temperature?: number;
}

const SYSTEM_MESSAGE =
  'You are an expert machine-learning researcher tuning the training config of a small GPT. ' +
  'You answer with the complete new config module in one ```ts code block and a final line DESCRIPTION: <one line>.';

const BODY_EXCERPT_CHARS = 300;

function excerpt(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length <= BODY_EXCERPT_CHARS ? t : `${t.slice(0, BODY_EXCERPT_CHARS)}…`;
}

/** The parts of a model's reply: the module (the last ts/typescript block) and the description. */
export function parseReply(reply: string): { module: string | null; description: string | null } {
  const blocks = [...reply.matchAll(/^[ \t]*(`{3,}|~{3,})[ \t]*(ts|typescript)[ \t]*\r?\n([\s\S]*?)\r?\n[ \t]*\1[ \t]*$/gim)];
  const modules = blocks.map((m) => m[3]!).filter((b) => /\bexport\s+default\b/.test(b));
  const module = modules.at(-1) ?? null;
  // DESCRIPTION outside the code blocks; markdown emphasis around the label is tolerated.
  let outside = reply;
  for (const b of blocks) outside = outside.replace(b[0], '');
  const d = [...outside.matchAll(/^[ \t>*_#-]*DESCRIPTION[*_]*[ \t]*:[*_]*[ \t]*(.+)$/gim)].at(-1);
  const description = d ? cleanDescription(d[1]!.replace(/^[`*_]+|[`*_]+$/g, '')) || null : null;
  return { module: module === null ? null : `${module.replace(/\s+$/, '')}\n`, description };
}

/** An OpenAI-compatible chat model. */
export class OpenAIAgent implements Agent {
  readonly name: string;
  readonly baseUrl: string;
  private readonly apiKey: string;

  constructor(
    /** The model name sent in the request, as the server names it. */
    readonly model: string,
    private readonly options: OpenAIAgentOptions = {},
  ) {
    if (model.trim() === '') throw new ConfigError('the openai agent needs a model name: --agent openai:<model>, the name the server knows it by');
    this.name = `openai:${model}`;
    this.baseUrl = (options.baseUrl ?? env.openaiBaseUrl() ?? DEFAULT_OPENAI_BASE_URL).replace(/\/+$/, '');
    const key = options.apiKey ?? env.apiKey();
    if (!key) {
      throw new ConfigError(
        `the ${this.name} agent needs an API key: set OPENAI_API_KEY (or AUTORESEARCH_API_KEY) in the environment ` +
          '(for a local server that does not check keys, any non-empty value works)',
      );
    }
    this.apiKey = key;
  }

  async propose(context: AgentContext, options: ProposeOptions): Promise<Proposal> {
    options.signal?.throwIfAborted();
    const url = `${this.baseUrl}/chat/completions`;
    const body = {
      model: this.model,
      messages: [
        { role: 'system', content: SYSTEM_MESSAGE },
        { role: 'user', content: buildPrompt(context, { mode: 'reply' }) },
      ],
      ...(this.options.temperature !== undefined ? { temperature: this.options.temperature } : {}),
    };
    const timeout = AbortSignal.timeout(options.timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;

    let status: number;
    let text: string;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.apiKey}` },
        body: JSON.stringify(body),
        signal,
      });
      status = response.status;
      text = await response.text();
    } catch (e) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (timeout.aborted) throw new AgentError('timeout', `${this.name}: no complete reply from ${url} within ${options.timeoutMs} ms`, { cause: e });
      const cause = (e as { cause?: { message?: string } }).cause?.message ?? (e as Error).message;
      throw new AgentError('failed', `${this.name}: request to ${url} failed (${cause}); check the base URL and that the server is up`, { cause: e });
    }

    if (status < 200 || status >= 300) {
      const hint = status === 401 || status === 403 ? ' (check the API key)' : status === 404 ? ' (check the base URL and the model name)' : '';
      throw new AgentError('failed', `${this.name}: HTTP ${status} from ${url}${hint}: ${excerpt(text)}`);
    }
    let content: unknown;
    try {
      content = (JSON.parse(text) as { choices?: { message?: { content?: unknown } }[] }).choices?.[0]?.message?.content;
    } catch {
      throw new AgentError('bad-reply', `${this.name}: the reply from ${url} is not JSON: ${excerpt(text)}`);
    }
    if (typeof content !== 'string') {
      throw new AgentError('bad-reply', `${this.name}: the reply from ${url} has no choices[0].message.content: ${excerpt(text)}`);
    }
    const { module, description } = parseReply(content);
    if (module === null) {
      throw new AgentError(
        'bad-reply',
        `${this.name}: the reply has no \`\`\`ts code block holding the config module (with its export default): ${excerpt(content)}`,
      );
    }
    const before = await fs.readFile(context.configPath, 'utf8').catch(() => null);
    if (module === before) throw new AgentError('no-change', `${this.name}: the returned config module is identical to the current one`);
    await fs.writeFile(context.configPath, module);
    return { description: description ?? 'change by the model (no DESCRIPTION line in its reply)' };
  }
}

/** An OpenAI-compatible agent for a model name. */
export function createOpenAIAgent(model: string, options: OpenAIAgentOptions = {}): OpenAIAgent {
  return new OpenAIAgent(model, options);
}

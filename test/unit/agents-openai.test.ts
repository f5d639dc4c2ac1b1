// The OpenAI-compatible agent against a real HTTP server on 127.0.0.1.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { AgentError } from '../../lib/errors';
import { OpenAIAgent, parseReply } from '../../lib/loop/agents/openai-agent';
import { buildPrompt } from '../../lib/loop/agents/prompt';
import { CONFIG_SOURCE, contextFor, tempRepo, type TempRepo } from '../agents-fixtures';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

let server: http.Server;
let baseUrl: string;
let seen: Seen[];
let repo: TempRepo;

/** Starts a server whose every request is answered by `handler`. */
async function serve(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>): Promise<void> {
  seen = [];
  server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown = raw;
    try {
      body = JSON.parse(raw);
    } catch {
      // keep the raw text
    }
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
    await handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
}

function completion(content: string): string {
  return JSON.stringify({ id: 'c1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] });
}

function json(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(body);
}

const NEW_MODULE = CONFIG_SOURCE.replace('  MATRIX_LR: 0.04,', '  MATRIX_LR: 0.05,');

beforeEach(async () => (repo = await tempRepo()));
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await repo.remove();
});

async function rejection(p: Promise<unknown>): Promise<AgentError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(AgentError);
    return e as AgentError;
  }
  throw new Error('expected the proposal to fail');
}

test('a good reply: the module is written, the description parsed; the request carries model, messages and the key', async () => {
  const reply = `I will raise the Muon learning rate a little.\n\n\`\`\`typescript\n${NEW_MODULE}\`\`\`\n\n**DESCRIPTION:** MATRIX_LR 0.04 -> 0.05\n`;
  await serve((_req, res) => json(res, 200, completion(reply)));
  const context = contextFor(repo);
  const agent = new OpenAIAgent('test-model', { baseUrl, apiKey: 'sk-test-123', temperature: 0.7 });
  const proposal = await agent.propose(context, { timeoutMs: 10000 });

  expect(proposal).toEqual({ description: 'MATRIX_LR 0.04 -> 0.05' });
  expect(readFileSync(repo.configPath, 'utf8')).toBe(NEW_MODULE);
  expect(seen).toHaveLength(1);
  const req = seen[0]!;
  expect(req.method).toBe('POST');
  expect(req.url).toBe('/v1/chat/completions');
  expect(req.headers.authorization).toBe('Bearer sk-test-123');
  expect(req.headers['content-type']).toBe('application/json');
  const body = req.body as { model: string; temperature: number; messages: { role: string; content: string }[] };
  expect(body.model).toBe('test-model');
  expect(body.temperature).toBe(0.7);
  expect(body.messages.map((m) => m.role)).toEqual(['system', 'user']);
  expect(body.messages[1]!.content).toBe(buildPrompt(context, { mode: 'reply' }));
});

test('the base URL and the key come from the environment when not given', async () => {
  await serve((_req, res) => json(res, 200, completion(`\`\`\`ts\n${NEW_MODULE}\`\`\`\nDESCRIPTION: from env`)));
  const saved = { url: process.env.AUTORESEARCH_OPENAI_BASE_URL, key: process.env.AUTORESEARCH_API_KEY };
  process.env.AUTORESEARCH_OPENAI_BASE_URL = `${baseUrl}/`;
  process.env.AUTORESEARCH_API_KEY = 'env-key';
  try {
    const agent = new OpenAIAgent('m');
    expect(agent.baseUrl).toBe(baseUrl);
    expect((await agent.propose(contextFor(repo), { timeoutMs: 10000 })).description).toBe('from env');
    expect(seen[0]!.headers.authorization).toBe('Bearer env-key');
    expect((seen[0]!.body as { temperature?: number }).temperature).toBeUndefined();
  } finally {
    for (const [k, v] of [['AUTORESEARCH_OPENAI_BASE_URL', saved.url], ['AUTORESEARCH_API_KEY', saved.key]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});

test('HTTP 500: AgentError failed with the status and an excerpt of the body; the config is untouched', async () => {
  await serve((_req, res) => json(res, 500, JSON.stringify({ error: { message: 'The server had an error while processing your request.' } }) + 'x'.repeat(1000) + 'TAIL'));
  const e = await rejection(new OpenAIAgent('m', { baseUrl, apiKey: 'k' }).propose(contextFor(repo), { timeoutMs: 10000 }));
  expect(e.kind).toBe('failed');
  expect(e.message).toContain('HTTP 500');
  expect(e.message).toContain(`${baseUrl}/chat/completions`);
  expect(e.message).toContain('The server had an error while processing your request.');
  expect(e.message).not.toContain('TAIL'); // an excerpt, not the whole body
  expect(readFileSync(repo.configPath, 'utf8')).toBe(CONFIG_SOURCE);
});

test('HTTP 401 names the API key as the thing to check', async () => {
  await serve((_req, res) => json(res, 401, '{"error":{"message":"Incorrect API key provided"}}'));
  const e = await rejection(new OpenAIAgent('m', { baseUrl, apiKey: 'bad' }).propose(contextFor(repo), { timeoutMs: 10000 }));
  expect(e.message).toMatch(/HTTP 401 .*\(check the API key\): .*Incorrect API key provided/);
});

test('a reply without a code block: AgentError bad-reply with an excerpt of the reply', async () => {
  await serve((_req, res) => json(res, 200, completion('I think you should raise MATRIX_LR to 0.05.\nDESCRIPTION: MATRIX_LR up')));
  const e = await rejection(new OpenAIAgent('m', { baseUrl, apiKey: 'k' }).propose(contextFor(repo), { timeoutMs: 10000 }));
  expect(e.kind).toBe('bad-reply');
  expect(e.message).toContain('no ```ts code block');
  expect(e.message).toContain('I think you should raise MATRIX_LR to 0.05.');
  expect(readFileSync(repo.configPath, 'utf8')).toBe(CONFIG_SOURCE);
});

test('a body that is not a chat completion: bad-reply', async () => {
  await serve((_req, res) => json(res, 200, '<html>proxy login</html>'));
  const e = await rejection(new OpenAIAgent('m', { baseUrl, apiKey: 'k' }).propose(contextFor(repo), { timeoutMs: 10000 }));
  expect(e.kind).toBe('bad-reply');
  expect(e.message).toContain('not JSON: <html>proxy login</html>');
});

test('the same module back: no-change', async () => {
  await serve((_req, res) => json(res, 200, completion(`\`\`\`ts\n${CONFIG_SOURCE}\`\`\`\nDESCRIPTION: nothing`)));
  const e = await rejection(new OpenAIAgent('m', { baseUrl, apiKey: 'k' }).propose(contextFor(repo), { timeoutMs: 10000 }));
  expect(e.kind).toBe('no-change');
});

test('a slow server past the timeout: AgentError timeout, promptly', async () => {
  await serve(async (_req, res) => {
    await new Promise<void>((r) => {
      const timer = setTimeout(r, 5000);
      res.on('close', () => (clearTimeout(timer), r())); // the client gave up
    });
    if (!res.destroyed) json(res, 200, completion(`\`\`\`ts\n${NEW_MODULE}\`\`\`\nDESCRIPTION: late`));
  });
  const started = Date.now();
  const e = await rejection(new OpenAIAgent('m', { baseUrl, apiKey: 'k' }).propose(contextFor(repo), { timeoutMs: 400 }));
  expect(e.kind).toBe('timeout');
  expect(e.message).toContain('within 400 ms');
  expect(Date.now() - started).toBeLessThan(3000);
  expect(readFileSync(repo.configPath, 'utf8')).toBe(CONFIG_SOURCE);
});

test('a server that is not there: failed, naming the URL', async () => {
  await serve((_req, res) => json(res, 200, '{}'));
  const url = baseUrl;
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  const e = await rejection(new OpenAIAgent('m', { baseUrl: url, apiKey: 'k' }).propose(contextFor(repo), { timeoutMs: 5000 }));
  expect(e.kind).toBe('failed');
  expect(e.message).toContain(`request to ${url}/chat/completions failed`);
  expect(e.message).toContain('ECONNREFUSED');
});

test('parseReply: the last module block, description outside the block, tolerant of emphasis and fences', () => {
  const reply = [
    'First idea:',
    '```ts',
    'const X = 1; // no default export: not the module',
    '```',
    'The module:',
    '````typescript',
    'const A = 1;',
    '// DESCRIPTION: inside the code, not the one',
    'export default { A };',
    '````',
    '',
    'DESCRIPTION: `A stays 1, formatting`',
  ].join('\n');
  expect(parseReply(reply)).toEqual({
    module: 'const A = 1;\n// DESCRIPTION: inside the code, not the one\nexport default { A };\n',
    description: 'A stays 1, formatting',
  });
  expect(parseReply('no block\nDESCRIPTION: x')).toEqual({ module: null, description: 'x' });
  expect(parseReply('```ts\nexport default {};\n```').description).toBeNull();
});

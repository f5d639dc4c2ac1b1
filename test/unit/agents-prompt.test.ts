// buildPrompt: what every LLM-backed agent is told; createAgent: the --agent flag.
import { AgentError, ConfigError } from '../../lib/errors';
import { BuiltinAgent } from '../../lib/loop/agents/builtin-agent';
import { CliAgent } from '../../lib/loop/agents/cli-agent';
import { agentKind, createAgent } from '../../lib/loop/agents/factory';
import { OpenAIAgent } from '../../lib/loop/agents/openai-agent';
import { buildPrompt } from '../../lib/loop/agents/prompt';
import { CONFIG_SOURCE, contextFor, PROGRAM, row, tempRepo, type TempRepo } from '../agents-fixtures';

let repo: TempRepo;
beforeEach(async () => (repo = await tempRepo()));
afterEach(() => repo.remove());

const rows = [
  row(1, 'keep', 1.5, 'baseline'),
  row(2, 'discard', 1.52, 'MATRIX_LR 0.04 -> 0.028'),
  row(3, 'keep', 1.47, 'DEPTH 8 -> 6'),
  row(4, 'crash', 0, 'DEVICE_BATCH_SIZE 128 -> 256'),
  row(5, 'discard', 1.49, 'WINDOW_PATTERN | SSSL -> L'),
];

test('the prompt holds program.md, the config in a ts block, the best, the results table and the task', () => {
  const context = contextFor(repo, { results: rows, best: rows[2]! });
  const prompt = buildPrompt(context);

  expect(prompt).toContain(PROGRAM.trim());
  expect(prompt).toContain('```ts\n' + CONFIG_SOURCE.trimEnd() + '\n```');
  expect(prompt).toContain('5 experiments so far: 2 kept, 2 discarded, 1 crashed.');
  expect(prompt).toMatch(/Best so far.*#3 \(commit abc0003\): val_bpb 1\.470000, 1\.5 GB — DEPTH 8 -> 6/);
  expect(prompt).toContain('| # | commit | val_bpb | memory_gb | status | description |');
  expect(prompt).toContain('| 4 | abc0004 | 0.000000 | 0.0 | crash | DEVICE_BATCH_SIZE 128 -> 256 |');
  expect(prompt).toContain('| 5 | abc0005 | 1.490000 | 1.5 | discard | WINDOW_PATTERN \\| SSSL -> L |'); // a | cannot break the table
  // The task: edit only train/config.ts, the description on the last line.
  expect(prompt).toContain('Change only train/config.ts');
  expect(prompt).toContain(`Edit ${repo.configPath} in place`);
  expect(prompt).toContain('LAST line of your output');
  expect(prompt).not.toContain('DESCRIPTION:');
  expect(prompt).not.toContain('crashed (#'); // no crash section without a crash log
  // The order: directives, config, results, task.
  const order = [PROGRAM.trim(), '  DEPTH: 8,', '| # | commit', '# Your task'].map((s) => prompt.indexOf(s));
  expect(order.every((i) => i >= 0)).toBe(true);
  expect([...order].sort((a, b) => a - b)).toEqual(order);
});

test('only the last N rows are listed; the best is named even when it is older', () => {
  const many = Array.from({ length: 30 }, (_, i) => row(i + 1, i === 0 ? 'keep' : 'discard', 1.5 + i / 1000, `change ${i + 1}`));
  const prompt = buildPrompt(contextFor(repo, { results: many, best: many[0]! }), { lastRows: 5 });
  expect(prompt).toContain('The last 5:');
  for (let n = 26; n <= 30; n++) expect(prompt).toContain(`| ${n} | `);
  for (let n = 2; n <= 25; n++) expect(prompt).not.toContain(`| ${n} | `);
  expect(prompt).toContain('#1 (commit abc0001): val_bpb 1.500000');
  expect(buildPrompt(contextFor(repo, { results: many, best: many[0]! }))).toContain('The last 20:');
});

test('the crash log is included when the last run crashed', () => {
  const log = 'step 00012 | loss 3.2\nRuntimeError: out of memory\nFAIL';
  const prompt = buildPrompt(contextFor(repo, { results: rows.slice(0, 4), best: rows[2]!, crashLog: log }));
  expect(prompt).toContain('# The last run crashed (#4: DEVICE_BATCH_SIZE 128 -> 256)');
  expect(prompt).toContain('```\n' + log + '\n```');
  expect(prompt).toContain('fix');
});

test('experiments running on other workers are listed, not to be proposed again', () => {
  const prompt = buildPrompt({
    ...contextFor(repo, { results: rows.slice(0, 3), best: rows[2]! }),
    inFlight: [
      { number: 7, description: 'MATRIX_LR 0.04 -> 0.05', knobs: null },
      { number: 8, description: 'DEPTH 4 -> 5', knobs: null },
    ],
  });
  expect(prompt).toContain('# Running now on other workers (2)');
  expect(prompt).toContain('- #7: MATRIX_LR 0.04 -> 0.05\n- #8: DEPTH 4 -> 5');
  expect(buildPrompt(contextFor(repo, { results: rows.slice(0, 3), best: rows[2]! }))).not.toContain('Running now');
});

test('before any experiment the prompt says the next run is the baseline', () => {
  const prompt = buildPrompt(contextFor(repo, { results: [], best: null }));
  expect(prompt).toContain('No experiments yet: the next run is the baseline.');
  expect(prompt).not.toContain('| # | commit');
});

test("the 'reply' form asks for the whole module in a ts block and a DESCRIPTION line", () => {
  const prompt = buildPrompt(contextFor(repo), { mode: 'reply' });
  expect(prompt).toContain('COMPLETE new train/config.ts in one ```ts code block');
  expect(prompt).toContain('DESCRIPTION: <');
  expect(prompt).not.toContain('in place');
});

test('the fixed constants are listed when known; a config holding ``` gets a longer fence', () => {
  const source = CONFIG_SOURCE + '// an example: ```ts code ```\n';
  const prompt = buildPrompt(contextFor(repo, { configSource: source, fixed: { TIME_BUDGET: 300, MAX_SEQ_LEN: 256, EVAL_TOKENS: 65536 } }));
  expect(prompt).toContain('TIME_BUDGET = 300 s of training, MAX_SEQ_LEN = 256, EVAL_TOKENS = 65536');
  expect(prompt).toContain('````ts\n' + source.trimEnd() + '\n````');
});

test('createAgent: builtin, openai:<model>, or a command line', () => {
  expect(createAgent('builtin')).toBeInstanceOf(BuiltinAgent);
  expect(createAgent()).toBeInstanceOf(BuiltinAgent);
  expect((createAgent('builtin', { seed: 7 }) as BuiltinAgent).seed).toBe(7);

  const openai = createAgent('openai:small-model', { apiKey: 'k', baseUrl: 'http://127.0.0.1:9/v1/' });
  expect(openai).toBeInstanceOf(OpenAIAgent);
  expect(openai.name).toBe('openai:small-model');
  expect((openai as OpenAIAgent).baseUrl).toBe('http://127.0.0.1:9/v1');

  const cli = createAgent('my-agent --yes -p "$(cat $AUTORESEARCH_PROMPT_FILE)"');
  expect(cli).toBeInstanceOf(CliAgent);
  expect(cli.name).toBe('my-agent --yes -p "$(cat $AUTORESEARCH_PROMPT_FILE)"');
  expect(agentKind('  builtin ')).toBe('builtin');

  expect(() => createAgent('  ')).toThrow(ConfigError);
  expect(() => createAgent('openai:', { apiKey: 'k' })).toThrow(/needs a model name/);
  expect(() => new CliAgent('')).toThrow(AgentError);
});

test('the openai agent without an API key is refused with the variables to set', () => {
  const saved = { a: process.env.OPENAI_API_KEY, b: process.env.AUTORESEARCH_API_KEY };
  delete process.env.OPENAI_API_KEY;
  delete process.env.AUTORESEARCH_API_KEY;
  try {
    expect(() => createAgent('openai:my-model')).toThrow(/needs an API key: set OPENAI_API_KEY \(or AUTORESEARCH_API_KEY\)/);
    process.env.OPENAI_API_KEY = 'from-env';
    expect(() => createAgent('openai:my-model')).not.toThrow();
  } finally {
    for (const [k, v] of [['OPENAI_API_KEY', saved.a], ['AUTORESEARCH_API_KEY', saved.b]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});

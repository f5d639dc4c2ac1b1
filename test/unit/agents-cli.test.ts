// The CLI agent with small fake agent commands written here: real shells, real process groups.
import { promises as fs, existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { AgentError } from '../../lib/errors';
import { CliAgent, groupAlive, lastLine } from '../../lib/loop/agents/cli-agent';
import { buildPrompt } from '../../lib/loop/agents/prompt';
import { CONFIG_SOURCE, contextFor, tempRepo, type TempRepo } from '../agents-fixtures';

let repo: TempRepo;
let out: string; // where fake agents leave what the test checks (outside the repository)
beforeEach(async () => {
  repo = await tempRepo();
  out = path.join(repo.dir, '..', `${path.basename(repo.dir)}-out`);
  await fs.mkdir(out);
});
afterEach(async () => {
  await repo.remove();
  await fs.rm(out, { recursive: true, force: true });
});

/** Writes an executable sh script into the output directory and returns its path. */
async function script(name: string, body: string): Promise<string> {
  const file = path.join(out, name);
  await fs.writeFile(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return file;
}

/** Whether a pid is a live (not zombie) process. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]!);
  } catch {
    return false;
  }
}

const EDIT = `sed -i 's/^  MATRIX_LR: 0.04,/  MATRIX_LR: 0.05,/' train/config.ts`;

async function rejection(p: Promise<unknown>): Promise<AgentError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(AgentError);
    return e as AgentError;
  }
  throw new Error('expected the proposal to fail');
}

test('a good change: the prompt arrives on stdin and in $AUTORESEARCH_PROMPT_FILE, the description is the last stdout line', async () => {
  const agent = await script(
    'good.sh',
    [
      `cat > "$OUT/stdin.txt"`,
      `cp "$AUTORESEARCH_PROMPT_FILE" "$OUT/prompt-file.txt"`,
      `pwd > "$OUT/cwd.txt"`,
      `echo "$AUTORESEARCH_CONFIG_FILE" > "$OUT/config-file.txt"`,
      EDIT,
      `echo "thinking about the learning rate..."`,
      `printf '\\033[1mMATRIX_LR 0.04 -> 0.05\\033[0m\\n\\n   \\n'`,
    ].join('\n'),
  );
  const context = contextFor(repo);
  const proposal = await new CliAgent(agent, { env: { OUT: out } }).propose(context, { timeoutMs: 20000 });

  expect(proposal).toEqual({ description: 'MATRIX_LR 0.04 -> 0.05' }); // trimmed, ANSI escapes gone, blank lines skipped
  const prompt = buildPrompt(context, { mode: 'edit' });
  expect(readFileSync(path.join(out, 'stdin.txt'), 'utf8')).toBe(prompt);
  expect(readFileSync(path.join(out, 'prompt-file.txt'), 'utf8')).toBe(prompt);
  expect(readFileSync(path.join(out, 'cwd.txt'), 'utf8').trim()).toBe(await fs.realpath(repo.dir));
  expect(readFileSync(path.join(out, 'config-file.txt'), 'utf8').trim()).toBe(repo.configPath);
  expect(readFileSync(repo.configPath, 'utf8')).toBe(CONFIG_SOURCE.replace('  MATRIX_LR: 0.04,', '  MATRIX_LR: 0.05,'));
  expect(existsSync(path.join(repo.dir, '.autoresearch'))).toBe(false);
});

test('a change that also touches another file: the agent reports it like any other (the loop polices files)', async () => {
  const agent = await script('two-files.sh', ['echo "notes" > notes.txt', EDIT, 'echo "MATRIX_LR up, notes added"'].join('\n'));
  const proposal = await new CliAgent(agent).propose(contextFor(repo), { timeoutMs: 20000 });
  expect(proposal.description).toBe('MATRIX_LR up, notes added');
  expect(readFileSync(path.join(repo.dir, 'notes.txt'), 'utf8')).toBe('notes\n');
});

test('.autoresearch/description wins over stdout, is cut to 200 characters, and is removed afterwards', async () => {
  const long = 'x'.repeat(300);
  const agent = await script(
    'desc-file.sh',
    [EDIT, 'mkdir -p .autoresearch', `printf 'MATRIX_LR 0.04 -> 0.05 (file)\\n' > "$AUTORESEARCH_DESCRIPTION_FILE"`, 'echo "stdout line"'].join('\n'),
  );
  expect((await new CliAgent(agent).propose(contextFor(repo), { timeoutMs: 20000 })).description).toBe('MATRIX_LR 0.04 -> 0.05 (file)');
  expect(existsSync(path.join(repo.dir, '.autoresearch'))).toBe(false);

  await fs.writeFile(repo.configPath, CONFIG_SOURCE);
  const longAgent = await script('long.sh', [EDIT, `echo "${long}"`].join('\n'));
  const { description } = await new CliAgent(longAgent).propose(contextFor(repo), { timeoutMs: 20000 });
  expect(description).toHaveLength(200);
  expect(description.endsWith('…')).toBe(true);
});

test('a stale description file from an earlier run is not read', async () => {
  await fs.mkdir(path.join(repo.dir, '.autoresearch'));
  await fs.writeFile(path.join(repo.dir, '.autoresearch', 'description'), 'stale description\n');
  const agent = await script('fresh.sh', [EDIT, 'echo "fresh description"'].join('\n'));
  expect((await new CliAgent(agent).propose(contextFor(repo), { timeoutMs: 20000 })).description).toBe('fresh description');
});

test('a command that exits non-zero: AgentError failed with the exit code and the tail of stderr', async () => {
  const agent = await script(
    'fails.sh',
    ['i=1; while [ $i -le 100 ]; do echo "noise line $i" >&2; i=$((i+1)); done', 'echo "fatal: model not found" >&2', 'exit 3'].join('\n'),
  );
  const e = await rejection(new CliAgent(agent).propose(contextFor(repo), { timeoutMs: 20000 }));
  expect(e.kind).toBe('failed');
  expect(e.message).toContain('exited with code 3');
  expect(e.message).toContain(agent);
  expect(e.message).toContain('fatal: model not found');
  expect(e.message).toContain('noise line 100');
  expect(e.message).not.toContain('noise line 50\n'); // only the tail
  expect(e.message.length).toBeLessThan(2600);
});

test('a command that is not found fails with the shell saying so', async () => {
  const e = await rejection(new CliAgent('no-such-agent-command-xyz --go').propose(contextFor(repo), { timeoutMs: 20000 }));
  expect(e.kind).toBe('failed');
  expect(e.message).toMatch(/exited with code 127[\s\S]*not found/);
});

test('a command that sleeps past the timeout: AgentError timeout, its whole process group killed', async () => {
  const agent = await script('sleeps.sh', ['echo $$ > "$OUT/shell.pid"', 'sleep 30 &', 'echo $! > "$OUT/sleep.pid"', 'wait'].join('\n'));
  const started = Date.now();
  const e = await rejection(new CliAgent(agent, { env: { OUT: out } }).propose(contextFor(repo), { timeoutMs: 1000 }));
  expect(e.kind).toBe('timeout');
  expect(e.message).toContain('timed out after 1000 ms');
  expect(Date.now() - started).toBeLessThan(8000);
  const shell = Number(readFileSync(path.join(out, 'shell.pid'), 'utf8'));
  const sleeper = Number(readFileSync(path.join(out, 'sleep.pid'), 'utf8'));
  expect(alive(shell)).toBe(false);
  expect(alive(sleeper)).toBe(false);
  expect(groupAlive(shell)).toBe(false);
});

test('a command that ignores SIGTERM is killed with SIGKILL after the grace period', async () => {
  const agent = await script(
    'stubborn.sh',
    ["trap '' TERM", 'echo $$ > "$OUT/shell.pid"', "sh -c \"trap '' TERM; sleep 30\" &", 'echo $! > "$OUT/child.pid"', 'wait'].join('\n'),
  );
  const started = Date.now();
  const e = await rejection(new CliAgent(agent, { env: { OUT: out }, killGraceMs: 300 }).propose(contextFor(repo), { timeoutMs: 800 }));
  expect(e.kind).toBe('timeout');
  expect(Date.now() - started).toBeLessThan(8000);
  for (const f of ['shell.pid', 'child.pid']) expect(alive(Number(readFileSync(path.join(out, f), 'utf8')))).toBe(false);
});

test('background processes left behind by a command that exits are stopped too', async () => {
  const agent = await script('leaves.sh', ['sleep 30 > /dev/null 2>&1 &', 'echo $! > "$OUT/bg.pid"', EDIT, 'echo "MATRIX_LR 0.04 -> 0.05"'].join('\n'));
  const proposal = await new CliAgent(agent, { env: { OUT: out } }).propose(contextFor(repo), { timeoutMs: 20000 });
  expect(proposal.description).toBe('MATRIX_LR 0.04 -> 0.05');
  expect(alive(Number(readFileSync(path.join(out, 'bg.pid'), 'utf8')))).toBe(false);
});

test('a command that changes nothing: AgentError no-change', async () => {
  const agent = await script('idle.sh', 'cat > /dev/null; echo "I would rather not change anything"');
  const e = await rejection(new CliAgent(agent).propose(contextFor(repo), { timeoutMs: 20000 }));
  expect(e.kind).toBe('no-change');
  expect(e.message).toContain('without changing train/config.ts');
  expect(readFileSync(repo.configPath, 'utf8')).toBe(CONFIG_SOURCE);
});

test('aborting the signal stops the command and rejects with the reason', async () => {
  const agent = await script('slow.sh', ['echo $$ > "$OUT/shell.pid"', 'sleep 30'].join('\n'));
  const controller = new AbortController();
  const pending = new CliAgent(agent, { env: { OUT: out } }).propose(contextFor(repo), { timeoutMs: 20000, signal: controller.signal });
  while (!existsSync(path.join(out, 'shell.pid'))) await new Promise((r) => setTimeout(r, 20));
  const aborted = Date.now();
  controller.abort(new Error('stopped by the user'));
  await expect(pending).rejects.toThrow('stopped by the user');
  expect(Date.now() - aborted).toBeLessThan(5000);
  expect(alive(Number(readFileSync(path.join(out, 'shell.pid'), 'utf8')))).toBe(false);
});

test('onOutput receives the transcript; lastLine skips blank lines and control characters', async () => {
  const agent = await script('talks.sh', [EDIT, 'echo "to stdout"', 'echo "to stderr" >&2', 'echo "done: MATRIX_LR up"'].join('\n'));
  const chunks: { chunk: string; stream: string }[] = [];
  await new CliAgent(agent, { onOutput: (chunk, stream) => chunks.push({ chunk, stream }) }).propose(contextFor(repo), { timeoutMs: 20000 });
  expect(chunks.filter((c) => c.stream === 'stdout').map((c) => c.chunk).join('')).toBe('to stdout\ndone: MATRIX_LR up\n');
  expect(chunks.filter((c) => c.stream === 'stderr').map((c) => c.chunk).join('')).toBe('to stderr\n');
  expect(lastLine('a\r\nb\t c \r\n\n  \n')).toBe('b c');
  expect(lastLine('\n\n')).toBe('');
});

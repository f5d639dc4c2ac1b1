// The loop survives a misbehaving agent, a lost parent and damaged files: misbehaving agent
// scripts on real repositories (judged with the git CLI), both results files, and `ps`.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { researchLoop } from '../../lib';
import { prepare } from '../../lib/data/prepare';
import { evaluateCheckpoint } from '../../lib/cli/eval';
import { readResults } from '../../lib/loop/results';
import { packageRoot } from '../../lib/native/load';
import { runExperiment } from '../../lib/runner/run-experiment';

const root = packageRoot();
let cache: string;
let work: string;

const TINY_CONFIG = fs
  .readFileSync(path.join(root, 'train', 'config.ts'), 'utf8')
  .replace('  DEPTH: 8,', '  DEPTH: 1,')
  .replace('  HEAD_DIM: 128,', '  HEAD_DIM: 32,')
  .replace('  TOTAL_BATCH_SIZE: 2 ** 19,', '  TOTAL_BATCH_SIZE: 2 ** 10,')
  .replace('  DEVICE_BATCH_SIZE: 128,', '  DEVICE_BATCH_SIZE: 8,');

function makeRepo(name: string): { dir: string; git: (...args: string[]) => string } {
  const dir = path.join(work, name);
  fs.mkdirSync(path.join(dir, 'train'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'train', 'config.ts'), TINY_CONFIG);
  fs.copyFileSync(path.join(root, 'program.md'), path.join(dir, 'program.md'));
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8' }).trim();
  git('init', '-q', '-b', 'main');
  git('config', 'user.name', 'Test');
  git('config', 'user.email', 'test@example.com');
  git('add', '-A');
  git('commit', '-qm', 'initial');
  return { dir, git };
}

/** An agent script that runs step `n` of `steps` (shell snippets) on its n-th call. */
function scriptedAgent(name: string, steps: string[]): string {
  const state = path.join(work, `${name}-state`);
  const script = path.join(work, `${name}.sh`);
  const cases = steps.map((body, i) => `  ${i}) ${body} ;;`).join('\n');
  fs.writeFileSync(
    script,
    `#!/bin/sh
n=$(cat ${state} 2>/dev/null || echo 0)
echo $((n + 1)) > ${state}
lr=$(awk "BEGIN { print 0.03 + $n * 0.002 }")
sed -i "s/^  MATRIX_LR: [^,]*,/  MATRIX_LR: $lr,/" train/config.ts
case $n in
${cases}
esac
echo "step $n: MATRIX_LR $lr"
`,
  );
  return `sh ${script}`;
}

beforeAll(async () => {
  cache = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-faults-cache-'));
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-faults-'));
  await prepare({ dataset: 'sotu', vocabSize: 512, seqLen: 64, evalTokens: 2048, cacheDir: cache, progress: false, log: () => undefined });
}, 120_000);
afterAll(() => {
  fs.rmSync(cache, { recursive: true, force: true });
  fs.rmSync(work, { recursive: true, force: true });
});

test('an agent that commits, switches branches, edits the results and leaves a daemon changes nothing of the loop', async () => {
  const { dir, git } = makeRepo('misbehaving');
  const agent = scriptedAgent('misbehaving', [
    `git commit -qam "the agent's own commit"`,
    `git checkout -qb other && git commit -qam "on another branch"`,
    `printf 'deadbee\\t0.1\\t0.0\\tkeep\\tforged\\n' >> results.tsv && echo '{}' > .autoresearch/run.json && git update-ref -d refs/autoresearch/faults/0`,
    `setsid sleep 1234 > /dev/null 2>&1 < /dev/null &`,
  ]);
  const lines: string[] = [];
  await researchLoop({ dir, cacheDir: cache, timeBudget: 1, device: 'cpu', tag: 'faults', max: 4, agent, log: (l) => lines.push(l) });
  const rows = await readResults(dir);
  expect(rows.map((r) => r.experiment)).toEqual([0, 1, 2, 3, 4]);
  // Every proposal ran as an experiment of train/config.ts; what the agent did is in its row.
  expect(rows.slice(1).every((r) => r.status !== 'crash')).toBe(true);
  expect(rows[1]!.description).toMatch(/step 0: MATRIX_LR 0.03 \[the agent moved HEAD to [0-9a-f]{7} with its own commits \(undone; its train\/config\.ts kept as an edit\)\]/);
  expect(rows[2]!.description).toMatch(/\[the agent switched to other \(switched back to autoresearch\/faults\); moved HEAD/);
  expect(rows.map((r) => r.diff).slice(1).every((d) => /^[-+] {2}MATRIX_LR:/m.test(d))).toBe(true);
  expect(lines.join('\n')).toMatch(/warning: the agent changed the loop's own records; restored results\.tsv, \.autoresearch\/run\.json, refs\/autoresearch\/faults\/0/);
  // git: on the run branch, HEAD at the best, only kept commits on it, every experiment reachable.
  expect(git('rev-parse', '--abbrev-ref', 'HEAD')).toBe('autoresearch/faults');
  const best = rows.filter((r) => r.status === 'keep').sort((a, b) => a.val_bpb! - b.val_bpb!)[0]!;
  expect(git('rev-parse', 'HEAD')).toBe(best.commit);
  for (const r of rows) expect(git('rev-parse', `refs/autoresearch/faults/${r.experiment}`)).toBe(r.commit);
  expect(git('log', '--format=%s', 'autoresearch/faults')).not.toMatch(/the agent's own commit|on another branch/);
  expect(git('status', '--porcelain')).toBe('');
  execFileSync('git', ['fsck', '--full', '--strict'], { cwd: dir });
  // Both results files hold the same rows; the forged one is gone.
  const tsv = fs.readFileSync(path.join(dir, 'results.tsv'), 'utf8').trim().split('\n').slice(1);
  expect(tsv.map((l) => l.split('\t')[0])).toEqual(rows.map((r) => r.commit.slice(0, 7)));
  expect(JSON.parse(fs.readFileSync(path.join(dir, '.autoresearch', 'run.json'), 'utf8'))).toMatchObject({ tag: 'faults', firstExperiment: 0 });
  // The daemon that left the agent's process group is gone.
  expect(spawnSync('pgrep', ['-f', 'sleep 1234']).stdout.toString().trim()).toBe('');
}, 300_000);

test('a config that hangs at import is a crash that says it timed out', async () => {
  const { dir } = makeRepo('hang');
  const agent = scriptedAgent('hang', [`sed -i 's/^const config = {/for (;;) {}\\nconst config = {/' train/config.ts`]);
  const started = Date.now();
  await researchLoop({ dir, cacheDir: cache, timeBudget: 1, device: 'cpu', tag: 'hang', max: 1, agent, log: () => undefined });
  const rows = await readResults(dir);
  expect(rows[1]).toMatchObject({ status: 'crash' });
  expect(rows[1]!.description).toMatch(/config does not load: train\/config\.ts \(loading\) did not finish within 10 s \(an endless loop\?\)/);
  expect(Date.now() - started).toBeLessThan(90_000);
}, 120_000);

test('resume after the last row was cut: no number or ref is reused, both files agree', async () => {
  const { dir, git } = makeRepo('cut');
  const agent = scriptedAgent('cut', ['true', 'true', 'true', 'true']);
  await researchLoop({ dir, cacheDir: cache, timeBudget: 1, device: 'cpu', tag: 'cut', max: 2, agent, log: () => undefined });
  const before = await readResults(dir);
  expect(before.map((r) => r.experiment)).toEqual([0, 1, 2]);
  const lastRef = git('rev-parse', 'refs/autoresearch/cut/2');
  // A kill in the middle of the last write: its line loses its end.
  const jsonl = path.join(dir, 'results.jsonl');
  const text = fs.readFileSync(jsonl, 'utf8');
  fs.writeFileSync(jsonl, text.slice(0, text.length - 40));
  await researchLoop({ dir, cacheDir: cache, timeBudget: 1, device: 'cpu', tag: 'cut', max: 2, agent, resume: true, log: () => undefined });
  const after = await readResults(dir);
  expect(after.map((r) => r.experiment)).toEqual([0, 1, 3]); // 2's number is spent, its ref kept
  expect(git('rev-parse', 'refs/autoresearch/cut/2')).toBe(lastRef);
  const tsv = fs.readFileSync(path.join(dir, 'results.tsv'), 'utf8').trim().split('\n').slice(1);
  expect(tsv.map((l) => l.split('\t')[0])).toEqual(after.map((r) => r.commit.slice(0, 7)));
  execFileSync('git', ['fsck', '--full', '--strict'], { cwd: dir });
}, 300_000);

test('kill -9 of `autoresearch run` takes its worker down at once, even mid-step', async () => {
  const dir = path.join(work, 'orphan');
  fs.mkdirSync(path.join(dir, 'train'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'train', 'config.ts'), TINY_CONFIG);
  const cli = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), path.join(root, 'bin/autoresearch.ts'), 'run', '--time-budget', '60', '--cache-dir', cache, '--device', 'cpu'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  cli.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const deadline = Date.now() + 60_000;
  while (!/^step 00003 /m.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const workers = spawnSync('pgrep', ['-P', String(cli.pid)]).stdout.toString().trim().split('\n').filter(Boolean);
  expect(workers.length).toBeGreaterThan(0);
  cli.kill('SIGKILL');
  const gone = Date.now() + 5000;
  const alive = () => workers.filter((pid) => fs.existsSync(`/proc/${pid}`) && !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')));
  while (alive().length > 0 && Date.now() < gone) await new Promise((r) => setTimeout(r, 50));
  expect(alive()).toEqual([]);
}, 120_000);

test('relative cache folders are the caller\'s; eval defaults fit a small EVAL_TOKENS', async () => {
  const dir = path.join(work, 'relative');
  fs.mkdirSync(path.join(dir, 'train'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'train', 'config.ts'), TINY_CONFIG);
  const cwd = process.cwd();
  process.chdir(path.dirname(cache));
  try {
    const result = await runExperiment({ dir, cacheDir: path.basename(cache), timeBudget: 1, device: 'cpu', saveCheckpoint: 'model.safetensors' });
    expect(result.status).toBe('ok');
  } finally {
    process.chdir(cwd);
  }
  // EVAL_TOKENS 2048 at MAX_SEQ_LEN 64: the default batch is 32 rows, not 8192 / 64 = 128.
  const scored = await evaluateCheckpoint({ checkpoint: path.join(dir, 'model.safetensors'), cacheDir: cache, device: 'cpu' });
  expect(scored).toMatchObject({ batchSize: 32, steps: 1, evaluatedTokens: 2048 });
}, 120_000);

// `autoresearch loop` on real temporary git repositories (read back with the git CLI), the
// built-in corpus, tiny models and a budget of one second per experiment.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { LockHeldError, researchLoop } from '../../lib';
import { prepare } from '../../lib/data/prepare';
import { readResults } from '../../lib/loop/results';
import { runtimeInfo } from '../../lib/native/runtime';
import { packageRoot } from '../../lib/native/load';

const root = packageRoot();
let cache: string;
let work: string;
const quiet = { log: () => undefined };

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: dir, encoding: 'utf8' }).trim();
}

/** A repository holding a tiny train/config.ts and program.md, committed. */
function makeRepo(name: string): string {
  const dir = path.join(work, name);
  fs.mkdirSync(path.join(dir, 'train'), { recursive: true });
  const config = fs
    .readFileSync(path.join(root, 'train', 'config.ts'), 'utf8')
    .replace('  DEPTH: 8,', '  DEPTH: 1,')
    .replace('  HEAD_DIM: 128,', '  HEAD_DIM: 32,')
    .replace('  TOTAL_BATCH_SIZE: 2 ** 19,', '  TOTAL_BATCH_SIZE: 2 ** 10,')
    .replace('  DEVICE_BATCH_SIZE: 128,', '  DEVICE_BATCH_SIZE: 16,');
  fs.writeFileSync(path.join(dir, 'train', 'config.ts'), config);
  fs.copyFileSync(path.join(root, 'program.md'), path.join(dir, 'program.md'));
  git(dir, 'init', '-q');
  git(dir, 'config', 'user.name', 'Test');
  git(dir, 'config', 'user.email', 'test@example.com');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'initial');
  return dir;
}

const loopOptions = (dir: string) => ({ dir, cacheDir: cache, timeBudget: 1, device: 'cpu', tag: 'test', ...quiet });

beforeAll(async () => {
  cache = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-loop-cache-'));
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-loop-'));
  await prepare({ dataset: 'sotu', vocabSize: 512, seqLen: 64, evalTokens: 2048, cacheDir: cache, progress: false, log: () => undefined });
}, 120_000);
afterAll(() => {
  fs.rmSync(cache, { recursive: true, force: true });
  fs.rmSync(work, { recursive: true, force: true });
});

test('--max 4 with the builtin agent: baseline + 4 rows, kept commits only on the branch, the rest reachable', async () => {
  const dir = makeRepo('builtin');
  const outcome = await researchLoop({ ...loopOptions(dir), max: 4, agent: 'builtin', seed: 1 });
  expect(outcome.branch).toBe('autoresearch/test');
  const rows = await readResults(dir);
  expect(rows.map((r) => r.experiment)).toEqual([0, 1, 2, 3, 4]);
  expect(rows[0]).toMatchObject({ status: 'keep', description: 'baseline' });
  expect(rows.map((r) => r.tag)).toEqual(Array(5).fill('test'));
  // results.tsv mirrors results.jsonl
  const tsv = fs.readFileSync(path.join(dir, 'results.tsv'), 'utf8').trim().split('\n');
  expect(tsv[0]).toBe('commit\tval_bpb\tmemory_gb\tstatus\tdescription');
  expect(tsv.slice(1).map((l) => l.split('\t')[0])).toEqual(rows.map((r) => r.commit.slice(0, 7)));
  expect(tsv.slice(1).map((l) => l.split('\t')[3])).toEqual(rows.map((r) => r.status));
  // The branch: the initial commit, the .gitignore commit, then kept experiments only, linear.
  const kept = rows.filter((r) => r.status === 'keep').map((r) => r.commit);
  const history = git(dir, 'rev-list', '--first-parent', 'HEAD').split('\n').reverse();
  expect(history.slice(-kept.length)).toEqual(kept);
  expect(git(dir, 'rev-list', '--merges', 'HEAD')).toBe('');
  // Others are reachable under refs/autoresearch/test/<n>.
  const refs = git(dir, 'show-ref').split('\n');
  for (const r of rows.filter((r) => r.status !== 'keep')) expect(refs).toContain(`${r.commit} refs/autoresearch/test/${r.experiment}`);
  expect(git(dir, 'status', '--porcelain')).toBe('');
  execFileSync('git', ['fsck', '--full', '--strict'], { cwd: dir });
  expect(rows.every((r) => r.fingerprint.harness && (r.fingerprint.harness as { dataset: string }).dataset === 'sotu')).toBe(true);
  expect(rows.every((r) => r.fingerprint.hardware.blas === runtimeInfo().blas)).toBe(true);
  expect(rows[1]!.diff).toMatch(/^--- a\/train\/config\.ts/m);
}, 180_000);

test('a scripted agent: good change, forbidden file, broken module, crash, timeout, no change', async () => {
  const dir = makeRepo('scripted');
  const state = path.join(work, 'scripted-state');
  const script = path.join(work, 'scripted-agent.js');
  fs.writeFileSync(
    script,
    `const fs = require('fs');
const n = fs.existsSync(${JSON.stringify(state)}) ? Number(fs.readFileSync(${JSON.stringify(state)}, 'utf8')) : 0;
fs.writeFileSync(${JSON.stringify(state)}, String(n + 1));
const file = 'train/config.ts';
let src = fs.readFileSync(file, 'utf8');
const set = (name, value) => { src = src.replace(new RegExp('^  ' + name + ': [^,]*,', 'm'), '  ' + name + ': ' + value + ','); };
if (n === 0) { set('MATRIX_LR', '0.05'); fs.writeFileSync(file, src); console.log('MATRIX_LR 0.04 -> 0.05'); }
if (n === 1) { set('MATRIX_LR', '0.03'); fs.writeFileSync(file, src); fs.appendFileSync('program.md', 'agent was here\\n'); console.log('lower MATRIX_LR'); }
if (n === 2) { fs.writeFileSync(file, src.replace('  DEPTH: 1,', '  DEPTH: = 1,')); console.log('broken'); }
if (n === 3) { for (const k of ['MATRIX_LR', 'EMBEDDING_LR', 'UNEMBEDDING_LR', 'SCALAR_LR']) set(k, '1e6'); fs.writeFileSync(file, src); console.log('huge learning rates'); }
if (n === 4) { setTimeout(() => {}, 60000); }
if (n === 5) { console.log('nothing to do'); }
`,
  );
  const outcome = await researchLoop({ ...loopOptions(dir), max: 6, agent: `node ${script}`, agentTimeout: 3 });
  expect(outcome.recorded).toBe(7);
  const rows = await readResults(dir);
  const byNumber = (n: number) => rows.find((r) => r.experiment === n)!;
  expect(['keep', 'discard']).toContain(byNumber(1).status);
  expect(byNumber(1).description).toBe('MATRIX_LR 0.04 -> 0.05');
  expect(byNumber(2)).toMatchObject({ status: 'crash' });
  expect(byNumber(2).description).toMatch(/changed files other than train\/config\.ts \(reverted: program\.md\)/);
  expect(byNumber(3).status).toBe('crash');
  expect(byNumber(3).description).toMatch(/config does not load/);
  expect(byNumber(4).status).toBe('crash');
  expect(byNumber(4).val_bpb).toBeNull();
  expect(git(dir, 'show-ref')).toContain(`${byNumber(4).commit} refs/autoresearch/test/4`);
  expect(byNumber(5)).toMatchObject({ status: 'crash' });
  expect(byNumber(5).description).toMatch(/agent timeout/);
  expect(byNumber(6).description).toMatch(/agent no-change/);
  // program.md is as committed, the tree is clean, the branch at the best kept commit.
  expect(git(dir, 'status', '--porcelain')).toBe('');
  expect(fs.readFileSync(path.join(dir, 'program.md'), 'utf8')).not.toMatch(/agent was here/);
  expect(git(dir, 'rev-parse', 'HEAD')).toBe(outcome.best!.commit);
  execFileSync('git', ['fsck', '--full', '--strict'], { cwd: dir });
}, 180_000);

function startCliLoop(dir: string, ...args: string[]) {
  return spawn(
    process.execPath,
    ['--require', require.resolve('tsx/cjs'), path.join(root, 'bin/autoresearch.ts'), 'loop', '--dir', dir, '--cache-dir', cache, '--device', 'cpu', '--tag', 'test', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

async function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('kill -9 in the middle of an experiment, then --resume: nothing lost or duplicated', async () => {
  const dir = makeRepo('killed');
  const first = startCliLoop(dir, '--max', '3', '--time-budget', '3');
  let err = '';
  first.stderr.on('data', (c: Buffer) => (err += c.toString()));
  await waitFor(() => /experiment 1: /.test(err) && !/experiment 1: (keep|discard|crash)/.test(err), 120_000);
  await new Promise((r) => setTimeout(r, 2500)); // inside experiment 1's training
  first.kill('SIGKILL');
  await new Promise((r) => first.once('close', r));
  const before = await readResults(dir);
  expect(before.map((r) => r.experiment)).toEqual([0]);

  const second = spawnSync(
    process.execPath,
    ['--require', require.resolve('tsx/cjs'), path.join(root, 'bin/autoresearch.ts'), 'loop', '--dir', dir, '--cache-dir', cache, '--device', 'cpu', '--tag', 'test', '--max', '3', '--time-budget', '3', '--resume'],
    { encoding: 'utf8', timeout: 180_000 },
  );
  if (second.status !== 0) throw new Error(`resume failed: ${second.stderr}`);
  // Experiment 1 was in the loop's queue, running: it is queued again under its own number.
  expect(second.stderr).toMatch(/resume: experiment 1 was running when the loop stopped: queued again/);
  const rows = await readResults(dir);
  expect(rows.map((r) => r.experiment)).toEqual([0, 1, 2, 3]);
  expect(git(dir, 'rev-parse', 'refs/autoresearch/test/1')).toBe(rows[1]!.commit);
  expect(JSON.parse(fs.readFileSync(path.join(dir, '.autoresearch', 'queue.json'), 'utf8'))).toEqual({ tag: 'test', entries: [] });
  expect(new Set(rows.map((r) => r.commit)).size).toBe(rows.length);
  expect(git(dir, 'status', '--porcelain')).toBe('');
  execFileSync('git', ['fsck', '--full', '--strict'], { cwd: dir });
  for (const r of rows) expect(git(dir, 'cat-file', '-t', r.commit)).toBe('commit');
}, 300_000);

test('two loops at once: the second refuses', async () => {
  const dir = makeRepo('twice');
  const first = startCliLoop(dir, '--max', '2', '--time-budget', '3');
  let err = '';
  first.stderr.on('data', (c: Buffer) => (err += c.toString()));
  await waitFor(() => /baseline/.test(err), 60_000);
  await expect(researchLoop({ ...loopOptions(dir), max: 1, resume: true })).rejects.toThrow(LockHeldError);
  first.kill('SIGINT');
  await new Promise((r) => first.once('close', r));
}, 120_000);

test('the OpenAI-compatible agent against a local server', async () => {
  const dir = makeRepo('openai');
  const source = fs.readFileSync(path.join(dir, 'train', 'config.ts'), 'utf8').replace('  MATRIX_LR: 0.04,', '  MATRIX_LR: 0.045,');
  const requests: unknown[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      requests.push(JSON.parse(body));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ choices: [{ message: { role: 'assistant', content: `DESCRIPTION: MATRIX_LR 0.04 -> 0.045\n\`\`\`ts\n${source}\`\`\`\n` } }] }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  try {
    await researchLoop({
      ...loopOptions(dir),
      max: 1,
      agent: 'openai:test-model',
      agentOptions: { baseUrl: `http://127.0.0.1:${port}/v1`, apiKey: 'local' },
    });
  } finally {
    server.close();
  }
  const rows = await readResults(dir);
  expect(rows).toHaveLength(2);
  expect(rows[1]!.description).toBe('MATRIX_LR 0.04 -> 0.045');
  expect(['keep', 'discard']).toContain(rows[1]!.status);
  expect(rows[1]!.diff).toMatch(/- {2}MATRIX_LR: 0\.04,[\s\S]*\+ {2}MATRIX_LR: 0\.045,/);
  expect(requests).toHaveLength(1);
  expect((requests[0] as { model: string }).model).toBe('test-model');
}, 120_000);

test('--noise-runs measures the seed spread once and --confirm re-runs a winner', async () => {
  const dir = makeRepo('noise');
  // The baseline starves the model of learning rate; the agent's one change restores it: a win
  // far beyond seed noise at any budget.
  const config = path.join(dir, 'train', 'config.ts');
  const good = fs.readFileSync(config, 'utf8');
  fs.writeFileSync(config, good.replace('  MATRIX_LR: 0.04,', '  MATRIX_LR: 0.0004,').replace('  EMBEDDING_LR: 0.6,', '  EMBEDDING_LR: 0.006,'));
  git(dir, 'commit', '-qam', 'starved learning rates');
  const script = path.join(work, 'restore-agent.js');
  fs.writeFileSync(script, `require('fs').writeFileSync('train/config.ts', ${JSON.stringify(good)}); console.log('restore the learning rates');\n`);
  const lines: string[] = [];
  const outcome = await researchLoop({ ...loopOptions(dir), log: (l) => lines.push(l), max: 1, noiseRuns: 3, confirm: true, agent: `node ${script}` });
  const text = lines.join('\n');
  expect(text.match(/^noise: baseline again/gm)).toHaveLength(2);
  expect(text).toMatch(/noise: val_bpb \d\.\d{6}, \d\.\d{6}, \d\.\d{6}: std \d\.\d{6}; improvements must exceed/);
  expect(outcome.threshold).toBeGreaterThan(0);
  const state = JSON.parse(fs.readFileSync(path.join(dir, '.autoresearch', 'run.json'), 'utf8'));
  expect(state.noise).toBeCloseTo(outcome.threshold, 10);
  expect(text).toMatch(/experiment 1: \d\.\d{6} beats \d\.\d{6}; confirming with another seed/);
  const rows = await readResults(dir);
  expect(rows.map((r) => r.experiment)).toEqual([0, 1]); // noise and confirmation runs are not experiments
  expect(rows[1]).toMatchObject({ status: 'keep' });
  expect(rows[1]!.description).toMatch(/^restore the learning rates \(confirmed: \d\.\d{6}\)$/);
}, 240_000);

test('Ctrl-C stops after cleaning up: no row for the interrupted run, branch at the best kept commit, lock released', async () => {
  const dir = makeRepo('interrupted');
  const child = startCliLoop(dir, '--max', '5', '--time-budget', '3');
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  await waitFor(() => /experiment 1: /.test(err), 120_000);
  await new Promise((r) => setTimeout(r, 1500));
  child.kill('SIGINT');
  const code = await new Promise<number | null>((r) => child.once('close', r));
  expect(code).toBe(130); // interrupted (exit codes: lib/cli/exit.ts)
  const rows = await readResults(dir);
  expect(rows.map((r) => r.experiment)).toEqual([0]);
  expect(git(dir, 'rev-parse', 'HEAD')).toBe(rows[0]!.commit);
  expect(git(dir, 'status', '--porcelain')).toBe('');
  expect(git(dir, 'show-ref')).toMatch(/refs\/autoresearch\/test\/1/); // the interrupted commit stays reachable
  expect(fs.existsSync(path.join(dir, '.autoresearch', 'loop.lock'))).toBe(false);
  execFileSync('git', ['fsck', '--full', '--strict'], { cwd: dir });
}, 180_000);

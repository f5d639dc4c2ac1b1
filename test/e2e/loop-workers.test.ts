// `autoresearch loop --workers 2` on the CPU: real repositories (read back with the git CLI),
// the built-in corpus, tiny models, a scripted agent that writes prepared config variants.
// The branch stays linear and monotone, every proposal has exactly one row, a stale winner is
// moved onto the new best, and kills of a worker and of the loop lose and duplicate nothing.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { researchLoop } from '../../lib';
import { prepare } from '../../lib/data/prepare';
import { setKnob } from '../../lib/config/config-source';
import { readResults, type ResultRow } from '../../lib/loop/results';
import { packageRoot } from '../../lib/native/load';

const root = packageRoot();
let cache: string;
let work: string;

/** The tiny config with these knobs set (through the loop's own editor, so any layout works). */
function config(knobs: Record<string, number>): string {
  let source = fs.readFileSync(path.join(root, 'train', 'config.ts'), 'utf8');
  const tiny = { DEPTH: 1, HEAD_DIM: 32, TOTAL_BATCH_SIZE: 1024, DEVICE_BATCH_SIZE: 16 };
  for (const [name, value] of Object.entries({ ...tiny, ...knobs })) source = setKnob(source, name, value);
  return source;
}

// A baseline with a learning rate far too low, and fixes that clearly beat it.
const BAD = { MATRIX_LR: 0.0005, EMBEDDING_LR: 0.01 };

function makeRepo(name: string): { dir: string; git: (...args: string[]) => string } {
  const dir = path.join(work, name);
  fs.mkdirSync(path.join(dir, 'train'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'train', 'config.ts'), config(BAD));
  fs.copyFileSync(path.join(root, 'program.md'), path.join(dir, 'program.md'));
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8' }).trim();
  git('init', '-q', '-b', 'main');
  git('config', 'user.name', 'Test');
  git('config', 'user.email', 'test@example.com');
  git('add', '-A');
  git('commit', '-qm', 'initial');
  return { dir, git };
}

/** An agent command that writes variant n of `variants` on its n-th call. */
function variantAgent(name: string, variants: Array<Record<string, number>>): string {
  const folder = path.join(work, `${name}-variants`);
  fs.mkdirSync(folder, { recursive: true });
  variants.forEach((knobs, i) => fs.writeFileSync(path.join(folder, `${i}.ts`), config({ ...BAD, ...knobs })));
  const script = path.join(folder, 'agent.sh');
  fs.writeFileSync(
    script,
    `#!/bin/sh
n=$(cat ${folder}/calls 2>/dev/null || echo 0)
echo $((n + 1)) > ${folder}/calls
cp ${folder}/$n.ts train/config.ts
echo "variant $n"
`,
  );
  return `sh ${script}`;
}

/** The branch is linear, holds only kept experiments after the start, each better than the last. */
function expectMonotoneBranch(git: (...args: string[]) => string, rows: ResultRow[]): void {
  expect(git('rev-list', '--merges', 'HEAD')).toBe('');
  const kept = rows.filter((r) => r.status === 'keep');
  const history = git('rev-list', '--first-parent', 'HEAD').split('\n').reverse();
  expect(history.slice(-kept.length)).toEqual(kept.map((r) => r.commit));
  for (let i = 1; i < kept.length; i++) expect(kept[i]!.val_bpb!).toBeLessThan(kept[i - 1]!.val_bpb!);
}

/** Every experiment number has its ref, its ref is its row's commit, and no number has two rows. */
function expectOneRowPerProposal(git: (...args: string[]) => string, rows: ResultRow[], tag: string): void {
  const numbers = rows.map((r) => r.experiment);
  expect(new Set(numbers).size).toBe(numbers.length);
  const refs = git('for-each-ref', '--format=%(refname) %(objectname)', `refs/autoresearch/${tag}/`).split('\n').filter(Boolean);
  const byNumber = new Map(refs.map((l) => [Number(l.split(' ')[0]!.split('/').pop()), l.split(' ')[1]!]));
  for (const r of rows) expect(byNumber.get(r.experiment)).toBe(r.commit);
  expect([...byNumber.keys()].sort((a, b) => a - b)).toEqual([...numbers].sort((a, b) => a - b));
}

beforeAll(async () => {
  cache = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-workers-cache-'));
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-workers-'));
  await prepare({ dataset: 'sotu', vocabSize: 512, seqLen: 64, evalTokens: 2048, cacheDir: cache, progress: false, log: () => undefined });
}, 120_000);
afterAll(() => {
  fs.rmSync(cache, { recursive: true, force: true });
  fs.rmSync(work, { recursive: true, force: true });
});

test('two workers: runs overlap, a stale winner is moved onto the new best, the branch only moves forward', async () => {
  const { dir, git } = makeRepo('stale');
  // Both proposals fix the matrix learning rate; the second also fixes the embeddings'. The
  // first ends first and is kept; the second then beat a parent that is no longer the best.
  const agent = variantAgent('stale', [{ MATRIX_LR: 0.04 }, { MATRIX_LR: 0.04, EMBEDDING_LR: 0.6 }, { WARMDOWN_RATIO: 0.4 }]);
  const lines: string[] = [];
  const outcome = await researchLoop({ dir, cacheDir: cache, timeBudget: 2, device: 'cpu', tag: 'stale', max: 3, agent, workers: 2, threadsPerWorker: 1, log: (l) => lines.push(l) });
  expect(outcome.stoppedBecause).toBe('max');
  const rows = await readResults(dir);
  const row = (n: number) => rows.find((r) => r.experiment === n)!;
  expect(lines).toContain('workers: local:0 (cpu, 1 threads), local:1 (cpu, 1 threads)');
  // 1 and 2 ran at once, on the two workers.
  expect(new Set([row(1), row(2)].map((r) => r.fingerprint.hardware.worker))).toEqual(new Set(['local:0', 'local:1']));
  // Each row carries the worker's share of the cores, not the coordinator's thread count.
  expect([row(1), row(2)].map((r) => r.fingerprint.hardware.threads)).toEqual([1, 1]);
  const logs = [1, 2].map((n) => fs.statSync(path.join(dir, '.autoresearch', 'logs', `${n}.log`)));
  expect(logs[1]!.birthtimeMs).toBeLessThan(logs[0]!.mtimeMs);
  // 1 was kept; 2 beat the baseline but ran on it: not kept, moved onto 1 and run again there.
  expect(row(1)).toMatchObject({ status: 'keep', parent: row(0).commit });
  expect(row(2).status).toBe('discard');
  expect(row(2).val_bpb!).toBeLessThan(row(0).val_bpb!);
  const moved = Number(/queued there as experiment (\d+)\]$/.exec(row(2).description)?.[1]);
  expect(row(2).description).toBe(
    `variant 1 [beat its parent ${row(0).commit.slice(0, 7)}, but the best moved to ${row(1).commit.slice(0, 7)}: queued there as experiment ${moved}]`,
  );
  expect(row(moved).description).toBe(`variant 1 (moved onto ${row(1).commit.slice(0, 7)} from experiment 2)`);
  expect(row(moved).parent).toBe(row(1).commit);
  expect(git('show', `${row(moved).commit}:train/config.ts`)).toBe(config({ ...BAD, MATRIX_LR: 0.04, EMBEDDING_LR: 0.6 }).trimEnd());
  // --max 3 counts proposals: variants 0, 1 and 2; the moved one runs beyond it, once.
  expect(rows.map((r) => r.experiment).sort()).toEqual([0, 1, 2, 3, 4]);
  expect(rows.filter((r) => r.description.startsWith('variant 2'))).toHaveLength(1);
  expectMonotoneBranch(git, rows);
  expectOneRowPerProposal(git, rows, 'stale');
  expect(git('status', '--porcelain')).toBe('');
  expect(JSON.parse(fs.readFileSync(path.join(dir, '.autoresearch', 'queue.json'), 'utf8'))).toEqual({ tag: 'stale', entries: [] });
  execFileSync('git', ['fsck', '--full', '--strict'], { cwd: dir });
}, 300_000);

/** The pids of the experiment processes running in `cwd` (a worker runs there). */
function processesIn(cwd: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return fs.readlinkSync(`/proc/${p}/cwd`) === cwd && fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('worker');
      } catch {
        return false;
      }
    })
    .map(Number);
}

test('kill -9 of a worker is run again; kill -9 of the loop, then --resume: nothing lost, nothing twice', async () => {
  const { dir, git } = makeRepo('kills');
  const agent = variantAgent('kills', [{ MATRIX_LR: 0.04 }, { MATRIX_LR: 0.03 }, { MATRIX_LR: 0.05 }, { MATRIX_LR: 0.02 }, { MATRIX_LR: 0.06 }]);
  const args = ['loop', '--dir', dir, '--cache-dir', cache, '--device', 'cpu', '--tag', 'kills', '--max', '4', '--time-budget', '4', '--workers', '2', '--threads-per-worker', '1', '--agent', agent];
  const cli = [process.execPath, '--require', require.resolve('tsx/cjs'), path.join(root, 'bin/autoresearch.ts')];
  const first = spawn(cli[0]!, [...cli.slice(1), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  first.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const waitFor = async (ok: () => boolean, ms: number) => {
    for (const end = Date.now() + ms; !ok(); ) {
      if (Date.now() > end) throw new Error(`timed out; the loop printed:\n${err}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  // Two experiments in flight: kill one worker's experiment process.
  const logs = path.join(dir, '.autoresearch', 'logs');
  await waitFor(() => /experiment 2: variant 1/.test(err), 180_000);
  await waitFor(() => processesIn(logs).length >= 2, 60_000);
  process.kill(processesIn(logs)[0]!, 'SIGKILL');
  await waitFor(() => /the worker local:\d died \(.*\); running it again/.test(err), 60_000);
  // Then the loop itself, while experiments run.
  await waitFor(() => /experiment [34]: variant/.test(err), 180_000);
  first.kill('SIGKILL');
  await new Promise((r) => first.once('close', r));
  const before = await readResults(dir);
  const queued = JSON.parse(fs.readFileSync(path.join(dir, '.autoresearch', 'queue.json'), 'utf8')) as { entries: Array<{ experiment: number; state: string }> };
  expect(queued.entries.length).toBeGreaterThan(0);
  // The experiment processes went down with the loop.
  await waitFor(() => processesIn(logs).length === 0, 10_000);

  const second = spawnSync(cli[0]!, [...cli.slice(1), ...args, '--resume'], { encoding: 'utf8', timeout: 240_000 });
  if (second.status !== 0) throw new Error(`resume failed: ${second.stderr}`);
  // An entry whose row was written just before the kill (the queue drops an entry after its row)
  // is done: --resume must not run it again. Every other entry is run again or settled now.
  const recorded = new Set(before.map((r) => r.experiment));
  for (const e of queued.entries) {
    if (recorded.has(e.experiment)) expect(second.stderr).not.toMatch(new RegExp(`resume: experiment ${e.experiment} was running|experiment ${e.experiment}: (keep|discard|crash)`));
    else expect(second.stderr).toMatch(new RegExp(`resume: experiment ${e.experiment} was running when the loop stopped: queued again|experiment ${e.experiment}: `));
  }
  const rows = await readResults(dir);
  expect(rows.length).toBeGreaterThan(before.length);
  // Nothing recorded twice, nothing lost: every proposal (ref) has exactly one row.
  expectOneRowPerProposal(git, rows, 'kills');
  expect(rows.slice(1).every((r) => r.status !== 'crash')).toBe(true);
  expect(rows.length).toBe(5); // the baseline and --max 4
  expectMonotoneBranch(git, rows);
  expect(git('status', '--porcelain')).toBe('');
  expect(JSON.parse(fs.readFileSync(path.join(dir, '.autoresearch', 'queue.json'), 'utf8'))).toEqual({ tag: 'kills', entries: [] });
  execFileSync('git', ['fsck', '--full', '--strict'], { cwd: dir });
}, 600_000);

test('Ctrl-C with two runs in flight: both stopped, the branch at the best, both queued for --resume', async () => {
  const { dir, git } = makeRepo('interrupt');
  const agent = variantAgent('interrupt', [{ MATRIX_LR: 0.04 }, { MATRIX_LR: 0.03 }, { MATRIX_LR: 0.05 }, { MATRIX_LR: 0.02 }]);
  const controller = new AbortController();
  const lines: string[] = [];
  const options = { dir, cacheDir: cache, timeBudget: 10, device: 'cpu', tag: 'interrupt', max: 2, agent, workers: 2, threadsPerWorker: 1 };
  const logs = path.join(dir, '.autoresearch', 'logs');
  const watcher = setInterval(() => {
    if (processesIn(logs).length >= 2 && [1, 2].every((n) => fs.existsSync(path.join(logs, `${n}.log`)) && /^step /m.test(fs.readFileSync(path.join(logs, `${n}.log`), 'utf8')))) controller.abort();
  }, 300);
  let outcome;
  try {
    outcome = await researchLoop({ ...options, signal: controller.signal, log: (l) => lines.push(l) });
  } finally {
    clearInterval(watcher);
  }
  expect(outcome.stoppedBecause).toBe('aborted');
  const rows = await readResults(dir);
  expect(rows.map((r) => r.experiment)).toEqual([0]);
  expect(git('rev-parse', 'HEAD')).toBe(rows[0]!.commit);
  expect(processesIn(logs)).toEqual([]);
  const queue = JSON.parse(fs.readFileSync(path.join(dir, '.autoresearch', 'queue.json'), 'utf8')) as { entries: Array<{ experiment: number; state: string; worker: string | null }> };
  expect(queue.entries.map((e) => [e.experiment, e.state, e.worker])).toEqual([
    [1, 'queued', null],
    [2, 'queued', null],
  ]);
  // --resume runs exactly those two, under their own numbers, and proposes nothing more.
  await researchLoop({ ...options, resume: true, log: () => undefined });
  const after = await readResults(dir);
  expect(after.map((r) => r.experiment).sort()).toEqual([0, 1, 2]);
  expectOneRowPerProposal(git, after, 'interrupt');
  expectMonotoneBranch(git, after);
}, 600_000);

// Slurm for real: a one-host cluster (scripts/slurm-local.sh) on its own ports; without its
// packages or root, say why and skip.
const slurmMissing = ['slurmctld', 'slurmd', 'munged', 'sbatch'].find((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status !== 0);
const why = process.getuid?.() !== 0 ? 'not root' : slurmMissing ? `${slurmMissing} is not installed (apt-get install slurm-wlm munge)` : null;
if (why) console.log(`loop-workers: the Slurm loop test is skipped: ${why}`);
(why ? describe.skip : describe)('--executor slurm', () => {
  const script = path.join(root, 'scripts', 'slurm-local.sh');
  let state: string;
  const saved = process.env.SLURM_CONF;
  beforeAll(() => {
    state = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-slurm-loop-'));
    execFileSync('bash', [script, 'start', state], { env: { ...process.env, SLURM_LOCAL_PORT: '6937' }, stdio: 'pipe' });
    process.env.SLURM_CONF = path.join(state, 'slurm.conf');
  }, 120_000);
  afterAll(() => {
    if (saved === undefined) delete process.env.SLURM_CONF;
    else process.env.SLURM_CONF = saved;
    execFileSync('bash', [script, 'stop', state], { stdio: 'pipe' });
    fs.rmSync(state, { recursive: true, force: true });
  });

  test('a loop of 4 experiments on 2 Slurm workers; a job cancelled with scancel is recorded as cancelled', async () => {
    const { dir, git } = makeRepo('slurm');
    const agent = variantAgent('slurm', [{ MATRIX_LR: 0.04 }, { MATRIX_LR: 0.03 }, { MATRIX_LR: 0.05 }, { MATRIX_LR: 0.02 }, { MATRIX_LR: 0.06 }]);
    const workerCommand = [process.execPath, '-r', require.resolve('tsx/cjs'), path.join(root, 'bin', 'autoresearch.ts')];
    const lines: string[] = [];
    let cancelled: string | null = null;
    const queueFile = path.join(dir, '.autoresearch', 'queue.json');
    // Someone cancels experiment 2's job once it trains.
    const canceller = setInterval(() => {
      if (cancelled) return;
      const log = path.join(dir, '.autoresearch', 'logs', '2.log');
      if (!fs.existsSync(log) || !/^step /m.test(fs.readFileSync(log, 'utf8'))) return;
      const entry = (JSON.parse(fs.readFileSync(queueFile, 'utf8')) as { entries: Array<{ experiment: number; worker: string | null }> }).entries.find((e) => e.experiment === 2);
      if (!entry?.worker) return;
      cancelled = entry.worker.split(':')[1]!;
      execFileSync('scancel', [cancelled], { env: process.env }); // (jest's process.env is not the children's default)
    }, 300);
    try {
      const outcome = await researchLoop({
        dir,
        cacheDir: cache,
        timeBudget: 3,
        device: 'cpu',
        tag: 'slurm',
        max: 4,
        agent,
        workers: 2,
        executor: 'slurm',
        threadsPerWorker: 1,
        slurm: { workerCommand },
        log: (l) => lines.push(l),
      });
      expect(outcome.stoppedBecause).toBe('max');
    } finally {
      clearInterval(canceller);
    }
    const rows = await readResults(dir);
    expect(rows.length).toBeGreaterThanOrEqual(5);
    expect(cancelled).not.toBeNull();
    const two = rows.find((r) => r.experiment === 2)!;
    expect(two.status).toBe('crash');
    expect(two.description).toMatch(new RegExp(`^variant 1 \\[Slurm job ${cancelled} ended CANCELLED.* and wrote no result`));
    for (const r of rows) {
      expect(r.fingerprint.hardware).toMatchObject({ executor: 'slurm', node: r.experiment === 2 ? '' : os.hostname() });
      expect(String(r.fingerprint.hardware.worker)).toMatch(/^slurm:\d+$/);
    }
    expect(rows.filter((r) => r.status !== 'crash').every((r) => r.val_bpb! > 0)).toBe(true);
    expectOneRowPerProposal(git, rows, 'slurm');
    expectMonotoneBranch(git, rows);
    expect(git('status', '--porcelain')).toBe('');
    execFileSync('git', ['fsck', '--full', '--strict'], { cwd: dir });
    // Nothing left in Slurm's queue.
    expect(execFileSync('squeue', ['-h'], { encoding: 'utf8', env: process.env }).trim()).toBe('');
  }, 600_000);
});

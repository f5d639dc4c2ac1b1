// The executors of the parallel loop, with real runs: two local workers at once on the CPU, and
// Slurm for real (a one-host cluster started by scripts/slurm-local.sh in a temporary folder,
// on its own ports): a job that finishes, one cancelled with scancel by someone else, one
// adopted by a second executor as after a coordinator's kill -9.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { prepare } from '../../lib/data/prepare';
import { setKnob } from '../../lib/config/config-source';
import { LocalExecutor, localSlots } from '../../lib/loop/executors/local';
import { SlurmExecutor } from '../../lib/loop/executors/slurm';
import { JOB_VERSION, readJobResult, type ExperimentJob } from '../../lib/runner/job';
import { SMOKE_DATA, SMOKE_KNOBS } from '../../lib/setup/smoke';

const ROOT = path.resolve(__dirname, '..', '..');
let work: string;
let cache: string;
let source: string;

function job(id: number, timeBudget = 1): ExperimentJob {
  return {
    version: JOB_VERSION,
    id,
    configSource: source,
    dataset: SMOKE_DATA.dataset,
    cacheDir: cache,
    timeBudget,
    totalTimeLimit: 120,
    device: 'cpu',
    logPath: path.join(work, 'logs', `${id}.log`),
    resultPath: path.join(work, 'jobs', `${id}.result.json`),
  };
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-executors-'));
  cache = path.join(work, 'cache');
  await prepare({ ...SMOKE_DATA, cacheDir: cache, progress: false, log: () => undefined });
  source = fs.readFileSync(path.join(ROOT, 'train', 'config.ts'), 'utf8');
  for (const [name, value] of Object.entries(SMOKE_KNOBS)) source = setKnob(source, name, value);
}, 120_000);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('local', () => {
  test('slots: one device each, or the cores divided between CPU workers', () => {
    expect(localSlots({ workers: 2, cudaDevices: 2 })).toEqual([
      { index: 0, device: 'cuda:0', threads: undefined },
      { index: 1, device: 'cuda:1', threads: undefined },
    ]);
    expect(localSlots({ workers: 2, threadsPerWorker: 1 }).map((s) => [s.device, s.threads])).toEqual([
      ['cpu', 1],
      ['cpu', 1],
    ]);
    expect(localSlots({ workers: 4 }).every((s) => s.threads === Math.max(1, Math.floor(os.availableParallelism() / 4)))).toBe(true);
    expect(() => localSlots({ workers: 2, devices: ['cpu'] })).toThrow(/--devices names 1 device\(s\) for 2 worker\(s\)/);
    expect(() => localSlots({ workers: 0 })).toThrow(/--workers must be a positive integer/);
  });

  test('two workers run two jobs at once; a cancelled job is lost, not a result', async () => {
    const executor = new LocalExecutor({ workers: 2, threadsPerWorker: 1 });
    const [a, b] = await Promise.all([executor.start(job(1), executor.slots[0]!), executor.start(job(2), executor.slots[1]!)]);
    expect([a.worker, b.worker]).toEqual(['local:0', 'local:1']);
    const [endA, endB] = await Promise.all([a.done, b.done]);
    for (const [end, id] of [[endA, 1], [endB, 2]] as const) {
      expect(end.kind).toBe('result');
      if (end.kind !== 'result') continue;
      expect(end.result.result.status).toBe('ok');
      expect(end.result.id).toBe(id);
      expect(readJobResult(job(id).resultPath)!.result.summary!.val_bpb).toBe(end.result.result.summary!.val_bpb);
    }
    // Both ran at the same time: each started before the other ended.
    const spans = [1, 2].map((id) => fs.statSync(job(id).logPath));
    expect(spans[0]!.birthtimeMs).toBeLessThan(spans[1]!.mtimeMs);
    expect(spans[1]!.birthtimeMs).toBeLessThan(spans[0]!.mtimeMs);

    const long = await executor.start(job(3, 60), executor.slots[0]!);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    long.cancel();
    expect(await long.done).toEqual({ kind: 'lost', reason: 'stopped by the loop', retry: false });
    expect(readJobResult(job(3).resultPath)).toBeNull();
  }, 180_000);
});

// Slurm needs its packages and root (the daemons run as root); without them say why and skip.
const slurmMissing = ['slurmctld', 'slurmd', 'munged', 'sbatch'].find((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status !== 0);
const why = process.getuid?.() !== 0 ? 'not root' : slurmMissing ? `${slurmMissing} is not installed (apt-get install slurm-wlm munge)` : null;
if (why) console.log(`executors: Slurm tests skipped: ${why}`);
(why ? describe.skip : describe)('slurm (a one-host cluster on this machine)', () => {
  let state: string;
  let env: NodeJS.ProcessEnv;
  const script = path.join(ROOT, 'scripts', 'slurm-local.sh');
  const workerCommand = [process.execPath, '-r', require.resolve('tsx/cjs'), path.join(ROOT, 'bin', 'autoresearch.ts')];
  const executor = () =>
    new SlurmExecutor({ workers: 2, cpusPerTask: 1, workerCommand, jobsDir: path.join(work, 'jobs'), jobName: 'autoresearch-test', pollMs: 300, env });

  beforeAll(() => {
    state = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-slurm-'));
    execFileSync('bash', [script, 'start', state], { env: { ...process.env, SLURM_LOCAL_PORT: '6917' }, stdio: 'pipe' });
    env = { ...process.env, SLURM_CONF: path.join(state, 'slurm.conf') };
  }, 120_000);
  afterAll(() => {
    execFileSync('bash', [script, 'stop', state], { stdio: 'pipe' });
    fs.rmSync(state, { recursive: true, force: true });
  });

  test('a job runs through sbatch and its result file comes back', async () => {
    const slurm = executor();
    await slurm.check();
    const run = await slurm.start(job(11), slurm.slots[0]!);
    expect(run.worker).toMatch(/^slurm:\d+$/);
    const end = await run.done;
    expect(end.kind).toBe('result');
    if (end.kind === 'result') {
      expect(end.result.result.status).toBe('ok');
      expect(end.result.node).toBe(os.hostname());
      expect(end.result.result.summary!.val_bpb).toBeGreaterThan(0);
    }
    expect(fs.readFileSync(job(11).logPath, 'utf8')).toMatch(/^val_bpb: /m);
  }, 180_000);

  test('a job cancelled with scancel by someone else is recorded as cancelled, not dropped', async () => {
    const slurm = executor();
    const run = await slurm.start(job(12, 120), slurm.slots[0]!);
    const id = run.worker.split(':')[1]!;
    // Cancel it once it is training.
    for (let i = 0; i < 120 && !(fs.existsSync(job(12).logPath) && /^step /m.test(fs.readFileSync(job(12).logPath, 'utf8'))); i++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    execFileSync('scancel', [id], { env });
    const end = await run.done;
    expect(end.kind).toBe('lost');
    if (end.kind === 'lost') {
      expect(end.reason).toMatch(new RegExp(`Slurm job ${id} ended CANCELLED.* and wrote no result`));
      expect(end.retry).toBe(false);
    }
    expect(readJobResult(job(12).resultPath)).toBeNull();
  }, 180_000);

  test('after a coordinator dies, a new one adopts its running job by the worker name it recorded', async () => {
    const first = executor();
    const run = await first.start(job(13, 2), first.slots[1]!);
    const adopted = await executor().adopt(job(13), run.worker);
    expect(adopted!.worker).toBe(run.worker);
    const end = await adopted!.done;
    expect(end.kind).toBe('result');
    expect(await executor().adopt(job(13), 'local:0')).toBeNull();
  }, 180_000);
});

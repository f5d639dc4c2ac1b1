// `npm run bench:workers`: the parallel loop on this machine. The same short session (the
// built-in agent, a DEPTH 1 model, BENCH_WORKERS_BUDGET seconds of training, one thread per
// worker) with 1 and 2 local workers, and with 2 Slurm workers when a one-host cluster can be
// started here (scripts/slurm-local.sh; root and Debian's slurm-wlm and munge). Prints one JSON
// line per setting: experiments per hour after the baseline, and the coordination overhead per
// experiment: on each worker, from the end of one run to the start of its next (recording the
// result, the agent's turn, the config check, the commit, the submission), median and max.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { researchLoop } from '../lib';
import { setKnob } from '../lib/config/config-source';
import { prepare } from '../lib/data/prepare';
import { readJobResult } from '../lib/runner/job';
import { readResults } from '../lib/loop/results';
import { packageRoot } from '../lib/native/load';
import { round } from './util';

const BUDGET = Number(process.env.BENCH_WORKERS_BUDGET ?? 5);
const EXPERIMENTS = Number(process.env.BENCH_WORKERS_EXPERIMENTS ?? 8);
const root = packageRoot();

function makeRepo(dir: string): void {
  fs.mkdirSync(path.join(dir, 'train'), { recursive: true });
  let source = fs.readFileSync(path.join(root, 'train', 'config.ts'), 'utf8');
  for (const [name, value] of Object.entries({ DEPTH: 1, HEAD_DIM: 32, TOTAL_BATCH_SIZE: 1024, DEVICE_BATCH_SIZE: 16 })) source = setKnob(source, name, value);
  fs.writeFileSync(path.join(dir, 'train', 'config.ts'), source);
  fs.copyFileSync(path.join(root, 'program.md'), path.join(dir, 'program.md'));
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, stdio: 'pipe' });
  git('init', '-q', '-b', 'main');
  git('-c', 'user.name=bench', '-c', 'user.email=bench@localhost', 'add', '-A');
  git('-c', 'user.name=bench', '-c', 'user.email=bench@localhost', 'commit', '-qm', 'start');
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function session(label: string, cache: string, work: string, options: { workers: number; executor: 'local' | 'slurm' }): Promise<void> {
  const dir = path.join(work, label);
  makeRepo(dir);
  const workerCommand = [process.execPath, '-r', require.resolve('tsx/cjs'), path.join(root, 'bin', 'autoresearch.ts')];
  await researchLoop({
    dir,
    cacheDir: cache,
    timeBudget: BUDGET,
    device: 'cpu',
    tag: 'bench',
    max: EXPERIMENTS,
    agent: 'builtin',
    seed: 1,
    workers: options.workers,
    threadsPerWorker: 1,
    executor: options.executor,
    slurm: { workerCommand },
    log: () => undefined,
  });
  // Each run's start and end, as its worker measured them, by worker.
  const rows = await readResults(dir);
  const runs = rows
    .map((r) => ({ row: r, job: readJobResult(path.join(dir, '.autoresearch', 'jobs', `${r.experiment}.result.json`)) }))
    .filter((x) => x.job !== null)
    .map((x) => ({ experiment: x.row.experiment, worker: String(x.row.fingerprint.hardware.worker ?? ''), start: x.job!.startedAt, end: x.job!.endedAt }));
  const gaps: number[] = [];
  // A Slurm worker is a job id, not a slot: lanes of consecutive runs instead, each run paired
  // with the lane that ended last before it started.
  const sorted = [...runs].sort((a, b) => a.start - b.start);
  const lanes: Array<{ end: number }> = [];
  for (const run of sorted) {
    const lane = lanes.filter((l) => l.end <= run.start).sort((a, b) => b.end - a.end)[0];
    if (lane) {
      gaps.push((run.start - lane.end) / 1000);
      lane.end = run.end;
    } else {
      lanes.push({ end: run.end });
    }
  }
  const experiments = runs.filter((r) => r.experiment > 0);
  const span = (Math.max(...experiments.map((r) => r.end)) - Math.min(...experiments.map((r) => r.start))) / 1000;
  console.log(
    JSON.stringify({
      bench: 'workers',
      executor: options.executor,
      workers: options.workers,
      budgetSeconds: BUDGET,
      experiments: experiments.length,
      experimentsPerHour: round((3600 * experiments.length) / span, 1),
      coordinationSeconds: { median: round(median(gaps), 2), max: round(Math.max(...gaps), 2), samples: gaps.length },
      rows: rows.length,
    }),
  );
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-bench-workers-'));
  const cache = path.join(work, 'cache');
  try {
    await prepare({ dataset: 'sotu', vocabSize: 512, seqLen: 64, evalTokens: 2048, cacheDir: cache, progress: false, log: () => undefined });
    await session('local-1', cache, work, { workers: 1, executor: 'local' });
    await session('local-2', cache, work, { workers: 2, executor: 'local' });
    const missing = ['slurmctld', 'slurmd', 'munged', 'sbatch'].find((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status !== 0);
    if (process.getuid?.() !== 0 || missing) {
      console.log(JSON.stringify({ bench: 'workers', executor: 'slurm', skipped: missing ? `${missing} is not installed` : 'not root' }));
      return;
    }
    const state = path.join(work, 'slurm');
    execFileSync('bash', [path.join(root, 'scripts', 'slurm-local.sh'), 'start', state], { env: { ...process.env, SLURM_LOCAL_PORT: '6957' }, stdio: 'pipe' });
    process.env.SLURM_CONF = path.join(state, 'slurm.conf');
    try {
      await session('slurm-2', cache, work, { workers: 2, executor: 'slurm' });
    } finally {
      execFileSync('bash', [path.join(root, 'scripts', 'slurm-local.sh'), 'stop', state], { stdio: 'pipe' });
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

void main();

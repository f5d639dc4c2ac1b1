// `npm run bench:overhead`: total_seconds - training_seconds (start-up, warm-up steps,
// evaluation) of the README quick start's run on this machine (a config from
// `autoresearch init`, the prepared data, the default 300 s budget), as one JSON line.
// Target: at most 3% of the budget. BENCH_TIME_BUDGET shortens the run for a quick look.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { round } from './util';

// The built package, as `npx autoresearch run` uses it (the run's child is plain JavaScript;
// train/config.ts is compiled by esbuild in this process and evaluated in the child's sandbox).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { prepare, runExperiment } = require(path.join(__dirname, '..', 'dist', 'lib')) as typeof import('../lib');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { findPreparedDataset, init } = require(path.join(__dirname, '..', 'dist', 'lib', 'internals')) as typeof import('../lib/internals');

async function main(): Promise<void> {
  const budget = Number(process.env.BENCH_TIME_BUDGET ?? 300);
  const dataset = await findPreparedDataset().catch(async () => {
    await prepare({ dataset: 'sotu', progress: false, log: () => undefined });
    return 'sotu';
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-bench-overhead-'));
  try {
    await init({ dir, dataset });
    const result = await runExperiment({ dir, dataset, timeBudget: budget, device: 'cpu' });
    if (result.status !== 'ok') throw new Error(`the run crashed:\n${result.errorExcerpt}`);
    const log = fs.readFileSync(result.logPath, 'utf8');
    const seconds = (label: string) => Number(new RegExp(`^${label}: ([\\d.]+) s`, 'm').exec(log)?.[1] ?? NaN);
    const s = result.summary!;
    const overhead = s.total_seconds - s.training_seconds;
    console.log(
      JSON.stringify({
        bench: 'overhead',
        dataset,
        timeBudget: budget,
        training_seconds: s.training_seconds,
        total_seconds: s.total_seconds,
        overheadSeconds: round(overhead, 1),
        overheadPercentOfBudget: round((100 * overhead) / budget, 2),
        startupSeconds: seconds('startup'),
        warmupSeconds: seconds('warm-up'),
        evalSeconds: seconds('eval'),
        num_steps: s.num_steps,
        depth: s.depth,
        val_bpb: s.val_bpb,
        peak_vram_mb: s.peak_vram_mb,
      }),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();

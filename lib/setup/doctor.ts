// The set-up check: what the addon was built against, what it finds at run time, how fast
// this machine multiplies matrices, which data is prepared, and the sizes worth training here
// (lib/setup/recommend.ts); each problem comes with its fix.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { datasetPaths, readPreparedMeta, resolveCacheDir } from '../data/prepared';
import { AddonLoadError } from '../errors';
import { recommendConfig, recommendTimed, type Recommendation } from './recommend';
import { measureMatmulFlopsSync, runtimeInfo, type RuntimeInfo } from '../native/runtime';
import { cpuTimer } from './step-timer';
import { TOKENIZER_FILES } from '../data/tokenizer';

/** One prepared dataset in the cache directory. */
export interface PreparedDatasetReport {
  dataset: string;
  /** MAX_SEQ_LEN fixed at prepare time. */
  maxSeqLen: number;
  /** EVAL_TOKENS fixed at prepare time. */
  evalTokens: number;
  vocabSize: number;
  trainTokens: number;
  valTokens: number;
  /** tokenizer.tiktoken, tokenizer.json and token_bytes.bin are all there. */
  tokenizer: boolean;
  /** Why prepare chose this dataset (e.g. the offline fallback when no --dataset was given). */
  chosenBecause: string;
  createdAt: string;
}

export interface DoctorOptions {
  /** Where prepared data lives; default: AUTORESEARCH_CACHE_DIR or ~/.cache/autoresearch. */
  cacheDir?: string;
  /**
   * Time real training steps to choose the CPU model (default true, ~10 s); false: estimate
   * from the matmul rate alone (less reliable: it can be off by 1.6x between CPUs).
   */
  timeSteps?: boolean;
  /** Called with a line before and after each CPU model timed (they take seconds). */
  progress?: (line: string) => void;
}

/** What doctor found: the machine, the addon, the prepared datasets, the recommended sizes and the problems with their fixes. */
export interface DoctorReport {
  ok: boolean;
  node: string;
  platform: string;
  cpus: number;
  memoryGiB: number;
  addon: RuntimeInfo | null;
  /** Measured fp32 matmul throughput of the default device, GFLOP/s (1024^3 products). */
  matmulGflops: number | null;
  /** Memory of the first GPU (nvidia-smi), GiB; null without a GPU or nvidia-smi. */
  gpuMemoryGiB: number | null;
  /** The cache directory looked in. */
  cacheDir: string;
  /** Prepared datasets there, most recently prepared first. */
  prepared: PreparedDatasetReport[];
  /** Sizes worth training on this machine (recommendConfig). */
  recommendations: Recommendation;
  problems: { problem: string; fix: string }[];
}

/** Memory of the first GPU in GiB from nvidia-smi, or null. */
function gpuMemoryGiB(): number | null {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=memory.total', '--format=csv,noheader,nounits'], {
      encoding: 'utf8',
      timeout: 5000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const mib = Number(out.trim().split('\n')[0]);
    return Number.isFinite(mib) && mib > 0 ? Math.round((mib / 1024) * 10) / 10 : null;
  } catch {
    return null;
  }
}

/** The prepared datasets of a cache directory, and what is wrong with the others. */
async function scanPrepared(cacheDir: string, problems: DoctorReport['problems']): Promise<PreparedDatasetReport[]> {
  const tokensDir = path.join(cacheDir, 'tokens');
  let names: string[] = [];
  try {
    names = fs.readdirSync(tokensDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  } catch {
    // nothing prepared yet
  }
  const prepared: PreparedDatasetReport[] = [];
  for (const dataset of names) {
    const fix = `autoresearch prepare --dataset ${dataset}${cacheDir === resolveCacheDir() ? '' : ` --cache-dir ${cacheDir}`}`;
    let meta;
    try {
      meta = await readPreparedMeta(dataset, cacheDir);
    } catch (err) {
      const why = err instanceof SyntaxError ? 'meta.json is corrupt' : (err as Error).message.split(':')[0]!;
      problems.push({ problem: `'${dataset}' in ${tokensDir} is not usable (${why})`, fix });
      continue;
    }
    const paths = datasetPaths(dataset, cacheDir);
    const tokenizer = Object.values(TOKENIZER_FILES).every((f) => fs.existsSync(path.join(paths.tokenizer, f)));
    if (!tokenizer) problems.push({ problem: `the '${dataset}' tokenizer is missing from ${paths.tokenizer}`, fix });
    const width = meta.dtype === 'uint16' ? 2 : 4;
    for (const split of [meta.train, meta.val]) {
      const file = path.join(paths.tokens, split.file);
      const size = fs.existsSync(file) ? fs.statSync(file).size : -1;
      if (size !== split.tokens * width) {
        problems.push({
          problem: size < 0 ? `${file} is missing` : `${file} holds ${size / width} tokens, meta.json records ${split.tokens}`,
          fix,
        });
      }
    }
    prepared.push({
      dataset,
      maxSeqLen: meta.maxSeqLen,
      evalTokens: meta.evalTokens,
      vocabSize: meta.vocabSize,
      trainTokens: meta.train.tokens,
      valTokens: meta.val.tokens,
      tokenizer,
      chosenBecause: meta.chosenBecause,
      createdAt: meta.createdAt,
    });
  }
  if (prepared.length === 0 && problems.every((p) => !p.problem.includes(tokensDir))) {
    problems.push({
      problem: `no prepared data in ${cacheDir}`,
      fix: 'autoresearch prepare (offline: autoresearch prepare --dataset sotu, about two seconds)',
    });
  }
  return prepared.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

/** Checks this machine for autoresearch: Node, the addon, the device, prepared data; each problem comes with its fix, and sizes worth training here. */
export async function doctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  const report: Omit<DoctorReport, 'recommendations'> = {
    ok: true,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    addon: null,
    matmulGflops: null,
    gpuMemoryGiB: null,
    cacheDir: resolveCacheDir(options.cacheDir),
    prepared: [],
    problems: [],
  };
  try {
    report.addon = runtimeInfo();
    report.matmulGflops = Math.round(measureMatmulFlopsSync(1024, 5) / 1e9);
  } catch (err) {
    const fixes = err instanceof AddonLoadError ? err.fixes : ['npm run setup'];
    report.problems.push({ problem: (err as Error).message.split('\nPossible solutions:')[0]!, fix: fixes.join('; ') });
  }
  if (report.addon && !/openblas|mkl/i.test(report.addon.blas)) {
    report.problems.push({
      problem: `libtorch uses a slow BLAS (${report.addon.blas})`,
      fix: 'npm run setup (it installs libopenblas0-openmp and selects it with update-alternatives)',
    });
  }
  if (report.addon?.blasThreading === 'pthread') {
    report.problems.push({
      problem:
        "libtorch uses the pthreads build of OpenBLAS: its threads cannot share the cores with libtorch's OpenMP threads, " +
        'and CPU training steps take ~1.3x as long as with the OpenMP build',
      fix: 'npm run setup (it installs libopenblas0-openmp and selects it with update-alternatives)',
    });
  }
  if (report.addon?.blasThreading === 'pthread' && report.addon.ompWaitPolicy !== 'PASSIVE') {
    report.problems.push({
      problem: `OMP_WAIT_POLICY is ${report.addon.ompWaitPolicy} with the pthreads OpenBLAS: spinning OpenMP threads halve the training speed`,
      fix: 'unset OMP_WAIT_POLICY (it is then PASSIVE with this BLAS), or select the OpenMP OpenBLAS (npm run setup)',
    });
  }
  if (report.addon && report.addon.threads < report.cpus) {
    report.problems.push({
      problem: `libtorch uses ${report.addon.threads} of ${report.cpus} cores`,
      fix: 'unset AUTORESEARCH_THREADS (or set it to the number of cores)',
    });
  }
  if (report.addon?.cudaAvailable) report.gpuMemoryGiB = gpuMemoryGiB();
  report.prepared = await scanPrepared(report.cacheDir, report.problems);
  report.ok = report.problems.length === 0;
  const timed = options.timeSteps !== false && report.addon !== null;
  return { ...report, recommendations: timed ? recommendTimed(report, {}, cpuTimer, options.progress) : recommendConfig(report) };
}

/** Where OPENBLAS_CORETYPE came from, for the BLAS line ('' when unset). */
function blasKernelsNote({ coreType, setBy, replaced }: RuntimeInfo['blasKernels']): string {
  if (!coreType) return '';
  if (setBy === 'autoresearch') {
    return `; OPENBLAS_CORETYPE ${coreType}, chosen for this AMD AVX-512 CPU` + (replaced ? ` over the environment's ${replaced}` : '');
  }
  return `; OPENBLAS_CORETYPE ${coreType} from ${setBy === 'environment' ? 'the environment' : setBy}`;
}

export function formatDoctor(r: DoctorReport): string {
  const lines = [
    `node        ${r.node} on ${r.platform}, ${r.cpus} cores, ${r.memoryGiB} GiB`,
    r.addon
      ? `libtorch    ${r.addon.build.libtorchVersion} (${r.addon.build.cuda ? 'CUDA' : 'CPU'} build, C++11 ABI ${r.addon.build.cxx11Abi ? 'on' : 'off'})`
      : 'libtorch    addon not loadable',
  ];
  if (r.addon) {
    lines.push(`addon       ${r.addon.binary}`);
    lines.push(`threads     ${r.addon.threads}`);
    const kernels = blasKernelsNote(r.addon.blasKernels);
    lines.push(`BLAS        ${r.addon.blas} (${r.addon.blasThreading} threads; OMP_WAIT_POLICY ${r.addon.ompWaitPolicy}${kernels})`);
    lines.push(`CUDA        ${r.addon.cudaAvailable ? r.addon.cudaDevices.join(', ') : 'no GPU visible'}`);
  }
  if (r.matmulGflops !== null) lines.push(`matmul      ${r.matmulGflops} GFLOP/s (fp32, 1024^3)`);
  if (r.gpuMemoryGiB !== null) lines.push(`GPU memory  ${r.gpuMemoryGiB} GiB`);
  lines.push(`cache       ${r.cacheDir}`);
  if (r.prepared.length > 0) {
    lines.push('', 'prepared data (most recent first):');
    const rows = [
      ['dataset', 'MAX_SEQ_LEN', 'EVAL_TOKENS', 'vocab', 'train tokens', 'val tokens', 'tokenizer'],
      ...r.prepared.map((p) => [p.dataset, p.maxSeqLen, p.evalTokens, p.vocabSize, p.trainTokens, p.valTokens, p.tokenizer ? 'yes' : 'MISSING'].map(String)),
    ];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
    for (const row of rows) lines.push('  ' + row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
    for (const p of r.prepared) lines.push(`  ${p.dataset}: ${p.chosenBecause}`);
  }
  lines.push('', formatRecommendation(r.recommendations));
  for (const p of r.problems) lines.push(`\nproblem: ${p.problem}\n    fix: ${p.fix}`);
  lines.push(r.ok ? '\nall good' : '');
  return lines.join('\n');
}

/** The recommendation as the lines `autoresearch doctor` prints. */
export function formatRecommendation(rec: Recommendation): string {
  const c = rec.config;
  const lines = [
    `recommended for this machine (${rec.device}):`,
    `  prepare      --seq-len ${rec.MAX_SEQ_LEN} --eval-tokens ${rec.EVAL_TOKENS} --vocab-size ${rec.VOCAB_SIZE}`,
    `  model        DEPTH ${c.DEPTH}, ASPECT_RATIO ${c.ASPECT_RATIO}, HEAD_DIM ${c.HEAD_DIM} -> model_dim ${rec.modelDim}, WINDOW_PATTERN "${c.WINDOW_PATTERN}"`,
    `  batch        DEVICE_BATCH_SIZE ${c.DEVICE_BATCH_SIZE}, TOTAL_BATCH_SIZE ${c.TOTAL_BATCH_SIZE} (2^${Math.log2(c.TOTAL_BATCH_SIZE).toFixed(0)})`,
  ];
  const e = rec.estimate;
  if (e) {
    lines.push(
      `  expected     ${(e.params / 1e6).toFixed(2)}M params, ${(e.flopsPerToken / 1e6).toFixed(1)} MFLOP/token, ~${e.tokensPerSecond} tokens/s, ` +
        `~${e.steps} steps in 300 s, eval ~${e.evalSeconds} s` + (e.timed ? ' (timed here)' : ' (estimated from the matmul rate)'),
    );
  }
  if (rec.timed.length > 0) {
    lines.push(`  timed        ${rec.timed.map((t) => `DEPTH ${t.depth} (width ${t.modelDim}): ${t.stepMs} ms a step, ~${t.steps} steps`).join('; ')}`);
  }
  lines.push(`  rule         ${rec.rule}`);
  for (const note of rec.notes) lines.push(`  note         ${note}`);
  return lines.join('\n');
}

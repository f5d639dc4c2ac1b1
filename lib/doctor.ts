// The set-up check: what the addon was built against, what it finds at run time, and how
// fast this machine multiplies matrices; each problem comes with its fix.
import os from 'node:os';

import { AddonLoadError } from './errors';
import { measureMatmulFlops, runtimeInfo, type RuntimeInfo } from './runtime';

export interface DoctorReport {
  ok: boolean;
  node: string;
  platform: string;
  cpus: number;
  memoryGiB: number;
  addon: RuntimeInfo | null;
  /** Measured fp32 matmul throughput of the default device, GFLOP/s (1024^3 products). */
  matmulGflops: number | null;
  problems: { problem: string; fix: string }[];
}

export async function doctor(): Promise<DoctorReport> {
  const report: DoctorReport = {
    ok: true,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    addon: null,
    matmulGflops: null,
    problems: [],
  };
  try {
    report.addon = runtimeInfo();
    report.matmulGflops = Math.round((await measureMatmulFlops(1024, 5)) / 1e9);
  } catch (err) {
    const fixes = err instanceof AddonLoadError ? err.fixes : ['npm run setup'];
    report.problems.push({ problem: (err as Error).message.split('\nPossible solutions:')[0]!, fix: fixes.join('; ') });
  }
  if (report.addon && !/openblas|mkl/i.test(report.addon.blas)) {
    report.problems.push({
      problem: `libtorch uses a slow BLAS (${report.addon.blas})`,
      fix: 'sudo apt-get install libopenblas0-pthread',
    });
  }
  if (report.addon && report.addon.threads < report.cpus) {
    report.problems.push({
      problem: `libtorch uses ${report.addon.threads} of ${report.cpus} cores`,
      fix: 'unset AUTORESEARCH_THREADS (or set it to the number of cores)',
    });
  }
  report.ok = report.problems.length === 0;
  return report;
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
    lines.push(`BLAS        ${r.addon.blas}`);
    lines.push(`CUDA        ${r.addon.cudaAvailable ? r.addon.cudaDevices.join(', ') : 'no GPU visible'}`);
  }
  if (r.matmulGflops !== null) lines.push(`matmul      ${r.matmulGflops} GFLOP/s (fp32, 1024^3)`);
  for (const p of r.problems) lines.push(`\nproblem: ${p.problem}\n    fix: ${p.fix}`);
  lines.push(r.ok ? '\nall good' : '');
  return lines.join('\n');
}

// `autoresearch doctor`: the set-up check, readable by default, JSON with --json.
import type { CommandModule } from 'yargs';

import { doctor, formatDoctor } from '../setup/doctor';
import { EXIT } from './exit';

export const doctorCommand: CommandModule<object, { json: boolean; quick: boolean; 'cache-dir'?: string }> = {
  command: 'doctor',
  describe: 'Check the set-up (addon, libtorch, BLAS, threads, GPU, prepared data) and recommend sizes for this machine',
  builder: (y) =>
    y
      .option('cache-dir', { type: 'string', describe: 'where prepared data lives (default: AUTORESEARCH_CACHE_DIR or ~/.cache/autoresearch)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the report as JSON' })
      .option('quick', {
        type: 'boolean',
        default: false,
        describe: 'size the CPU model from the matmul rate alone, skipping the ~10 s of timing training steps',
      }),
  handler: async (argv) => {
    // Timing takes seconds: progress on stderr (stdout stays the report, JSON or not).
    const report = await doctor({ cacheDir: argv['cache-dir'], timeSteps: !argv.quick, progress: (line) => process.stderr.write(line + '\n') });
    process.stdout.write((argv.json ? JSON.stringify(report, null, 2) : formatDoctor(report)) + '\n');
    if (!report.ok) process.exitCode = EXIT.usage; // a set-up problem, with its fix
  },
};

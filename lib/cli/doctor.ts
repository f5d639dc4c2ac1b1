// `autoresearch doctor`: the set-up check, readable by default, JSON with --json.
import type { CommandModule } from 'yargs';

import { doctor, formatDoctor } from '../doctor';

export const doctorCommand: CommandModule<object, { json: boolean }> = {
  command: 'doctor',
  describe: 'Check the set-up: addon, libtorch, BLAS, threads, GPU',
  builder: (y) => y.option('json', { type: 'boolean', default: false, describe: 'print JSON' }),
  handler: async (argv) => {
    const report = await doctor();
    process.stdout.write((argv.json ? JSON.stringify(report, null, 2) : formatDoctor(report)) + '\n');
    if (!report.ok) process.exitCode = 1;
  },
};

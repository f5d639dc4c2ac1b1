// `autoresearch rebuild`: compile the addon where the package is installed (lib/setup/rebuild.ts),
// then load it to prove it works. Exit 2 when it cannot be built or loaded.
import type { CommandModule } from 'yargs';

import { loadAddon } from '../native/load';
import { rebuildAddon, rebuildJobs } from '../setup/rebuild';
import { EXIT, UsageError } from './exit';

interface RebuildArgs {
  jobs?: number;
  json: boolean;
}

export const rebuildCommand: CommandModule<object, RebuildArgs> = {
  command: 'rebuild',
  describe: 'Compile the native addon against the libtorch installed here, with every core (several minutes)',
  builder: (y) =>
    y
      .option('jobs', { type: 'number', describe: 'parallel compiler jobs (default: JOBS, else every core)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON (the compiler output still goes to stderr)' }),
  handler: async (argv) => {
    if (argv.jobs !== undefined && (!Number.isInteger(argv.jobs) || argv.jobs < 1)) {
      throw new UsageError(`--jobs ${argv.jobs} is not a positive integer (default: ${rebuildJobs()}, every core)`);
    }
    // The compiler's output is progress for people: keep stdout for the JSON.
    const write = process.stdout.write.bind(process.stdout);
    if (argv.json) process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
    let result;
    try {
      result = await rebuildAddon({ jobs: argv.jobs });
    } finally {
      process.stdout.write = write;
    }
    let loaded: { binary: string; libtorch: string } | null = null;
    let loadError: string | null = null;
    if (result.ok) {
      try {
        const a = loadAddon();
        loaded = { binary: a.binary, libtorch: a.addon.buildInfo().libtorchVersion };
      } catch (err) {
        loadError = (err as Error).message;
      }
    }
    if (argv.json) {
      process.stdout.write(JSON.stringify({ ...result, loaded, loadError }, null, 2) + '\n');
    } else if (!result.ok) {
      process.stderr.write(`autoresearch: ${result.message}\n`);
    } else {
      process.stderr.write(`${result.message}\n`);
      if (loaded) process.stdout.write(`loaded ${loaded.binary} (libtorch ${loaded.libtorch})\n`);
      else process.stderr.write(`autoresearch: built, but it does not load:\n${loadError}\n`);
    }
    process.exitCode = result.ok && loaded ? EXIT.ok : EXIT.usage;
  },
};

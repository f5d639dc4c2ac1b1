// `autoresearch init [dir]`: train/config.ts + program.md scaled to this machine (and, outside a
// project that depends on autoresearch, a tsconfig.json so the config's type import resolves).
import type { CommandModule } from 'yargs';

import { init } from '../setup/init';

interface InitArgs {
  dir: string;
  force: boolean;
  quick: boolean;
  dataset?: string;
  'cache-dir'?: string;
  json: boolean;
}

export const initCommand: CommandModule<object, InitArgs> = {
  command: 'init [dir]',
  describe: 'Write train/config.ts and program.md, scaled to this machine',
  builder: (y) =>
    y
      .positional('dir', { type: 'string', default: '.', describe: 'target directory (created if missing)' })
      .option('force', { type: 'boolean', default: false, describe: 'overwrite existing files' })
      .option('quick', {
        type: 'boolean',
        default: false,
        describe: 'size the CPU model from the matmul rate alone, skipping the ~10 s of timing training steps',
      })
      .option('dataset', { type: 'string', describe: 'fit the batch to this prepared dataset (default: the most recently prepared)' })
      .option('cache-dir', { type: 'string', describe: 'where prepared data lives (default: AUTORESEARCH_CACHE_DIR or ~/.cache/autoresearch)' })
      .option('json', { type: 'boolean', default: false, describe: 'print { files, scaled, machine, rule } as JSON' }),
  handler: async (argv) => {
    const result = await init({
      dir: argv.dir,
      force: argv.force,
      quick: argv.quick,
      dataset: argv.dataset,
      cacheDir: argv['cache-dir'],
      progress: (line) => process.stderr.write(line + '\n'),
    });
    if (argv.json) {
      process.stdout.write(JSON.stringify(result, null, 2) + '\n');
      return;
    }
    const changes = Object.entries(result.scaled).map(([k, v]) => `${k} = ${String(v)}`);
    process.stdout.write(
      `wrote ${result.files.join(', ')} for ${result.machine}` +
        (changes.length ? `\nscaled from the reference: ${changes.join(', ')}` : '\nreference values kept') +
        (result.rule ? `\n(${result.rule}; \`autoresearch doctor\` shows the estimate)` : '') +
        '\n',
    );
  },
};

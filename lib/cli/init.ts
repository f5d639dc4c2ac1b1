// `autoresearch init [dir]`: train/config.ts + program.md scaled to this machine.
import type { CommandModule } from 'yargs';

import { init } from '../init';

export const initCommand: CommandModule<object, { dir: string; force: boolean; dataset?: string; 'cache-dir'?: string }> = {
  command: 'init [dir]',
  describe: 'Write train/config.ts and program.md, scaled to this machine',
  builder: (y) =>
    y
      .positional('dir', { type: 'string', default: '.', describe: 'target directory' })
      .option('force', { type: 'boolean', default: false, describe: 'overwrite existing files' })
      .option('dataset', { type: 'string', describe: 'fit the batch to this prepared dataset' })
      .option('cache-dir', { type: 'string' }),
  handler: async (argv) => {
    const result = await init({
      dir: argv.dir,
      force: argv.force,
      dataset: argv.dataset,
      cacheDir: argv['cache-dir'],
      progress: (line) => process.stderr.write(line + '\n'),
    });
    const changes = Object.entries(result.scaled).map(([k, v]) => `${k} = ${String(v)}`);
    process.stdout.write(
      `wrote ${result.files.join(' and ')} for ${result.machine}` +
        (changes.length ? `\nscaled from the reference: ${changes.join(', ')}` : '\nreference values kept') +
        (result.rule ? `\n(${result.rule}; \`autoresearch doctor\` shows the estimate)` : '') +
        '\n',
    );
  },
};

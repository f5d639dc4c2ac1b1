// `autoresearch plot`: the progress chart of a run as an SVG file, or a PNG when --out ends in .png.
// One loop tag, chosen as `autoresearch results` chooses it (--tag, else the branch, else the last row's).
import fs from 'node:fs';
import path from 'node:path';

import type { CommandModule } from 'yargs';

import { checkedOutTag } from '../loop/git';
import { PROGRESS_SVG } from '../loop/paths';
import { renderProgressPng, renderProgressSvg } from '../loop/plot';
import { tagLabel } from '../loop/report';
import { loadResults } from '../loop/results';
import { chooseTag, TAG_OPTION } from './results';

interface PlotArgs {
  out?: string;
  dir: string;
  json: boolean;
  tag?: string;
}

export const plotCommand: CommandModule<object, PlotArgs> = {
  command: 'plot',
  describe: 'Draw val_bpb per experiment (kept, discarded, crashed, running best) as an SVG, or a PNG with --out FILE.png',
  builder: (y) =>
    y
      .option('out', { type: 'string', describe: `output file, .svg or .png (default: ${PROGRESS_SVG} in --dir)` })
      .option('tag', TAG_OPTION)
      .option('dir', { type: 'string', default: '.', describe: 'the research repository (where results.jsonl / results.tsv are)' })
      .option('json', { type: 'boolean', default: false, describe: 'print { file, tag, experiments } as JSON' }),
  handler: async (argv) => {
    const { rows: all } = await loadResults(argv.dir);
    const { tag, rows } = chooseTag(all, argv.tag, argv.tag === undefined ? await checkedOutTag(argv.dir) : null);
    const out = argv.out ?? path.join(argv.dir, PROGRESS_SVG);
    await fs.promises.mkdir(path.dirname(out), { recursive: true });
    if (path.extname(out).toLowerCase() === '.png') await fs.promises.writeFile(out, renderProgressPng(rows, { tag }));
    else await fs.promises.writeFile(out, renderProgressSvg(rows, { tag }), 'utf8');
    if (argv.json) process.stdout.write(JSON.stringify({ file: path.resolve(out), tag, experiments: rows.length }, null, 2) + '\n');
    else process.stdout.write(`${out}: ${rows.length} experiment${rows.length === 1 ? '' : 's'}${all.length > 0 ? ` of tag ${tagLabel(tag)}` : ''}\n`);
  },
};

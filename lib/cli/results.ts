// `autoresearch results`: the experiments of a run, counts, the best and the top improvements.
import type { CommandModule } from 'yargs';

import { formatResultsReport, resultsReportJson } from '../loop/report';
import { loadResults } from '../loop/results';

interface ResultsArgs {
  top: number;
  'kept-only': boolean;
  json: boolean;
  dir: string;
}

export const resultsCommand: CommandModule<object, ResultsArgs> = {
  command: 'results',
  describe: 'Show the experiments of a run: table, counts, best val_bpb, top improvements',
  builder: (y) =>
    y
      .option('top', { type: 'number', default: 5, describe: 'how many of the largest improvements to list' })
      .option('kept-only', { type: 'boolean', default: false, describe: 'list only kept experiments' })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON' })
      .option('dir', { type: 'string', default: '.', describe: 'the research repository (where results.jsonl / results.tsv are)' })
      .check((argv) => {
        if (!Number.isInteger(argv.top) || argv.top < 0) throw new Error(`--top ${argv.top} is not a non-negative integer.`);
        return true;
      }),
  handler: async (argv) => {
    const { rows } = await loadResults(argv.dir);
    const options = { top: argv.top, keptOnly: argv['kept-only'] };
    process.stdout.write((argv.json ? JSON.stringify(resultsReportJson(rows, options), null, 2) : formatResultsReport(rows, options)) + '\n');
  },
};

// `autoresearch results`: the experiments of a run, counts, the best and the top improvements.
// One loop tag at a time (results.jsonl holds every tag's rows): --tag NAME, else the run branch
// checked out, else the tag of the last row; --all shows every tag, each in its own section.
import type { CommandModule } from 'yargs';

import { checkedOutTag } from '../loop/git';
import { allTagsReportJson, defaultTag, formatTagsReport, rowsByTag, tagOption, tagReportJson, UNTAGGED, unknownTagProblem, type TagRows } from '../loop/report';
import { loadResults, type ResultRow } from '../loop/results';
import { UsageError } from './exit';

interface ResultsArgs {
  top: number;
  'kept-only': boolean;
  json: boolean;
  dir: string;
  tag?: string;
  all?: boolean;
}

/** The `--tag` option, shared with `autoresearch plot`. */
export const TAG_OPTION = {
  type: 'string',
  describe: `the loop tag to show ('${UNTAGGED}' for rows from before results recorded their tag); default: the autoresearch/<tag> branch checked out, else the tag of the last experiment`,
} as const;

/**
 * The tag a report shows: `requested` (a UsageError listing the tags present when no row has
 * it, and `alternative`, e.g. `--all`, when the command has one), else the run branch's tag
 * (`branchTag`, even before its first row), else the last row's.
 */
export function chooseTag(rows: readonly ResultRow[], requested: string | undefined, branchTag: string | null, alternative?: string): TagRows {
  const groups = rowsByTag(rows);
  const group = (tag: string | null): TagRows => groups.find((g) => g.tag === tag) ?? { tag, rows: [] };
  if (requested !== undefined) {
    const problem = unknownTagProblem(groups, requested);
    if (problem !== null) throw new UsageError(groups.length === 0 || !alternative ? problem : `${problem}, or ${alternative}`);
    return group(tagOption(requested));
  }
  return group(defaultTag(branchTag, rows[rows.length - 1]?.tag));
}

export const resultsCommand: CommandModule<object, ResultsArgs> = {
  command: 'results',
  describe: 'Show the experiments of a run (one loop tag): table, counts, best val_bpb, top improvements',
  builder: (y) =>
    y
      .option('top', { type: 'number', default: 5, describe: 'how many of the largest improvements to list' })
      .option('kept-only', { type: 'boolean', default: false, describe: 'list only kept experiments' })
      .option('tag', TAG_OPTION)
      // No default: yargs would count a default false as given, and refuse every --tag.
      .option('all', { type: 'boolean', describe: 'show every loop tag, each in its own section' })
      .conflicts('tag', 'all')
      .option('json', { type: 'boolean', default: false, describe: 'print JSON' })
      .option('dir', { type: 'string', default: '.', describe: 'the research repository (where results.jsonl / results.tsv are)' })
      .check((argv) => {
        if (!Number.isInteger(argv.top) || argv.top < 0) throw new Error(`--top ${argv.top} is not a non-negative integer.`);
        return true;
      }),
  handler: async (argv) => {
    const { rows } = await loadResults(argv.dir);
    const options = { top: argv.top, keptOnly: argv['kept-only'] };
    const groups = rowsByTag(rows);
    if (argv.all) {
      process.stdout.write((argv.json ? JSON.stringify(allTagsReportJson(groups, options), null, 2) : formatTagsReport(groups, groups, options)) + '\n');
      return;
    }
    const shown = chooseTag(rows, argv.tag, argv.tag === undefined ? await checkedOutTag(argv.dir) : null, 'pass --all for every tag');
    process.stdout.write((argv.json ? JSON.stringify(tagReportJson(groups, shown, options), null, 2) : formatTagsReport(groups, [shown], options)) + '\n');
  },
};

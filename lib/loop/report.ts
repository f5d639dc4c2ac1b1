// The results report behind `autoresearch results`: counts by status, the best kept val_bpb and
// its improvement over the baseline (the first row), the largest single improvements (kept
// experiments ranked by how far they lowered the best so far), and a plain table.
// One report covers one loop tag: results.jsonl holds every tag's rows under one global
// numbering, so rows are grouped by tag (rowsByTag) and numbered within their tag for display
// (each tag's baseline is #0); the stored experiment number stays in the JSON.
import { bestKept, countByStatus, flattenDescription, type ResultRow, type ResultStatus } from './results';

/** A kept experiment that lowered the best val_bpb so far. */
export interface Improvement {
  experiment: number;
  commit: string;
  val_bpb: number;
  /** The best val_bpb before it. */
  previousBest: number;
  /** previousBest − val_bpb (> 0). */
  delta: number;
  description: string;
}

/** The numbers of a report. */
export interface ResultsSummary {
  counts: Record<ResultStatus, number> & { total: number };
  /** The first row (the unmodified baseline), or null when there are no rows. */
  baseline: ResultRow | null;
  /** The kept row with the lowest val_bpb, or null. */
  best: ResultRow | null;
  /** baseline − best (absolute, and relative to the baseline), or null without both. */
  improvement: { absolute: number; relative: number } | null;
  /** The `top` largest improvements, largest first. */
  top: Improvement[];
}

/** Options of {@link summarizeResults} and {@link formatResultsReport}. */
export interface ReportOptions {
  /** How many improvements to list (default 5). */
  top?: number;
  /** List only kept experiments in the table (counts still cover all). */
  keptOnly?: boolean;
}

/**
 * Every kept experiment that beat the best before it, with the drop. The first kept row sets
 * the bar and is not an improvement.
 */
export function improvements(rows: readonly ResultRow[]): Improvement[] {
  const out: Improvement[] = [];
  let best: number | null = null;
  for (const row of rows) {
    if (row.status !== 'keep' || row.val_bpb === null) continue;
    if (best !== null && row.val_bpb < best) {
      out.push({
        experiment: row.experiment,
        commit: row.commit,
        val_bpb: row.val_bpb,
        previousBest: best,
        delta: best - row.val_bpb,
        description: flattenDescription(row.description),
      });
    }
    if (best === null || row.val_bpb < best) best = row.val_bpb;
  }
  return out;
}

/** The report's numbers for `rows`. */
export function summarizeResults(rows: readonly ResultRow[], options: ReportOptions = {}): ResultsSummary {
  const baseline = rows[0] ?? null;
  const best = bestKept(rows);
  const base = baseline?.status === 'crash' ? null : baseline?.val_bpb ?? null;
  const improvement =
    base !== null && best !== null && best.val_bpb !== null ? { absolute: base - best.val_bpb, relative: (base - best.val_bpb) / base } : null;
  const top = improvements(rows)
    .sort((a, b) => b.delta - a.delta || a.experiment - b.experiment)
    .slice(0, Math.max(0, options.top ?? 5));
  return { counts: countByStatus(rows), baseline, best, improvement, top };
}

function cell(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** How a null tag is shown, and what `--tag` takes to select those rows (a run tag cannot hold parentheses). */
export const UNTAGGED = '(untagged)';

/** The experiments of one loop tag, in file order. */
export interface TagRows {
  /** The tag; null for rows written before rows recorded it (and not inferred). */
  tag: string | null;
  rows: ResultRow[];
}

/** `rows` grouped by tag, the tags in the order of their first row. */
export function rowsByTag(rows: readonly ResultRow[]): TagRows[] {
  const groups = new Map<string | null, ResultRow[]>();
  for (const row of rows) {
    const group = groups.get(row.tag);
    if (group) group.push(row);
    else groups.set(row.tag, [row]);
  }
  return [...groups].map(([tag, tagRows]) => ({ tag, rows: tagRows }));
}

/** A tag as the report shows it: its name, or {@link UNTAGGED}. */
export function tagLabel(tag: string | null): string {
  return tag ?? UNTAGGED;
}

/** `a (8 experiments), (untagged) (1 experiment)`: the tags present, for reports and errors. */
export function describeTags(groups: readonly TagRows[]): string {
  return groups.map((g) => `${tagLabel(g.tag)} (${g.rows.length} experiment${g.rows.length === 1 ? '' : 's'})`).join(', ');
}

/** The tag a `--tag` value selects: null for {@link UNTAGGED}, else the value itself. */
export function tagOption(requested: string): string | null {
  return requested === UNTAGGED ? null : requested;
}

/**
 * Why `--tag requested` selects nothing among `groups` (every tag present, from
 * {@link rowsByTag}), naming the tags there are; null when a row has that tag.
 */
export function unknownTagProblem(groups: readonly TagRows[], requested: string): string | null {
  const tag = tagOption(requested);
  if (groups.some((g) => g.tag === tag)) return null;
  if (groups.length === 0) return `--tag ${requested}: there are no experiments yet`;
  return `--tag ${requested}: no experiment has that tag; the tags present are ${describeTags(groups)}. Name one of them`;
}

/**
 * The tag shown when none is asked for: `preferred` (the run branch's, or the running loop's,
 * even before its first row), else the tag of the last row recorded.
 */
export function defaultTag(preferred: string | null, lastRowTag: string | null | undefined): string | null {
  return preferred ?? lastRowTag ?? null;
}

/**
 * The number a row shows within `rows` (one tag's): its experiment number less the lowest one,
 * so the baseline is #0 and #k is experiment first+k in results.jsonl (and in the logs). An
 * offset, not a rank: rows of parallel workers arrive out of order, and a number a kill skipped
 * stays skipped, as it does in the files.
 */
export function tagNumbering(rows: readonly ResultRow[]): { first: number; number: (experiment: number) => number } {
  const first = rows.reduce((min, r) => Math.min(min, r.experiment), rows[0]?.experiment ?? 0);
  return { first, number: (experiment) => experiment - first };
}

/**
 * The readable report of one tag's `rows`: the table, the counts, the best and the top
 * improvements, numbered within the rows (see {@link tagNumbering}).
 */
export function formatResultsReport(rows: readonly ResultRow[], options: ReportOptions = {}): string {
  const summary = summarizeResults(rows, options);
  const { number } = tagNumbering(rows);
  const shown = options.keptOnly ? rows.filter((r) => r.status === 'keep') : rows;
  const lines: string[] = [];
  // Where each ran, when a parallel loop recorded it: the worker, and the node when it was not this one.
  const hasWorkers = shown.some((r) => workerOf(r) !== '');
  const header = ['#', 'commit', 'val_bpb', 'mem_gb', 'status', ...(hasWorkers ? ['worker'] : []), 'description'];
  const table = shown.map((r) => [
    String(number(r.experiment)),
    r.commit.slice(0, 7),
    r.status === 'crash' || r.val_bpb === null ? '-' : r.val_bpb.toFixed(6),
    r.status === 'crash' || r.peak_vram_mb === null ? '-' : (r.peak_vram_mb / 1024).toFixed(1),
    r.status,
    ...(hasWorkers ? [workerOf(r) || '-'] : []),
    truncate(flattenDescription(r.description), 70),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  const right = [true, false, true, true, false, ...(hasWorkers ? [false] : []), false];
  const render = (row: string[]) => row.map((c, i) => (i === row.length - 1 ? c : cell(c, widths[i]!, right[i]))).join('  ').trimEnd();
  lines.push(render(header));
  for (const row of table) lines.push(render(row));
  if (shown.length === 0) lines.push(options.keptOnly ? '(no kept experiments)' : '(no experiments)');
  lines.push('');

  const { counts, baseline, best, improvement, top } = summary;
  lines.push(`${counts.total} experiment${counts.total === 1 ? '' : 's'}: ${counts.keep} kept, ${counts.discard} discarded, ${counts.crash} crashed`);
  if (best !== null && best.val_bpb !== null) {
    let line = `best val_bpb ${best.val_bpb.toFixed(6)} (#${number(best.experiment)}, ${best.commit.slice(0, 7)})`;
    if (improvement !== null && baseline !== null && baseline.val_bpb !== null) {
      line += `: ${improvement.absolute.toFixed(6)} below the baseline ${baseline.val_bpb.toFixed(6)} (${(improvement.relative * 100).toFixed(2)}%)`;
    }
    lines.push(line);
  } else {
    lines.push('no kept experiment yet');
  }
  if (top.length > 0) {
    lines.push('', `top ${top.length} improvement${top.length === 1 ? '' : 's'}:`);
    const width = Math.max(...top.map((t) => String(number(t.experiment)).length));
    for (const t of top) {
      lines.push(`  #${String(number(t.experiment)).padEnd(width)}  -${t.delta.toFixed(6)}  ${t.previousBest.toFixed(6)} -> ${t.val_bpb.toFixed(6)}  ${truncate(t.description, 70)}`);
    }
  }
  return lines.join('\n');
}

/** `local:1`, or `slurm:1234@node7`: the worker a parallel loop recorded for a row ('' for none). */
export function workerOf(row: ResultRow): string {
  const hw = row.fingerprint.hardware as { worker?: unknown; node?: unknown };
  if (typeof hw.worker !== 'string') return '';
  return typeof hw.node === 'string' && hw.node !== '' && !hw.worker.startsWith('local:') ? `${hw.worker}@${hw.node}` : hw.worker;
}

/** A row of the JSON report: `index` is its number within the tag, `experiment` the stored one. */
export type IndexedRow = ResultRow & { index: number };

/** The machine-readable report of one tag's rows. */
export interface ResultsReportJson extends Omit<ResultsSummary, 'baseline' | 'best' | 'top'> {
  baseline: IndexedRow | null;
  best: IndexedRow | null;
  top: Array<Improvement & { index: number }>;
  /** The experiments shown (every one, or the kept ones with keptOnly). */
  experiments: IndexedRow[];
}

/** The machine-readable report (`--json`) of one tag's `rows`: the summary and the experiments shown. */
export function resultsReportJson(rows: readonly ResultRow[], options: ReportOptions = {}): ResultsReportJson {
  const { number } = tagNumbering(rows);
  const indexed = (row: ResultRow): IndexedRow => ({ index: number(row.experiment), ...row });
  const summary = summarizeResults(rows, options);
  const shown = options.keptOnly ? rows.filter((r) => r.status === 'keep') : rows;
  return {
    ...summary,
    baseline: summary.baseline && indexed(summary.baseline),
    best: summary.best && indexed(summary.best),
    top: summary.top.map((t) => ({ index: number(t.experiment), ...t })),
    experiments: shown.map(indexed),
  };
}

/** The first line of a tag's section: which tag, and how its numbers map to the stored ones. */
function tagHeading(group: TagRows): string {
  const name = group.tag === null ? `${UNTAGGED}: rows written before results recorded their loop tag` : `tag ${group.tag}`;
  const { first } = tagNumbering(group.rows);
  return first > 0 ? `${name} (#0 is experiment ${first} in results.jsonl)` : name;
}

/**
 * The readable report of the tags `shown`, each in its own section, among every tag present
 * (`groups`, from {@link rowsByTag} of all rows): the tags not shown are listed with their
 * counts, so a report of one tag never hides that others exist.
 */
export function formatTagsReport(groups: readonly TagRows[], shown: readonly TagRows[], options: ReportOptions = {}): string {
  if (groups.length === 0) return formatResultsReport([], options); // no rows: no tag to name
  const sections = shown.map((g) => `${tagHeading(g)}\n\n${formatResultsReport(g.rows, options)}`);
  const others = groups.filter((g) => !shown.some((s) => s.tag === g.tag));
  if (others.length > 0) sections.push(`other tags: ${describeTags(others)}; \`--tag NAME\` shows one, \`--all\` every tag`);
  return sections.join('\n\n');
}

/** Every tag present and its number of experiments, as the JSON reports list them. */
export type TagCounts = Array<{ tag: string | null; experiments: number }>;

function tagCounts(groups: readonly TagRows[]): TagCounts {
  return groups.map((g) => ({ tag: g.tag, experiments: g.rows.length }));
}

/**
 * The machine-readable report of one tag (`results --json`): {@link resultsReportJson}'s, led by
 * the tag shown and every tag present (`groups`, from {@link rowsByTag} of all rows).
 */
export function tagReportJson(groups: readonly TagRows[], shown: TagRows, options: ReportOptions = {}): { tag: string | null; tags: TagCounts } & ResultsReportJson {
  return { tag: shown.tag, tags: tagCounts(groups), ...resultsReportJson(shown.rows, options) };
}

/** The machine-readable report of every tag (`results --all --json`): one section per tag. */
export function allTagsReportJson(groups: readonly TagRows[], options: ReportOptions = {}): { tags: TagCounts; sections: Array<{ tag: string | null } & ResultsReportJson> } {
  return { tags: tagCounts(groups), sections: groups.map((g) => ({ tag: g.tag, ...resultsReportJson(g.rows, options) })) };
}

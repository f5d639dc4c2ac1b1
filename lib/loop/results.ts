// The research log: `results.tsv` exactly as the reference writes it (SPEC §7), and
// `results.jsonl`, one JSON object per experiment with everything the TSV leaves out (the loop
// tag, every summary field, parent and experiment commits, agent, time, the diff, the fingerprint).
// Design choices:
// - Appends are one write + fsync per file, results.jsonl first: it is the source of truth, and
//   results.tsv is a view of it that readResults() re-derives when a kill left the two apart.
// - A torn last line (kill -9 in the middle of a write) is dropped and truncated away on read;
//   a broken line elsewhere is an error naming the line, never skipped silently.
// - Neither file is committed: ensureGitignore() lists them (and the other loop files).
// - Experiment numbers are global to the file (every tag's rows share it, logs key on them);
//   each row names its tag so reports can tell the runs apart (loadResults, inferTags).
import fs from 'node:fs';
import path from 'node:path';

import { GitRepoError, ResultsError } from '../errors';
import { SUMMARY_KEYS, type ExperimentSummary, type SummaryKey } from '../runner/types';
import { commitFiles, fileAt, headSha, trackedFiles } from './git';
import { LOOP_IGNORES, RESULTS_JSONL, RESULTS_TSV, isLoopPath } from './paths';
import { readState, type RunState } from './run-state';

/** The header line of results.tsv (SPEC §7). */
export const TSV_HEADER = 'commit\tval_bpb\tmemory_gb\tstatus\tdescription';

/** The outcome of an experiment: kept (it improved), discarded, or crashed. */
export type ResultStatus = 'keep' | 'discard' | 'crash';

/** The three statuses, in the order reports list them. */
export const RESULT_STATUSES: readonly ResultStatus[] = ['keep', 'discard', 'crash'];

/**
 * Where and with what an experiment ran. Opaque here: the loop fills it (GPU, libtorch,
 * threads…; harness version, constants…) so results from different set-ups can be told apart.
 */
export interface Fingerprint {
  hardware: Record<string, unknown>;
  harness: Record<string, unknown>;
}

/** The summary block's fields, each null when the run did not print it. */
export type SummaryFields = { [K in SummaryKey]: number | null };

/** One experiment as results.jsonl stores it (keys in this order). */
export interface ResultRow extends SummaryFields {
  /** Experiment number, global to results.jsonl (all tags share it; logs key on it). */
  experiment: number;
  /**
   * The loop tag (`autoresearch loop --tag`) the experiment belongs to; null for a row written
   * before rows recorded it, unless {@link loadResults} could infer it (see {@link inferTags}).
   */
  tag: string | null;
  status: ResultStatus;
  /** What the experiment tried, as the agent described it. */
  description: string;
  /** The experiment's commit (full sha). */
  commit: string;
  /** The commit the experiment started from, or null when unknown. */
  parent: string | null;
  /** Which agent proposed the change. */
  agent: string;
  /** When the experiment finished, ISO 8601. */
  time: string;
  fingerprint: Fingerprint;
  /** The unified diff of the change (train/config.ts, see diffOf); '' for the baseline. */
  diff: string;
}

/** What the loop hands to {@link appendResult}. */
export interface NewResult {
  experiment: number;
  /** The loop tag of the run. */
  tag: string;
  status: ResultStatus;
  description: string;
  commit: string;
  parent: string | null;
  agent: string;
  /** The run's summary block, or null when it crashed before printing one. */
  summary: ExperimentSummary | null;
  diff: string;
  fingerprint: Fingerprint;
  /** Defaults to now. */
  time?: Date;
}

/** Options of {@link readResults}. */
export interface ReadResultsOptions {
  /**
   * Truncate a torn last line away and bring results.tsv level with results.jsonl (default
   * true). Pass false to only read, e.g. from a report while a loop may be writing.
   */
  repair?: boolean;
}

/** Tabs and line breaks in a description become single spaces, so a row stays one TSV line. */
export function flattenDescription(description: string): string {
  return description.replace(/[\t\r\n]+/g, ' ').trim();
}

/** The results.tsv line of a row (no trailing newline). Crashes show 0.000000 and 0.0. */
export function formatTsvRow(row: ResultRow): string {
  const crashed = row.status === 'crash';
  const bpb = crashed || row.val_bpb === null ? '0.000000' : row.val_bpb.toFixed(6);
  const memory = crashed || row.peak_vram_mb === null ? '0.0' : (row.peak_vram_mb / 1024).toFixed(1);
  return [row.commit.slice(0, 7), bpb, memory, row.status, flattenDescription(row.description)].join('\t');
}

function checkNewResult(result: NewResult): void {
  const problems: string[] = [];
  if (!Number.isInteger(result.experiment) || result.experiment < 0) problems.push(`experiment ${result.experiment} is not a non-negative integer`);
  if (typeof result.tag !== 'string' || result.tag === '') problems.push('the loop tag is empty');
  if (!RESULT_STATUSES.includes(result.status)) problems.push(`status '${result.status}' is not keep, discard or crash`);
  if (!/^[0-9a-f]{7,40}$/.test(result.commit)) problems.push(`commit '${result.commit}' is not a commit sha`);
  if (result.status !== 'crash' && !(result.summary && Number.isFinite(result.summary.val_bpb))) {
    problems.push(`a '${result.status}' needs a summary with a finite val_bpb (log it as a crash otherwise)`);
  }
  if (problems.length > 0) throw new ResultsError(`Cannot log experiment ${result.experiment}: ${problems.join('; ')}.`);
}

/** The row {@link appendResult} writes for `result`. */
export function toResultRow(result: NewResult): ResultRow {
  const summary = {} as SummaryFields;
  for (const key of SUMMARY_KEYS) {
    const value = result.summary?.[key];
    summary[key] = typeof value === 'number' && Number.isFinite(value) ? value : null;
  }
  return {
    experiment: result.experiment,
    tag: result.tag,
    status: result.status,
    ...summary,
    description: result.description,
    commit: result.commit,
    parent: result.parent,
    agent: result.agent,
    time: (result.time ?? new Date()).toISOString(),
    fingerprint: result.fingerprint,
    diff: result.diff,
  };
}

/** Appends `text` with one write and an fsync, creating the file if needed. */
async function appendDurable(file: string, text: string): Promise<void> {
  const handle = await fs.promises.open(file, 'a');
  try {
    const bytes = Buffer.from(text, 'utf8');
    let written = 0;
    while (written < bytes.length) written += (await handle.write(bytes, written, bytes.length - written)).bytesWritten;
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Replaces `file` through a temporary file, synced before the rename. */
async function replaceDurable(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  const handle = await fs.promises.open(tmp, 'w');
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.promises.rename(tmp, file);
}

/** The complete lines of a file; a torn last line (no `\n`) is cut off the file when `repair`. */
async function completeLines(file: string, repair: boolean): Promise<string[] | null> {
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const end = text.lastIndexOf('\n') + 1;
  if (end < text.length && repair) await fs.promises.truncate(file, Buffer.byteLength(text.slice(0, end), 'utf8'));
  return text.slice(0, end).split('\n').slice(0, -1);
}

function parseRow(line: string, lineNumber: number, file: string): ResultRow {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    value = undefined;
  }
  const row = value as Partial<ResultRow> | undefined;
  if (
    !row ||
    typeof row !== 'object' ||
    typeof row.experiment !== 'number' ||
    !RESULT_STATUSES.includes(row.status as ResultStatus) ||
    typeof row.commit !== 'string'
  ) {
    throw new ResultsError(
      `${file} line ${lineNumber} is not a result row (${line.length > 60 ? `${line.slice(0, 60)}…` : line}). ` +
        'Fix or delete that line; the other rows are intact.',
    );
  }
  const summary = {} as SummaryFields;
  for (const key of SUMMARY_KEYS) summary[key] = typeof row[key] === 'number' ? row[key] : null;
  return {
    experiment: row.experiment,
    tag: typeof row.tag === 'string' && row.tag !== '' ? row.tag : null,
    status: row.status as ResultStatus,
    ...summary,
    description: typeof row.description === 'string' ? row.description : '',
    commit: row.commit,
    parent: typeof row.parent === 'string' ? row.parent : null,
    agent: typeof row.agent === 'string' ? row.agent : '',
    time: typeof row.time === 'string' ? row.time : '',
    fingerprint: row.fingerprint ?? { hardware: {}, harness: {} },
    diff: typeof row.diff === 'string' ? row.diff : '',
  };
}

/**
 * The experiments logged in `<dir>/results.jsonl`, in order ([] when there is none yet). A
 * torn last line is left out and, unless `repair: false`, truncated away; results.tsv is
 * then rewritten from the rows if its row count differs. A ResultsError names any other broken line.
 */
export async function readResults(dir: string, options: ReadResultsOptions = {}): Promise<ResultRow[]> {
  const repair = options.repair ?? true;
  const jsonlPath = path.join(dir, RESULTS_JSONL);
  const lines = await completeLines(jsonlPath, repair);
  if (lines === null) return [];
  const rows: ResultRow[] = [];
  lines.forEach((line, i) => {
    if (line.trim() !== '') rows.push(parseRow(line, i + 1, RESULTS_JSONL));
  });
  if (repair) await levelTsv(dir, rows);
  return rows;
}

/**
 * Makes results.tsv hold a line per row when it has another number of rows: a kill left it a
 * row behind, or it is missing, or a kill cut results.jsonl's last line after the TSV had it.
 */
async function levelTsv(dir: string, rows: ResultRow[]): Promise<void> {
  const tsvPath = path.join(dir, RESULTS_TSV);
  const lines = await completeLines(tsvPath, true);
  const tsvRows = lines === null ? 0 : lines.filter((l) => l !== '' && l !== TSV_HEADER).length;
  if (rows.length !== tsvRows) {
    await replaceDurable(tsvPath, [TSV_HEADER, ...rows.map(formatTsvRow)].join('\n') + '\n');
  }
}

/**
 * Logs one experiment: a line in results.jsonl, then one in results.tsv (with the header
 * first when the file is new), each a single write followed by fsync. A torn tail left by an
 * earlier kill is repaired first. Returns the row written.
 */
export async function appendResult(dir: string, result: NewResult): Promise<ResultRow> {
  checkNewResult(result);
  await readResults(dir, { repair: true });
  const row = toResultRow(result);
  await appendDurable(path.join(dir, RESULTS_JSONL), JSON.stringify(row) + '\n');
  const tsvPath = path.join(dir, RESULTS_TSV);
  const header = fs.existsSync(tsvPath) && fs.statSync(tsvPath).size > 0 ? '' : TSV_HEADER + '\n';
  await appendDurable(tsvPath, header + formatTsvRow(row) + '\n');
  return row;
}

/**
 * Makes results.jsonl and results.tsv hold exactly `rows` (the loop's own record) when either
 * differs in any way: an agent appended, edited, deleted or cut a line. Returns the files
 * rewritten ([] when both were intact).
 */
export async function restoreResults(dir: string, rows: readonly ResultRow[]): Promise<string[]> {
  const canonical = (row: ResultRow) => JSON.stringify(parseRow(JSON.stringify(row), 0, RESULTS_JSONL));
  const expected = rows.map(canonical);
  const rewritten: string[] = [];
  const jsonlPath = path.join(dir, RESULTS_JSONL);
  const jsonl = await fs.promises.readFile(jsonlPath, 'utf8').catch(() => null);
  let intact = jsonl !== null || rows.length === 0;
  if (jsonl !== null) {
    const lines = jsonl.split('\n');
    intact = lines.pop() === '' && lines.length === expected.length;
    for (let i = 0; intact && i < lines.length; i++) {
      try {
        intact = JSON.stringify(parseRow(lines[i]!, i + 1, RESULTS_JSONL)) === expected[i];
      } catch {
        intact = false;
      }
    }
  }
  if (!intact) {
    await replaceDurable(jsonlPath, rows.map((row) => JSON.stringify(row) + '\n').join(''));
    rewritten.push(RESULTS_JSONL);
  }
  const tsvPath = path.join(dir, RESULTS_TSV);
  const tsv = [TSV_HEADER, ...rows.map(formatTsvRow)].join('\n') + '\n';
  const tsvNow = await fs.promises.readFile(tsvPath, 'utf8').catch(() => null);
  if (tsvNow !== (rows.length === 0 && tsvNow === null ? null : tsv)) {
    await replaceDurable(tsvPath, tsv);
    rewritten.push(RESULTS_TSV);
  }
  return rewritten;
}

/**
 * Rows from a results.tsv alone (the reference's format, or a run whose results.jsonl is
 * gone): experiment numbers by line, the fields the TSV lacks as null / ''. Crashes have no
 * val_bpb or memory (the TSV's zeros are placeholders).
 */
export function parseResultsTsv(text: string, file = RESULTS_TSV): ResultRow[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length === 0) return [];
  if (lines[0]!.replace(/\r$/, '') !== TSV_HEADER) {
    throw new ResultsError(`${file} does not start with the header '${TSV_HEADER.replace(/\t/g, '\\t')}'.`);
  }
  return lines.slice(1).map((raw, i) => {
    const cells = raw.replace(/\r$/, '').split('\t');
    const [commit = '', bpb = '', memory = '', status = '', ...rest] = cells;
    if (!RESULT_STATUSES.includes(status as ResultStatus) || !Number.isFinite(Number(bpb)) || !Number.isFinite(Number(memory))) {
      throw new ResultsError(`${file} line ${i + 2} is not a result row: '${raw}'. Fix or delete that line.`);
    }
    const crashed = status === 'crash';
    const summary = Object.fromEntries(SUMMARY_KEYS.map((k) => [k, null])) as SummaryFields;
    summary.val_bpb = crashed ? null : Number(bpb);
    summary.peak_vram_mb = crashed ? null : Number(memory) * 1024;
    return {
      experiment: i,
      tag: null,
      status: status as ResultStatus,
      ...summary,
      description: rest.join(' '),
      commit,
      parent: null,
      agent: '',
      time: '',
      fingerprint: { hardware: {}, harness: {} },
      diff: '',
    };
  });
}

/** Where {@link loadResults} found the rows. */
export type ResultsSource = typeof RESULTS_JSONL | typeof RESULTS_TSV;

/**
 * `rows` with the tag filled in where a row has none (written before rows recorded it) and the
 * run state can tell: run.json is rewritten when a new tag starts, with `firstExperiment` the
 * next unused number, and numbers are never reused, so every row numbered from there on is that
 * tag's. Rows below it belong to earlier tags run.json no longer names: they stay null.
 */
export function inferTags(rows: readonly ResultRow[], state: Pick<RunState, 'tag' | 'firstExperiment'> | null): ResultRow[] {
  return rows.map((row) => {
    const tag = inferredTag(row, state);
    return tag === row.tag ? row : { ...row, tag };
  });
}

/**
 * One row's tag as {@link inferTags} fills it in: its own, else the run state's when the row is
 * numbered from the state's `firstExperiment` on, else null. `state` may be read leniently
 * (fields missing or mistyped): such a state infers nothing.
 */
export function inferredTag(row: Pick<ResultRow, 'tag' | 'experiment'>, state: Partial<Pick<RunState, 'tag' | 'firstExperiment'>> | null): string | null {
  if (row.tag !== null) return row.tag;
  if (state === null || typeof state.tag !== 'string' || state.tag === '' || !Number.isInteger(state.firstExperiment)) return null;
  return row.experiment >= state.firstExperiment! ? state.tag : null;
}

/**
 * The rows for a report, read-only: results.jsonl when present, else results.tsv (e.g. the
 * reference's); tags missing from old rows inferred from the run state ({@link inferTags}).
 * A ResultsError when `dir` has neither.
 */
export async function loadResults(dir: string): Promise<{ rows: ResultRow[]; source: ResultsSource }> {
  const tagged = async (rows: ResultRow[]) => inferTags(rows, await readState(dir));
  if (fs.existsSync(path.join(dir, RESULTS_JSONL))) return { rows: await tagged(await readResults(dir, { repair: false })), source: RESULTS_JSONL };
  const tsvPath = path.join(dir, RESULTS_TSV);
  if (fs.existsSync(tsvPath)) return { rows: await tagged(parseResultsTsv(await fs.promises.readFile(tsvPath, 'utf8'))), source: RESULTS_TSV };
  throw new ResultsError(`No ${RESULTS_JSONL} or ${RESULTS_TSV} in ${path.resolve(dir)}: run \`autoresearch loop\` there first, or pass --dir.`);
}

/** The kept experiment with the lowest val_bpb (the earliest on a tie), or null. */
export function bestKept(rows: readonly ResultRow[]): ResultRow | null {
  let best: ResultRow | null = null;
  for (const row of rows) {
    if (row.status === 'keep' && row.val_bpb !== null && (best === null || row.val_bpb < best.val_bpb!)) best = row;
  }
  return best;
}

/** The last kept experiment (the one the branch sits on), or null. */
export function lastKept(rows: readonly ResultRow[]): ResultRow | null {
  for (let i = rows.length - 1; i >= 0; i--) if (rows[i]!.status === 'keep') return rows[i]!;
  return null;
}

/** The number the next experiment gets: one more than the highest so far, 0 for the baseline. */
export function nextExperimentNumber(rows: readonly ResultRow[]): number {
  return rows.reduce((n, row) => Math.max(n, row.experiment + 1), 0);
}

/** How many experiments ended each way. */
export function countByStatus(rows: readonly ResultRow[]): Record<ResultStatus, number> & { total: number } {
  const counts = { keep: 0, discard: 0, crash: 0, total: rows.length };
  for (const row of rows) counts[row.status]++;
  return counts;
}

/** The best kept val_bpb after each row (null until the first kept one). */
export function runningBest(rows: readonly ResultRow[]): Array<number | null> {
  let best: number | null = null;
  return rows.map((row) => {
    if (row.status === 'keep' && row.val_bpb !== null && (best === null || row.val_bpb < best)) best = row.val_bpb;
    return best;
  });
}

/** What {@link ensureGitignore} did. */
export interface GitignoreUpdate {
  /** Entries appended to .gitignore (empty when all were there). */
  added: string[];
  /** The commit of the .gitignore change, or null when HEAD's .gitignore already had them all. */
  commit: string | null;
}

function hasEntry(lines: Set<string>, entry: string): boolean {
  const bare = entry.replace(/\/$/, '');
  return [entry, bare, `/${entry}`, `/${bare}`].some((l) => lines.has(l));
}

function entryLines(text: string | null): Set<string> {
  return new Set((text ?? '').split(/\r?\n/).map((l) => l.trim()));
}

/**
 * Makes sure .gitignore lists results.tsv, results.jsonl, run.log, .autoresearch/ (and
 * progress.svg, node_modules/), appending what is missing, and commits .gitignore when HEAD's
 * copy lacks any of them (the commit takes the file as it is on disk). Call it on the run's
 * branch, before the baseline. Refuses (GitRepoError) when one of the loop's files is tracked:
 * a reset would then rewrite the results.
 */
export async function ensureGitignore(dir: string): Promise<GitignoreUpdate> {
  const head = await headSha(dir);
  const file = path.join(dir, '.gitignore');
  const onDisk = fs.existsSync(file) ? await fs.promises.readFile(file, 'utf8') : null;
  const tracked = (await trackedFiles(dir, head)).filter(isLoopPath);
  if (tracked.length > 0) {
    throw new GitRepoError(
      `${tracked.join(', ')} ${tracked.length === 1 ? 'is' : 'are'} tracked by git, so resetting an experiment would rewrite ${tracked.length === 1 ? 'it' : 'them'}. ` +
        `Untrack ${tracked.length === 1 ? 'it' : 'them'} (the file stays on disk): \`git rm --cached ${tracked.join(' ')} && git commit -m "untrack results"\`.`,
    );
  }
  const present = entryLines(onDisk);
  const added = LOOP_IGNORES.filter((e) => !hasEntry(present, e));
  if (added.length > 0) {
    const prefix = onDisk === null || onDisk === '' ? '' : onDisk.endsWith('\n') ? '\n' : '\n\n';
    const block = `${prefix}# autoresearch: results, logs and the loop's state are never committed\n${added.join('\n')}\n`;
    await fs.promises.appendFile(file, block, 'utf8');
  }
  const atHead = entryLines(await fileAt(dir, head, '.gitignore'));
  if (LOOP_IGNORES.every((e) => hasEntry(atHead, e))) return { added: [...added], commit: null };
  const commit = await commitFiles(dir, ['.gitignore'], 'Ignore the research loop\'s results, logs and state');
  return { added: [...added], commit };
}

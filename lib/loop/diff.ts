// A unified line diff, small and dependency-free, for the diffs the results log keeps.
// Design: Myers' O(ND) greedy algorithm ("An O(ND) Difference Algorithm and Its Variations",
// 1986) on whole lines after trimming the common prefix and suffix; hunks with 3 lines of
// context, merged when at most 6 unchanged lines separate two changes; hunk headers carry
// the section heading git's default rule picks (the nearest earlier line starting with a
// letter, `_` or `$`, cut to 80 bytes), and `\ No newline at end of file` as git writes it.
// For an edit that has only one minimal form the output is byte-for-byte `git diff`'s from the
// `---` line on; where several minimal diffs exist git's heuristics may pick another.

/** One line of the edit script. Positions are 0-based line indices before the edit applies. */
interface Edit {
  kind: ' ' | '-' | '+';
  /** Index in the old text of the line (for ' ' and '-') or of where the insertion happens. */
  oldPos: number;
  /** Index in the new text of the line (for ' ' and '+') or of where the deletion happens. */
  newPos: number;
  line: string;
}

/** Options of {@link unifiedDiff}. */
export interface UnifiedDiffOptions {
  /** Unchanged lines shown around each change (default 3, as git). */
  context?: number;
}

/** Splits text into lines that keep their `\n`; a last line without one stays as it is. */
function splitLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/** The shortest edit script turning `a` into `b` (Myers), as a list of kept/deleted/inserted lines. */
function editScript(a: string[], b: string[]): Edit[] {
  // Common prefix and suffix need no search.
  let prefix = 0;
  while (prefix < a.length && prefix < b.length && a[prefix] === b[prefix]) prefix++;
  let suffix = 0;
  while (suffix < a.length - prefix && suffix < b.length - prefix && a[a.length - 1 - suffix] === b[b.length - 1 - suffix]) suffix++;
  const a1 = a.slice(prefix, a.length - suffix);
  const b1 = b.slice(prefix, b.length - suffix);

  const middle = myers(a1, b1);
  const edits: Edit[] = [];
  for (let i = 0; i < prefix; i++) edits.push({ kind: ' ', oldPos: i, newPos: i, line: a[i]! });
  for (const e of middle) edits.push({ ...e, oldPos: e.oldPos + prefix, newPos: e.newPos + prefix });
  for (let i = 0; i < suffix; i++) {
    const oi = a.length - suffix + i;
    const ni = b.length - suffix + i;
    edits.push({ kind: ' ', oldPos: oi, newPos: ni, line: a[oi]! });
  }
  return edits;
}

function myers(a: string[], b: string[]): Edit[] {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  if (max === 0) return [];
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  search: for (let d = 0; d <= max; d++) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? v[offset + k + 1]! : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) break search;
    }
  }
  // Walk the snapshots back from (n, m) to (0, 0).
  const edits: Edit[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0; d--) {
    const vd = trace[d]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && vd[offset + k - 1]! < vd[offset + k + 1]!) ? k + 1 : k - 1;
    const prevX = vd[offset + prevK]!;
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      x--;
      y--;
      edits.push({ kind: ' ', oldPos: x, newPos: y, line: a[x]! });
    }
    if (d > 0) {
      if (x === prevX) edits.push({ kind: '+', oldPos: x, newPos: prevY, line: b[prevY]! });
      else edits.push({ kind: '-', oldPos: prevX, newPos: y, line: a[prevX]! });
    }
    x = prevX;
    y = prevY;
  }
  return edits.reverse();
}

/** git's default section heading: a line starting with a letter, `_` or `$`, 80 bytes at most. */
function sectionHeading(oldLines: string[], before: number): string {
  for (let i = before; i >= 0; i--) {
    const line = oldLines[i]!;
    if (/^[A-Za-z_$]/.test(line)) {
      const bytes = Buffer.from(line, 'utf8');
      return (bytes.length > 80 ? bytes.subarray(0, 80).toString('utf8') : line).replace(/[ \t\n\v\f\r]+$/, '');
    }
  }
  return '';
}

function range(start0: number, count: number): string {
  const start = count === 0 ? start0 : start0 + 1;
  return count === 1 ? `${start}` : `${start},${count}`;
}

function emitLine(prefix: string, line: string): string {
  return line.endsWith('\n') ? `${prefix}${line}` : `${prefix}${line}\n\\ No newline at end of file\n`;
}

/**
 * The hunks (`@@ -a,b +c,d @@ heading` and their lines) turning `oldText` into `newText`;
 * '' when the texts are equal. No `---`/`+++` header: see {@link unifiedDiff}.
 */
export function diffHunks(oldText: string, newText: string, options: UnifiedDiffOptions = {}): string {
  const context = options.context ?? 3;
  const oldLines = splitLines(oldText);
  const edits = editScript(oldLines, splitLines(newText));
  let out = '';
  let i = 0;
  let lastEnd = 0;
  while (i < edits.length) {
    if (edits[i]!.kind === ' ') {
      i++;
      continue;
    }
    // A hunk starts `context` lines before this change and grows while the next change is close.
    const start = Math.max(lastEnd, i - context);
    let j = i;
    let end: number;
    for (;;) {
      while (j < edits.length && edits[j]!.kind !== ' ') j++;
      let k = j;
      while (k < edits.length && edits[k]!.kind === ' ') k++;
      if (k < edits.length && k - j <= 2 * context) {
        j = k;
        continue;
      }
      end = Math.min(edits.length, j + context);
      break;
    }
    const hunk = edits.slice(start, end);
    const first = hunk[0]!;
    const oldCount = hunk.filter((e) => e.kind !== '+').length;
    const newCount = hunk.filter((e) => e.kind !== '-').length;
    const heading = sectionHeading(oldLines, first.oldPos - 1);
    out += `@@ -${range(first.oldPos, oldCount)} +${range(first.newPos, newCount)} @@${heading ? ` ${heading}` : ''}\n`;
    for (const e of hunk) out += emitLine(e.kind, e.line);
    lastEnd = end;
    i = end;
  }
  return out;
}

/**
 * A unified diff of one file: `--- a/<path>` / `+++ b/<path>` (or `/dev/null` for a side that
 * does not exist, given as null) followed by the hunks; '' when nothing changed.
 */
export function unifiedDiff(path: string, oldText: string | null, newText: string | null, options: UnifiedDiffOptions = {}): string {
  const hunks = diffHunks(oldText ?? '', newText ?? '', options);
  if (hunks === '' && (oldText === null) === (newText === null)) return '';
  const from = oldText === null ? '/dev/null' : `a/${path}`;
  const to = newText === null ? '/dev/null' : `b/${path}`;
  return `--- ${from}\n+++ ${to}\n${hunks}`;
}

/** One change of an edit script: base lines [start, end) replaced by `lines`. */
interface Change {
  start: number;
  end: number;
  lines: string[];
}

function changes(base: string[], other: string[]): Change[] {
  const out: Change[] = [];
  let current: Change | null = null;
  for (const e of editScript(base, other)) {
    if (e.kind === ' ') {
      if (current) out.push(current);
      current = null;
      continue;
    }
    current ??= { start: e.oldPos, end: e.oldPos, lines: [] };
    if (e.kind === '-') current.end = e.oldPos + 1;
    else current.lines.push(e.line);
  }
  if (current) out.push(current);
  return out;
}

/**
 * Three-way merge of whole lines: `theirs`' changes to `base` applied to `ours` (which changed
 * `base` too). Null when a change of one side overlaps or touches one of the other (git's
 * rule), unless both made the same change. The parallel loop uses it to move an experiment's
 * edit of train/config.ts onto a newer best commit.
 */
export function mergeLines(base: string, ours: string, theirs: string): string | null {
  const b = splitLines(base);
  const all = [...changes(b, splitLines(ours)), ...changes(b, splitLines(theirs))].sort((x, y) => x.start - y.start || x.end - y.end);
  const out: string[] = [];
  let pos = 0;
  let last: Change | null = null;
  for (const c of all) {
    if (last && c.start <= last.end && !(last.start === c.start && last.end === c.end)) return null;
    if (last && last.start === c.start && last.end === c.end) {
      if (last.lines.join('') !== c.lines.join('')) return null;
      continue; // the same change on both sides
    }
    out.push(...b.slice(pos, c.start), ...c.lines);
    pos = c.end;
    last = c;
  }
  out.push(...b.slice(pos));
  return out.join('');
}

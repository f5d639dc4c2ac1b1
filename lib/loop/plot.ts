// The progress chart behind `autoresearch plot`, after the reference's progress.png: val_bpb
// per experiment, kept experiments highlighted (and labelled with their description), discarded
// ones in grey, crashes as red crosses on the x axis, the running best as a step line.
// Design choices: a self-contained SVG string (no dependency, opens in any browser); PNG is that
// SVG rasterised by resvg (@resvg/resvg-js, a prebuilt binary shipped in the npm package, text in
// the system's fonts), for chats and reports; every mark carries data-experiment / data-val-bpb attributes and
// a <title> tooltip; discarded outliers far above the kept range would flatten the interesting
// part, so they are drawn as triangles on the top edge instead (counted in the legend).
// The rows are one loop tag's: the x axis, labels and data-experiment attributes number them
// within the tag (the baseline is #0), as `autoresearch results` does.
import type { Resvg as ResvgClass } from '@resvg/resvg-js';

import { tagLabel, tagNumbering, workerOf } from './report';
import { countByStatus, flattenDescription, type ResultRow } from './results';

/** Options of {@link renderProgressSvg}. */
export interface PlotOptions {
  /** Width in pixels (default 1200). */
  width?: number;
  /** Height in pixels (default 600). */
  height?: number;
  /** Title (default: counts of the run, and its tag when `tag` is given). */
  title?: string;
  /** The loop tag the rows belong to, named in the default title (null: untagged rows). */
  tag?: string | null;
  /** Characters of description shown next to a kept point (default 40; 0 for none). */
  labelChars?: number;
}

/** Worker ticks (colour-blind friendly, after Okabe and Ito). */
const WORKER_COLORS = ['#0072b2', '#e69f00', '#009e73', '#cc79a7', '#56b4e9', '#d55e00', '#f0e442', '#000000'];

const COLORS = { keep: '#2ca02c', keepStroke: '#1b6e1b', discard: '#b8b8b8', crash: '#d62728', best: '#2ca02c', grid: '#e6e6e6', axis: '#333333' };

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A number for an SVG attribute: at most 2 decimals, no trailing zeros. */
function num(value: number): string {
  return String(Math.round(value * 100) / 100);
}

/** Round tick values covering [lo, hi]: steps of 1, 2 or 5 × 10^k, about `count` of them. */
export function niceTicks(lo: number, hi: number, count: number, integer = false): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  if (integer) step = Math.max(1, Math.round(step));
  const ticks: number[] = [];
  const decimals = Math.max(0, -Math.floor(Math.log10(step)));
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toFixed(decimals)));
  return ticks;
}

function tickLabel(value: number, ticks: number[]): string {
  const step = ticks.length > 1 ? Math.abs(ticks[1]! - ticks[0]!) : 1;
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
  return value.toFixed(decimals);
}

/** The SVG progress chart of one tag's results, numbered within the tag. */
export function renderProgressSvg(tagRows: readonly ResultRow[], options: PlotOptions = {}): string {
  const { number } = tagNumbering(tagRows);
  const rows = tagRows.map((r) => ({ ...r, experiment: number(r.experiment) }));
  const width = options.width ?? 1200;
  const height = options.height ?? 600;
  const labelChars = options.labelChars ?? 40;
  const margin = { left: 84, right: 40, top: 78, bottom: 64 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const counts = countByStatus(rows);

  // --- domains ---------------------------------------------------------------------------
  const experiments = rows.map((r) => r.experiment);
  let xMin = experiments.length ? Math.min(...experiments) : 0;
  let xMax = experiments.length ? Math.max(...experiments) : 1;
  if (xMax === xMin) {
    xMin -= 1;
    xMax += 1;
  }
  const xPad = Math.max(0.5, (xMax - xMin) * 0.02);
  const xLo = xMin - xPad;
  const xHi = xMax + xPad;

  const scored = rows.filter((r) => r.status !== 'crash' && r.val_bpb !== null);
  const kept = scored.filter((r) => r.status === 'keep');
  const values = scored.map((r) => r.val_bpb!);
  let cap = Infinity;
  if (kept.length > 0) {
    const keptMax = Math.max(...kept.map((r) => r.val_bpb!));
    const low = Math.min(...values);
    cap = keptMax + Math.max(keptMax - low, 0.02 * Math.abs(keptMax));
  }
  const inRange = values.filter((v) => v <= cap);
  let yMin = inRange.length ? Math.min(...inRange) : 0;
  let yMax = inRange.length ? Math.max(...inRange) : 1;
  const spread = yMax - yMin || Math.abs(yMax) * 0.01 || 0.1;
  yMin -= spread * 0.08;
  yMax += spread * 0.08;

  const x = (e: number) => margin.left + ((e - xLo) / (xHi - xLo)) * plotW;
  const y = (v: number) => margin.top + (1 - (v - yMin) / (yMax - yMin)) * plotH;
  const bottom = margin.top + plotH;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);

  // --- title -------------------------------------------------------------------------------
  const title =
    options.title ??
    `autoresearch progress${options.tag === undefined ? '' : `, tag ${tagLabel(options.tag)}`}: ${counts.total} experiment${counts.total === 1 ? '' : 's'}, ${counts.keep} kept, ${counts.discard} discarded, ${counts.crash} crashed`;
  out.push(`<text class="title" x="${width / 2}" y="30" text-anchor="middle" font-size="18" font-weight="bold">${escapeXml(title)}</text>`);
  const first = rows[0];
  const best = kept.reduce<ResultRow | null>((b, r) => (b === null || r.val_bpb! < b.val_bpb! ? r : b), null);
  if (best !== null) {
    let sub = `best val_bpb ${best.val_bpb!.toFixed(6)} (#${best.experiment})`;
    if (first && first.status !== 'crash' && first.val_bpb !== null) sub += `, baseline ${first.val_bpb.toFixed(6)}, ${(first.val_bpb - best.val_bpb!).toFixed(6)} lower`;
    out.push(`<text class="subtitle" x="${width / 2}" y="52" text-anchor="middle" font-size="13" fill="#555555">${escapeXml(sub)}</text>`);
  }

  // --- grid and axes -------------------------------------------------------------------------
  const yTicks = niceTicks(yMin, yMax, 6).filter((t) => t >= yMin && t <= yMax);
  const xTicks = niceTicks(xMin, xMax, 10, true).filter((t) => t >= xLo && t <= xHi);
  out.push('<g class="grid">');
  for (const t of yTicks) out.push(`<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${num(y(t))}" y2="${num(y(t))}" stroke="${COLORS.grid}"/>`);
  out.push('</g>');
  out.push('<g class="axes" font-size="12" fill="#333333">');
  out.push(`<line x1="${margin.left}" x2="${margin.left}" y1="${margin.top}" y2="${bottom}" stroke="${COLORS.axis}"/>`);
  out.push(`<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${bottom}" y2="${bottom}" stroke="${COLORS.axis}"/>`);
  for (const t of yTicks) {
    out.push(`<line class="y-tick" x1="${margin.left - 5}" x2="${margin.left}" y1="${num(y(t))}" y2="${num(y(t))}" stroke="${COLORS.axis}"/>`);
    out.push(`<text class="y-tick-label" x="${margin.left - 8}" y="${num(y(t) + 4)}" text-anchor="end">${tickLabel(t, yTicks)}</text>`);
  }
  for (const t of xTicks) {
    out.push(`<line class="x-tick" x1="${num(x(t))}" x2="${num(x(t))}" y1="${bottom}" y2="${bottom + 5}" stroke="${COLORS.axis}"/>`);
    out.push(`<text class="x-tick-label" x="${num(x(t))}" y="${bottom + 19}" text-anchor="middle">${t}</text>`);
  }
  out.push(`<text class="x-label" x="${margin.left + plotW / 2}" y="${height - 16}" text-anchor="middle" font-size="13">experiment</text>`);
  out.push(
    `<text class="y-label" x="20" y="${margin.top + plotH / 2}" text-anchor="middle" font-size="13" transform="rotate(-90 20 ${margin.top + plotH / 2})">val_bpb (lower is better)</text>`,
  );
  out.push('</g>');

  // --- running best (step line) ---------------------------------------------------------------
  const steps: Array<[number, number]> = [];
  for (const r of kept) if (steps.length === 0 || r.val_bpb! < steps[steps.length - 1]![1]) steps.push([r.experiment, r.val_bpb!]);
  if (steps.length > 0) {
    let d = `M${num(x(steps[0]![0]))} ${num(y(steps[0]![1]))}`;
    for (const [e, v] of steps.slice(1)) d += ` H${num(x(e))} V${num(y(v))}`;
    d += ` H${num(x(xMax))}`;
    out.push(`<path class="running-best" d="${d}" fill="none" stroke="${COLORS.best}" stroke-width="2" stroke-opacity="0.7"/>`);
  }

  const on = (r: ResultRow) => (workerOf(r) ? ` on ${escapeXml(workerOf(r))}` : '');
  const tooltip = (r: ResultRow) =>
    `<title>#${r.experiment} ${r.status}${r.val_bpb !== null && r.status !== 'crash' ? ` ${r.val_bpb.toFixed(6)}` : ''}${on(r)}: ${escapeXml(flattenDescription(r.description))}</title>`;
  const attrs = (r: ResultRow) =>
    `data-experiment="${r.experiment}"${r.val_bpb !== null && r.status !== 'crash' ? ` data-val-bpb="${r.val_bpb}"` : ''}${workerOf(r) ? ` data-worker="${escapeXml(workerOf(r))}"` : ''}`;

  // --- workers: with several, a coloured tick under each experiment says which one ran it -----
  const workers = [...new Set(rows.map((r) => workerOf(r).split('@')[0]!).filter((w) => w !== ''))].sort();
  if (workers.length > 1) {
    out.push('<g class="workers">');
    for (const r of rows) {
      const w = workers.indexOf(workerOf(r).split('@')[0]!);
      if (w < 0) continue;
      out.push(`<rect x="${num(x(r.experiment) - 2)}" y="${num(bottom + 6)}" width="4" height="6" fill="${WORKER_COLORS[w % WORKER_COLORS.length]}" ${attrs(r)}/>`);
    }
    out.push('</g>');
  }

  // --- points ------------------------------------------------------------------------------------
  out.push('<g class="discarded">');
  for (const r of scored) {
    if (r.status !== 'discard' || r.val_bpb! > cap) continue;
    out.push(`<circle cx="${num(x(r.experiment))}" cy="${num(y(r.val_bpb!))}" r="3.5" fill="${COLORS.discard}" ${attrs(r)}>${tooltip(r)}</circle>`);
  }
  out.push('</g>');
  out.push('<g class="off-chart">');
  for (const r of scored) {
    if (r.val_bpb! <= cap) continue;
    const cx = x(r.experiment);
    const top = margin.top + 2;
    out.push(`<path d="M${num(cx - 4)} ${num(top + 7)} L${num(cx + 4)} ${num(top + 7)} L${num(cx)} ${num(top)} Z" fill="${COLORS.discard}" ${attrs(r)}>${tooltip(r)}</path>`);
  }
  out.push('</g>');
  out.push('<g class="kept">');
  for (const r of kept) {
    if (r.val_bpb! > cap) continue;
    out.push(
      `<circle cx="${num(x(r.experiment))}" cy="${num(y(r.val_bpb!))}" r="5" fill="${COLORS.keep}" stroke="${COLORS.keepStroke}" ${attrs(r)}>${tooltip(r)}</circle>`,
    );
  }
  out.push('</g>');
  out.push('<g class="crashes">');
  for (const r of rows) {
    if (r.status !== 'crash') continue;
    const cx = x(r.experiment);
    out.push(
      `<path d="M${num(cx - 4)} ${num(bottom - 4)} L${num(cx + 4)} ${num(bottom + 4)} M${num(cx - 4)} ${num(bottom + 4)} L${num(cx + 4)} ${num(bottom - 4)}" stroke="${COLORS.crash}" stroke-width="2" ${attrs(r)}>${tooltip(r)}</path>`,
    );
  }
  out.push('</g>');

  // --- labels of kept points ---------------------------------------------------------------------
  if (labelChars > 0) {
    out.push('<g class="labels" font-size="10" fill="#1b6e1b">');
    for (const r of kept) {
      if (r.val_bpb! > cap) continue;
      const text = flattenDescription(r.description);
      if (text === '') continue;
      const short = text.length > labelChars ? `${text.slice(0, labelChars - 1)}…` : text;
      const lx = x(r.experiment) + 6;
      const ly = y(r.val_bpb!) - 8;
      out.push(`<text x="${num(lx)}" y="${num(ly)}" transform="rotate(-30 ${num(lx)} ${num(ly)})">${escapeXml(short)}</text>`);
    }
    out.push('</g>');
  }

  // --- legend -------------------------------------------------------------------------------------
  const lx = margin.left + plotW - 190;
  const ly = margin.top + 10;
  const offChart = scored.filter((r) => r.val_bpb! > cap).length;
  out.push(`<g class="legend" font-size="12">`);
  out.push(`<rect x="${lx - 10}" y="${ly - 6}" width="200" height="${offChart > 0 ? 96 : 78}" fill="#ffffff" fill-opacity="0.85" stroke="#cccccc"/>`);
  out.push(`<circle cx="${lx}" cy="${ly + 6}" r="5" fill="${COLORS.keep}" stroke="${COLORS.keepStroke}"/><text x="${lx + 12}" y="${ly + 10}">kept (${counts.keep})</text>`);
  out.push(`<circle cx="${lx}" cy="${ly + 24}" r="3.5" fill="${COLORS.discard}"/><text x="${lx + 12}" y="${ly + 28}">discarded (${counts.discard})</text>`);
  out.push(
    `<path d="M${lx - 4} ${ly + 38} L${lx + 4} ${ly + 46} M${lx - 4} ${ly + 46} L${lx + 4} ${ly + 38}" stroke="${COLORS.crash}" stroke-width="2"/><text x="${lx + 12}" y="${ly + 46}">crashed (${counts.crash})</text>`,
  );
  out.push(`<line x1="${lx - 6}" x2="${lx + 6}" y1="${ly + 60}" y2="${ly + 60}" stroke="${COLORS.best}" stroke-width="2"/><text x="${lx + 12}" y="${ly + 64}">running best</text>`);
  if (offChart > 0) {
    out.push(`<path d="M${lx - 4} ${ly + 82} L${lx + 4} ${ly + 82} L${lx} ${ly + 75} Z" fill="${COLORS.discard}"/><text x="${lx + 12}" y="${ly + 82}">above the chart (${offChart})</text>`);
  }
  out.push('</g>');
  if (workers.length > 1) {
    const shown = workers.slice(0, 8);
    out.push(`<g class="worker-legend" font-size="11">`);
    shown.forEach((w, i) => {
      const wx = margin.left + i * 110;
      out.push(`<rect x="${wx}" y="${bottom + 44}" width="8" height="8" fill="${WORKER_COLORS[i % WORKER_COLORS.length]}"/><text x="${wx + 12}" y="${bottom + 52}">${escapeXml(w)}</text>`);
    });
    if (workers.length > shown.length) out.push(`<text x="${margin.left + 8 * 110}" y="${bottom + 52}">+${workers.length - shown.length} more</text>`);
    out.push('</g>');
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** Options of {@link renderProgressPng}. */
export interface PngOptions extends PlotOptions {
  /** Pixels per SVG unit (default 2: a 2400 × 1200 image for the default size). */
  scale?: number;
}

/**
 * The progress chart as PNG bytes: {@link renderProgressSvg}'s SVG rasterised by resvg. Text is
 * drawn in the system's fonts (a sans-serif one such as DejaVu Sans or Liberation Sans).
 */
export function renderProgressPng(rows: readonly ResultRow[], options: PngOptions = {}): Buffer {
  let Resvg: typeof ResvgClass;
  try {
    ({ Resvg } = require('@resvg/resvg-js') as { Resvg: typeof ResvgClass });
  } catch (error) {
    throw new Error(
      `PNG output needs @resvg/resvg-js and its binary for ${process.platform}-${process.arch} (${(error as Error).message.split('\n')[0]}): ` +
        'reinstall autoresearch with its optional dependencies, or write an .svg',
    );
  }
  const scale = options.scale ?? 2;
  if (!(scale > 0 && scale <= 8)) throw new Error(`scale ${scale} is outside (0, 8]`);
  const resvg = new Resvg(renderProgressSvg(rows, options), {
    fitTo: { mode: 'zoom', value: scale },
    background: '#ffffff',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
  });
  return resvg.render().asPng();
}

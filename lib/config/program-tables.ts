// The knob tables of program.md, generated from the knob table (knobs.ts). The prose around
// them is written by hand; each table sits between a start and an end marker, and
// `npm run gen:program` rewrites what is between them (a test checks the committed file is
// up to date).
import { KNOBS, KNOB_NAMES, type KnobGroup } from './knobs';

const GROUPS: readonly KnobGroup[] = ['model', 'batch', 'optimizer', 'schedule'];

const START = (group: KnobGroup) => `<!-- knob table: ${group} (generated from lib/config/knobs.ts by \`npm run gen:program\`) -->`;
const END = '<!-- end of knob table -->';

/** A reference value as program.md shows it: powers of two as 2^n. */
function show(value: unknown): string {
  if (typeof value === 'number' && value >= 1024 && Number.isInteger(Math.log2(value))) return `2^${Math.log2(value)}`;
  if (typeof value === 'string') return `\`${value}\``;
  if (Array.isArray(value)) return `(${value.join(', ')})`;
  return String(value);
}

/** The markdown table of one group of knobs. */
export function knobTable(group: KnobGroup): string {
  const rows = KNOB_NAMES.filter((name) => KNOBS[name].group === group).map((name) => {
    const k = KNOBS[name];
    return `| \`${name}\` | ${k.doc} | ${k.unit || '–'} | ${k.range.cpu} | ${k.range.gpu} | ${show(k.default)} |`;
  });
  return ['| knob | what it does | unit | CPU | GPU | reference |', '|---|---|---|---|---|---|', ...rows].join('\n');
}

/** program.md with every marked knob table regenerated; throws when a group's markers are missing. */
export function renderProgram(text: string): string {
  let out = text;
  for (const group of GROUPS) {
    const start = out.indexOf(START(group));
    const end = start < 0 ? -1 : out.indexOf(END, start);
    if (start < 0 || end < 0) throw new Error(`program.md has no knob table for ${group}: expected the lines\n${START(group)}\n${END}`);
    out = `${out.slice(0, start)}${START(group)}\n${knobTable(group)}\n${out.slice(end)}`;
  }
  return out;
}

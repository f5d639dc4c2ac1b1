// Regenerates the knob tables of program.md from the knob table (lib/config/knobs.ts).
// `--check` only reports whether program.md is up to date (exit 1 when it is not).
import fs from 'node:fs';
import path from 'node:path';

import { renderProgram } from '../lib/config/program-tables';

const file = path.join(__dirname, '..', 'program.md');
const text = fs.readFileSync(file, 'utf8');
const generated = renderProgram(text);
if (process.argv.includes('--check')) {
  if (generated !== text) {
    console.error('program.md: the knob tables are out of date; run `npm run gen:program`');
    process.exit(1);
  }
} else if (generated !== text) {
  fs.writeFileSync(file, generated);
  console.log('program.md: knob tables regenerated');
} else {
  console.log('program.md: up to date');
}

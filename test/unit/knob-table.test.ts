// The knob table is the one source of the config's knobs: the committed program.md shows
// what it generates, train/config.ts lists exactly its knobs at their reference values, and
// the model and optimizer defaults handed to the addon are read off it.
import fs from 'node:fs';
import path from 'node:path';

import { parseKnobs } from '../../lib/config/config-source';
import { KNOBS, KNOB_NAMES, MLP_ACTIVATIONS, REFERENCE_DEFAULTS } from '../../lib/config/knobs';
import { MODEL_DEFAULTS } from '../../lib/config/model-config';
import { knobTable, renderProgram } from '../../lib/config/program-tables';
import { knobProblems } from '../../lib/loop/agents/builtin-agent';
import { OPTIMIZER_DEFAULTS } from '../../lib/model/optimizer';

const ROOT = path.join(__dirname, '..', '..');

test('the committed program.md has the knob tables the table generates (npm run gen:program)', () => {
  const text = fs.readFileSync(path.join(ROOT, 'program.md'), 'utf8');
  expect(renderProgram(text)).toBe(text);
  for (const name of KNOB_NAMES) expect(text).toContain(`| \`${name}\` | ${KNOBS[name].doc} |`);
});

test('a table whose markers are missing is an error that names them', () => {
  expect(() => renderProgram('# no tables\n')).toThrow(/no knob table for model/);
  expect(knobTable('batch').split('\n')).toHaveLength(4); // header, rule, two knobs
});

test('train/config.ts sets every knob of the table, once, at its reference value', () => {
  const source = fs.readFileSync(path.join(ROOT, 'train', 'config.ts'), 'utf8');
  for (const name of KNOB_NAMES) expect(source.match(new RegExp(`\\b${name}\\b:`, 'g'))).toHaveLength(1);
  expect(parseKnobs(source)).toEqual(REFERENCE_DEFAULTS);
});

test('every default is a valid value of its kind, and every choice too', () => {
  for (const name of KNOB_NAMES) {
    const knob = KNOBS[name];
    expect([name, knob.kind.is(knob.default)]).toEqual([name, true]);
    if (knob.mutate.by === 'choice') for (const c of knob.mutate.choices) expect([name, c, knob.kind.is(c)]).toEqual([name, c, true]);
  }
  expect(KNOBS.MLP_ACTIVATION.kind.expected).toBe("'relu2', 'swiglu' or 'gelu'");
  expect(MLP_ACTIVATIONS.every((a) => KNOBS.MLP_ACTIVATION.kind.is(a))).toBe(true);
  expect(KNOBS.MLP_ACTIVATION.kind.is('tanh')).toBe(false);
});

test('the model and optimizer defaults are the table values', () => {
  expect(MODEL_DEFAULTS).toEqual({
    windowPattern: REFERENCE_DEFAULTS.WINDOW_PATTERN,
    mlpActivation: REFERENCE_DEFAULTS.MLP_ACTIVATION,
    mlpRatio: REFERENCE_DEFAULTS.MLP_RATIO,
    valueEmbeds: REFERENCE_DEFAULTS.VALUE_EMBEDS,
    softcap: REFERENCE_DEFAULTS.SOFTCAP,
    rotaryBase: REFERENCE_DEFAULTS.ROTARY_BASE,
  });
  expect(OPTIMIZER_DEFAULTS).toMatchObject({
    embeddingLr: REFERENCE_DEFAULTS.EMBEDDING_LR,
    unembeddingLr: REFERENCE_DEFAULTS.UNEMBEDDING_LR,
    matrixLr: REFERENCE_DEFAULTS.MATRIX_LR,
    scalarLr: REFERENCE_DEFAULTS.SCALAR_LR,
    weightDecay: REFERENCE_DEFAULTS.WEIGHT_DECAY,
    adamBetas: REFERENCE_DEFAULTS.ADAM_BETAS,
  });
});

test("the builtin agent checks a config with the table's kinds and the model's own checks", () => {
  const base = parseKnobs(fs.readFileSync(path.join(ROOT, 'train', 'config.ts'), 'utf8'));
  expect(knobProblems(base)).toEqual([]);
  expect(knobProblems({ ...base, MLP_ACTIVATION: 'tanh' })).toEqual(["MLP_ACTIVATION must be 'relu2', 'swiglu' or 'gelu'"]);
  expect(knobProblems({ ...base, DEPTH: 'x' })).toEqual(['DEPTH must be a number']);
  expect(knobProblems({ ...base, N_KV_HEAD: 3 })).toEqual(['nKvHead 3 must divide nHead 4: one of 1, 2, 4']);
  expect(knobProblems({ ...base, WINDOW_PATTERN: 'SXL' })).toEqual([expect.stringMatching(/may only contain S \(half context\) and L/)]);
});

// The command line's conventions: exit codes by error kind, option checks, --set parsing and
// the non-terminal progress throttle.
import { EXIT, exitCodeFor, positiveSeconds, UsageError } from '../../lib/cli/exit';
import { plainRunOutput } from '../../lib/cli/progress';
import { ConfigError, GitRepoError } from '../../lib/errors';
import { checkOverrides, parseAssignments } from '../../lib/runner/overrides';

test('exit codes: set-up errors 2, anything else 1', () => {
  expect(EXIT).toEqual({ ok: 0, crashed: 1, usage: 2, interrupted: 130 });
  expect(exitCodeFor(new ConfigError('x'))).toBe(2);
  expect(exitCodeFor(new GitRepoError('x'))).toBe(2);
  expect(exitCodeFor(new UsageError('x'))).toBe(2);
  expect(exitCodeFor(new Error('x'))).toBe(1);
});

test('a time in seconds must be a positive number; the message names the option and its value', () => {
  expect(positiveSeconds('time-budget', undefined)).toBeUndefined();
  expect(positiveSeconds('time-budget', '2.5')).toBe(2.5);
  for (const bad of ['abc', '0', '-1', 'Infinity', '']) {
    expect(() => positiveSeconds('time-budget', bad)).toThrow(UsageError);
  }
  expect(() => positiveSeconds('time-budget', 'abc')).toThrow(/--time-budget abc is not a positive number of seconds/);
});

test('--set NAME=VALUE: JSON values, bare strings, and clear refusals', () => {
  expect(parseAssignments(['DEPTH=1', 'MLP_ACTIVATION=swiglu', 'SOFTCAP=false', 'N_KV_HEAD=null', 'ADAM_BETAS=[0.9,0.99]', 'WINDOW_PATTERN="SL"'])).toEqual({
    DEPTH: 1,
    MLP_ACTIVATION: 'swiglu',
    SOFTCAP: false,
    N_KV_HEAD: null,
    ADAM_BETAS: [0.9, 0.99],
    WINDOW_PATTERN: 'SL',
  });
  expect(() => parseAssignments(['DEPTH'])).toThrow(/--set DEPTH: write NAME=VALUE/);
  expect(() => parseAssignments(['DEPTH='])).toThrow(/the value is empty/);
  expect(() => parseAssignments(['DEPHT=1'])).toThrow(/override DEPHT: not a setting of train\/config\.ts/);
  expect(() => parseAssignments(['lrMultiplier=1'])).toThrow(/schedules cannot be overridden/);
  expect(() => checkOverrides({ DEPTH: { a: 1 } })).toThrow(/must be a number, string, boolean, null or an array/);
  expect(() => checkOverrides({ DEPTH: Number.NaN })).toThrow(/must be a number/);
  expect(() => checkOverrides([1])).toThrow(/must be an object/);
});

test('on a non-terminal, step lines are thinned out and the last one is shown before any other line', () => {
  const out: string[] = [];
  const write = plainRunOutput((t) => out.push(t), false, 3600);
  write('data: sotu\nstep 00000 (0.0%) | loss: 6\nstep 00001 (1.0%) | loss: 5\nstep 000');
  write('02 (2.0%) | loss: 4\n');
  write('warm-up: 1 s\n');
  expect(out.join('')).toBe('data: sotu\nstep 00000 (0.0%) | loss: 6\nstep 00002 (2.0%) | loss: 4\nwarm-up: 1 s\n');
  const tty: string[] = [];
  plainRunOutput((t) => tty.push(t), true)('step 1\nstep 2\n');
  expect(tty).toEqual(['step 1\nstep 2\n']);
});

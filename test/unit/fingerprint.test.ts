// The loop's harness fingerprint: which differences make two results incomparable.
import { EVALUATOR_VERSION } from '../../lib/runner/scorer';
import { harnessDifferences, type Fingerprint } from '../../lib/loop/fingerprint';

const harness: Fingerprint['harness'] = {
  dataset: 'sotu',
  maxSeqLen: 256,
  evalTokens: 65536,
  vocabSize: 8192,
  timeBudget: 300,
  evaluator: EVALUATOR_VERSION,
  digest: '0123456789abcdef',
};

test('equal harnesses are comparable', () => {
  expect(harnessDifferences(harness, { ...harness })).toEqual([]);
});

test('another evaluator version is a difference', () => {
  expect(harnessDifferences(harness, { ...harness, evaluator: EVALUATOR_VERSION + 1 })).toEqual([
    `evaluator: ${EVALUATOR_VERSION} -> ${EVALUATOR_VERSION + 1}`,
  ]);
});

test('a row recorded before the evaluator was fingerprinted does not compare with a newer one, either way round', () => {
  const { evaluator: _, ...old } = harness;
  const older = old as Fingerprint['harness'];
  expect(harnessDifferences(older, harness)).toEqual([`evaluator: (none) -> ${EVALUATOR_VERSION}`]);
  expect(harnessDifferences(harness, older)).toEqual([`evaluator: ${EVALUATOR_VERSION} -> (none)`]);
});

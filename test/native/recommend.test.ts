// The parameter formula (lib/model/gpt.ts, the one home of it and of the FLOPs formula)
// matches the native model's real tensors, and GPT.flopsPerToken() is the formula
// recommendations use.
import { GPT } from '../../lib';
import { estimateFlopsPerToken, estimateParams } from '../../lib/internals';
import { tinyConfig } from '../helpers';

test.each([
  ['reference layout', tinyConfig()],
  ['SSSL windows, 3 layers', tinyConfig({ nLayer: 3, windowPattern: 'SSSL', sequenceLen: 64 })],
  ['GQA, swiglu, no value embeddings', tinyConfig({ nHead: 4, nKvHead: 2, nEmbd: 128, mlpActivation: 'swiglu', valueEmbeds: false })],
  ['mlpRatio 3, explicit windows', tinyConfig({ mlpRatio: 3, windowPattern: [8, 32] })],
])('estimateFlopsPerToken = model.flopsPerToken(): %s', (_, config) => {
  using model = GPT.create(config, { device: 'cpu' });
  expect(estimateFlopsPerToken(config)).toBe(model.flopsPerToken());
  expect(estimateParams(config).total).toBe(model.paramCounts().total);
});

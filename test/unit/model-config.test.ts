// Sizing and window resolution (pure TypeScript, no addon).
import { ConfigError, modelConfigFromDepth } from '../../lib';
import { resolveWindows } from '../../lib/internals';
import { toNativeConfig } from '../../lib/config/model-config';

test('the reference sizing: DEPTH 8, ASPECT_RATIO 64, HEAD_DIM 128 gives 512 wide, 4 heads', () => {
  const c = modelConfigFromDepth({ depth: 8, aspectRatio: 64, headDim: 128, vocabSize: 8192, sequenceLen: 2048 });
  expect(c).toMatchObject({ nLayer: 8, nEmbd: 512, nHead: 4, nKvHead: 4, windowPattern: 'SSSL', mlpActivation: 'relu2', softcap: 15 });
});

test('model_dim rounds up to a multiple of HEAD_DIM', () => {
  const c = modelConfigFromDepth({ depth: 3, aspectRatio: 64, headDim: 128, vocabSize: 8192, sequenceLen: 256 });
  expect(c.nEmbd).toBe(256); // ceil(192 / 128) * 128
  expect(c.nHead).toBe(2);
});

test('window patterns repeat over layers and the last layer is always full', () => {
  expect(resolveWindows('SSSL', 8, 2048)).toEqual([1024, 1024, 1024, 2048, 1024, 1024, 1024, 2048]);
  expect(resolveWindows('S', 3, 512)).toEqual([256, 256, 512]);
  expect(resolveWindows('l', 2, 64)).toEqual([64, 64]);
  expect(resolveWindows([3, 9], 2, 64)).toEqual([3, 9]);
});

test('the native config carries resolved windows and a numeric soft-cap', () => {
  const c = modelConfigFromDepth({ depth: 2, aspectRatio: 32, headDim: 32, vocabSize: 300, sequenceLen: 64, softcap: false });
  expect(toNativeConfig(c)).toMatchObject({ windows: [32, 64], softcap: 0, nEmbd: 64 });
});

test('impossible sizes are refused with a way out', () => {
  expect(() => modelConfigFromDepth({ depth: 0, aspectRatio: 64, headDim: 128, vocabSize: 8192, sequenceLen: 256 })).toThrow(ConfigError);
  expect(() => modelConfigFromDepth({ depth: 4, aspectRatio: 64, headDim: 64, vocabSize: 8192, sequenceLen: 256, nKvHead: 3 })).toThrow(
    /nKvHead 3 must divide nHead 4: one of 1, 2, 4/,
  );
  expect(() => resolveWindows([1, 2, 3], 2, 64)).toThrow(/3 windows for 2 layers/);
  expect(() => resolveWindows([0, 2], 2, 64)).toThrow(/positive token counts/);
});

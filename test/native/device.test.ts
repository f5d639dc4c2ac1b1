// Device choice as the build and the machine allow: a CPU build, a CUDA build on a machine
// without a GPU (the build matrix runs this on libtorch-cuda 2.6), or a CUDA build with a GPU.
import { GPT } from '../../lib';
import { runtimeInfo } from '../../lib/internals';
import { randomBatch, tinyConfig } from '../helpers';

const info = runtimeInfo();

test('the build says what it was built against and what it sees', () => {
  expect(typeof info.build.cuda).toBe('boolean');
  expect(info.build.libtorchVersion).toMatch(/^\d+\.\d+\.\d+/);
  if (!info.build.cuda) expect(info.cudaAvailable).toBe(false);
  expect(info.cudaDevices.length).toBe(info.cudaAvailable ? info.cudaDevices.length : 0);
});

const cpuBuild = !info.build.cuda;
const cudaBuildWithoutGpu = info.build.cuda && !info.cudaAvailable;

(cpuBuild ? describe : describe.skip)('a CPU-only build', () => {
  test("'auto' trains on the CPU and says libtorch has no CUDA", () => {
    using model = GPT.create(tinyConfig(), { device: 'auto' });
    expect(model.device.device).toBe('cpu');
    expect(model.device.reason).toBe('cpu (libtorch without CUDA)');
  });

  test("'cuda' is refused: rebuild against a CUDA libtorch", () => {
    expect(() => GPT.create(tinyConfig(), { device: 'cuda' })).toThrow(
      "device 'cuda' requested but this addon was built against a CPU-only libtorch; rebuild against a CUDA libtorch or use device 'cpu'",
    );
  });
});

(cudaBuildWithoutGpu ? describe : describe.skip)('a CUDA build on a machine without a GPU', () => {
  test("'auto' falls back to the CPU, fp32, and says why", () => {
    using model = GPT.create(tinyConfig(), { device: 'auto' });
    expect(model.device.device).toBe('cpu');
    expect(model.device.computeDtype).toBe('Float');
    expect(model.device.reason).toBe('cpu (no CUDA GPU visible)');
    expect(model.peakMemoryBytes()).toBe(-1);
  });

  test("'cuda' and 'cuda:1' are refused with the way out", () => {
    for (const device of ['cuda', 'cuda:1']) {
      expect(() => GPT.create(tinyConfig(), { device })).toThrow(
        `device '${device}' requested but no CUDA GPU is visible; use device 'cpu'`,
      );
    }
  });

  test('a model trains on the CPU of the CUDA build', () => {
    using model = GPT.create(tinyConfig(), { device: 'auto', seed: 1 });
    const optimizer = model.createOptimizer();
    const batch = randomBatch(2, 16, tinyConfig().vocabSize, 7);
    const first = model.forwardBackward(batch);
    optimizer.step({ lrMultiplier: 1, muonMomentum: 0.95, muonWeightDecay: 0 });
    for (let i = 0; i < 5; i++) {
      model.forwardBackward(batch);
      optimizer.step({ lrMultiplier: 1, muonMomentum: 0.95, muonWeightDecay: 0 });
    }
    expect(model.forwardBackward(batch)).toBeLessThan(first);
  });
});

(info.cudaAvailable ? describe : describe.skip)('a CUDA build with a GPU', () => {
  test("'auto' picks the first GPU in bf16", () => {
    using model = GPT.create(tinyConfig(), { device: 'auto' });
    expect(model.device.device).toBe('cuda:0');
    expect(model.device.computeDtype).toBe('BFloat16');
  });
});

// recommendConfig: the sizes `doctor` recommends, from synthetic machine reports.
import { modelConfigFromDepth } from '../../lib';
import {
  CPU_LOGIT_COST,
  CPU_STEP_TOKENS,
  CPU_TRAINING_EFFICIENCY,
  TARGET_STEPS,
  estimateFlopsPerToken,
  recommendConfig,
  recommendTimed,
  type RecommendInput,
  type StepTimer,
} from '../../lib/internals';

const cpu = (matmulGflops: number | null, extra: Partial<RecommendInput> = {}): RecommendInput => ({
  addon: { cudaAvailable: false },
  matmulGflops,
  memoryGiB: 16,
  gpuMemoryGiB: null,
  ...extra,
});
const gpu = (gpuMemoryGiB: number | null): RecommendInput => ({ addon: { cudaAvailable: true }, matmulGflops: 20000, memoryGiB: 64, gpuMemoryGiB });

/** Optimizer steps in 300 s by the rule, computed here from its stated parts. */
function budgetSteps(gflops: number, depth: number, vocabSize: number, sequenceLen: number): number {
  const model = modelConfigFromDepth({ depth, aspectRatio: 32, headDim: 64, vocabSize, sequenceLen, windowPattern: 'SSSL' });
  const tokens = (300 * gflops * 1e9 * CPU_TRAINING_EFFICIENCY) / (estimateFlopsPerToken(model) + CPU_LOGIT_COST * vocabSize);
  return tokens / (Math.round(CPU_STEP_TOKENS / sequenceLen) * sequenceLen);
}

describe('recommendConfig', () => {
  test('the development CPU (~230 GFLOP/s): MAX_SEQ_LEN 256, vocab 8192, DEPTH 4 at width 128, 16 rows a step', () => {
    const rec = recommendConfig(cpu(230));
    expect(rec).toMatchObject({ device: 'cpu', MAX_SEQ_LEN: 256, VOCAB_SIZE: 8192, EVAL_TOKENS: 2 ** 20, modelDim: 128 });
    expect(rec.config).toEqual({ DEPTH: 4, ASPECT_RATIO: 32, HEAD_DIM: 64, WINDOW_PATTERN: 'SSSL', DEVICE_BATCH_SIZE: 16, TOTAL_BATCH_SIZE: 4096 });
    expect(rec.estimate!.steps).toBeGreaterThanOrEqual(TARGET_STEPS);
    expect(rec.estimate!.evalSeconds).toBeLessThanOrEqual(90);
    // With the prepared 65536 EVAL_TOKENS the micro-batches still fit; with 2048 they shrink.
    expect(recommendConfig(cpu(230), { evalTokens: 65536 }).config.DEVICE_BATCH_SIZE).toBe(16);
    expect(recommendConfig(cpu(230), { evalTokens: 2048 }).config).toMatchObject({ DEVICE_BATCH_SIZE: 8, TOTAL_BATCH_SIZE: 4096 });
  });

  test('the rule by hand: the chosen depth makes its steps, one deeper does not', () => {
    for (const gflops of [60, 120, 230, 500, 2000, 20000]) {
      for (const vocabSize of [512, 4096, 8192]) {
        const rec = recommendConfig(cpu(gflops), { vocabSize });
        const { DEPTH, TOTAL_BATCH_SIZE, DEVICE_BATCH_SIZE } = rec.config;
        expect(TOTAL_BATCH_SIZE).toBe(CPU_STEP_TOKENS);
        if (budgetSteps(gflops, DEPTH, vocabSize, rec.MAX_SEQ_LEN) >= TARGET_STEPS) {
          if (DEPTH < 8) expect(budgetSteps(gflops, DEPTH + 1, vocabSize, rec.MAX_SEQ_LEN)).toBeLessThan(TARGET_STEPS);
        } else {
          // Too slow for the rule: the smallest model worth running, and a note saying so.
          expect(DEPTH).toBe(2);
          expect(rec.notes.join('\n')).toMatch(new RegExp(`fewer than ${TARGET_STEPS} steps`));
        }
        expect(TOTAL_BATCH_SIZE % (DEVICE_BATCH_SIZE * rec.MAX_SEQ_LEN)).toBe(0);
        expect(rec.EVAL_TOKENS % (DEVICE_BATCH_SIZE * rec.MAX_SEQ_LEN)).toBe(0);
        expect(rec.estimate!.evalSeconds).toBeLessThanOrEqual(90);
      }
    }
  });

  test('faster machines get deeper models; prepared data fixes the vocabulary, MAX_SEQ_LEN on request', () => {
    const depths = [50, 230, 1000, 5000, 50000].map((g) => recommendConfig(cpu(g), { vocabSize: 8192 }).config.DEPTH);
    expect([...depths].sort((a, b) => a - b)).toEqual(depths);
    expect(depths[4]).toBeGreaterThan(depths[0]!);

    const prepared = [{ dataset: 'big', vocabSize: 65536, maxSeqLen: 512, evalTokens: 65536 }];
    const rec = recommendConfig(cpu(230, { prepared }));
    expect(rec.VOCAB_SIZE).toBe(65536);
    const notes = rec.notes.join('\n');
    expect(notes).toMatch(/fixes MAX_SEQ_LEN 512: prepare again with --seq-len 256/);
    expect(notes).toMatch(new RegExp(`fewer than ${TARGET_STEPS} steps .* with --vocab-size \\d+ it would not`));
    expect(recommendConfig(cpu(230, { prepared }), { maxSeqLen: 512 }).MAX_SEQ_LEN).toBe(512);
  });

  test('without a measurement, still usable sizes and a note', () => {
    const rec = recommendConfig(cpu(null));
    expect(rec.config.DEPTH).toBe(2);
    expect(rec.estimate).toBeNull();
    expect(rec.config.TOTAL_BATCH_SIZE % (rec.config.DEVICE_BATCH_SIZE * rec.MAX_SEQ_LEN)).toBe(0);
    expect(rec.notes.join('\n')).toMatch(/no matmul measurement/);
  });

  test('GPUs: the reference defaults at 80 GiB, scaled down with memory (SPEC §8)', () => {
    const h100 = recommendConfig(gpu(80));
    expect(h100).toMatchObject({ device: 'cuda', MAX_SEQ_LEN: 2048, EVAL_TOKENS: 40 * 524288, VOCAB_SIZE: 8192, modelDim: 512 });
    expect(h100.config).toEqual({ DEPTH: 8, ASPECT_RATIO: 64, HEAD_DIM: 128, WINDOW_PATTERN: 'SSSL', DEVICE_BATCH_SIZE: 128, TOTAL_BATCH_SIZE: 2 ** 19 });
    expect(recommendConfig(gpu(24)).MAX_SEQ_LEN).toBe(512);
    const small = recommendConfig(gpu(6));
    expect(small.MAX_SEQ_LEN).toBe(256);
    expect(small.EVAL_TOKENS).toBeLessThan(h100.EVAL_TOKENS);
    for (const memory of [6, 12, 24, 40, 80, null]) {
      const rec = recommendConfig(gpu(memory));
      expect(rec.config.DEVICE_BATCH_SIZE).toBeLessThanOrEqual(128);
      expect(rec.config.TOTAL_BATCH_SIZE % (rec.config.DEVICE_BATCH_SIZE * rec.MAX_SEQ_LEN)).toBe(0);
    }
  });
});

describe('recommendTimed', () => {
  /** A machine whose steps cost `slowdown` times what the matmul-rate estimate says at 230 GFLOP/s. */
  function machine(slowdown: (depth: number) => number) {
    const timed: number[] = [];
    const evaluated: number[] = [];
    const timer: StepTimer = {
      step(model, rows, totalTokens) {
        timed.push(model.nLayer);
        expect(totalTokens % (rows * model.sequenceLen)).toBe(0);
        return 300 / (budgetSteps(230, model.nLayer, model.vocabSize, model.sequenceLen) / slowdown(model.nLayer));
      },
      evaluation(model) {
        evaluated.push(model.nLayer);
        return 20000 / slowdown(model.nLayer);
      },
    };
    return { timer, timed, evaluated };
  }

  test('a CPU slower than its matmul rate says: the guess is timed, found too slow, and a smaller model timed and chosen', () => {
    const guess = recommendConfig(cpu(230), { vocabSize: 8192 }).config.DEPTH;
    const { timer, timed, evaluated } = machine(() => 1.6);
    const lines: string[] = [];
    const rec = recommendTimed(cpu(230), { vocabSize: 8192 }, timer, (line) => lines.push(line));
    expect(timed[0]).toBe(guess);
    expect(rec.config.DEPTH).toBeLessThan(guess);
    expect(timed).toContain(rec.config.DEPTH); // the model chosen was timed
    expect(new Set(timed).size).toBe(timed.length); // no depth twice
    expect(rec.estimate).toMatchObject({ timed: true });
    // Only the chosen model's evaluation is timed, after every step timing: 20000 / 1.6 tokens/s.
    expect(evaluated).toEqual([rec.config.DEPTH]);
    expect(rec.estimate!.evalSeconds).toBeCloseTo(rec.EVAL_TOKENS / 12500, 1);
    const chosen = rec.timed.find((t) => t.depth === rec.config.DEPTH)!;
    expect(chosen.steps).toBeGreaterThanOrEqual(TARGET_STEPS);
    expect(rec.estimate!.steps).toBe(chosen.steps);
    expect(rec.timed.find((t) => t.depth === guess)!.steps).toBeLessThan(TARGET_STEPS);
    expect(rec.rule).toMatch(/by timing its training steps here \(DEPTH \d+: \d+ ms a step/);
    expect(lines.join('\n')).toMatch(/timing DEPTH \d+ \(width \d+\) on 16 rows of 256\.\.\.\n {2}\d+ ms a step: ~\d+ steps in 300 s \(too few\)/);
  });

  test('a CPU faster than its matmul rate says gets a deeper model than the guess; an accurate one keeps the guess after one timing', () => {
    const guess = recommendConfig(cpu(230), { vocabSize: 8192 }).config.DEPTH;
    const fast = machine(() => 0.4);
    const rec = recommendTimed(cpu(230), { vocabSize: 8192 }, fast.timer);
    expect(rec.config.DEPTH).toBeGreaterThan(guess);
    expect(fast.timed).toContain(rec.config.DEPTH);
    const exact = machine(() => 1);
    expect(recommendTimed(cpu(230), { vocabSize: 8192 }, exact.timer).config.DEPTH).toBe(guess);
    expect(exact.timed).toEqual([guess]);
  });

  test('too slow even for DEPTH 2: DEPTH 2 with its timing and the note; GPUs are not timed', () => {
    const { timer, timed } = machine(() => 100);
    const rec = recommendTimed(cpu(230), { vocabSize: 8192 }, timer);
    expect(rec.config.DEPTH).toBe(2);
    expect(timed).toContain(2);
    expect(rec.notes.join('\n')).toMatch(new RegExp(`fewer than ${TARGET_STEPS} steps`));
    const gpuTimer = machine(() => 1);
    expect(recommendTimed(gpu(80), {}, gpuTimer.timer).config.DEPTH).toBe(8);
    expect(gpuTimer.timed).toEqual([]);
  });
});

// `npm run smoke:gpu` (through scripts/smoke-gpu.sh, which builds the addon against the CUDA
// libtorch first): checks the CUDA path on a real GPU and exits 0 only when every check holds.
//   1. forward: bf16 on the GPU against fp32 on the CPU, same weights, same batch
//   2. one MuonAdamW step: bf16 on the GPU against fp32 on the CPU, from the same weights
//   3. the CUDA caching allocator's peak: at least the weights, reset by resetPeakMemory()
//   4. a 20-second training run on the GPU: loss goes down; prints tokens/s and MFU
// Refuses (exit 2) when the addon has no CUDA or no GPU is visible. The comparisons take the
// two devices as arguments, so they also run CPU against CPU (test/native/smoke-gpu.test.ts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { GPT, type ModelConfig, type TokenBatch } from '../lib';
import { readCheckpointHeader, runtimeInfo } from '../lib/internals';

/** The tolerances every check is held to (bf16 keeps 8 significant bits: ~0.4% per rounding). */
export const TOLERANCES = {
  /** RMS of (bf16 logits - fp32 logits) over the RMS of the fp32 logits. */
  forwardLogitsRelRms: 0.05,
  /** |mean per-token loss, bf16 - fp32| in nats. */
  forwardLossAbs: 0.02,
  /** Cosine similarity of each Muon matrix's update, bf16 against fp32 (Polar Express runs in bf16 on CUDA). */
  muonUpdateCosine: 0.97,
  /** Cosine similarity of each AdamW tensor's update (the first Adam step is ~lr * sign(grad): small gradients may flip). */
  adamwUpdateCosine: 0.9,
  /** |loss after the step, bf16 - fp32| over the fp32 one, both evaluated in fp32 on the CPU. */
  stepLossRel: 0.02,
};

/** H100 bf16 dense peak: the MFU denominator the reference reports (AUTORESEARCH_PEAK_FLOPS to change). */
export const DEFAULT_PEAK_FLOPS = 989.5e12;

/** The compared model: DEPTH 4, width 256, 2 heads of 128, seq 512, vocab 8192 (the step benchmark's). */
export const SMOKE_MODEL: ModelConfig = {
  vocabSize: 8192,
  sequenceLen: 512,
  nLayer: 4,
  nHead: 2,
  nKvHead: 2,
  nEmbd: 256,
  windowPattern: 'SSSL',
  mlpActivation: 'relu2',
  mlpRatio: 4,
  valueEmbeds: true,
  softcap: 15,
  rotaryBase: 10000,
};

const STEP = { lrMultiplier: 1, muonMomentum: 0.95, muonWeightDecay: 0.2 };

/**
 * A batch that can be learned: each target is a fixed function of its input token, so the
 * loss of a model trained on such batches falls well below ln(vocab).
 */
export function learnableBatch(batchSize: number, seqLen: number, vocabSize: number, seed: number): TokenBatch {
  let s = seed >>> 0 || 1;
  const inputs = new Int32Array(batchSize * seqLen);
  const targets = new Int32Array(batchSize * seqLen);
  for (let i = 0; i < inputs.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    inputs[i] = (s >>> 8) % vocabSize;
    targets[i] = (inputs[i]! * 7 + 3) % vocabSize;
  }
  return { inputs, targets, batchSize, seqLen };
}

/** Every tensor of a safetensors checkpoint as fp32 (F32, BF16 or F16 on disk). */
export async function readTensors(file: string): Promise<Map<string, Float32Array>> {
  const header = await readCheckpointHeader(file);
  const bytes = await fs.promises.readFile(file);
  const tensors = new Map<string, Float32Array>();
  for (const e of header.entries) {
    const raw = bytes.subarray(header.dataStart + e.begin, header.dataStart + e.end);
    const count = e.shape.reduce((a, b) => a * b, 1);
    const out = new Float32Array(count);
    if (e.dtype === 'F32') {
      for (let i = 0; i < count; i++) out[i] = raw.readFloatLE(4 * i);
    } else if (e.dtype === 'BF16') {
      const word = new DataView(new ArrayBuffer(4));
      for (let i = 0; i < count; i++) {
        word.setUint32(0, raw.readUInt16LE(2 * i) << 16);
        out[i] = word.getFloat32(0);
      }
    } else if (e.dtype === 'F16') {
      for (let i = 0; i < count; i++) out[i] = halfToFloat(raw.readUInt16LE(2 * i));
    } else {
      throw new Error(`${file}: tensor ${e.name} has dtype ${e.dtype}`);
    }
    tensors.set(e.name, out);
  }
  return tensors;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

export function relativeRms(test: Float32Array, reference: Float32Array): number {
  let diff = 0;
  let ref = 0;
  for (let i = 0; i < reference.length; i++) {
    const d = test[i]! - reference[i]!;
    diff += d * d;
    ref += reference[i]! * reference[i]!;
  }
  return Math.sqrt(diff / Math.max(ref, 1e-30));
}

/** Cosine similarity; 1 when both are zero (nothing to disagree on). */
export function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  if (aa === 0 && bb === 0) return 1;
  return ab / Math.sqrt(Math.max(aa * bb, 1e-60));
}

const mean = (xs: Float32Array): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** A checkpoint of a model trained a few steps on the CPU, so that no projection is still zero. */
export async function makeCheckpoint(file: string, config = SMOKE_MODEL, seed = 42): Promise<void> {
  using model = GPT.create(config, { device: 'cpu', seed });
  using optimizer = model.createOptimizer();
  for (let i = 0; i < 3; i++) model.trainStep([learnableBatch(2, 128, config.vocabSize, 10 + i)], optimizer, STEP);
  await model.save(file);
}

export interface ForwardComparison {
  logitsRelRms: number;
  lossReference: number;
  lossTest: number;
  pass: boolean;
}

/** The same weights and batch on two devices: soft-capped logits and per-token losses. */
export async function compareForward(checkpoint: string, referenceDevice: string, testDevice: string, batch: TokenBatch): Promise<ForwardComparison> {
  const run = async (device: string) => {
    using model = await GPT.load(checkpoint, { device });
    const logits = await model.logits(batch.inputs, batch.batchSize, batch.seqLen);
    const loss = mean(await model.perTokenLoss(batch));
    return { logits, loss };
  };
  const reference = await run(referenceDevice);
  const test = await run(testDevice);
  const logitsRelRms = relativeRms(test.logits, reference.logits);
  const lossDiff = Math.abs(test.loss - reference.loss);
  return {
    logitsRelRms,
    lossReference: reference.loss,
    lossTest: test.loss,
    pass: Number.isFinite(logitsRelRms) && logitsRelRms <= TOLERANCES.forwardLogitsRelRms && lossDiff <= TOLERANCES.forwardLossAbs,
  };
}

export interface StepComparison {
  /** Per parameter: cosine similarity of the two updates, and the bound it is held to. */
  updates: { name: string; kind: 'muon' | 'adamw'; cosine: number; bound: number }[];
  lossAfterReference: number;
  lossAfterTest: number;
  pass: boolean;
}

/** Block matrices are stepped by Muon, everything else by AdamW (SPEC §5). */
const isMuonParameter = (name: string) => /^transformer\.h\.\d+\.(attn\.c_[qkv]|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$/.test(name);

/** One MuonAdamW step from the same weights on two devices: the updates and the loss after it. */
export async function compareStep(
  checkpoint: string,
  referenceDevice: string,
  testDevice: string,
  batch: TokenBatch,
  evalBatch: TokenBatch,
  dir: string,
): Promise<StepComparison> {
  const before = await readTensors(checkpoint);
  const stepOn = async (device: string) => {
    using model = await GPT.load(checkpoint, { device });
    using optimizer = model.createOptimizer();
    model.trainStep([batch], optimizer, STEP);
    const file = path.join(dir, `stepped-${device.replace(':', '-')}-${referenceDevice === device ? 'ref' : 'test'}.safetensors`);
    await model.save(file);
    return file;
  };
  const referenceFile = await stepOn(referenceDevice);
  const testFile = await stepOn(testDevice);
  const reference = await readTensors(referenceFile);
  const test = await readTensors(testFile);
  const updates: StepComparison['updates'] = [];
  for (const [name, start] of before) {
    const a = reference.get(name)!;
    const b = test.get(name)!;
    const da = a.map((x, i) => x - start[i]!);
    const db = b.map((x, i) => x - start[i]!);
    const kind = isMuonParameter(name) ? 'muon' : 'adamw';
    updates.push({ name, kind, cosine: cosine(db, da), bound: kind === 'muon' ? TOLERANCES.muonUpdateCosine : TOLERANCES.adamwUpdateCosine });
  }
  // Both stepped models scored the same way: fp32 on the CPU.
  const lossOf = async (file: string) => {
    using model = await GPT.load(file, { device: 'cpu' });
    return mean(await model.perTokenLoss(evalBatch));
  };
  const lossAfterReference = await lossOf(referenceFile);
  const lossAfterTest = await lossOf(testFile);
  const lossOk = Math.abs(lossAfterTest - lossAfterReference) <= TOLERANCES.stepLossRel * Math.abs(lossAfterReference);
  return {
    updates,
    lossAfterReference,
    lossAfterTest,
    pass: lossOk && updates.every((u) => Number.isFinite(u.cosine) && u.cosine >= u.bound),
  };
}

export interface PeakMemoryCheck {
  weightBytes: number;
  peakLarge: number;
  peakSmall: number;
  pass: boolean;
}

/** The allocator's peak after a training step holds at least the weights; after a reset a smaller step peaks lower. */
export function checkPeakMemory(device: string): PeakMemoryCheck {
  using model = GPT.create(SMOKE_MODEL, { device, seed: 1 });
  using optimizer = model.createOptimizer();
  const dtypeBytes = { F32: 4, BF16: 2, F16: 2 } as const;
  const weightBytes = model.parameters().reduce((sum, p) => sum + p.shape.reduce((a, b) => a * b, 1) * dtypeBytes[p.dtype], 0);
  model.resetPeakMemory();
  model.trainStep([learnableBatch(16, 512, SMOKE_MODEL.vocabSize, 1)], optimizer, STEP);
  model.synchronize();
  const peakLarge = model.peakMemoryBytes();
  model.resetPeakMemory();
  model.trainStep([learnableBatch(1, 64, SMOKE_MODEL.vocabSize, 2)], optimizer, STEP);
  model.synchronize();
  const peakSmall = model.peakMemoryBytes();
  return { weightBytes, peakLarge, peakSmall, pass: peakLarge >= weightBytes && peakSmall >= weightBytes && peakSmall < peakLarge };
}

export interface TrainingRun {
  steps: number;
  seconds: number;
  tokensPerSecond: number;
  mfuPercent: number;
  firstLoss: number;
  lastLoss: number;
  pass: boolean;
}

/** The training run's model: DEPTH 8, width 512, seq 1024, 16 rows a step. */
export const TRAINING_MODEL: ModelConfig = { ...SMOKE_MODEL, sequenceLen: 1024, nLayer: 8, nHead: 4, nKvHead: 4, nEmbd: 512 };

/**
 * Trains for `seconds` (and at least `minSteps` steps) after 3 warm-up steps; passes when the
 * loss fell by more than 1 nat.
 */
export function trainingRun(
  device: string,
  seconds: number,
  peakFlops: number,
  log: (line: string) => void = () => {},
  config: ModelConfig = TRAINING_MODEL,
  rows = 16,
  minSteps = 10,
): TrainingRun {
  using model = GPT.create(config, { device, seed: 42 });
  using optimizer = model.createOptimizer();
  const batches = Array.from({ length: 8 }, (_, i) => learnableBatch(rows, config.sequenceLen, config.vocabSize, 1000 + i));
  const tokensPerStep = rows * config.sequenceLen;
  let firstLoss = NaN;
  let lastLoss = NaN;
  let steps = 0;
  let counted = 0;
  for (let i = 0; counted < seconds * 1000 || steps < minSteps; i++) {
    const start = performance.now();
    const loss = model.trainStep([batches[i % batches.length]!], optimizer, STEP);
    model.synchronize();
    const ms = performance.now() - start;
    if (i === 0) firstLoss = loss;
    lastLoss = loss;
    if (!Number.isFinite(loss)) break;
    if (i >= 3) {
      counted += ms;
      steps++;
    }
    if (i % 20 === 0) log(`step ${i}: loss ${loss.toFixed(4)}, ${ms.toFixed(0)} ms`);
  }
  const tokensPerSecond = (steps * tokensPerStep) / (counted / 1000);
  const mfuPercent = (100 * model.flopsPerToken() * tokensPerSecond) / peakFlops;
  return {
    steps,
    seconds: counted / 1000,
    tokensPerSecond,
    mfuPercent,
    firstLoss,
    lastLoss,
    pass: steps >= 10 && Number.isFinite(lastLoss) && lastLoss < firstLoss - 1,
  };
}

const mark = (ok: boolean) => (ok ? 'ok  ' : 'FAIL');

async function main(): Promise<void> {
  const info = runtimeInfo();
  if (!info.build.cuda) {
    console.error(`smoke:gpu: the addon in use (${info.binary}) was built against a CPU-only libtorch ${info.build.libtorchVersion}: build against a CUDA libtorch (npm run smoke:gpu does)`);
    process.exit(2);
  }
  if (!info.cudaAvailable) {
    console.error(`smoke:gpu: no CUDA GPU is visible to libtorch ${info.build.libtorchVersion} (CUDA build): this check needs a GPU and a working NVIDIA driver`);
    process.exit(2);
  }
  const device = process.env.AUTORESEARCH_SMOKE_DEVICE || 'cuda:0';
  const seconds = Number(process.env.AUTORESEARCH_SMOKE_SECONDS || 20);
  const peakFlops = Number(process.env.AUTORESEARCH_PEAK_FLOPS || DEFAULT_PEAK_FLOPS);
  console.log(`smoke:gpu: libtorch ${info.build.libtorchVersion} (CUDA), ${info.cudaDevices.join(', ')}; testing ${device} against the CPU`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-smoke-'));
  const results: boolean[] = [];
  try {
    const checkpoint = path.join(dir, 'weights.safetensors');
    await makeCheckpoint(checkpoint);
    const batch = learnableBatch(2, 256, SMOKE_MODEL.vocabSize, 7);

    const fwd = await compareForward(checkpoint, 'cpu', device, batch);
    results.push(fwd.pass);
    console.log(
      `${mark(fwd.pass)} forward bf16 vs fp32: logits relative RMS error ${fwd.logitsRelRms.toFixed(4)} (<= ${TOLERANCES.forwardLogitsRelRms}), ` +
        `loss ${fwd.lossTest.toFixed(4)} vs ${fwd.lossReference.toFixed(4)} (within ${TOLERANCES.forwardLossAbs})`,
    );

    const step = await compareStep(checkpoint, 'cpu', device, batch, learnableBatch(2, 256, SMOKE_MODEL.vocabSize, 8), dir);
    results.push(step.pass);
    const worst = (kind: 'muon' | 'adamw') => step.updates.filter((u) => u.kind === kind).reduce((w, u) => (u.cosine < w.cosine ? u : w));
    const wm = worst('muon');
    const wa = worst('adamw');
    console.log(
      `${mark(step.pass)} MuonAdamW step bf16 vs fp32: lowest update cosine Muon ${wm.cosine.toFixed(4)} (${wm.name}, >= ${wm.bound}), ` +
        `AdamW ${wa.cosine.toFixed(4)} (${wa.name}, >= ${wa.bound}); loss after ${step.lossAfterTest.toFixed(4)} vs ${step.lossAfterReference.toFixed(4)} (within ${TOLERANCES.stepLossRel * 100}%)`,
    );
    for (const u of step.updates.filter((x) => x.cosine < x.bound)) console.log(`     ${u.name}: cosine ${u.cosine.toFixed(4)} < ${u.bound}`);

    const peak = checkPeakMemory(device);
    results.push(peak.pass);
    const mb = (b: number) => (b / 2 ** 20).toFixed(1);
    console.log(
      `${mark(peak.pass)} CUDA allocator peak: ${mb(peak.peakLarge)} MB after a 16 x 512 step, ${mb(peak.peakSmall)} MB after a reset and a 1 x 64 step, weights ${mb(peak.weightBytes)} MB`,
    );

    const run = trainingRun(device, seconds, peakFlops, (line) => console.log(`     ${line}`));
    results.push(run.pass);
    console.log(
      `${mark(run.pass)} ${run.seconds.toFixed(1)} s of training (DEPTH 8, 16 x 1024 tokens a step): ${run.steps} steps, ` +
        `${Math.round(run.tokensPerSecond).toLocaleString('en-US')} tokens/s, MFU ${run.mfuPercent.toFixed(2)}% of ${(peakFlops / 1e12).toFixed(1)} TFLOP/s, ` +
        `loss ${run.firstLoss.toFixed(3)} -> ${run.lastLoss.toFixed(3)}`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const failed = results.filter((r) => !r).length;
  console.log(failed === 0 ? 'smoke:gpu: all 4 checks passed' : `smoke:gpu: ${failed} of 4 checks failed`);
  process.exit(failed === 0 ? 0 : 1);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(`smoke:gpu: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}

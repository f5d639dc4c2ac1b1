// MuonAdamW pieces against hand computations of the SPEC §5 formulas (float64 in TypeScript).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { GPT } from '../../lib';
import { testing } from '../../lib/native/load';
import { randomBatch, tinyConfig } from '../helpers';
import { add, flat, frobenius, fromFlat, matmul, pseudoRandom, singularValues, transpose, type M } from '../matrix';

const COEFFS: [number, number, number][] = [
  [8.156554524902461, -22.48329292557795, 15.878769915207462],
  [4.042929935166739, -2.808917465908714, 0.5000178451051316],
  [3.8916678022926607, -2.772484153217685, 0.5060648178503393],
  [3.285753657755655, -2.3681294933425376, 0.46449024233003106],
  [2.3465413258596377, -1.7097828382687081, 0.42323551169305323],
];

function polarExpressByHand(g: M, steps: number): M {
  const norm = frobenius(g) * 1.02 + 1e-6;
  let X = g.map((r) => r.map((v) => v / norm));
  const tall = g.length > g[0]!.length;
  for (const [a, b, c] of COEFFS.slice(0, steps)) {
    if (tall) {
      const A = matmul(transpose(X), X);
      const B = add(A, matmul(A, A), b, c);
      X = add(X, matmul(X, B), a, 1);
    } else {
      const A = matmul(X, transpose(X));
      const B = add(A, matmul(A, A), b, c);
      X = add(X, matmul(B, X), a, 1);
    }
  }
  return X;
}

const closeTo = (actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number) => {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThanOrEqual(tol);
};

describe('Polar Express', () => {
  for (const [rows, cols] of [
    [16, 48],
    [48, 16],
    [32, 32],
  ] as const) {
    test(`pushes the singular values of a ${rows}x${cols} matrix to about 1`, () => {
      const g = pseudoRandom(rows * cols, rows * 7 + cols);
      const out = testing().polarExpress(g, [1, rows, cols], 5);
      const sv = singularValues(fromFlat(out, rows, cols));
      const before = singularValues(fromFlat(g, rows, cols));
      expect(before[before.length - 1]! / before[0]!).toBeGreaterThan(3); // a real spread to remove
      for (const s of sv) {
        expect(s).toBeGreaterThan(0.6);
        expect(s).toBeLessThan(1.25);
      }
    });
  }

  test('matches the five-step iteration computed by hand, per matrix of a stack', () => {
    const [n, rows, cols] = [2, 6, 4];
    const g = pseudoRandom(n * rows * cols, 99);
    const out = testing().polarExpress(g, [n, rows, cols], 5);
    for (let k = 0; k < n; k++) {
      const expected = flat(polarExpressByHand(fromFlat(g, rows, cols, k * rows * cols), 5));
      closeTo(out.subarray(k * rows * cols, (k + 1) * rows * cols), expected, 2e-4);
    }
  });
});

test('one AdamW step equals the SPEC formula', () => {
  const n = 6;
  const param = pseudoRandom(n, 1), grad = pseudoRandom(n, 2), m = pseudoRandom(n, 3).map((v) => v * 0.1);
  const v = pseudoRandom(n, 4).map((x) => x * x * 0.01);
  const [step, lr, beta1, beta2, eps, wd] = [3, 0.01, 0.8, 0.95, 1e-10, 0.1];
  const out = testing().adamwUpdate({ param, grad, m, v, shape: [2, 3], step, lr, beta1, beta2, eps, weightDecay: wd });
  const expected = Array.from(param, (p0, i) => {
    const p = p0 * (1 - lr * wd);
    const mi = m[i]! + (grad[i]! - m[i]!) * (1 - beta1);
    const vi = v[i]! + (grad[i]! ** 2 - v[i]!) * (1 - beta2);
    const bias1 = 1 - beta1 ** step;
    const bias2 = 1 - beta2 ** step;
    return p - (lr / bias1) * (mi / (Math.sqrt(vi / bias2) + eps));
  });
  closeTo(out.param, expected, 1e-6);
});

test('one Muon step equals the SPEC formula (Nesterov, Polar Express, NorMuon, cautious decay)', () => {
  for (const [rows, cols] of [
    [4, 6],
    [6, 4],
  ] as const) {
    const size = rows * cols;
    const param = pseudoRandom(size, 11), grad = pseudoRandom(size, 12), momentumBuffer = pseudoRandom(size, 13).map((x) => x * 0.5);
    const secondShape = rows >= cols ? [1, rows, 1] : [1, 1, cols];
    const secondMoment = pseudoRandom(rows >= cols ? rows : cols, 14).map((x) => 0.05 + x * x * 0.1);
    const [lr, mu, wd, beta2] = [0.02, 0.9, 0.2, 0.95];
    const out = testing().muonUpdate({
      param, grad, momentumBuffer, secondMoment, shape: [1, rows, cols], secondShape, lr, momentum: mu, weightDecay: wd, beta2, nsSteps: 5,
    });

    // 1. Nesterov
    const M1 = Array.from(momentumBuffer, (mv, i) => mv + (grad[i]! - mv) * (1 - mu));
    const G = Array.from(grad, (g, i) => g + (M1[i]! - g) * mu);
    // 2. Polar Express
    const X = polarExpressByHand(fromFlat(G, rows, cols), 5);
    // 3. NorMuon: reduce over the last dim if rows >= cols, else over rows.
    const overCols = rows >= cols;
    const n = overCols ? cols : rows;
    const vm = overCols
      ? X.map((r) => r.reduce((s, x) => s + x * x, 0) / cols)
      : Array.from({ length: cols }, (_, j) => X.reduce((s, r) => s + r[j]! ** 2, 0) / rows);
    const vn = Math.sqrt(vm.reduce((s, x) => s + x, 0) * n);
    const S = vm.map((x, i) => secondMoment[i]! + (x - secondMoment[i]!) * (1 - beta2));
    const st = S.map((s) => 1 / Math.sqrt(Math.max(s, 1e-10)));
    const vnNew = Math.sqrt(vm.reduce((s, x, i) => s + x * n * st[i]! ** 2, 0));
    const scaled = X.map((r, i) => r.map((x, j) => x * st[overCols ? i : j]! * (vn / Math.max(vnNew, 1e-10))));
    // 4. lr scaled by sqrt(max(1, rows/cols)), cautious weight decay.
    const lrEff = lr * Math.sqrt(Math.max(1, rows / cols));
    const expected = Array.from(param, (p, k) => {
      const x = scaled[Math.floor(k / cols)]![k % cols]!;
      const mask = x * p >= 0 ? 1 : 0;
      return p - lrEff * x - lrEff * wd * p * mask;
    });
    closeTo(out.momentumBuffer, M1, 1e-6);
    closeTo(out.secondMoment, S, 1e-6);
    closeTo(out.param, expected, 2e-5);
  }
});

test('a step with no gradient since the last one changes no weight (nothing is stepped with zeros)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-nograd-'));
  try {
    using model = GPT.create(tinyConfig(), { device: 'cpu', seed: 8 });
    const optimizer = model.createOptimizer();
    const settings = { lrMultiplier: 1, muonMomentum: 0.95, muonWeightDecay: 0.2 };
    // Two real steps: momentum and AdamW moments are non-zero, so a zero gradient would still move weights.
    model.trainStep([randomBatch(2, 32, 256, 1)], optimizer, settings);
    model.trainStep([randomBatch(2, 32, 256, 2)], optimizer, settings);
    const before = path.join(dir, 'before.safetensors'), after = path.join(dir, 'after.safetensors');
    await model.save(before);
    optimizer.step(settings);
    await model.save(after);
    expect(fs.readFileSync(after).equals(fs.readFileSync(before))).toBe(true);
    // ...while a step with gradients does move them.
    model.trainStep([randomBatch(2, 32, 256, 3)], optimizer, settings);
    await model.save(after);
    expect(fs.readFileSync(after).equals(fs.readFileSync(before))).toBe(false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

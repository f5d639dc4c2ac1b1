// The chunked LM-head loss (native/model/softcap_cross_entropy.cc) against a hand computation in
// double precision: s = cap * tanh(x W^T / cap), loss = mean over counted rows of
// logsumexp(s) - s[target], and its gradients in x and W.
import { testing } from '../../lib/native/load';

const N = 600; // more than one training chunk (512 rows) and several evaluation chunks (64), partial ones too
const C = 8;
const V = 20;

function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648 - 0.5;
  };
}

function reference(x: Float32Array, w: Float32Array, targets: Int32Array, cap: number | false) {
  const counted = targets.filter((t) => t >= 0).length;
  const gradX = new Float64Array(N * C);
  const gradW = new Float64Array(V * C);
  const perToken = new Float64Array(N);
  let total = 0;
  for (let i = 0; i < N; i++) {
    const z = Array.from({ length: V }, (_, v) => {
      let dot = 0;
      for (let c = 0; c < C; c++) dot += x[i * C + c]! * w[v * C + c]!;
      return dot;
    });
    const t = z.map((zi) => (cap ? Math.tanh(zi / cap) : zi));
    const s = t.map((ti) => (cap ? cap * ti : ti));
    const max = Math.max(...s);
    const sum = s.reduce((acc, si) => acc + Math.exp(si - max), 0);
    const lse = max + Math.log(sum);
    const target = targets[i]!;
    if (target < 0) continue;
    perToken[i] = lse - s[target]!;
    total += perToken[i]!;
    for (let v = 0; v < V; v++) {
      const ds = (Math.exp(s[v]! - lse) - (v === target ? 1 : 0)) / counted;
      const dz = cap ? ds * (1 - t[v]! * t[v]!) : ds;
      for (let c = 0; c < C; c++) {
        gradX[i * C + c] = gradX[i * C + c]! + dz * w[v * C + c]!;
        gradW[v * C + c] = gradW[v * C + c]! + dz * x[i * C + c]!;
      }
    }
  }
  return { loss: total / counted, gradX, gradW, perToken };
}

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]!));
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
  }
  return diff / scale;
}

// 15: the fast path (no max pass); 100: through logsumexp; false: no soft-cap (passed as 0).
test.each([15, 100, false] as const)('soft-cap %s: loss, per-token losses and both gradients equal the hand computation', (cap) => {
  const rand = lcg(7);
  // Large enough logits that the soft-cap bends them.
  const x = Float32Array.from({ length: N * C }, () => 8 * rand());
  const weight = Float32Array.from({ length: V * C }, () => 2 * rand());
  const targets = Int32Array.from({ length: N }, (_, i) => (i % 37 === 5 ? -1 : Math.floor((rand() + 0.5) * V) % V));
  const got = testing().softcapCrossEntropy({ x, xShape: [N, C], weight, weightShape: [V, C], targets, cap: cap || 0 });
  const want = reference(x, weight, targets, cap);
  expect(got.loss).toBeCloseTo(want.loss, 4);
  expect(maxRelDiff(got.perToken, want.perToken)).toBeLessThan(1e-5);
  expect(maxRelDiff(got.gradX, want.gradX)).toBeLessThan(1e-4);
  expect(maxRelDiff(got.gradWeight, want.gradW)).toBeLessThan(1e-4);
  expect(got.perToken[5]).toBe(0); // ignored target
});

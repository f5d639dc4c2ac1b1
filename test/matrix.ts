// Tiny float64 matrix helpers for hand computations in tests (row-major number[][]).
export type M = number[][];

export const fromFlat = (data: ArrayLike<number>, rows: number, cols: number, offset = 0): M =>
  Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => data[offset + i * cols + j]!));
export const flat = (m: M): number[] => m.flat();
export const transpose = (a: M): M => a[0]!.map((_, j) => a.map((row) => row[j]!));
export const matmul = (a: M, b: M): M =>
  a.map((row) => b[0]!.map((_, j) => row.reduce((s, v, k) => s + v * b[k]![j]!, 0)));
export const add = (a: M, b: M, sa = 1, sb = 1): M => a.map((row, i) => row.map((v, j) => sa * v + sb * b[i]![j]!));
export const frobenius = (a: M): number => Math.sqrt(a.flat().reduce((s, v) => s + v * v, 0));

/** Eigenvalues of a symmetric matrix (cyclic Jacobi). */
export function symmetricEigenvalues(input: M): number[] {
  const a = input.map((r) => r.slice());
  const n = a.length;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p]![q]! ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (Math.abs(a[p]![q]!) < 1e-300) continue;
        const theta = (a[q]![q]! - a[p]![p]!) / (2 * a[p]![q]!);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k]![p]!, akq = a[k]![q]!;
          a[k]![p] = c * akp - s * akq;
          a[k]![q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p]![k]!, aqk = a[q]![k]!;
          a[p]![k] = c * apk - s * aqk;
          a[q]![k] = s * apk + c * aqk;
        }
      }
    }
  }
  return a.map((row, i) => row[i]!);
}

/** Singular values of any matrix. */
export const singularValues = (a: M): number[] => {
  const small = a.length <= a[0]!.length ? matmul(a, transpose(a)) : matmul(transpose(a), a);
  return symmetricEigenvalues(small).map((e) => Math.sqrt(Math.max(0, e))).sort((x, y) => x - y);
};

/** Deterministic values in [-1, 1). */
export function pseudoRandom(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s / 2147483648) * 2 - 1;
  });
}

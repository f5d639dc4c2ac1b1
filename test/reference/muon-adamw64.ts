// MuonAdamW of SPEC §5 in float64, written from the SPEC and sharing no code with the addon:
// the reference the addon's optimizer steps are checked against. Parameters and gradients by
// their reference names; a parameter without a gradient is skipped (its state and its AdamW
// step count stay as they are), as PyTorch optimizers skip `p.grad is None`.

export interface ReferenceOptimizerConfig {
  embeddingLr: number;
  unembeddingLr: number;
  matrixLr: number;
  scalarLr: number;
  adamBetas: [number, number];
  /** model_dim: AdamW rates of the embeddings and the head scale by (model_dim / 768)^-0.5. */
  modelDim: number;
}

export interface ReferenceStepSettings {
  lrMultiplier: number;
  muonMomentum: number;
  muonWeightDecay: number;
}

export interface ReferenceGroup {
  kind: 'adamw' | 'muon';
  /** Parameter names in the group. */
  params: string[];
  initialLr: number;
  beta1: number;
  beta2: number;
  /** Muon groups: the shared matrix shape. */
  shape?: number[];
}

/** SPEC §5: Polar Express coefficients (a, b, c) of the five iterations. */
export const POLAR_EXPRESS: readonly [number, number, number][] = [
  [8.156554524902461, -22.48329292557795, 15.878769915207462],
  [4.042929935166739, -2.808917465908714, 0.5000178451051316],
  [3.8916678022926607, -2.772484153217685, 0.5060648178503393],
  [3.285753657755655, -2.3681294933425376, 0.46449024233003106],
  [2.3465413258596377, -1.7097828382687081, 0.42323551169305323],
];

const ADAM_EPS = 1e-10;
const MUON_BETA2 = 0.95;

/** a (n x k) times b (k x m), row-major. */
function mm(a: Float64Array, b: Float64Array, n: number, k: number, m: number): Float64Array {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let l = 0; l < k; l++) {
      const ail = a[i * k + l]!;
      for (let j = 0; j < m; j++) out[i * m + j] = out[i * m + j]! + ail * b[l * m + j]!;
    }
  }
  return out;
}

function transposed(a: Float64Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j]!;
  return t;
}

/** SPEC §5 step 2 on one rows x cols matrix. */
export function polarExpress64(g: Float64Array, rows: number, cols: number, steps = 5): Float64Array {
  let norm = 0;
  for (const v of g) norm += v * v;
  const scale = Math.sqrt(norm) * 1.02 + 1e-6;
  let X = g.map((v) => v / scale);
  const tall = rows > cols;
  for (const [a, b, c] of POLAR_EXPRESS.slice(0, steps)) {
    // tall: A = X^T X (cols x cols), X = aX + X (bA + cA^2); else A = X X^T, X = aX + (bA + cA^2) X.
    const n = tall ? cols : rows;
    const A = tall ? mm(transposed(X, rows, cols), X, cols, rows, cols) : mm(X, transposed(X, rows, cols), rows, cols, rows);
    const A2 = mm(A, A, n, n, n);
    const B = A.map((v, i) => b * v + c * A2[i]!);
    const product = tall ? mm(X, B, rows, cols, cols) : mm(B, X, rows, rows, cols);
    X = X.map((v, i) => a * v + product[i]!);
  }
  return X;
}

const lerp = (from: number, to: number, weight: number) => from + (to - from) * weight;

interface AdamState {
  m: Float64Array;
  v: Float64Array;
  step: number;
}

interface MuonState {
  momentum: Float64Array;
  second: Float64Array;
}

export class ReferenceMuonAdamW {
  readonly groups: ReferenceGroup[] = [];
  /**
   * Muon elements of the last step whose cautious-weight-decay mask (update x weight >= 0) a
   * float32 computation may decide the other way: |update| <= maskMargin x the matrix's largest
   * |update|. Each maps to the weight the other decision gives. Empty when maskMargin is 0.
   */
  readonly ambiguous = new Map<string, Map<number, number>>();
  /** Relative size of an update below which its sign is left to rounding (see `ambiguous`). */
  maskMargin = 0;
  readonly #shapes: Map<string, number[]>;
  readonly #adam = new Map<string, AdamState>();
  readonly #muon = new Map<string, MuonState>();

  /** shapes: every parameter of the model by reference name. */
  constructor(shapes: Map<string, number[]>, cfg: ReferenceOptimizerConfig) {
    this.#shapes = shapes;
    const k = (cfg.modelDim / 768) ** -0.5;
    const [b1, b2] = cfg.adamBetas;
    const names = [...shapes.keys()];
    const adam = (params: string[], initialLr: number, beta1: number, beta2: number) => {
      if (params.length > 0) this.groups.push({ kind: 'adamw', params, initialLr, beta1, beta2 });
    };
    adam(['lm_head.weight'], cfg.unembeddingLr * k, b1, b2);
    adam(['transformer.wte.weight'], cfg.embeddingLr * k, b1, b2);
    adam(names.filter((n) => n.startsWith('value_embeds.')), cfg.embeddingLr * k, b1, b2);
    adam(['resid_lambdas'], cfg.scalarLr * 0.01, b1, b2);
    adam(['x0_lambdas'], cfg.scalarLr, 0.96, 0.95);
    // Muon: every matrix inside the blocks, one group per shape (in increasing shape order).
    const byShape = new Map<string, string[]>();
    for (const n of names.filter((n) => n.startsWith('transformer.h.'))) {
      const key = shapes.get(n)!.join('x');
      byShape.set(key, [...(byShape.get(key) ?? []), n]);
    }
    const order = [...byShape.keys()].sort((a, b) => {
      const [ra, ca] = a.split('x').map(Number), [rb, cb] = b.split('x').map(Number);
      return ra! - rb! || ca! - cb!;
    });
    for (const key of order) {
      const params = byShape.get(key)!;
      this.groups.push({ kind: 'muon', params, initialLr: cfg.matrixLr, beta1: NaN, beta2: MUON_BETA2, shape: shapes.get(params[0]!)! });
    }
  }

  /** One step in place on `params`; a name missing from `grads` got no gradient and is skipped. */
  step(params: Map<string, Float64Array>, grads: Map<string, Float64Array>, s: ReferenceStepSettings): void {
    this.ambiguous.clear();
    for (const group of this.groups) {
      const lr = group.initialLr * s.lrMultiplier;
      for (const name of group.params) {
        const g = grads.get(name);
        if (!g) continue;
        const p = params.get(name)!;
        if (group.kind === 'adamw') this.#adamw(name, p, g, lr, group.beta1, group.beta2);
        else this.#muonStep(name, p, g, lr, s);
      }
    }
  }

  #adamw(name: string, p: Float64Array, g: Float64Array, lr: number, beta1: number, beta2: number): void {
    let st = this.#adam.get(name);
    if (!st) this.#adam.set(name, (st = { m: new Float64Array(p.length), v: new Float64Array(p.length), step: 0 }));
    st.step += 1;
    const bias1 = 1 - beta1 ** st.step, bias2 = 1 - beta2 ** st.step;
    for (let i = 0; i < p.length; i++) {
      // Weight decay 0 in every AdamW group: p * (1 - lr * 0) leaves p as it is.
      st.m[i] = lerp(st.m[i]!, g[i]!, 1 - beta1);
      st.v[i] = lerp(st.v[i]!, g[i]! ** 2, 1 - beta2);
      p[i] = p[i]! - (lr / bias1) * (st.m[i]! / (Math.sqrt(st.v[i]! / bias2) + ADAM_EPS));
    }
  }

  #muonStep(name: string, p: Float64Array, grad: Float64Array, lr: number, s: ReferenceStepSettings): void {
    const [rows, cols] = this.#shapes.get(name)! as [number, number];
    const overCols = rows >= cols; // NorMuon reduces over the last dim when rows >= cols
    let st = this.#muon.get(name);
    if (!st) this.#muon.set(name, (st = { momentum: new Float64Array(p.length), second: new Float64Array(overCols ? rows : cols) }));
    // 1. Nesterov.
    const mu = s.muonMomentum;
    for (let i = 0; i < p.length; i++) st.momentum[i] = lerp(st.momentum[i]!, grad[i]!, 1 - mu);
    const G = grad.map((g, i) => lerp(g, st.momentum[i]!, mu));
    // 2. Polar Express.
    const X = polarExpress64(G, rows, cols);
    // 3. NorMuon.
    const n = overCols ? cols : rows;
    const vm = new Float64Array(overCols ? rows : cols);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        const k = overCols ? i : j;
        vm[k] = vm[k]! + X[i * cols + j]! ** 2 / n;
      }
    }
    const vn = Math.sqrt(vm.reduce((a, v) => a + v * n, 0));
    for (let i = 0; i < vm.length; i++) st.second[i] = lerp(st.second[i]!, vm[i]!, 1 - MUON_BETA2);
    const stepSize = st.second.map((v) => 1 / Math.sqrt(Math.max(v, 1e-10)));
    const vnNew = Math.sqrt(vm.reduce((a, v, i) => a + v * n * stepSize[i]! ** 2, 0));
    const ratio = vn / Math.max(vnNew, 1e-10);
    // 4. Shape-scaled lr, cautious weight decay.
    const lrEff = lr * Math.sqrt(Math.max(1, rows / cols));
    const wd = s.muonWeightDecay;
    const update = X.map((v, k) => v * stepSize[overCols ? Math.floor(k / cols) : k % cols]! * ratio);
    const margin = this.maskMargin * update.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const ambiguous = new Map<number, number>();
    for (let k = 0; k < p.length; k++) {
      const x = update[k]!;
      const mask = x * p[k]! >= 0 ? 1 : 0;
      if (Math.abs(x) <= margin) ambiguous.set(k, p[k]! - lrEff * x - lrEff * wd * p[k]! * (1 - mask));
      p[k] = p[k]! - lrEff * x - lrEff * wd * p[k]! * mask;
    }
    if (ambiguous.size > 0) this.ambiguous.set(name, ambiguous);
  }
}

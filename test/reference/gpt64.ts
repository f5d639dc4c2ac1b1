// A float64 forward pass of the GPT of SPEC §4, written from the SPEC and sharing no code with
// the addon or lib/: the reference the addon's logits and losses are checked against. Plain
// loops over Float64Arrays; fast enough for the tiny models of the tests (a few layers, width
// 64, tens of positions).
//
// Conventions (the SPEC's, spelled out where it leaves room):
// - Linear weights are stored out_features x in_features: y = x W^T.
// - norm(x) = x / sqrt(mean(x^2) + eps) with eps = 2^-23, the float32 machine epsilon (what
//   PyTorch's rms_norm uses for fp32 when no eps is given).
// - A layer with window w lets the query at position i attend to the keys i - w ... i (w + 1
//   keys when i >= w), as FlashAttention's window_size=(w, 0); w >= T - 1 is plain causal.
// - GQA: query head h reads kv head floor(h / (n_head / n_kv_head)).
// - Value embeddings on layers i with i % 2 == (n_layer - 1) % 2; their gate reads the first 32
//   channels of the block's normed input.

export interface ReferenceConfig {
  vocabSize: number;
  nLayer: number;
  nHead: number;
  nKvHead: number;
  nEmbd: number;
  /** Per layer: the query at i sees keys i - w ... i. */
  windows: number[];
  /** 0: no soft-cap. */
  softcap: number;
  rotaryBase: number;
  mlpActivation: 'relu2' | 'swiglu';
  mlpRatio: number;
  valueEmbeds: boolean;
}

/** Parameters by their reference names (SPEC §4), as float64. */
export type Weights = Map<string, Float64Array>;

const NORM_EPS = 2 ** -23;
const GATE_CHANNELS = 32;

export function hasValueEmbed(cfg: ReferenceConfig, layer: number): boolean {
  return cfg.valueEmbeds && layer % 2 === (cfg.nLayer - 1) % 2;
}

/** SPEC §4 windows from a pattern of S (half context) and L (full context); the last layer is L. */
export function patternWindows(pattern: string, nLayer: number, sequenceLen: number): number[] {
  const windows = Array.from({ length: nLayer }, (_, i) =>
    pattern[i % pattern.length] === 'L' ? sequenceLen : Math.floor(sequenceLen / 2),
  );
  windows[nLayer - 1] = sequenceLen;
  return windows;
}

function weight(w: Weights, name: string): Float64Array {
  const t = w.get(name);
  if (!t) throw new Error(`reference model: no parameter '${name}'`);
  return t;
}

/** rows x out = (rows x inDim) times W^T, W stored out x inDim. */
function linear(x: Float64Array, rows: number, inDim: number, W: Float64Array, out: number): Float64Array {
  if (W.length !== out * inDim) throw new Error(`linear: weight of ${W.length} values is not ${out} x ${inDim}`);
  const y = new Float64Array(rows * out);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < out; o++) {
      let s = 0;
      for (let k = 0; k < inDim; k++) s += x[r * inDim + k]! * W[o * inDim + k]!;
      y[r * out + o] = s;
    }
  }
  return y;
}

/** RMS norm of every `width`-long group of x. */
function rmsNorm(x: Float64Array, width: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let start = 0; start < x.length; start += width) {
    let ms = 0;
    for (let k = 0; k < width; k++) ms += x[start + k]! ** 2;
    const scale = 1 / Math.sqrt(ms / width + NORM_EPS);
    for (let k = 0; k < width; k++) y[start + k] = x[start + k]! * scale;
  }
  return y;
}

/** Rotary embedding in place on (T, heads, D) rows of one sequence: half-split layout. */
function rotary(x: Float64Array, T: number, heads: number, D: number, base: number): void {
  const half = D / 2;
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < heads; h++) {
      const o = (t * heads + h) * D;
      for (let j = 0; j < half; j++) {
        const angle = t / base ** ((2 * j) / D);
        const c = Math.cos(angle), s = Math.sin(angle);
        const x1 = x[o + j]!, x2 = x[o + half + j]!;
        x[o + j] = x1 * c + x2 * s;
        x[o + half + j] = -x1 * s + x2 * c;
      }
    }
  }
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** Attention of one sequence: xn (T x C) normed block input, ve (T x Hkv*D) or undefined. */
function attention(cfg: ReferenceConfig, w: Weights, layer: number, xn: Float64Array, T: number, ve: Float64Array | undefined): Float64Array {
  const C = cfg.nEmbd, H = cfg.nHead, Hkv = cfg.nKvHead, D = C / H;
  const p = `transformer.h.${layer}.attn.`;
  const q = linear(xn, T, C, weight(w, p + 'c_q.weight'), H * D);
  const k = linear(xn, T, C, weight(w, p + 'c_k.weight'), Hkv * D);
  const v = linear(xn, T, C, weight(w, p + 'c_v.weight'), Hkv * D);
  if (ve) {
    const Wg = weight(w, p + 've_gate.weight'); // Hkv x 32
    for (let t = 0; t < T; t++) {
      for (let g = 0; g < Hkv; g++) {
        let z = 0;
        for (let c = 0; c < GATE_CHANNELS; c++) z += xn[t * C + c]! * Wg[g * GATE_CHANNELS + c]!;
        const gate = 2 * sigmoid(z);
        for (let d = 0; d < D; d++) {
          const k = (t * Hkv + g) * D + d;
          v[k] = v[k]! + gate * ve[k]!;
        }
      }
    }
  }
  rotary(q, T, H, D, cfg.rotaryBase);
  rotary(k, T, Hkv, D, cfg.rotaryBase);
  const qn = rmsNorm(q, D), kn = rmsNorm(k, D);
  const window = cfg.windows[layer]!;
  const group = H / Hkv;
  const y = new Float64Array(T * H * D);
  const scores = new Float64Array(T);
  for (let h = 0; h < H; h++) {
    const g = Math.floor(h / group);
    for (let i = 0; i < T; i++) {
      const first = Math.max(0, i - window);
      let max = -Infinity;
      for (let j = first; j <= i; j++) {
        let s = 0;
        for (let d = 0; d < D; d++) s += qn[(i * H + h) * D + d]! * kn[(j * Hkv + g) * D + d]!;
        scores[j] = s / Math.sqrt(D);
        max = Math.max(max, scores[j]!);
      }
      let sum = 0;
      for (let j = first; j <= i; j++) {
        scores[j] = Math.exp(scores[j]! - max);
        sum += scores[j]!;
      }
      for (let j = first; j <= i; j++) {
        const pj = scores[j]! / sum;
        for (let d = 0; d < D; d++) {
          const k = (i * H + h) * D + d;
          y[k] = y[k]! + pj * v[(j * Hkv + g) * D + d]!;
        }
      }
    }
  }
  return linear(y, T, H * D, weight(w, p + 'c_proj.weight'), C);
}

function mlp(cfg: ReferenceConfig, w: Weights, layer: number, xn: Float64Array, T: number): Float64Array {
  const C = cfg.nEmbd;
  const hidden = Math.round(cfg.mlpRatio * C);
  const p = `transformer.h.${layer}.mlp.`;
  const h = linear(xn, T, C, weight(w, p + 'c_fc.weight'), hidden);
  if (cfg.mlpActivation === 'relu2') {
    for (let i = 0; i < h.length; i++) h[i] = Math.max(0, h[i]!) ** 2;
  } else {
    const gate = linear(xn, T, C, weight(w, p + 'c_gate.weight'), hidden);
    for (let i = 0; i < h.length; i++) h[i] = gate[i]! * sigmoid(gate[i]!) * h[i]!;
  }
  return linear(h, T, hidden, weight(w, p + 'c_proj.weight'), C);
}

/** Soft-capped logits, B x T x vocab, row-major. */
export function referenceLogits(cfg: ReferenceConfig, w: Weights, inputs: Int32Array, B: number, T: number): Float64Array {
  const C = cfg.nEmbd, V = cfg.vocabSize, kvDim = cfg.nKvHead * (C / cfg.nHead);
  const wte = weight(w, 'transformer.wte.weight');
  const resid = weight(w, 'resid_lambdas'), x0Lambdas = weight(w, 'x0_lambdas');
  const out = new Float64Array(B * T * V);
  for (let b = 0; b < B; b++) {
    const ids = inputs.subarray(b * T, (b + 1) * T);
    const embed = (table: Float64Array, width: number) => {
      const e = new Float64Array(T * width);
      ids.forEach((id, t) => e.set(table.subarray(id * width, (id + 1) * width), t * width));
      return e;
    };
    const x0 = rmsNorm(embed(wte, C), C);
    let x = x0.slice();
    for (let layer = 0; layer < cfg.nLayer; layer++) {
      for (let i = 0; i < x.length; i++) x[i] = resid[layer]! * x[i]! + x0Lambdas[layer]! * x0[i]!;
      const ve = hasValueEmbed(cfg, layer) ? embed(weight(w, `value_embeds.${layer}.weight`), kvDim) : undefined;
      const a = attention(cfg, w, layer, rmsNorm(x, C), T, ve);
      x = x.map((xi, i) => xi + a[i]!);
      const m = mlp(cfg, w, layer, rmsNorm(x, C), T);
      x = x.map((xi, i) => xi + m[i]!);
    }
    const logits = linear(rmsNorm(x, C), T, C, weight(w, 'lm_head.weight'), V);
    if (cfg.softcap > 0) for (let i = 0; i < logits.length; i++) logits[i] = cfg.softcap * Math.tanh(logits[i]! / cfg.softcap);
    out.set(logits, b * T * V);
  }
  return out;
}

/** Cross entropy of every position in nats (0 where the target is -1). */
export function referenceLosses(logits: Float64Array, targets: Int32Array, V: number): Float64Array {
  const losses = new Float64Array(targets.length);
  for (let r = 0; r < targets.length; r++) {
    const target = targets[r]!;
    if (target < 0) continue;
    const row = logits.subarray(r * V, (r + 1) * V);
    let max = -Infinity;
    for (const z of row) max = Math.max(max, z);
    let sum = 0;
    for (const z of row) sum += Math.exp(z - max);
    losses[r] = max + Math.log(sum) - row[target]!;
  }
  return losses;
}

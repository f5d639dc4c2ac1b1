// Reading and writing a model's weights from TypeScript through its safetensors checkpoints
// (lib/model/checkpoint.ts header, little-endian float32 data), so that tests can look at and change
// every parameter of the real addon's model.
import fs from 'node:fs/promises';

import { buildHeader, readHeader } from '../../lib/model/checkpoint';
import type { ModelConfig } from '../../lib/config/model-config';
import type { NativeParameterInfo } from '../../lib/native/addon';

/** Every tensor of a float32 safetensors file by name. */
export async function readWeightsFile(path: string): Promise<Map<string, Float32Array>> {
  const header = await readHeader(path);
  const bytes = await fs.readFile(path);
  const out = new Map<string, Float32Array>();
  for (const e of header.entries) {
    if (e.dtype !== 'F32') throw new Error(`${path}: '${e.name}' is ${e.dtype}, the tests read F32 only`);
    const start = header.dataStart + e.begin;
    // A copy: the file's buffer need not be 4-byte aligned at the tensor's offset.
    out.set(e.name, new Float32Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + header.dataStart + e.end)));
  }
  return out;
}

/** Writes `values` as a checkpoint of a model with these parameters and config (loadable by loadWeights). */
export async function writeWeightsFile(
  path: string,
  params: NativeParameterInfo[],
  config: ModelConfig,
  values: Map<string, Float32Array>,
): Promise<void> {
  const header = Buffer.from(buildHeader(params, config));
  const parts: Buffer[] = [Buffer.alloc(8), header];
  parts[0]!.writeBigUInt64LE(BigInt(header.length));
  for (const p of params) {
    const v = values.get(p.name);
    const size = p.shape.reduce((a, b) => a * b, 1);
    if (!v || v.length !== size) throw new Error(`writeWeightsFile: '${p.name}' needs ${size} values`);
    parts.push(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
  }
  await fs.writeFile(path, Buffer.concat(parts));
}

export const toFloat64 = (w: Map<string, Float32Array>): Map<string, Float64Array> =>
  new Map([...w].map(([name, v]) => [name, Float64Array.from(v)]));

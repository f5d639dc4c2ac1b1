// Checkpoints in the safetensors format: 8-byte little-endian header length, a JSON header
// ({name: {dtype, shape, data_offsets}}, plus "__metadata__" of string values), then the raw
// little-endian tensor bytes. Parameter names are the reference's (SPEC §4), so the file loads
// into a PyTorch implementation of the same model; the model config rides in the metadata.
// The header is written and checked here; the bulk bytes move natively, off the JS thread.
import fs from 'node:fs/promises';

import { CheckpointError } from '../errors';
import type { ModelConfig } from '../config/model-config';
import type { NativeParameterInfo, NativeTensorEntry } from '../native/addon';

const DTYPE_BYTES: Record<string, number> = { F32: 4, BF16: 2, F16: 2 };
const CONFIG_KEY = 'autoresearch.model_config';
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface CheckpointHeader {
  metadata: Record<string, string>;
  /** Tensors in file order with offsets relative to the data section. */
  entries: NativeTensorEntry[];
  /** Absolute file offset of the data section. */
  dataStart: number;
}

/** The header JSON (space-padded to a multiple of 8 bytes, as the format recommends). */
export function buildHeader(params: NativeParameterInfo[], modelConfig: ModelConfig): string {
  const header: Record<string, unknown> = {
    __metadata__: { format: 'pt', [CONFIG_KEY]: JSON.stringify(modelConfig) },
  };
  let offset = 0;
  for (const p of params) {
    const size = p.shape.reduce((a, b) => a * b, 1) * (DTYPE_BYTES[p.dtype] ?? 0);
    header[p.name] = { dtype: p.dtype, shape: p.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  const json = JSON.stringify(header);
  const length = Buffer.byteLength(json);
  return json + ' '.repeat((8 - (length % 8)) % 8);
}

function fail(path: string, problem: string): never {
  throw new CheckpointError(`checkpoint '${path}' ${problem}`);
}

/** Reads and checks the header of a safetensors file. */
export async function readHeader(path: string): Promise<CheckpointHeader> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    fail(path, code === 'ENOENT' ? 'does not exist' : `cannot be opened (${code ?? String(err)})`);
  }
  try {
    const { size } = await handle.stat();
    if (size < 8) fail(path, `is too short to be a safetensors file (${size} bytes)`);
    const lengthBytes = Buffer.alloc(8);
    await handle.read(lengthBytes, 0, 8, 0);
    const headerLength = Number(lengthBytes.readBigUInt64LE(0));
    if (headerLength < 2 || headerLength > MAX_HEADER_BYTES || 8 + headerLength > size) {
      fail(path, `is not a safetensors file or is truncated (header length ${headerLength}, file ${size} bytes)`);
    }
    const headerBytes = Buffer.alloc(headerLength);
    await handle.read(headerBytes, 0, headerLength, 8);
    let parsed: unknown;
    try {
      parsed = JSON.parse(headerBytes.toString('utf8'));
    } catch {
      fail(path, 'has a header that is not valid JSON (corrupt or not a safetensors file)');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) fail(path, 'has a header that is not a JSON object');
    const dataStart = 8 + headerLength;
    const dataSize = size - dataStart;
    const metadata: Record<string, string> = {};
    const entries: NativeTensorEntry[] = [];
    for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
      if (name === '__metadata__') {
        Object.assign(metadata, value as Record<string, string>);
        continue;
      }
      const v = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      if (typeof v.dtype !== 'string' || !(v.dtype in DTYPE_BYTES)) fail(path, `tensor '${name}' has unsupported dtype ${String(v.dtype)}`);
      if (!Array.isArray(v.shape) || !v.shape.every((d) => Number.isInteger(d) && d >= 0)) fail(path, `tensor '${name}' has an invalid shape`);
      const offsets = v.data_offsets;
      if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0)) {
        fail(path, `tensor '${name}' has invalid data_offsets`);
      }
      const [begin, end] = offsets as [number, number];
      const expected = (v.shape as number[]).reduce((a, b) => a * b, 1) * DTYPE_BYTES[v.dtype]!;
      if (end < begin || end - begin !== expected) fail(path, `tensor '${name}' has ${end - begin} bytes, its shape and dtype need ${expected}`);
      if (end > dataSize) fail(path, `is truncated: tensor '${name}' ends at byte ${end} of a ${dataSize}-byte data section`);
      entries.push({ name, dtype: v.dtype, shape: v.shape as number[], begin, end });
    }
    return { metadata, entries: entries.sort((a, b) => a.begin - b.begin), dataStart };
  } finally {
    await handle.close();
  }
}

/** The model config stored in a checkpoint's metadata. */
export function configFromHeader(path: string, header: CheckpointHeader): ModelConfig {
  const raw = header.metadata[CONFIG_KEY];
  if (!raw) fail(path, `has no '${CONFIG_KEY}' metadata: it was not written by autoresearch; pass the model config explicitly`);
  try {
    return JSON.parse(raw) as ModelConfig;
  } catch {
    fail(path, `has unreadable '${CONFIG_KEY}' metadata`);
  }
}

/** Checks that the checkpoint holds exactly the model's parameters with the same shapes. */
export function matchParameters(path: string, header: CheckpointHeader, params: NativeParameterInfo[]): void {
  const byName = new Map(header.entries.map((e) => [e.name, e]));
  const missing = params.filter((p) => !byName.has(p.name)).map((p) => p.name);
  if (missing.length > 0) fail(path, `lacks parameters of this model: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}`);
  const known = new Set(params.map((p) => p.name));
  const extra = header.entries.filter((e) => !known.has(e.name)).map((e) => e.name);
  if (extra.length > 0) fail(path, `holds tensors this model does not have: ${extra.slice(0, 5).join(', ')}`);
  for (const p of params) {
    const e = byName.get(p.name)!;
    if (e.shape.join('x') !== p.shape.join('x')) {
      fail(path, `has '${p.name}' of shape [${e.shape}] but the model expects [${p.shape}]: build the model from the checkpoint's config`);
    }
  }
}

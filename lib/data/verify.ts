// The prepared data is verified, not trusted. `prepare` records a SHA-256 of every file it
// writes in meta.json (with its size, mtime and a digest of sampled blocks) and makes the
// files read-only; every run checks the files the score depends on before training:
// - val.bin and token_bytes.bin (what the evaluator reads) and the tokenizer files, in full;
// - train.bin by size, mtime and 16 sampled 64 KiB blocks, in full when asked (the loop asks
//   once per session) or when its mtime moved (e.g. the cache was copied).
// A mismatch is a DataIntegrityError naming the file and the command that rebuilds it.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

import { DataIntegrityError } from '../errors';
import { datasetPaths, type DatasetPaths, type FileRecord, type PreparedMeta } from './prepared';

const SAMPLE_BLOCKS = 16;
const SAMPLE_BYTES = 64 * 1024;

/** The files of a prepared dataset, by the name meta.json records them under. */
export function preparedFiles(paths: DatasetPaths): Record<string, string> {
  return {
    'train.bin': path.join(paths.tokens, 'train.bin'),
    'val.bin': path.join(paths.tokens, 'val.bin'),
    'token_bytes.bin': path.join(paths.tokenizer, 'token_bytes.bin'),
    'tokenizer.json': path.join(paths.tokenizer, 'tokenizer.json'),
    'tokenizer.tiktoken': path.join(paths.tokenizer, 'tokenizer.tiktoken'),
  };
}

/** Start offsets of the sampled blocks: evenly spread, the first and the last block included. */
function sampleOffsets(size: number): number[] {
  if (size <= SAMPLE_BLOCKS * SAMPLE_BYTES) return [0];
  const last = size - SAMPLE_BYTES;
  return Array.from({ length: SAMPLE_BLOCKS }, (_, i) => Math.floor((i * last) / (SAMPLE_BLOCKS - 1)));
}

async function fullDigest(file: string): Promise<string> {
  const hash = createHash('sha256');
  const handle = await fs.open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(4 * 2 ** 20);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

async function sampleDigest(file: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  const handle = await fs.open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(size <= SAMPLE_BLOCKS * SAMPLE_BYTES ? size : SAMPLE_BYTES);
    for (const offset of sampleOffsets(size)) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

/** Digests a freshly written file for meta.json and makes it read-only. */
export async function recordFile(file: string): Promise<FileRecord> {
  await fs.chmod(file, 0o444);
  const stat = await fs.stat(file);
  return { sha256: await fullDigest(file), size: stat.size, mtimeMs: stat.mtimeMs, sampleSha256: await sampleDigest(file, stat.size) };
}

/** Records every prepared file of a dataset (the files must be in place). */
export async function recordPreparedFiles(paths: DatasetPaths): Promise<Record<string, FileRecord>> {
  const records: Record<string, FileRecord> = {};
  for (const [name, file] of Object.entries(preparedFiles(paths))) records[name] = await recordFile(file);
  return records;
}

export interface VerifiedFile {
  file: string;
  how: 'sha256' | 'sampled';
}

/** Checks the prepared data against meta.json; throws DataIntegrityError on any difference. */
export async function verifyPreparedData(meta: PreparedMeta, cacheDir: string | undefined, options: { trainInFull?: boolean } = {}): Promise<VerifiedFile[]> {
  const paths = datasetPaths(meta.dataset, cacheDir);
  const rebuild = `rebuild it with \`autoresearch prepare --dataset ${meta.dataset}\``;
  const verified: VerifiedFile[] = [];
  for (const [name, file] of Object.entries(preparedFiles(paths))) {
    const record = meta.files[name];
    if (!record) throw new DataIntegrityError(`meta.json of '${meta.dataset}' records no digest of ${name}: ${rebuild}`);
    const stat = await fs.stat(file).catch(() => null);
    if (!stat) throw new DataIntegrityError(`${file} is missing: ${rebuild}`);
    if (stat.size !== record.size) {
      throw new DataIntegrityError(`${file} changed: ${stat.size} bytes, but prepare wrote ${record.size}: ${rebuild}`);
    }
    // An mtime that moved (beyond the millisecond a copy keeps) means a full hash.
    const sampledOnly = name === 'train.bin' && !options.trainInFull && Math.abs(stat.mtimeMs - record.mtimeMs) < 1;
    if (sampledOnly) {
      if ((await sampleDigest(file, stat.size)) !== record.sampleSha256) {
        throw new DataIntegrityError(`${file} changed: its sampled blocks differ from what prepare wrote: ${rebuild}`);
      }
    } else {
      const digest = await fullDigest(file);
      if (digest !== record.sha256) {
        throw new DataIntegrityError(
          `${file} changed: sha256 ${digest.slice(0, 16)}…, but prepare recorded ${record.sha256.slice(0, 16)}… in meta.json: ${rebuild}`,
        );
      }
    }
    verified.push({ file: name, how: sampledOnly ? 'sampled' : 'sha256' });
  }
  return verified;
}

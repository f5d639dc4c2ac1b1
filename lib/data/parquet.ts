// Reading the text column of parquet shards with hyparquet (pure JavaScript) and the
// decompressors of hyparquet-compressors (snappy, gzip, brotli, zstd, lz4). Design choices:
// - One row group in memory at a time: a shard of a few GB is read as a stream of documents.
// - The file is read through one open file handle with positioned reads, closed when the
//   iteration ends (also when the consumer stops early).
// - Validity of a downloaded file = magic "PAR1" at both ends and a footer hyparquet can parse.
// hyparquet is published as ES modules only; it is loaded lazily with require(), which Node
// supports for ES modules from 20.19 / 22.12 on.

import { promises as fs } from 'node:fs';
import type { AsyncBuffer, Compressors, FileMetaData } from 'hyparquet';

type Hyparquet = typeof import('hyparquet');

let modules: { hyparquet: Hyparquet; compressors: Compressors } | undefined;

function load(): { hyparquet: Hyparquet; compressors: Compressors } {
  if (modules === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const hyparquet = require('hyparquet') as Hyparquet;
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { compressors } = require('hyparquet-compressors') as { compressors: Compressors };
      modules = { hyparquet, compressors };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_REQUIRE_ESM') {
        throw new Error(
          `Reading parquet needs Node.js 20.19+ or 22.12+ (hyparquet is an ES module); this is ${process.version}. Upgrade Node.js.`,
          { cause: err },
        );
      }
      throw err;
    }
  }
  return modules;
}

const MAGIC = Buffer.from('PAR1', 'ascii');

/** An open parquet file: a hyparquet AsyncBuffer over one file handle. */
interface OpenFile {
  readonly buffer: AsyncBuffer;
  close(): Promise<void>;
}

async function openFile(file: string): Promise<OpenFile> {
  const handle = await fs.open(file, 'r');
  try {
    const { size } = await handle.stat();
    const buffer: AsyncBuffer = {
      byteLength: size,
      async slice(start: number, end: number = size): Promise<ArrayBuffer> {
        const length = Math.max(0, Math.min(end, size) - start);
        const bytes = new Uint8Array(length);
        let done = 0;
        while (done < length) {
          const { bytesRead } = await handle.read(bytes, done, length - done, start + done);
          if (bytesRead === 0) throw new Error(`${file}: unexpected end of file at byte ${start + done}`);
          done += bytesRead;
        }
        return bytes.buffer;
      },
    };
    return { buffer, close: () => handle.close() };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** Throws unless `file` starts and ends with "PAR1" and has a footer hyparquet can parse. */
async function checkParquet(buffer: AsyncBuffer, file: string): Promise<FileMetaData> {
  if (buffer.byteLength < 12) throw new Error(`${file} is not a parquet file (${buffer.byteLength} bytes, too short)`);
  const head = Buffer.from(await buffer.slice(0, 4));
  const tail = Buffer.from(await buffer.slice(buffer.byteLength - 4));
  if (!head.equals(MAGIC) || !tail.equals(MAGIC)) {
    const what = head.equals(MAGIC) ? 'does not end with "PAR1" (truncated?)' : 'does not start with "PAR1"';
    throw new Error(`${file} is not a parquet file: it ${what}`);
  }
  try {
    return await load().hyparquet.parquetMetadataAsync(buffer);
  } catch (err) {
    throw new Error(`${file} is not a readable parquet file: ${(err as Error).message}`, { cause: err });
  }
}

/** The parsed footer of a parquet file; throws (naming the file) when it is not valid parquet. */
export async function readParquetMetadata(file: string): Promise<FileMetaData> {
  const f = await openFile(file);
  try {
    return await checkParquet(f.buffer, file);
  } finally {
    await f.close();
  }
}

/**
 * Resolves when `file` is a complete parquet file ("PAR1" at both ends, metadata readable);
 * rejects with an Error saying what is wrong otherwise (missing, truncated, not parquet).
 */
export async function validateParquetFile(file: string): Promise<void> {
  await readParquetMetadata(file);
}

/** Whether `file` exists and is a complete parquet file (see validateParquetFile). */
export async function isValidParquetFile(file: string): Promise<boolean> {
  try {
    await validateParquetFile(file);
    return true;
  } catch {
    return false;
  }
}

/** The number of rows in a parquet file, from its footer (no data pages are read). */
export async function countRows(file: string): Promise<number> {
  return Number((await readParquetMetadata(file)).num_rows);
}

/**
 * The values of one string column, row group by row group, in file order. Null values are
 * skipped; byte-array values without a UTF-8 annotation are decoded as UTF-8. Throws (naming
 * the file and the columns it has) when the column does not exist.
 */
export async function* readTextColumn(file: string, column = 'text'): AsyncGenerator<string, void, undefined> {
  const { hyparquet, compressors } = load();
  const f = await openFile(file);
  try {
    const metadata = await checkParquet(f.buffer, file);
    const columns = hyparquet.parquetSchema(metadata).children.map((c) => c.element.name);
    if (!columns.includes(column)) {
      throw new Error(`${file} has no column "${column}" (columns: ${columns.join(', ')})`);
    }
    const scan = await hyparquet.parquetScan({ file: f.buffer, metadata, columns: [column], compressors });
    const decoder = new TextDecoder();
    // One range per row group: each readColumn decodes one column chunk.
    for (const { rowStart, rowEnd } of scan.ranges) {
      const values = await scan.readColumn({ column, rowStart, rowEnd });
      for (const value of values as Iterable<unknown>) {
        if (typeof value === 'string') yield value;
        else if (value instanceof Uint8Array) yield decoder.decode(value);
        else if (value !== null && value !== undefined) {
          throw new Error(`${file}: column "${column}" holds ${typeof value} values, not text`);
        }
      }
    }
  } finally {
    await f.close();
  }
}

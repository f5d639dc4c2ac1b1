// Fixtures of the data tests: real parquet files written with hyparquet-writer, a real HTTP
// server on 127.0.0.1 whose answer per path and attempt the test decides, and temp dirs.

import { promises as fs } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import type { CompressionCodec } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';

/** Compressors for the codecs Node can produce itself (snappy is built into the writer). */
const compressors = {
  GZIP: (input: Uint8Array) => new Uint8Array(zlib.gzipSync(input)),
  BROTLI: (input: Uint8Array) => new Uint8Array(zlib.brotliCompressSync(input)),
};

/** A parquet file's bytes: a `text` column (plus an `id` column), in row groups of `rowGroupSize`. */
export function parquetBytes(
  texts: readonly (string | null)[],
  { codec = 'GZIP', rowGroupSize = 1000, column = 'text' }: { codec?: CompressionCodec; rowGroupSize?: number; column?: string } = {},
): Buffer {
  const buffer = parquetWriteBuffer({
    columnData: [
      { name: column, data: [...texts], type: 'STRING' },
      { name: 'id', data: texts.map((_, i) => i), type: 'INT32' },
    ],
    codec,
    compressors,
    rowGroupSize,
  });
  return Buffer.from(buffer);
}

/** Distinct, varied documents (unicode, newlines, long and short) for shard `shard`. */
export function sampleDocs(shard: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const body = `Document ${i} of shard ${shard}. ` + 'The quick brown fox jumps over the lazy dog. '.repeat(i % 7);
    return i % 5 === 0 ? `${body}\nUnicode: 你好, ünïcødé, emoji 🦊 #${i}` : body;
  });
}

/** A fresh temp directory, removed by the returned function. */
export async function tempDir(prefix = 'autoresearch-data-'): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, remove: () => fs.rm(dir, { recursive: true, force: true }) };
}

/** What a route does for the n-th request (1-based) to its path. */
export type Route = (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void | Promise<void>;

/** Serves `body` completely, with Content-Length. */
export function serve(body: Buffer, { delayMs = 0 }: { delayMs?: number } = {}): Route {
  return async (_req, res) => {
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
    res.end(body);
  };
}

/** Announces the full length, sends the first half, then drops the connection. */
export function truncate(body: Buffer): Route {
  return (_req, res) => {
    res.writeHead(200, { 'content-length': body.length });
    res.write(body.subarray(0, body.length >> 1), () => res.destroy());
  };
}

/** Resets the connection (TCP RST) without any response. */
export const reset: Route = (req) => {
  req.socket.resetAndDestroy();
};

/** Answers with an HTTP status and a short text body. */
export function status(code: number): Route {
  return (_req, res) => {
    res.writeHead(code, { 'content-type': 'text/plain' });
    res.end(`status ${code}`);
  };
}

/** Uses `routes[n-1]` for the n-th request, the last one for all later requests. */
export function sequence(...routes: Route[]): Route {
  return (req, res, n) => routes[Math.min(n, routes.length) - 1]!(req, res, n);
}

/** A local HTTP server: routes by path, counts requests per path and the peak concurrency. */
export interface TestServer {
  readonly baseUrl: string;
  readonly routes: Map<string, Route>;
  /** Requests received per path (e.g. `/shard_00000.parquet`). */
  readonly requests: Map<string, number>;
  /** Most requests in flight at the same time. */
  readonly maxInFlight: () => number;
  close(): Promise<void>;
}

export async function startServer(routes: Record<string, Route> = {}): Promise<TestServer> {
  const table = new Map(Object.entries(routes));
  const requests = new Map<string, number>();
  let inFlight = 0;
  let peak = 0;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const n = (requests.get(url.pathname) ?? 0) + 1;
    requests.set(url.pathname, n);
    inFlight++;
    peak = Math.max(peak, inFlight);
    let finished = false;
    const finish = () => {
      if (!finished) inFlight--;
      finished = true;
    };
    res.on('close', finish);
    const route = table.get(url.pathname);
    if (!route) {
      res.writeHead(404).end('not found');
      return;
    }
    Promise.resolve(route(req, res, n)).catch((err: unknown) => {
      res.destroy(err as Error);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    routes: table,
    requests,
    maxInFlight: () => peak,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Lists a directory (sorted), empty if it does not exist. */
export async function listDir(dir: string): Promise<string[]> {
  try {
    return (await fs.readdir(dir)).sort();
  } catch {
    return [];
  }
}

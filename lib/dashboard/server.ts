// `autoresearch dashboard`: one page, a few JSON endpoints and a server-sent-events stream over
// Node's own http server, for watching a research session in a browser.
//
// Design choices:
// - Files served are a fixed list (the page, its script and style, the charting library from
//   the installed `uplot` package); no part of a URL is ever turned into a path, so nothing
//   outside that list and the session's own records (results.jsonl, run.log, the queue and the
//   run logs under .autoresearch/, whose names come from experiment numbers, not from URLs) can be
//   reached.
// - Loopback by default. Another address needs `allowRemote` (the CLI's `--allow-remote`).
//   On loopback, a request whose Host header names another host is refused (DNS rebinding).
// - The only write is the stop request (.autoresearch/stop, see lib/loop/control.ts). It takes a
//   POST with a custom header, which a page from another origin cannot send without a CORS
//   preflight this server never grants, and a matching Origin when the browser sends one.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

import { readStopRequest, requestStop, withdrawStop } from '../loop/control';
import { packageRoot } from '../native/load';
import { Session, type SessionEvents } from './session';

/** Options of {@link startDashboard}. */
export interface DashboardOptions {
  /** The research repository (where results.jsonl and run.log are). */
  dir: string;
  /** TCP port (default 8421; 0 picks a free one). */
  port?: number;
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** Required to listen on anything but a loopback address. */
  allowRemote?: boolean;
  /** How often the session's files are checked besides file-system events, in ms (default 250). */
  pollMs?: number;
  /**
   * The loop tag to show, as `--tag` takes it ('(untagged)' for rows without one); default: the
   * loop's (run.json's), followed when it starts another. An UnknownTagError when no row has it
   * and the loop is not running it.
   */
  tag?: string;
}

/** A running dashboard. */
export interface Dashboard {
  /** The page's address, e.g. `http://127.0.0.1:8421/`. */
  url: string;
  host: string;
  port: number;
  session: Session;
  /** Stops the server, ends the event streams and stops following the files. */
  close(): Promise<void>;
}

/** The default port of `autoresearch dashboard`. */
export const DEFAULT_DASHBOARD_PORT = 8421;

/** The header a control request must carry. */
const CONTROL_HEADER = 'x-autoresearch-control';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** True for an address only this machine can reach. */
export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '[::1]';
}

interface Asset {
  file: string;
  type: string;
}

/** The files the server can send, by URL path: nothing else. */
function assets(): Map<string, Asset> {
  const staticDir = path.join(packageRoot(), 'lib', 'dashboard', 'static');
  const uplotDir = path.dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));
  const page: Asset = { file: path.join(staticDir, 'index.html'), type: 'text/html; charset=utf-8' };
  return new Map<string, Asset>([
    ['/', page],
    ['/index.html', page],
    ['/app.js', { file: path.join(staticDir, 'app.js'), type: 'text/javascript; charset=utf-8' }],
    ['/style.css', { file: path.join(staticDir, 'style.css'), type: 'text/css; charset=utf-8' }],
    ['/uPlot.iife.min.js', { file: path.join(uplotDir, 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' }],
    ['/uPlot.min.css', { file: path.join(uplotDir, 'uPlot.min.css'), type: 'text/css; charset=utf-8' }],
  ]);
}

const SECURITY_HEADERS: http.OutgoingHttpHeaders = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
};

function send(res: http.ServerResponse, status: number, body: string | Buffer, type: string, extra: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...extra });
  res.end(body);
}

function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  send(res, status, JSON.stringify(value), 'application/json; charset=utf-8');
}

function error(res: http.ServerResponse, status: number, message: string): void {
  sendJson(res, status, { error: message });
}

/** Starts the dashboard of the session in `options.dir`; resolves once it listens. */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopback(host) && !options.allowRemote) {
    throw new Error(
      `--host ${host} would let other machines reach the dashboard (and its stop button); pass --allow-remote as well if that is what you want`,
    );
  }
  const dir = path.resolve(options.dir);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`${dir} is not a directory`);
  const files = assets();
  for (const asset of new Set(files.values())) {
    if (!fs.existsSync(asset.file)) throw new Error(`the dashboard's file ${asset.file} is missing: reinstall autoresearch`);
  }
  // The page's files, read once (they belong to the installed package and do not change).
  const bodies = new Map<string, Promise<Buffer>>();
  const assetBody = (asset: Asset) => {
    if (!bodies.has(asset.file)) bodies.set(asset.file, fs.promises.readFile(asset.file));
    return bodies.get(asset.file)!;
  };
  const session = new Session({ dir, pollMs: options.pollMs, tag: options.tag });
  try {
    await session.start();
  } catch (err) {
    session.stop();
    throw err;
  }

  const streams = new Set<http.ServerResponse>();
  const broadcast = (event: keyof SessionEvents, data: unknown) => {
    const message = `event: ${event}\ndata: ${JSON.stringify(data ?? null)}\n\n`;
    for (const res of streams) res.write(message);
  };
  session.on('rows', (data) => broadcast('rows', data));
  session.on('reset', () => broadcast('reset', {}));
  session.on('tags', (data) => broadcast('tags', data));
  session.on('live', (data) => broadcast('live', data));
  session.on('run', (data) => broadcast('run', data));
  session.on('workers', (data) => broadcast('workers', data));
  session.on('incumbent', (data) => broadcast('incumbent', data));
  session.on('status', (data) => broadcast('status', data));
  const heartbeat = setInterval(() => {
    for (const res of streams) res.write(': keep-alive\n\n');
  }, 15_000);
  heartbeat.unref();

  const hostAllowed = (header: string | undefined): boolean => {
    if (!isLoopback(host)) return true;
    if (!header) return false;
    const name = header.replace(/:\d+$/, '');
    return isLoopback(name);
  };

  const server = http.createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) error(res, 500, (err as Error).message);
      else res.destroy();
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (!hostAllowed(req.headers.host)) return error(res, 421, 'this dashboard answers only to requests addressed to this machine');
    const rawPath = (req.url ?? '/').split('?')[0]!;
    const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
    const method = req.method ?? 'GET';

    if (rawPath === '/api/stop') {
      if (method === 'GET') return sendJson(res, 200, { stopRequested: await readStopRequest(dir) });
      if (method !== 'POST' && method !== 'DELETE') return error(res, 405, 'use POST to ask for a stop, DELETE to withdraw it');
      if (req.headers[CONTROL_HEADER] !== '1') return error(res, 403, `a control request needs the header ${CONTROL_HEADER}: 1`);
      const origin = req.headers.origin;
      if (origin !== undefined && origin !== `http://${req.headers.host}`) return error(res, 403, `requests from ${origin} may not control this loop`);
      if (method === 'DELETE') {
        const withdrawn = await withdrawStop(dir);
        await session.poll();
        return sendJson(res, 200, { withdrawn, stopRequested: null });
      }
      await session.poll();
      if (!session.loopStatus.running) return error(res, 409, 'no research loop is running in this repository');
      const request = await requestStop(dir, 'dashboard');
      await session.poll();
      return sendJson(res, 202, { stopRequested: request });
    }
    if (method !== 'GET' && method !== 'HEAD') return error(res, 405, 'read-only: only GET is served');

    const asset = files.get(rawPath);
    if (asset) {
      const body = await assetBody(asset);
      return send(res, 200, method === 'HEAD' ? '' : body, asset.type, { 'cache-control': 'no-cache' });
    }
    if (rawPath === '/favicon.ico') return send(res, 204, '', 'image/x-icon');
    if (rawPath === '/api/state') return send(res, 200, session.snapshotJson(), 'application/json; charset=utf-8');
    const rowMatch = /^\/api\/rows\/(\d{1,9})$/.exec(rawPath);
    if (rowMatch) {
      const index = Number(rowMatch[1]);
      const row = session.rows[index];
      if (!row) return error(res, 404, `no row ${index}`);
      return sendJson(res, 200, { index, row, curve: await session.curveFor(index) });
    }
    if (rawPath === '/api/events') return openStream(req, res, Number(query.get('from') ?? 'NaN'), query.get('view'));
    return error(res, 404, 'not found');
  }

  /** The event stream, for a page holding `from` rows of view `view` (the snapshot's `view.id`; absent: the current one). */
  function openStream(req: http.IncomingMessage, res: http.ServerResponse, from: number, view: string | null): void {
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 1000\n\n');
    // Rows the page's snapshot did not have yet (appended between its fetch and this stream),
    // or a reset when the view started over since (another tag, a rewritten results.jsonl).
    const count = session.viewRows;
    if (view !== null && view !== String(session.tagView.id)) res.write('event: reset\ndata: {}\n\n');
    else if (Number.isInteger(from) && from >= 0 && from < count) res.write(`event: rows\ndata: ${JSON.stringify(session.rowsSince(from))}\n\n`);
    else if (Number.isInteger(from) && from > count) res.write('event: reset\ndata: {}\n\n');
    res.write(`event: status\ndata: ${JSON.stringify(session.loopStatus)}\n\n`);
    streams.add(res);
    req.on('close', () => streams.delete(res));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_DASHBOARD_PORT, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}/`,
    host,
    port,
    session,
    close: async () => {
      clearInterval(heartbeat);
      session.stop();
      for (const res of streams) res.end();
      streams.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

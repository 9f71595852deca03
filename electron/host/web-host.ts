/**
 * Web mode: serves the built renderer and the API (WebSocket on /api) on 127.0.0.1 only.
 * A random token per start guards the API; Host and Origin must name this very server, which
 * stops other web pages (and DNS rebinding) from driving the lab.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, realpathSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WebSocketServer } from 'ws';
import type { Dispatcher } from '../core/dispatcher.js';
import { CONTENT_SECURITY_POLICY } from '../core/csp.js';
import { bindSocket } from './ws-bridge.js';

export interface WebHost {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

/** Largest WebSocket frame accepted; the web terminal sends pastes in chunks well below it. */
export const MAX_FRAME = 8 * 1024 * 1024;

function notFound(staticDir: string, rel: string): string {
  if (rel === 'index.html')
    return `Not found: the UI is not built in ${staticDir}. Run \`npm run build:renderer\` first.\n`;
  return 'Not found.\n';
}

export const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

/**
 * The path of an origin-form request target ("/a/b?c"), decoded; null for anything else
 * (absolute-form targets, malformed percent-escapes, NUL bytes), which the caller answers with 400.
 */
export function requestPath(
  target: string | undefined,
): { pathname: string; params: URLSearchParams } | null {
  if (!target?.startsWith('/') || target.startsWith('//')) return null;
  try {
    const url = new URL(target, 'http://127.0.0.1');
    const pathname = decodeURIComponent(url.pathname);
    if (pathname.includes('\0')) return null;
    return { pathname, params: url.searchParams };
  } catch {
    return null;
  }
}

/** A regular file inside root, symlinks resolved; null for anything else. */
export function staticFile(root: string, rel: string): string | null {
  try {
    const base = realpathSync(root);
    const file = realpathSync(path.resolve(base, rel));
    return file.startsWith(base + path.sep) && statSync(file).isFile() ? file : null;
  } catch {
    return null;
  }
}

function sameToken(given: string | null, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function startWebHost(opts: {
  dispatcher: Dispatcher;
  staticDir: string;
  port?: number;
  token?: string;
}): Promise<WebHost> {
  const token = opts.token ?? randomBytes(24).toString('base64url');
  let port = 0;
  const allowedHost = () => `127.0.0.1:${port}`;
  const allowedOrigin = () => `http://127.0.0.1:${port}`;

  const serve = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (req.headers.host !== allowedHost()) {
      res.writeHead(421, { 'content-type': 'text/plain' }).end('Misdirected request: wrong Host header.\n');
      return;
    }
    const target = requestPath(req.url);
    if (!target) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('Bad request target.\n');
      return;
    }
    const rel = target.pathname === '/' ? 'index.html' : target.pathname.replace(/^\/+/, '');
    const file = staticFile(opts.staticDir, rel);
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(notFound(opts.staticDir, rel));
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
      'content-security-policy': CONTENT_SECURITY_POLICY,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
    });
    createReadStream(file)
      .on('error', () => res.destroy())
      .pipe(res);
  };
  // One bad request must never end the process (and with it a running recipe): answer 500 instead.
  const server = http.createServer((req, res) => {
    try {
      serve(req, res);
    } catch {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('Internal error.\n');
    }
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME });
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    const refuse = (status: number, why: string) => {
      socket.end(`HTTP/1.1 ${status} ${why}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (req.headers.host !== allowedHost()) return refuse(421, 'Misdirected Request');
    const target = requestPath(req.url);
    if (!target) return refuse(400, 'Bad Request');
    if (target.pathname !== '/api') return refuse(404, 'Not Found');
    if (req.headers.origin !== allowedOrigin()) return refuse(403, 'Forbidden Origin');
    if (!sameToken(target.params.get('token'), token)) return refuse(401, 'Unauthorized');
    try {
      wss.handleUpgrade(req, socket, head, (ws) => bindSocket(opts.dispatcher, ws));
    } catch {
      socket.destroy();
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    port,
    token,
    url: `http://127.0.0.1:${port}/?token=${token}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * The class server: the web host's class mode, over TLS, for trainees' browsers on the trainer's
 * network. A seat link's token (URL fragment) is exchanged once for an HttpOnly session cookie;
 * the WebSocket checks Host, Origin and that cookie, and gets only its role's methods — a trainee
 * the seat.* methods on its own seat, the trainer the class.* methods. Every message re-checks
 * the session, so a revoked link or an ended class cuts its sockets at once.
 */
import https from 'node:https';
import type http from 'node:http';
import { createReadStream } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { isIPv6 } from 'node:net';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { SEAT_METHODS, TRAINER_METHODS, type EventName } from '../../shared/api.js';
import { isClientMessage } from '../../shared/rpc.js';
import { HlabError } from '../../shared/errors.js';
import type { Dispatcher } from '../core/dispatcher.js';
import type { ClassServer } from '../core/context.js';
import { CONTENT_SECURITY_POLICY } from '../core/csp.js';
import type { TlsMaterial } from '../platform/tls.js';
import type { Classroom } from '../workshops/class/classroom.js';
import { CLASS_LIMITS, RateLimiter } from '../workshops/class/limits.js';
import type { Principal } from '../workshops/class/tokens.js';
import { TRAINEE } from '../workshops/session.js';
import { requestPath, staticFile, TYPES } from './web-host.js';

export const COOKIE = 'hlab_class';
/** Largest WebSocket frame: a paste is sent in 256 KiB pieces. */
const MAX_FRAME = 1024 * 1024;
const MAX_BODY = 4096;
/** Sockets per principal (a trainee's tabs, the trainer's windows) and in all. */
const SOCKETS_PER_PRINCIPAL = 4;
const MAX_SOCKETS = 256;
const SWEEP_MS = 2000;

const TRAINEE_SCOPE = new Set<string>(SEAT_METHODS);
const TRAINER_SCOPE = new Set<string>(TRAINER_METHODS);
const TRAINER_EVENTS = new Set<EventName>(['class.changed']);
const NO_BROADCASTS = new Set<EventName>();

const keyOf = (p: Principal) => (p.role === 'trainer' ? 'trainer' : p.seat);

function cookieValue(header: string | undefined): string | undefined {
  if (!header || header.length > 8192) return undefined;
  for (const part of header.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === COOKIE) return v.join('=');
  }
  return undefined;
}

function readBody(req: http.IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > MAX_BODY) {
        resolve(undefined);
        req.destroy();
      }
    });
    req.on('end', () => resolve(body));
    req.on('error', () => resolve(undefined));
  });
}

/** The typed name, trimmed: "" for none, undefined for one that is not a plain name. */
function traineeName(v: unknown): string | undefined {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') return undefined;
  const name = v.trim();
  return name === '' || TRAINEE.test(name) ? name : undefined;
}

const HEADERS = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

export async function startClassServer(opts: {
  dispatcher: Dispatcher;
  room: Classroom;
  staticDir: string;
  address: string;
  port: number;
  tls: TlsMaterial;
}): Promise<ClassServer> {
  const { room } = opts;
  if (!staticFile(opts.staticDir, 'class.html'))
    throw new HlabError(
      'unavailable',
      `The class page is not built in ${opts.staticDir}: run \`npm run build:renderer\` (npm start does it) before starting a class.`,
    );
  const redeemLimit = new RateLimiter(CLASS_LIMITS.redeem);
  const failLimit = new RateLimiter(CLASS_LIMITS.failedAuth);
  const sockets = new Map<WebSocket, { principal: Principal; cookie: string }>();
  let port = 0;
  const hostPart = isIPv6(opts.address) ? `[${opts.address}]` : opts.address;
  const allowedHost = () => `${hostPart}:${port}`;
  const origin = () => `https://${allowedHost()}`;

  /** Counts a refused attempt; true when the address is over its budget (then say nothing more). */
  const refused = (from: string, event: string, detail?: string): boolean => {
    room.audit({ who: '-', event, from, ...(detail ? { detail } : {}) });
    return failLimit.take(from) > 0;
  };

  const json = (
    res: http.ServerResponse,
    status: number,
    body: unknown,
    extra: Record<string, string> = {},
  ) =>
    res
      .writeHead(status, { ...HEADERS, 'content-type': 'application/json', ...extra })
      .end(JSON.stringify(body));

  const redeem = async (req: http.IncomingMessage, res: http.ServerResponse, from: string) => {
    if (req.method !== 'POST') return json(res, 405, { error: 'POST only.' });
    if (req.headers.origin !== origin()) {
      refused(from, 'redeem-refused', 'wrong Origin');
      return json(res, 403, { error: 'Wrong origin.' });
    }
    if (failLimit.blocked(from) || redeemLimit.take(from) > 0) {
      room.audit({ who: '-', event: 'rate-limited', from, detail: 'redeem' });
      return json(res, 429, { error: 'Too many attempts from this address; wait a minute.' });
    }
    const body = await readBody(req);
    let parsed: { token?: unknown; name?: unknown } = {};
    try {
      parsed = body ? (JSON.parse(body) as typeof parsed) : {};
    } catch {
      return json(res, 400, { error: 'Expected JSON.' });
    }
    const name = traineeName(parsed.name);
    if (name === undefined)
      return json(res, 400, {
        error: 'Your name may hold 1-64 letters, digits, spaces, ".", "_", "@" or "-".',
      });
    const r = room.tokens.redeem(parsed.token);
    if (!r.ok) {
      refused(from, 'redeem-refused', r.reason);
      const why = {
        unknown: 'This link is not valid (mistyped, or revoked by your trainer).',
        used: 'This link was already used, on another browser or tab. Ask your trainer for a new one.',
        ended: 'The class has ended.',
      }[r.reason];
      return json(res, r.reason === 'unknown' ? 401 : 410, { error: why });
    }
    if (r.principal.role === 'trainee') room.join(r.principal.seat, name || r.principal.seat, from);
    else room.audit({ who: 'trainer', event: 'joined', from });
    json(
      res,
      200,
      { role: r.principal.role, ...(r.principal.role === 'trainee' ? { seat: r.principal.seat } : {}) },
      { 'set-cookie': `${COOKIE}=${r.session}; HttpOnly; Secure; SameSite=Strict; Path=/` },
    );
  };

  const serve = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const from = req.socket.remoteAddress ?? '?';
    if (req.headers.host !== allowedHost())
      return void res
        .writeHead(421, { 'content-type': 'text/plain' })
        .end('Misdirected request: wrong Host header.\n');
    const target = requestPath(req.url);
    if (!target)
      return void res.writeHead(400, { 'content-type': 'text/plain' }).end('Bad request target.\n');
    if (target.pathname === '/class/redeem') return redeem(req, res, from);
    if (target.pathname === '/class/me') {
      const p = room.tokens.session(cookieValue(req.headers.cookie));
      return p ? json(res, 200, p) : json(res, 401, { error: 'No session.' });
    }
    const rel = target.pathname === '/' ? 'class.html' : target.pathname.replace(/^\/+/, '');
    // Only the class page and the bundle's assets: the app's own page is not served here.
    const file = rel === 'class.html' || rel.startsWith('assets/') ? staticFile(opts.staticDir, rel) : null;
    if (!file) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found.\n');
    res.writeHead(200, {
      ...HEADERS,
      'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
    });
    createReadStream(file)
      .on('error', () => res.destroy())
      .pipe(res);
  };

  const server = https.createServer(
    { cert: opts.tls.cert, key: opts.tls.key, minVersion: 'TLSv1.2' },
    (req, res) => {
      serve(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('Internal error.\n');
      });
    },
  );
  server.on('clientError', (_err, socket) => socket.destroy());
  server.on('tlsClientError', () => undefined);

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME });
  server.on('upgrade', (req: http.IncomingMessage, socket, head) => {
    const from = req.socket.remoteAddress ?? '?';
    socket.on('error', () => socket.destroy());
    const refuse = (status: number, why: string, event?: string) => {
      if (event) refused(from, event, why);
      socket.end(`HTTP/1.1 ${status} ${why}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (req.headers.host !== allowedHost()) return refuse(421, 'Misdirected Request');
    const target = requestPath(req.url);
    if (target?.pathname !== '/class/ws') return refuse(404, 'Not Found');
    if (req.headers.origin !== origin()) return refuse(403, 'Forbidden Origin', 'ws-refused');
    if (failLimit.blocked(from)) return refuse(429, 'Too Many Requests');
    const cookie = cookieValue(req.headers.cookie) ?? '';
    const principal = room.tokens.session(cookie);
    if (!principal) return refuse(401, 'Unauthorized', 'ws-refused');
    const same = [...sockets.values()].filter((s) => keyOf(s.principal) === keyOf(principal)).length;
    if (same >= SOCKETS_PER_PRINCIPAL || sockets.size >= MAX_SOCKETS)
      return refuse(429, 'Too Many Connections');
    try {
      wss.handleUpgrade(req, socket, head, (ws) => {
        sockets.set(ws, { principal, cookie });
        room.audit({ who: keyOf(principal), event: 'connected', from });
        bindClassSocket(ws, principal, cookie, from);
      });
    } catch {
      socket.destroy();
    }
  });

  const bindClassSocket = (ws: WebSocket, principal: Principal, cookie: string, from: string) => {
    const messages = new RateLimiter(CLASS_LIMITS.messages, 1);
    const bytes = new RateLimiter(CLASS_LIMITS.bytes, 1);
    const conn = opts.dispatcher.connect(
      (msg) => {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
      },
      principal.role === 'trainer'
        ? { methods: TRAINER_SCOPE, events: TRAINER_EVENTS, principal, from }
        : { methods: TRAINEE_SCOPE, events: NO_BROADCASTS, principal, from },
    );
    ws.on('message', (data: Buffer) => {
      if (!room.tokens.session(cookie)) return ws.close(4401, 'the link was revoked or the class ended');
      if (messages.take('m') > 0 || bytes.take('b', data.length) > 0) {
        room.audit({ who: keyOf(principal), event: 'rate-limited', from, detail: 'socket messages' });
        return ws.close(1008, 'too many messages; reload the page');
      }
      let msg: unknown;
      try {
        msg = JSON.parse(data.toString('utf8'));
      } catch {
        return ws.close(1003, 'messages must be JSON');
      }
      if (!isClientMessage(msg)) return ws.close(1003, 'not a call or cancel message');
      conn.handle(msg).then(
        (res) => {
          if (res && ws.readyState === ws.OPEN) ws.send(JSON.stringify(res));
        },
        () => ws.close(1011, 'internal error'),
      );
    });
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      sockets.delete(ws);
      conn.close();
    });
  };

  // A revoked link or an ended class also ends sockets that send nothing (a watching page).
  const sweep = setInterval(() => {
    for (const [ws, s] of sockets)
      if (!room.tokens.session(s.cookie)) ws.close(4401, 'the link was revoked or the class ended');
  }, SWEEP_MS);
  sweep.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.address, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `${origin()}/`,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(sweep);
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

#!/usr/bin/env node
// @ts-check
/**
 * The only way out of a restricted QEMU guest (`-netdev user,restrict=on`). QEMU starts this
 * script for every TCP connection the guest opens to the package proxy address (`guestfwd=…-cmd:`),
 * with that connection on stdin and stdout. It reads one HTTP proxy request — an absolute-form
 * GET/HEAD, or CONNECT for https — and relays the connection only when HOST:PORT is in the
 * machine's allow list; anything else gets a 403 whose reason names the list.
 *
 * Plain JavaScript with node: imports only, so each connection starts Node (or Electron as Node)
 * without a TypeScript loader. Nothing may reach stderr: QEMU gives the guest's connection to the
 * child as stderr too, so errors are logged to the machine's egress log instead.
 */
import { appendFileSync, readFileSync, renameSync, statSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import net from 'node:net';

/** The guest's name for the host (QEMU user networking); allowed only port by port. */
const HOST_ALIAS = '10.0.2.2';
const HEAD_LIMIT = 16 * 1024;
const HEAD_TIMEOUT_MS = 30_000;
const CONNECT_TIMEOUT_MS = 30_000;
const IDLE_TIMEOUT_MS = 300_000;
const LOG_LIMIT = 1 << 20;
const HOST_RE =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/**
 * @typedef {{ method: string, host: string, port: number, path: string, version: string, headers: string[] }} ProxyRequest
 * @typedef {{ status: number, reason: string }} Refusal
 */

/** @param {number} status @param {string} reason */
const refuse = (status, reason) => ({ status, reason });

/**
 * A lower-case DNS name or IPv4 literal and a port, or undefined.
 * @param {string} host
 * @param {string} port
 * @returns {{ host: string, port: number } | undefined}
 */
function target(host, port) {
  const h = host.toLowerCase().replace(/\.$/, '');
  if (!/^\d{1,5}$/.test(port)) return undefined;
  const p = Number(port);
  if (p < 1 || p > 65535) return undefined;
  if (!HOST_RE.test(h)) return undefined;
  return { host: h, port: p };
}

/**
 * Parses a proxy request head (the bytes before the blank line).
 * @param {string} head
 * @returns {ProxyRequest | Refusal}
 */
function parseHead(head) {
  const lines = head.split('\r\n');
  const m = /^([A-Z]{1,16}) (\S{1,8000}) (HTTP\/1\.[01])$/.exec(lines[0] ?? '');
  if (!m) return refuse(400, 'Not an HTTP/1.x proxy request');
  const [, method = '', uri = '', version = ''] = m;
  const headers = lines.slice(1).filter((l) => l !== '');
  if (headers.some((l) => !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+:/.test(l)))
    return refuse(400, 'Malformed header line');
  if (method === 'CONNECT') {
    const c = /^([^:/\s]+):(\d+)$/.exec(uri);
    const t = c && target(c[1] ?? '', c[2] ?? '');
    if (!t) return refuse(400, 'CONNECT needs HOST:PORT');
    return { method, ...t, path: '', version, headers };
  }
  if (method !== 'GET' && method !== 'HEAD')
    return refuse(405, `Method ${method} is not relayed (GET, HEAD, CONNECT only)`);
  const u = /^http:\/\/([^/:?#@\s]+)(?::(\d+))?(\/[^\s#]*)?$/i.exec(uri);
  if (!u) return refuse(400, 'A proxy request needs an absolute http:// URL');
  const t = target(u[1] ?? '', u[2] ?? '80');
  if (!t) return refuse(400, 'Bad host or port in the URL');
  return { method, ...t, path: u[3] ?? '/', version, headers };
}

/**
 * @param {string[]} allow entries "host:port"
 * @param {{ host: string, port: number }} t
 */
const isAllowed = (allow, t) => allow.includes(`${t.host}:${t.port}`);

/** @param {string} a */
const isLoopback = (a) => /^(127\.|0\.0\.0\.0$|::1$|::$|::ffff:127\.)/.test(a);

/**
 * Where to connect: the host's loopback only for the alias; a name never resolves into it.
 * @param {{ host: string, port: number }} t
 * @returns {Promise<string | Refusal>}
 */
async function addressOf(t) {
  if (t.host === HOST_ALIAS) return '127.0.0.1';
  let all;
  try {
    all = await lookup(t.host, { all: true });
  } catch {
    return refuse(502, `${t.host} does not resolve on the host`);
  }
  const ok = all.map((a) => a.address).filter((a) => !isLoopback(a));
  return ok[0] ?? refuse(403, `${t.host} resolves to the host's loopback`);
}

/**
 * Reads request heads one after another from the guest's side of the connection. GET and HEAD
 * carry no body, so that side of a relayed connection is nothing but heads: each one is checked.
 * @param {NodeJS.ReadableStream} input
 */
function headReader(input) {
  let buf = Buffer.alloc(0);
  let ended = false;
  /** @type {(() => void) | undefined} */
  let wake;
  const onData = (/** @type {Buffer} */ c) => {
    buf = Buffer.concat([buf, c]);
    wake?.();
  };
  const onEnd = () => {
    ended = true;
    wake?.();
  };
  input.on('data', onData);
  input.on('end', onEnd);
  return {
    /**
     * The next head, undefined at the end of the stream, or why there is none.
     * @param {number} timeoutMs
     * @returns {Promise<string | undefined | Refusal>}
     */
    next(timeoutMs) {
      return new Promise((resolve) => {
        const timer = setTimeout(
          () => finish(refuse(408, `No request head within ${timeoutMs / 1000} s`)),
          timeoutMs,
        );
        const finish = (/** @type {string | undefined | Refusal} */ v) => {
          clearTimeout(timer);
          wake = undefined;
          resolve(v);
        };
        const check = () => {
          const end = buf.indexOf('\r\n\r\n');
          if (end >= 0 && end <= HEAD_LIMIT) {
            const head = buf.subarray(0, end).toString('latin1');
            buf = buf.subarray(end + 4);
            finish(head);
          } else if (buf.length > HEAD_LIMIT) finish(refuse(431, 'Request head over 16 KiB'));
          else if (ended)
            finish(buf.length ? refuse(400, 'The connection closed before a request head') : undefined);
        };
        wake = check;
        check();
      });
    },
    /** Stops reading heads: what is left, and the stream, are relayed as they are (CONNECT). */
    release() {
      input.removeListener('data', onData);
      input.removeListener('end', onEnd);
      const rest = buf;
      buf = Buffer.alloc(0);
      return rest;
    },
  };
}

/** @param {ProxyRequest} req */
const originForm = (req) =>
  `${req.method} ${req.path} ${req.version}\r\n${req.headers
    .filter((h) => !/^proxy-(connection|authorization):/i.test(h))
    .join('\r\n')}\r\n\r\n`;

/** @param {ProxyRequest} req */
const hasBody = (req) => req.headers.some((h) => /^(content-length:\s*[1-9]|transfer-encoding:)/i.test(h));

/**
 * @param {string | undefined} file
 * @param {Record<string, unknown>} entry
 */
function log(file, entry) {
  if (!file) return;
  try {
    if ((statSync(file, { throwIfNoEntry: false })?.size ?? 0) > LOG_LIMIT) renameSync(file, `${file}.1`);
    appendFileSync(file, `${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`, {
      mode: 0o600,
    });
  } catch {
    // A log that cannot be written must not cost the guest its download.
  }
}

/**
 * @param {string} policyFile
 * @returns {{ machine: string, allow: string[] }}
 */
function readPolicy(policyFile) {
  try {
    const p = JSON.parse(readFileSync(policyFile, 'utf8'));
    const allow = Array.isArray(p.allow)
      ? p.allow.filter((/** @type {unknown} */ a) => typeof a === 'string')
      : [];
    return { machine: typeof p.machine === 'string' ? p.machine : '?', allow };
  } catch {
    // Fail closed: an unreadable policy allows nothing.
    return { machine: '?', allow: [] };
  }
}

/**
 * @param {NodeJS.WritableStream} out
 * @param {Refusal} r
 */
function answer(out, r) {
  const body = `Hardening Lab egress proxy: ${r.reason}\n`;
  const reason = r.reason.replace(/[^\x20-\x7e]/g, '?');
  out.end(
    `HTTP/1.1 ${r.status} ${reason}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * Serves one guest connection.
 * @param {{ input: NodeJS.ReadableStream, output: NodeJS.WritableStream, policyFile: string, logFile?: string }} o
 * @returns {Promise<void>} when the connection is over
 */
async function serveConnection(o) {
  const heads = headReader(o.input);
  const first = await heads.next(HEAD_TIMEOUT_MS);
  const req =
    first === undefined
      ? refuse(400, 'The connection closed before a request head')
      : typeof first === 'string'
        ? parseHead(first)
        : first;
  if ('status' in req) {
    log(o.logFile, { verdict: 'bad-request', reason: req.reason });
    return answer(o.output, req);
  }
  const where = `${req.host}:${req.port}`;
  const policy = readPolicy(o.policyFile);
  if (!isAllowed(policy.allow, req)) {
    log(o.logFile, { verdict: 'refused', method: req.method, target: where });
    return answer(
      o.output,
      refuse(403, `${where} is not in the egress allow list of machine ${policy.machine}`),
    );
  }
  if (hasBody(req)) {
    log(o.logFile, { verdict: 'bad-request', method: req.method, target: where, reason: 'a body' });
    return answer(o.output, refuse(400, 'A GET or HEAD with a body is not relayed'));
  }
  const address = await addressOf(req);
  if (typeof address !== 'string') {
    log(o.logFile, { verdict: 'refused', method: req.method, target: where, reason: address.reason });
    return answer(o.output, address);
  }
  const upstream = net.connect({ host: address, port: req.port });
  const connected = await new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), CONNECT_TIMEOUT_MS);
    upstream.once('connect', () => (clearTimeout(t), resolve(true)));
    upstream.once('error', () => (clearTimeout(t), resolve(false)));
  });
  if (!connected) {
    upstream.destroy();
    log(o.logFile, { verdict: 'unreachable', method: req.method, target: where });
    return answer(o.output, refuse(502, `${where} did not accept a connection`));
  }
  log(o.logFile, { verdict: 'allowed', method: req.method, target: where });
  const closed = new Promise((resolve) => {
    upstream.setTimeout(IDLE_TIMEOUT_MS, () => upstream.destroy());
    upstream.on('error', () => upstream.destroy());
    upstream.on('close', resolve);
    upstream.pipe(o.output);
  });
  if (req.method === 'CONNECT') {
    o.output.write('HTTP/1.1 200 Connection established\r\n\r\n');
    const rest = heads.release();
    if (rest.length) upstream.write(rest);
    o.input.pipe(upstream);
    return closed;
  }
  upstream.write(originForm(req), 'latin1');
  // Pipelined and kept-alive requests: each must name the same target. Another one ends the
  // relay after the answers already asked for; the guest's next connection is checked anew.
  for (;;) {
    const next = await Promise.race([heads.next(IDLE_TIMEOUT_MS), closed.then(() => undefined)]);
    const more = typeof next === 'string' ? parseHead(next) : undefined;
    if (
      !more ||
      'status' in more ||
      more.method === 'CONNECT' ||
      `${more.host}:${more.port}` !== where ||
      hasBody(more)
    ) {
      if (more)
        log(
          o.logFile,
          'status' in more
            ? { verdict: 'bad-request', reason: more.reason }
            : {
                verdict: 'refused',
                method: more.method,
                target: `${more.host}:${more.port}`,
                reason: "not the connection's target",
              },
        );
      upstream.end();
      break;
    }
    upstream.write(originForm(more), 'latin1');
  }
  return closed;
}

const [policyFile, logFile] = process.argv.slice(2);
process.on('uncaughtException', (err) => {
  log(logFile, { verdict: 'error', reason: String(err) });
  process.exit(1);
});
if (!policyFile) process.exit(2);
// A guest that closes first must not turn into an EPIPE on stderr.
process.stdout.on('error', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
await serveConnection({ input: process.stdin, output: process.stdout, policyFile, logFile });
process.stdout.end(() => process.exit(0));

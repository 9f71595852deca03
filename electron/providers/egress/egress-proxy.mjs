#!/usr/bin/env node
// @ts-check
/**
 * The only way out of a restricted QEMU guest (`-netdev user,restrict=on`): one long-lived proxy
 * per machine, listening on a Unix socket in the machine's folder. QEMU starts the small
 * egress-connect.pl for every TCP connection the guest opens to the package proxy address
 * (`guestfwd=…-cmd:`); that connector only joins the connection to this socket. Here each
 * connection is counted (at most MAX_CONNECTIONS at once per machine; the rest get 503 at once),
 * read with a bounded buffer, and relayed only when HOST:PORT is in the machine's allow list:
 * GET/HEAD in origin form with the Host header set to the target, CONNECT only to :443 entries and
 * only for a TLS ClientHello whose server name is the target. Names never resolve into this host.
 *
 * Plain JavaScript importing only node: modules and its own egress-*.mjs parts, so it starts under
 * Node or Electron-as-Node without a TypeScript loader. Errors go to the machine's egress log. It exits when its QEMU has gone.
 *
 * Usage: egress-proxy.mjs SOCKET POLICY LOG QEMU_PIDFILE
 */
import { appendFileSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { addressRefusal, blockLists } from './egress-addresses.mjs';
import { isRefusal, originForm, parseHead, refuse } from './egress-http.mjs';
import { clientHelloSni, HELLO_LIMIT } from './egress-tls.mjs';

/**
 * @typedef {import('./egress-http.mjs').ProxyRequest} ProxyRequest
 * @typedef {import('./egress-http.mjs').Refusal} Refusal
 * @typedef {(buf: Buffer) => { value: unknown, consumed: number } | undefined} Extract
 */

/** The guest's name for the host (QEMU user networking); allowed only port by port. */
const HOST_ALIAS = '10.0.2.2';
export const HEAD_LIMIT = 16 * 1024;
export const MAX_CONNECTIONS = 16;
const HEAD_TIMEOUT_MS = 15_000;
const CONNECT_TIMEOUT_MS = 15_000;
const IDLE_TIMEOUT_MS = 120_000;
const LOG_LIMIT = 1 << 20;
const QEMU_WATCH_MS = 2_000;
/** How long a proxy waits for its QEMU to appear before it decides it was started for nothing. */
const QEMU_GRACE_MS = 120_000;

/**
 * @param {string[]} allow entries "host:port"
 * @param {{ host: string, port: number }} t
 */
const isAllowed = (allow, t) => allow.includes(`${t.host}:${t.port}`);

let lists = blockLists();

/**
 * Where to connect: the host's loopback only for the alias; a name never resolves into this host.
 * @param {{ host: string, port: number }} t
 * @returns {Promise<string | Refusal>}
 */
async function addressOf(t) {
  if (t.host === HOST_ALIAS) return '127.0.0.1';
  let all;
  try {
    all = net.isIP(t.host) ? [{ address: t.host }] : await lookup(t.host, { all: true });
  } catch {
    return refuse(502, `${t.host} does not resolve on the host`);
  }
  let why = 'no address';
  for (const { address } of all) {
    const r = addressRefusal(address, t, lists);
    if (!r) return address;
    why = r;
  }
  return refuse(403, `${t.host} resolves to ${why}`);
}

/**
 * Reads from the guest's side of a connection with a bounded buffer: the input is paused once
 * HELLO_LIMIT bytes wait, so a guest that streams while the upstream connects fills nothing but
 * its own TCP window.
 * @param {net.Socket} input
 */
function boundedReader(input) {
  /** @type {Buffer} */
  let buf = Buffer.alloc(0);
  let ended = false;
  /** @type {(() => void) | undefined} */
  let wake;
  /** @type {((v: unknown) => void) | undefined} the pending take's end */
  let pending;
  const onData = (/** @type {Buffer} */ c) => {
    buf = buf.length ? Buffer.concat([buf, c]) : c;
    if (buf.length > HELLO_LIMIT) input.pause();
    wake?.();
  };
  const onEnd = () => {
    ended = true;
    wake?.();
  };
  input.on('data', onData);
  input.on('end', onEnd);
  // A paused socket never emits 'end': a guest that goes away is seen by 'close'.
  input.on('close', onEnd);
  return {
    /**
     * What `extract` finds at the start of the buffer, undefined at the end of the stream, or why
     * there is nothing.
     * @param {number} timeoutMs
     * @param {Extract} extract
     * @param {number} limit
     * @returns {Promise<unknown>}
     */
    take(timeoutMs, extract, limit) {
      return new Promise((resolve) => {
        const timer = setTimeout(
          () => finish(refuse(408, `Nothing complete within ${timeoutMs / 1000} s`)),
          timeoutMs,
        );
        const finish = (/** @type {unknown} */ v) => {
          clearTimeout(timer);
          wake = undefined;
          pending = undefined;
          resolve(v);
        };
        pending = finish;
        const check = () => {
          const got = extract(buf);
          if (got) {
            buf = buf.subarray(got.consumed);
            if (buf.length <= HELLO_LIMIT) input.resume();
            finish(got.value);
          } else if (buf.length > limit)
            finish(refuse(431, `Over ${limit} bytes without a complete request`));
          else if (ended) finish(buf.length ? refuse(400, 'The connection closed mid-request') : undefined);
        };
        wake = check;
        check();
      });
    },
    /** Stops reading: what is left is returned, and the stream is relayed as it is (CONNECT). */
    release() {
      input.removeListener('data', onData);
      input.removeListener('end', onEnd);
      input.removeListener('close', onEnd);
      const rest = buf;
      buf = Buffer.alloc(0);
      return rest;
    },
    /**
     * Ends a take still waiting (a relay whose upstream closed first) and drops the buffer, so no
     * timer or buffer outlives the connection by up to IDLE_TIMEOUT_MS.
     */
    close() {
      pending?.(undefined);
      this.release();
    },
  };
}

/** @type {Extract} */
const headExtract = (buf) => {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0 || end > HEAD_LIMIT) return undefined;
  return { value: buf.subarray(0, end).toString('latin1'), consumed: end + 4 };
};

/** @type {Extract} */
const helloExtract = (buf) => {
  const r = clientHelloSni(buf);
  return r ? { value: r, consumed: 0 } : undefined;
};

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
 * @param {net.Socket} out
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
 * A connection to the checked address, or undefined when it is not accepted in time.
 * @param {string} address
 * @param {number} port
 * @returns {Promise<net.Socket | undefined>}
 */
async function connectUpstream(address, port) {
  const upstream = net.connect({ host: address, port });
  const ok = await new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), CONNECT_TIMEOUT_MS);
    upstream.once('connect', () => (clearTimeout(t), resolve(true)));
    upstream.once('error', () => (clearTimeout(t), resolve(false)));
  });
  if (ok) return upstream;
  upstream.destroy();
  return undefined;
}

/**
 * Joins a connected upstream to the guest: it ends when idle, on an error, or when the guest's side
 * closes; its bytes go to the guest.
 * @param {net.Socket} socket the guest's side
 * @param {net.Socket} upstream
 * @returns {Promise<void>} when the upstream has closed
 */
function joinUpstream(socket, upstream) {
  socket.once('close', () => upstream.destroy());
  return new Promise((resolve) => {
    upstream.setTimeout(IDLE_TIMEOUT_MS, () => upstream.destroy());
    upstream.on('error', () => upstream.destroy());
    upstream.on('close', () => resolve());
    upstream.pipe(socket);
  });
}

/**
 * Relays a CONNECT tunnel once the guest's ClientHello names the target.
 * @param {{ socket: net.Socket, logFile?: string }} o
 * @param {ReturnType<typeof boundedReader>} reader
 * @param {ProxyRequest} req
 */
async function tunnel(o, reader, req) {
  const where = `${req.host}:${req.port}`;
  const note = (/** @type {string} */ verdict, /** @type {string} */ reason) =>
    log(o.logFile, { verdict, method: 'CONNECT', target: where, reason });
  o.socket.write('HTTP/1.1 200 Connection established\r\n\r\n');
  const hello = /** @type {{ sni: string | null } | Refusal | undefined} */ (
    await reader.take(HEAD_TIMEOUT_MS, helloExtract, HELLO_LIMIT)
  );
  if (!hello) return;
  if (isRefusal(hello)) return note('refused', hello.reason);
  const ipTarget = net.isIP(req.host) !== 0;
  if (ipTarget ? hello.sni !== null && hello.sni !== req.host : hello.sni !== req.host)
    return note(
      'refused',
      `TLS server name ${hello.sni === null ? '(none)' : JSON.stringify(hello.sni.slice(0, 80))} is not the target`,
    );
  const address = await addressOf(req);
  if (typeof address !== 'string') return note('refused', address.reason);
  const upstream = await connectUpstream(address, req.port);
  if (!upstream) return note('unreachable', 'no connection');
  log(o.logFile, { verdict: 'allowed', method: 'CONNECT', target: where });
  upstream.write(reader.release());
  const closed = joinUpstream(o.socket, upstream);
  o.socket.pipe(upstream);
  await closed;
}

/**
 * Serves one guest connection.
 * @param {{ socket: net.Socket, policyFile: string, logFile?: string }} o
 * @returns {Promise<void>} when the connection is over
 */
export async function serveConnection(o) {
  const reader = boundedReader(o.socket);
  try {
    return await serve(o, reader);
  } finally {
    reader.close();
  }
}

/**
 * @param {{ socket: net.Socket, policyFile: string, logFile?: string }} o
 * @param {ReturnType<typeof boundedReader>} reader
 * @returns {Promise<void>}
 */
async function serve(o, reader) {
  const first = await reader.take(HEAD_TIMEOUT_MS, headExtract, HEAD_LIMIT);
  const req =
    first === undefined
      ? refuse(400, 'The connection closed before a request head')
      : isRefusal(first)
        ? first
        : parseHead(/** @type {string} */ (first));
  if (isRefusal(req)) {
    log(o.logFile, { verdict: 'bad-request', reason: req.reason });
    return answer(o.socket, req);
  }
  const where = `${req.host}:${req.port}`;
  const policy = readPolicy(o.policyFile);
  if (!isAllowed(policy.allow, req)) {
    log(o.logFile, { verdict: 'refused', method: req.method, target: where });
    return answer(
      o.socket,
      refuse(403, `${where} is not in the egress allow list of machine ${policy.machine}`),
    );
  }
  if (req.method === 'CONNECT') {
    if (req.port !== 443) {
      log(o.logFile, {
        verdict: 'refused',
        method: req.method,
        target: where,
        reason: 'CONNECT to a port other than 443',
      });
      return answer(o.socket, refuse(403, `CONNECT is relayed to port 443 (TLS) entries only, not ${where}`));
    }
    return tunnel(o, reader, req);
  }
  const address = await addressOf(req);
  if (typeof address !== 'string') {
    log(o.logFile, { verdict: 'refused', method: req.method, target: where, reason: address.reason });
    return answer(o.socket, address);
  }
  const upstream = await connectUpstream(address, req.port);
  if (!upstream) {
    log(o.logFile, { verdict: 'unreachable', method: req.method, target: where });
    return answer(o.socket, refuse(502, `${where} did not accept a connection`));
  }
  log(o.logFile, { verdict: 'allowed', method: req.method, target: where });
  const closed = joinUpstream(o.socket, upstream);
  upstream.write(originForm(req), 'latin1');
  // Pipelined and kept-alive requests: each must name the same target. Another one ends the
  // relay after the answers already asked for; the guest's next connection is checked anew.
  for (;;) {
    const next = await Promise.race([reader.take(IDLE_TIMEOUT_MS, headExtract, HEAD_LIMIT), closed]);
    const more = typeof next === 'string' ? parseHead(next) : undefined;
    if (!more || isRefusal(more) || more.method === 'CONNECT' || `${more.host}:${more.port}` !== where) {
      if (more)
        log(
          o.logFile,
          isRefusal(more)
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
  await closed;
}

/**
 * The machine's proxy: a Unix socket server with a connection cap.
 * @param {{ socketPath: string, policyFile: string, logFile?: string }} o
 * @returns {Promise<net.Server>}
 */
export async function startProxyServer(o) {
  let open = 0;
  let overCap = 0;
  const capLog = setInterval(() => {
    if (overCap === 0) return;
    log(o.logFile, {
      verdict: 'refused',
      reason: `${overCap} connections over the cap of ${MAX_CONNECTIONS}`,
    });
    overCap = 0;
  }, 5_000);
  capLog.unref();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => socket.destroy());
    if (open >= MAX_CONNECTIONS) {
      overCap += 1;
      socket.end(
        `HTTP/1.1 503 Over ${MAX_CONNECTIONS} connections at once\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
      );
      socket.destroySoon();
      return;
    }
    open += 1;
    socket.once('close', () => (open -= 1));
    serveConnection({ socket, policyFile: o.policyFile, logFile: o.logFile })
      .catch((err) => log(o.logFile, { verdict: 'error', reason: String(err).slice(0, 200) }))
      .finally(() => {
        socket.end();
        setTimeout(() => socket.destroy(), 5_000).unref();
      });
  });
  rmSync(o.socketPath, { force: true });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.socketPath, () => resolve(undefined));
  });
  server.on('close', () => clearInterval(capLog));
  return server;
}

/**
 * Removes the socket file only while it is still this server's: a proxy replaced by a newer one
 * for the same machine must not take the newer one's socket with it when it ends.
 * @param {string} socketPath
 * @param {number} ino the inode the server listened on
 */
function removeOwnSocket(socketPath, ino) {
  try {
    if (statSync(socketPath).ino === ino) rmSync(socketPath, { force: true });
  } catch {
    // already gone
  }
}

/**
 * Ends the process when the machine's QEMU is gone (or never came), so a proxy never outlives it.
 * @param {string} pidFile
 * @param {() => void} stop
 */
function watchQemu(pidFile, stop) {
  const started = Date.now();
  let seen = false;
  const alive = () => {
    try {
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      if (!Number.isInteger(pid) || pid <= 0) return false;
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  setInterval(() => {
    if (alive()) seen = true;
    else if (seen || Date.now() - started > QEMU_GRACE_MS) stop();
  }, QEMU_WATCH_MS);
}

async function main() {
  const [socketPath, policyFile, logFile, qemuPidFile] = process.argv.slice(2);
  if (!socketPath || !policyFile) process.exit(2);
  process.on('uncaughtException', (err) =>
    log(logFile, { verdict: 'error', reason: String(err).slice(0, 200) }),
  );
  // Interface addresses change (DHCP, VPN): re-read them now and then.
  setInterval(() => (lists = blockLists()), 60_000).unref();
  await startProxyServer({ socketPath, policyFile, logFile });
  const ino = statSync(socketPath).ino;
  // No server.close(): libuv unlinks a pipe's path when its handle closes, which could be a newer
  // proxy's socket by then. Exiting leaves the handle alone; the file is removed only if ours.
  const stop = () => {
    removeOwnSocket(socketPath, ino);
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (qemuPidFile) watchQemu(qemuPidFile, stop);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await main();

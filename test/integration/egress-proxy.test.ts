/**
 * The package proxy a filtered guest talks to, run as QEMU runs it: one long-lived proxy per
 * machine on a Unix socket, and for every guest connection the small Perl connector QEMU starts
 * (the connection on its stdin/stdout). Against real servers on 127.0.0.1 and Debian's real mirror:
 * it relays only allow-listed HOST:PORT entries with the Host header of the target, maps 10.0.2.2 to
 * this host port by port, never lets a name resolve into this host (real getaddrinfo, in a private
 * mount namespace with its own /etc/hosts), tunnels only TLS to :443 with the target's server name,
 * bounds connections and buffers, fails closed on a broken policy, and never writes to stderr (which
 * QEMU hands to the guest as well).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statusKiB } from './egress-peer.js';
import { appPath } from '../../electron/platform/app-root.js';
import {
  DEFAULT_EGRESS_ALLOW,
  waitForProxy,
  writeEgressPolicy,
} from '../../electron/providers/egress/egress.js';

const SCRIPT = appPath('electron', 'providers', 'egress', 'egress-proxy.mjs');
const CONNECTOR = appPath('electron', 'providers', 'egress', 'egress-connect.pl');
const dir = mkdtempSync(path.join(os.tmpdir(), 'hlab-egress-'));
const policy = path.join(dir, 'egress.json');
const log = path.join(dir, 'egress.log');
const sock = path.join(dir, 'egress.sock');
const hostsFile = path.join(dir, 'hosts');
/** A non-loopback address of this host, which no allow-listed name may lead to. */
const ownAddress = Object.values(os.networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

/** A server that records what it received and answers with a fixed HTTP response. */
interface Upstream {
  port: number;
  received: string[];
  connections: number;
  close(): Promise<void>;
}

async function upstream(mode: 'http' | 'echo'): Promise<Upstream> {
  const u: Upstream = { port: 0, received: [], connections: 0, close: async () => undefined };
  const server = net.createServer((c) => {
    u.connections += 1;
    let buf = '';
    c.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      if (mode === 'echo') c.write(d);
      // Pipelined heads may arrive in one chunk: each gets its own answer.
      else
        for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
          u.received.push(buf.slice(0, end + 4));
          buf = buf.slice(end + 4);
          c.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello');
        }
    });
    c.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  u.port = (server.address() as net.AddressInfo).port;
  u.close = () => new Promise((resolve) => server.close(() => resolve()));
  return u;
}

/** One guest connection through the connector: writes `send`, returns what came back and stderr. */
function connection(
  send: string | Buffer,
  o: { keepOpen?: number } = {},
): Promise<{ out: string; err: string; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn('/usr/bin/perl', [CONNECTOR, sock], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('latin1')));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => resolve({ out, err, code }));
    child.stdin.on('error', () => undefined);
    child.stdin.write(send);
    // A real client keeps its side open until the answer is in; then it closes.
    setTimeout(() => child.stdin.end(), o.keepOpen ?? 1500);
  });
}

let proxy: ChildProcess;

/** The machine's proxy, in a private mount namespace whose /etc/hosts names the test's addresses. */
async function startProxy(): Promise<void> {
  writeFileSync(
    hostsFile,
    [
      '127.0.0.1 localhost',
      '::ffff:0.0.0.0 mapped-any.test',
      '::ffff:127.0.0.1 mapped-lo.test',
      '169.254.169.254 metadata.test',
      '10.1.2.3 private.test',
      ...(ownAddress ? [`${ownAddress} hostself.test`] : []),
      '',
    ].join('\n'),
  );
  proxy = spawn(
    'unshare',
    [
      '-m',
      'sh',
      '-c',
      'mount --bind "$0" /etc/hosts && exec "$@"',
      hostsFile,
      process.execPath,
      SCRIPT,
      sock,
      policy,
      log,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  if (await waitForProxy(sock)) return;
  throw new Error('the egress proxy did not start');
}

/** The proxy's peak resident memory in MiB (it is the exec'd child of unshare: the same pid). */
const proxyPeakMiB = () => statusKiB(proxy.pid!, 'VmHWM') / 1024;

const logEntries = () =>
  readFileSync(log, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { verdict: string; target?: string; reason?: string });

let allowed: Upstream;
let forbidden: Upstream;
let echo: Upstream;

beforeAll(async () => {
  allowed = await upstream('http');
  forbidden = await upstream('http');
  echo = await upstream('echo');
  writeEgressPolicy(policy, 'lab1', [
    `10.0.2.2:${allowed.port}`,
    `10.0.2.2:${echo.port}`,
    ...[
      'localhost',
      'mapped-any.test',
      'mapped-lo.test',
      'metadata.test',
      'private.test',
      'hostself.test',
      '0.0.0.0',
      ...(ownAddress ? [ownAddress] : []),
    ].map((h) => `${h}:${forbidden.port}`),
  ]);
  await startProxy();
});
afterAll(async () => {
  proxy?.kill();
  await allowed.close();
  await forbidden.close();
  await echo.close();
});

describe('the egress proxy', () => {
  it('relays an allowed GET to this host in origin form, with the Host of the target and without proxy headers', async () => {
    const r = await connection(
      `GET http://10.0.2.2:${allowed.port}/debian/dists/bookworm/Release HTTP/1.1\r\nHost: other-tenant.example\r\nProxy-Connection: keep-alive\r\nUser-Agent: Debian APT-HTTP/1.3\r\n\r\n`,
    );
    expect(r.out).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*hello$/);
    expect(r.err).toBe('');
    const got = allowed.received.at(-1)!;
    expect(got.split('\r\n')[0]).toBe('GET /debian/dists/bookworm/Release HTTP/1.1');
    expect(got).toContain('User-Agent: Debian APT-HTTP/1.3');
    expect(got).not.toMatch(/proxy-connection/i);
    // The guest's own Host would reach any other site behind the same address (a CDN): it is replaced.
    expect(got).toContain(`\r\nHost: 10.0.2.2:${allowed.port}\r\n`);
    expect(got).not.toContain('other-tenant');
    expect(logEntries().at(-1)).toMatchObject({ verdict: 'allowed', target: `10.0.2.2:${allowed.port}` });
  });

  it('refuses a port of this host that is not in the list, naming the list; the service never sees it', async () => {
    const before = forbidden.connections;
    const r = await connection(`GET http://10.0.2.2:${forbidden.port}/ HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(r.out.split('\r\n')[0]).toBe(
      `HTTP/1.1 403 10.0.2.2:${forbidden.port} is not in the egress allow list of machine lab1`,
    );
    expect(r.err).toBe('');
    expect(forbidden.connections).toBe(before);
    expect(logEntries().at(-1)).toMatchObject({ verdict: 'refused', target: `10.0.2.2:${forbidden.port}` });
  });

  it('never lets an allowed name or address lead to this host, its link-local network or a private range', async () => {
    const before = forbidden.connections;
    const cases: Array<[string, RegExp]> = [
      ['localhost', /resolves to this host or its local network/],
      ['mapped-lo.test', /resolves to this host or its local network/],
      // Linux connects ::ffff:0.0.0.0 to 127.0.0.1: the old check let it through (E2).
      ['mapped-any.test', /resolves to this host or its local network/],
      ['metadata.test', /resolves to this host or its local network/],
      ['0.0.0.0', /resolves to this host or its local network/],
      ['private.test', /resolves to a private address; allow it by its IP address/],
      ...(ownAddress
        ? ([
            ['hostself.test', /resolves to this host or its local network/],
            [ownAddress, /resolves to this host or its local network/],
          ] as Array<[string, RegExp]>)
        : []),
    ];
    for (const [host, why] of cases) {
      const r = await connection(`GET http://${host}:${forbidden.port}/ HTTP/1.1\r\nHost: ${host}\r\n\r\n`, {
        keepOpen: 300,
      });
      expect(r.out.split('\r\n')[0], host).toMatch(/^HTTP\/1\.1 403 /);
      expect(r.out, host).toMatch(why);
      const c = await connection(`CONNECT ${host}:${forbidden.port} HTTP/1.1\r\n\r\n`, { keepOpen: 300 });
      expect(c.out, host).toMatch(/^HTTP\/1\.1 403 /);
    }
    expect(forbidden.connections).toBe(before);
  });

  it('checks every pipelined request: the same target is relayed in origin form, another ends the relay', async () => {
    const before = allowed.received.length;
    const t = `10.0.2.2:${allowed.port}`;
    const r = await connection(
      `GET http://${t}/a HTTP/1.1\r\nHost: ${t}\r\n\r\nGET http://${t}/b HTTP/1.1\r\nHost: ${t}\r\n\r\n` +
        `GET http://10.0.2.2:${forbidden.port}/c HTTP/1.1\r\nHost: x\r\n\r\nGET http://${t}/d HTTP/1.1\r\nHost: ${t}\r\n\r\n`,
    );
    expect(allowed.received.slice(before).map((h) => h.split('\r\n')[0])).toEqual([
      'GET /a HTTP/1.1',
      'GET /b HTTP/1.1',
    ]);
    expect(r.out.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(2);
    expect(r.err).toBe('');
    expect(logEntries().at(-1)).toMatchObject({ verdict: 'refused', target: `10.0.2.2:${forbidden.port}` });
    const body = await connection(
      `GET http://${t}/ HTTP/1.1\r\nHost: ${t}\r\nContent-Length: 5\r\n\r\nhello`,
      { keepOpen: 300 },
    );
    expect(body.out).toMatch(/^HTTP\/1\.1 400 A request with a body is not relayed/);
  });

  it('tunnels CONNECT only to :443 entries and only TLS naming the target; a real TLS session to the mirror passes', async () => {
    const before = echo.connections;
    const raw = await connection(
      `CONNECT 10.0.2.2:${echo.port} HTTP/1.1\r\nHost: 10.0.2.2:${echo.port}\r\n\r\nPOST /upload HTTP/1.1\r\n\r\n`,
    );
    expect(raw.out).toMatch(/^HTTP\/1\.1 403 CONNECT is relayed to port 443 \(TLS\) entries only/);
    expect(echo.connections).toBe(before);

    /** Opens a tunnel on the proxy socket; `then` runs over it after the 200. */
    const tunnel = (host: string) =>
      new Promise<net.Socket>((resolve, reject) => {
        const c = net.connect(sock);
        c.once('error', reject);
        c.write(`CONNECT ${host}:443 HTTP/1.1\r\nHost: ${host}:443\r\n\r\n`);
        c.once('data', (d: Buffer) =>
          d.toString('latin1').startsWith('HTTP/1.1 200 ') ? resolve(c) : reject(new Error(d.toString())),
        );
      });
    const status = async (servername: string) => {
      const socket = await tunnel('deb.debian.org');
      return new Promise<string>((resolve) => {
        const t = tls.connect({ socket, servername }, () =>
          t.write(
            `HEAD /debian/dists/bookworm/Release HTTP/1.1\r\nHost: deb.debian.org\r\nConnection: close\r\n\r\n`,
          ),
        );
        t.once('data', (d: Buffer) => resolve(d.toString('latin1').split('\r\n')[0] ?? ''));
        t.once('error', (e) => resolve(`error: ${e.message}`));
        t.once('close', () => resolve('closed'));
      });
    };
    expect(await status('deb.debian.org')).toBe('HTTP/1.1 200 OK');
    expect(await status('evil.example')).toMatch(/^(error|closed)/);
    expect(logEntries().at(-1)).toMatchObject({
      verdict: 'refused',
      target: 'deb.debian.org:443',
      reason: 'TLS server name "evil.example" is not the target',
    });
    // Plain bytes in a tunnel to :443 are not TLS: nothing leaves.
    const plain = await tunnel('deb.debian.org');
    plain.write('GET / HTTP/1.1\r\nHost: other-tenant.example\r\n\r\n');
    await new Promise((r) => plain.once('close', r));
    expect(logEntries().at(-1)).toMatchObject({
      verdict: 'refused',
      reason: expect.stringMatching(/not a TLS handshake/),
    });
  });

  it('serves at most 16 connections at once: the next gets 503 at once, and a freed slot serves again', async () => {
    const held: net.Socket[] = [];
    for (let i = 0; i < 16; i += 1) {
      const c = net.connect(sock);
      c.on('error', () => undefined);
      await new Promise((r) => c.once('connect', r));
      held.push(c);
    }
    await new Promise((r) => setTimeout(r, 200));
    const over = await connection(`GET http://10.0.2.2:${allowed.port}/ HTTP/1.1\r\n\r\n`, { keepOpen: 300 });
    expect(over.out).toMatch(/^HTTP\/1\.1 503 Over 16 connections at once/);
    for (const c of held) c.destroy();
    await new Promise((r) => setTimeout(r, 200));
    const again = await connection(`GET http://10.0.2.2:${allowed.port}/ HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(again.out).toMatch(/^HTTP\/1\.1 200 OK/);
  });

  it('buffers a bounded amount whatever the guest streams while the upstream is slow (E1)', async () => {
    // An allowed upstream that accepts and then neither reads nor answers.
    const silent = net.createServer((c) => c.pause());
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    const good = readFileSync(policy, 'utf8');
    const p = JSON.parse(good) as { machine: string; allow: string[] };
    writeFileSync(policy, JSON.stringify({ ...p, allow: [...p.allow, `10.0.2.2:${port}`] }));
    const peakBefore = proxyPeakMiB();
    const c = net.connect(sock);
    c.on('error', () => undefined);
    let accepted = 0;
    try {
      await new Promise((r) => c.once('connect', r));
      c.write(`GET http://10.0.2.2:${port}/ HTTP/1.1\r\nHost: x\r\n\r\n`);
      const chunk = Buffer.alloc(1 << 20, 0x41);
      const until = Date.now() + 4_000;
      // Write up to 48 MiB for at most 4 s: the proxy must stop taking bytes long before.
      while (accepted < 48 << 20 && Date.now() < until) {
        const more = c.write(chunk);
        accepted += chunk.length;
        if (!more)
          await Promise.race([
            new Promise((r) => c.once('drain', r)),
            new Promise((r) => setTimeout(r, 1_000)),
          ]);
        if (c.writableLength > 4 << 20) break;
      }
      const took = accepted - c.writableLength;
      expect(took).toBeLessThan(4 << 20);
      expect(proxyPeakMiB() - peakBefore).toBeLessThan(24);
    } finally {
      c.destroy();
      silent.close();
      writeFileSync(policy, good);
    }
  });

  it('answers malformed, oversized and other-method requests with an HTTP error, never a crash', async () => {
    const cases: Array<[string | Buffer, RegExp]> = [
      ['\x00\x01garbage\r\n\r\n', /^HTTP\/1\.1 400 /],
      [`GET /relative HTTP/1.1\r\nHost: x\r\n\r\n`, /^HTTP\/1\.1 400 A proxy request needs an absolute/],
      [`POST http://10.0.2.2:${allowed.port}/ HTTP/1.1\r\nHost: x\r\n\r\n`, /^HTTP\/1\.1 405 /],
      [`GET http://10.0.2.2:99999/ HTTP/1.1\r\n\r\n`, /^HTTP\/1\.1 400 Bad host or port/],
      [`GET http://user@deb.debian.org/ HTTP/1.1\r\n\r\n`, /^HTTP\/1\.1 400 /],
      [`CONNECT 10.0.2.2 HTTP/1.1\r\n\r\n`, /^HTTP\/1\.1 400 CONNECT needs HOST:PORT/],
      [
        `GET http://10.0.2.2:${allowed.port}/ HTTP/1.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
        /^HTTP\/1\.1 431 /,
      ],
      [
        `GET http://10.0.2.2:${allowed.port}/ HTTP/1.1\r\nno colon here\r\n\r\n`,
        /^HTTP\/1\.1 400 Malformed header/,
      ],
      [
        `GET http://10.0.2.2:${allowed.port}/ HTTP/1.1\r\nX: y\nContent-Length: 5\r\n\r\n`,
        /^HTTP\/1\.1 400 Malformed header/,
      ],
      [
        `GET http://10.0.2.2:${allowed.port}/ HTTP/1.1\r\nContent-Length: 05\r\n\r\n`,
        /^HTTP\/1\.1 400 A request with a body/,
      ],
      [Buffer.from([0xff, 0xfe, 0x0d, 0x0a, 0x0d, 0x0a]), /^HTTP\/1\.1 400 /],
    ];
    for (const [send, expected] of cases) {
      const r = await connection(send, { keepOpen: 300 });
      expect(r.out, JSON.stringify(send).slice(0, 80)).toMatch(expected);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
    }
    // A connection that closes before a whole head gets an answer too.
    const early = await connection('GET http://10.0.2.2', { keepOpen: 100 });
    expect(early.out).toMatch(/^HTTP\/1\.1 400 The connection closed mid-request/);
  });

  it('fails closed when the policy is unreadable: Debian mirrors included, nothing is relayed', async () => {
    const good = readFileSync(policy, 'utf8');
    writeFileSync(policy, '{ torn');
    try {
      const r = await connection(`GET http://10.0.2.2:${allowed.port}/ HTTP/1.1\r\nHost: x\r\n\r\n`);
      expect(r.out).toMatch(/^HTTP\/1\.1 403 .* of machine \?/);
    } finally {
      writeFileSync(policy, good);
    }
  });

  it('writes Debian mirrors first and the machine entries after into the policy file', () => {
    const p = JSON.parse(readFileSync(policy, 'utf8')) as { machine: string; allow: string[] };
    expect(p.machine).toBe('lab1');
    expect(p.allow.slice(0, DEFAULT_EGRESS_ALLOW.length)).toEqual(DEFAULT_EGRESS_ALLOW);
    expect(p.allow).toContain(`10.0.2.2:${allowed.port}`);
  });
});

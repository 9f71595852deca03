/**
 * The package proxy a filtered guest talks to, run as QEMU runs it (one process per connection, the
 * connection on stdin/stdout) against real servers on 127.0.0.1: it relays only allow-listed
 * HOST:PORT entries, maps 10.0.2.2 to this host port by port, never lets a name resolve into the
 * host's loopback, fails closed on a broken policy, and never writes to stderr (which QEMU hands to
 * the guest as well).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appPath } from '../../electron/platform/app-root.js';
import { DEFAULT_EGRESS_ALLOW, writeEgressPolicy } from '../../electron/providers/qemu/egress.js';

const SCRIPT = appPath('electron', 'providers', 'qemu', 'egress-proxy.mjs');
const dir = mkdtempSync(path.join(os.tmpdir(), 'hlab-egress-'));
const policy = path.join(dir, 'egress.json');
const log = path.join(dir, 'egress.log');

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

/** One guest connection: writes `send`, returns everything the proxy answered and its stderr. */
function connection(
  send: string | Buffer,
  o: { keepOpen?: number } = {},
): Promise<{ out: string; err: string; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--no-warnings', SCRIPT, policy, log], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
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
    `localhost:${forbidden.port}`,
  ]);
});
afterAll(async () => {
  await allowed.close();
  await forbidden.close();
  await echo.close();
});

describe('the egress proxy', () => {
  it('relays an allowed GET to this host in origin form, without proxy headers', async () => {
    const r = await connection(
      `GET http://10.0.2.2:${allowed.port}/debian/dists/bookworm/Release HTTP/1.1\r\nHost: 10.0.2.2:${allowed.port}\r\nProxy-Connection: keep-alive\r\nUser-Agent: Debian APT-HTTP/1.3\r\n\r\n`,
    );
    expect(r.out).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*hello$/);
    expect(r.err).toBe('');
    const got = allowed.received.at(-1)!;
    expect(got.split('\r\n')[0]).toBe('GET /debian/dists/bookworm/Release HTTP/1.1');
    expect(got).toContain('User-Agent: Debian APT-HTTP/1.3');
    expect(got).not.toMatch(/proxy-connection/i);
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

  it('never lets an allowed name resolve into the host loopback', async () => {
    const before = forbidden.connections;
    const r = await connection(`GET http://localhost:${forbidden.port}/ HTTP/1.1\r\nHost: localhost\r\n\r\n`);
    expect(r.out).toMatch(/^HTTP\/1\.1 403 localhost resolves to the host's loopback/);
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
    expect(body.out).toMatch(/^HTTP\/1\.1 400 A GET or HEAD with a body is not relayed/);
  });

  it('tunnels CONNECT to an allowed entry and relays bytes both ways', async () => {
    const r = await connection(
      `CONNECT 10.0.2.2:${echo.port} HTTP/1.1\r\nHost: 10.0.2.2:${echo.port}\r\n\r\nping-through`,
    );
    expect(r.out).toBe('HTTP/1.1 200 Connection established\r\n\r\nping-through');
    expect(r.err).toBe('');
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
    expect(early.out).toMatch(/^HTTP\/1\.1 400 The connection closed before a request head/);
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

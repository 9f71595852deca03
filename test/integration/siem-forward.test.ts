/**
 * Forwarding login events to real receivers on 127.0.0.1: Debian's rsyslogd parses our RFC 5424
 * octet-counted stream, a HEC receiver (checked first against what Splunk's own splunk-logging
 * client sends) takes our batches, and neither loses an event when the receiver is killed
 * mid-stream and comes back: the on-disk spool keeps what was not confirmed and sends it again.
 */
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hecWarning, type AuthEvent } from '../../shared/events.js';
import { octetFrame, toRfc5424 } from '../../electron/events/formats.js';
import { Forwarder } from '../../electron/events/forwarder.js';
import { HecSink, SyslogTcpSink } from '../../electron/events/sinks.js';
import { Spool } from '../../electron/events/spool.js';
import { startHec } from './hec-receiver.js';
import { freePort, Rsyslog } from './rsyslog-receiver.js';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'hlab-siem-'));
const event = (n: number, over: Partial<AuthEvent> = {}): AuthEvent => ({
  id: `ev${String(n).padStart(4, '0')}`,
  time: `2026-11-24T10:00:${String(n % 60).padStart(2, '0')}.${String(n).padStart(6, '0')}Z`,
  machine: 'lab1',
  hostname: 'lab1',
  action: n % 2 ? 'ssh_login_failed' : 'ssh_login',
  outcome: n % 2 ? 'failure' : 'success',
  user: n % 3 ? 'lab' : 'bob "the ]admin"',
  sourceIp: '10.0.2.2',
  sourcePort: 40000 + n,
  method: 'publickey',
  process: 'sshd',
  pid: 800 + n,
  raw: `Accepted publickey for lab from 10.0.2.2 port ${40000 + n} ssh2: ED25519 SHA256:abc${n}`,
  ...over,
});
const until = async (cond: () => boolean, ms = 20_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
};
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

describe('syslog to rsyslogd (RFC 5424, octet counting)', () => {
  it('frames like util-linux logger --rfc5424 --octet-count does', async () => {
    const server = net.createServer();
    const chunks: Buffer[] = [];
    server.on('connection', (s) => s.on('data', (c: Buffer) => chunks.push(c)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const r = spawnSync('logger', [
      '--tcp',
      '--rfc5424',
      '--octet-count',
      '-n',
      '127.0.0.1',
      '-P',
      String(port),
      '-t',
      'sshd',
      'Failed password for root from 10.0.2.2 port 51516 ssh2',
    ]);
    expect(r.status).toBe(0);
    await until(() => chunks.length > 0);
    server.close();
    const wire = Buffer.concat(chunks).toString('utf8');
    const [len, ...rest] = wire.split(' ');
    const msg = rest.join(' ');
    expect(Number(len)).toBe(Buffer.byteLength(msg));
    expect(msg).toMatch(/^<\d+>1 \S+ \S+ sshd \S+ - /);
    // Ours: the same framing rule, byte-counted (a multi-byte user name counts in bytes).
    const ours = octetFrame(toRfc5424(event(1, { user: 'jürgen' }))).toString('utf8');
    const [l2, ...r2] = ours.split(' ');
    expect(Number(l2)).toBe(Buffer.byteLength(r2.join(' ')));
  });

  it('rsyslogd receives every event, parsed into its fields, in order', async () => {
    const port = await freePort();
    const rs = new Rsyslog(tmp(), port);
    cleanups.push(() => rs.stop());
    await rs.start();
    const spool = new Spool(path.join(tmp(), 'spool'));
    spool.append(Array.from({ length: 12 }, (_, i) => event(i)));
    const f = new Forwarder(spool, new SyslogTcpSink('127.0.0.1', port), { batch: 5 });
    const s = await f.drain();
    expect(s).toMatchObject({ backlog: 0, delivered: 12 });
    await until(() => rs.received().length >= 12);
    const got = rs.received();
    expect(got.map((g) => /id="(ev\d+)"/.exec(g.sd)?.[1])).toEqual(
      Array.from({ length: 12 }, (_, i) => event(i).id),
    );
    expect(got[1]).toMatchObject({
      pri: '85',
      host: 'lab1',
      app: 'sshd',
      procid: '801',
      msgid: 'hlab.ssh_login_failed',
    });
    expect(got[0]?.sd).toContain('[hlab@32473 id="ev0000" action="ssh_login" outcome="success"');
    // Quotes and ] inside a value are escaped, so rsyslog keeps the whole structured data.
    expect(got[0]?.sd).toContain('user="bob \\"the \\]admin\\""');
    expect(got[0]?.msg.trim()).toBe(event(0).raw);
  });

  it('a receiver killed mid-stream loses nothing: the backlog waits on disk and drains after its restart', async () => {
    const port = await freePort();
    const rs = new Rsyslog(tmp(), port);
    cleanups.push(() => rs.stop());
    await rs.start();
    const spool = new Spool(path.join(tmp(), 'spool'));
    const states: Array<{ backlog: number; lastError?: string }> = [];
    const f = new Forwarder(spool, new SyslogTcpSink('127.0.0.1', port, 2_000), {
      batch: 4,
      minBackoffMs: 100,
      maxBackoffMs: 400,
      onState: (st) => states.push(st),
    });
    spool.append(Array.from({ length: 8 }, (_, i) => event(i)));
    await f.drain();
    await until(() => rs.received().length >= 8);
    await rs.kill();
    // The receiver is down: new events queue up, delivery keeps failing with a reason, nothing is dropped.
    spool.append(Array.from({ length: 10 }, (_, i) => event(8 + i)));
    const ctl = new AbortController();
    const draining = f.drain(ctl.signal);
    await until(() => states.some((st) => st.lastError !== undefined));
    expect(spool.backlog()).toBe(10);
    expect(states.at(-1)?.lastError).toMatch(/syslog tcp:\/\/127\.0\.0\.1:\d+ .*(ECONNREFUSED|reset)/);
    await rs.start();
    const final = await draining;
    expect(final.backlog).toBe(0);
    await until(() => rs.received().length >= 18);
    const ids = new Set(rs.received().map((g) => /id="(ev\d+)"/.exec(g.sd)?.[1]));
    expect([...ids].sort()).toEqual(Array.from({ length: 18 }, (_, i) => event(i).id));
  });
});

describe('Splunk HTTP Event Collector', () => {
  const TOKEN = '3f1e2a9c-5b7d-4c11-9f0e-6a2b8c4d7e10';

  it("the test receiver takes what Splunk's own client library (splunk-logging) sends", async () => {
    const hec = await startHec(TOKEN);
    cleanups.push(hec.close);
    const { Logger } = await import('splunk-logging');
    const logger = new Logger({ token: TOKEN, url: `http://127.0.0.1:${hec.port}` });
    const body = await new Promise<unknown>((resolve, reject) =>
      logger.send(
        { message: { action: 'ssh_login', user: 'lab' }, metadata: { host: 'lab1', sourcetype: 'x' } },
        (err, _r, b) => (err ? reject(err) : resolve(b)),
      ),
    );
    expect(body).toEqual({ text: 'Success', code: 0 });
    expect(hec.received).toHaveLength(1);
    expect(hec.received[0]).toMatchObject({
      host: 'lab1',
      sourcetype: 'x',
      event: { message: { action: 'ssh_login', user: 'lab' } },
    });
    expect(hec.received[0]?.contentType).toMatch(/x-www-form-urlencoded/);
  });

  it('our batches arrive as ECS events; a wrong token is refused without the token in the error', async () => {
    const hec = await startHec(TOKEN);
    cleanups.push(hec.close);
    const spool = new Spool(path.join(tmp(), 'spool'));
    spool.append([event(0), event(1), event(2)]);
    const f = new Forwarder(spool, new HecSink(`http://127.0.0.1:${hec.port}`, TOKEN, { index: 'lab' }));
    expect(await f.drain()).toMatchObject({ backlog: 0, delivered: 3 });
    expect(hec.received.map((r) => (r.event as { event: { id: string } }).event.id)).toEqual([
      'ev0000',
      'ev0001',
      'ev0002',
    ]);
    expect(hec.received[1]).toMatchObject({
      host: 'lab1',
      source: 'hardening-lab',
      sourcetype: 'hlab:auth',
      index: 'lab',
      event: {
        event: { action: 'ssh_login_failed', outcome: 'failure', category: ['authentication'] },
        user: { name: 'lab' },
      },
    });
    expect(hec.received[1]?.time).toBeCloseTo(Date.parse(event(1).time) / 1000, 3);
    const wrong = new HecSink(`http://127.0.0.1:${hec.port}`, 'not-the-token-0000');
    const err = await wrong.deliver([event(3)]).catch((e: Error) => e);
    expect(String(err)).toMatch(/answered 401/);
    expect(String(err)).not.toContain('not-the-token-0000');
    expect(new HecSink(`http://127.0.0.1:${hec.port}`, TOKEN).label).not.toContain(TOKEN);
  });

  it('a hostile receiver cannot confirm by redirect, flood memory or echo the token back (G2)', async () => {
    /** A receiver that answers every request with `answer`; counts what it was sent. */
    const hostile = async (answer: (res: http.ServerResponse) => void) => {
      const got = { requests: 0 };
      const server = http.createServer((req, res) => {
        got.requests += 1;
        req.resume();
        req.on('end', () => answer(res));
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as net.AddressInfo).port;
      cleanups.push(() => new Promise((r) => server.close(() => r())));
      return { url: `http://127.0.0.1:${port}`, got };
    };
    const elsewhere = await hostile((res) => res.end('{"text":"Success","code":0}'));
    const redirector = await hostile((res) => {
      res.writeHead(307, { location: `${elsewhere.url}/services/collector/event` });
      res.end();
    });
    const spool = new Spool(path.join(tmp(), 'spool'));
    spool.append([event(0), event(1)]);
    const f = new Forwarder(spool, new HecSink(redirector.url, TOKEN, {}, 2_000));
    // Before the fix the redirect target got the batch, its code 0 confirmed it, and it was dropped.
    await expect(f.flushOnce()).rejects.toThrow(/answered 307, a redirect, which is not followed/);
    expect(spool.backlog()).toBe(2);
    expect(elsewhere.got.requests).toBe(0);
    const err = await new HecSink(redirector.url, TOKEN).deliver([event(2)]).catch((e: Error) => e);
    expect(String(err)).toMatch(/answered 307, a redirect, which is not followed/);

    // 1 GiB of reply: read 64 KiB, the rest cancelled.
    const flood = await hostile((res) => {
      res.writeHead(200);
      const chunk = Buffer.alloc(1 << 20, 0x61);
      let sent = 0;
      const more = () => {
        while (sent < 1024 && res.write(chunk)) sent += 1;
        if (sent >= 1024) res.end();
        else res.once('drain', () => ((sent += 1), more()));
      };
      res.on('error', () => undefined);
      more();
    });
    const before = process.memoryUsage().rss;
    const t = Date.now();
    const ferr = await new HecSink(flood.url, TOKEN, {}, 10_000).deliver([event(3)]).catch((e: Error) => e);
    expect(String(ferr)).toMatch(/answered 200$/);
    expect(Date.now() - t).toBeLessThan(5_000);
    expect((process.memoryUsage().rss - before) / 2 ** 20).toBeLessThan(100);

    // A reply that quotes the token, in any spelling, is never echoed into lastError.
    const echo = await hostile((res) => {
      res.writeHead(403);
      res.end(`bad token ${Buffer.from(TOKEN).toString('base64')} / ${TOKEN.split('').join(' ')}`);
    });
    const eerr = String(await new HecSink(echo.url, TOKEN).deliver([event(4)]).catch((e: Error) => e));
    expect(eerr).toMatch(/answered 403$/);
    expect(eerr).not.toContain(Buffer.from(TOKEN).toString('base64'));
    expect(eerr).not.toContain(TOKEN.split('').join(' '));

    expect(hecWarning('http://splunk.example:8088')).toMatch(/clear text/);
    expect(hecWarning('http://127.0.0.1:8088')).toBeUndefined();
    expect(hecWarning('https://splunk.example:8088')).toBeUndefined();
  });

  it('a receiver that goes away mid-stream gets every event once it is back', async () => {
    const first = await startHec(TOKEN);
    const port = first.port;
    const spool = new Spool(path.join(tmp(), 'spool'));
    const states: Array<{ lastError?: string }> = [];
    const f = new Forwarder(spool, new HecSink(`http://127.0.0.1:${port}`, TOKEN, {}, 2_000), {
      batch: 3,
      minBackoffMs: 100,
      maxBackoffMs: 400,
      onState: (st) => states.push(st),
    });
    spool.append(Array.from({ length: 6 }, (_, i) => event(i)));
    await f.drain();
    await first.close();
    spool.append(Array.from({ length: 7 }, (_, i) => event(6 + i)));
    const draining = f.drain();
    await until(() => states.some((st) => st.lastError !== undefined));
    expect(spool.backlog()).toBe(7);
    const second = await startHec(TOKEN, port);
    cleanups.push(second.close);
    expect((await draining).backlog).toBe(0);
    const ids = [...first.received, ...second.received].map(
      (r) => (r.event as { event: { id: string } }).event.id,
    );
    expect(new Set(ids)).toEqual(new Set(Array.from({ length: 13 }, (_, i) => event(i).id)));
    expect(JSON.stringify(states)).not.toContain(TOKEN);
  });
});

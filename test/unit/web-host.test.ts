import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createDispatcher } from '../../electron/core/dispatcher.js';
import { startWebHost, type WebHost } from '../../electron/host/web-host.js';

/** Sends raw bytes and returns whatever the server answered before closing (or after 2 s). */
function raw(port: number, bytes: string | Buffer): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    const done = () => {
      s.destroy();
      resolve(got);
    };
    s.on('data', (d) => (got += d.toString('latin1')));
    s.on('error', done);
    s.on('close', done);
    s.setTimeout(2000, done);
    s.write(bytes);
  });
}

async function stillAnswers(port: number): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${port}/`);
  expect(res.status).toBe(200);
}

function openWs(url: string, origin: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { Origin: origin }, maxPayload: 0 });
    ws.on('open', () => resolve(ws));
    ws.on('error', reject);
  });
}

function closeCode(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => {
    ws.on('close', (code) => resolve(code));
    ws.on('error', () => undefined);
  });
}

function tryWs(url: string, headers: Record<string, string>): Promise<{ opened: boolean; status?: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.on('open', () => {
      ws.close();
      resolve({ opened: true });
    });
    ws.on('unexpected-response', (_req, res) => resolve({ opened: false, status: res.statusCode }));
    ws.on('error', () => resolve({ opened: false }));
  });
}

describe('web host', () => {
  let host: WebHost;
  beforeAll(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hlab-static-'));
    writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>t</title>');
    const outside = mkdtempSync(path.join(os.tmpdir(), 'hlab-outside-'));
    writeFileSync(path.join(outside, 'secret.txt'), 'secret');
    symlinkSync(path.join(outside, 'secret.txt'), path.join(dir, 'link.txt'));
    host = await startWebHost({ dispatcher: createDispatcher({}), staticDir: dir, port: 0 });
  });
  afterAll(() => host.close());

  const origin = () => `http://127.0.0.1:${host.port}`;
  const wsUrl = (token: string) => `ws://127.0.0.1:${host.port}/api?token=${token}`;

  it('binds 127.0.0.1 and prints a URL with a fresh token', () => {
    expect(host.url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${host.port}/\\?token=[\\w-]{20,}$`));
  });

  it('accepts the right token from its own origin', async () => {
    expect(await tryWs(wsUrl(host.token), { Origin: origin() })).toEqual({ opened: true });
  });

  it('refuses a wrong or missing token, a foreign Origin and a foreign Host', async () => {
    expect(await tryWs(wsUrl('wrong'), { Origin: origin() })).toMatchObject({ opened: false, status: 401 });
    expect(await tryWs(`ws://127.0.0.1:${host.port}/api`, { Origin: origin() })).toMatchObject({
      opened: false,
      status: 401,
    });
    expect(await tryWs(wsUrl(host.token), { Origin: 'http://evil.example' })).toMatchObject({
      opened: false,
      status: 403,
    });
    expect(
      await tryWs(wsUrl(host.token), { Origin: origin(), Host: `evil.example:${host.port}` }),
    ).toMatchObject({ opened: false, status: 421 });
  });

  it('serves files with the CSP and refuses path traversal', async () => {
    const res = await fetch(`${origin()}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect((await fetch(`${origin()}/..%2F..%2Fetc%2Fpasswd`)).status).toBe(404);
  });

  it('answers a malformed percent-escape with 400 and keeps serving (H1)', async () => {
    const res = await fetch(`${origin()}/%zz`);
    expect(res.status).toBe(400);
    await stillAnswers(host.port);
  });

  it('answers absolute-form and garbage request targets without dying (H2)', async () => {
    const port = host.port;
    const http = await raw(
      port,
      `GET http://a:b:c/ HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`,
    );
    expect(http).toMatch(/^HTTP\/1\.1 400/);
    const upgrade = await raw(
      port,
      'GET http://a:b:c/api HTTP/1.1\r\nHost: evil.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    expect(upgrade).toMatch(/^HTTP\/1\.1 421/);
    const upgradeGoodHost = await raw(
      port,
      `GET /%zz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    expect(upgradeGoodHost).toMatch(/^HTTP\/1\.1 400/);
    await stillAnswers(port);
  });

  it('closes a socket that sends an oversized or invalid UTF-8 frame, and keeps serving (H3)', async () => {
    const big = await openWs(wsUrl(host.token), origin());
    const bigClosed = closeCode(big);
    big.send(Buffer.alloc(9 * 1024 * 1024, 0x61), { binary: false });
    expect(await bigClosed).toBe(1009);
    const bad = await openWs(wsUrl(host.token), origin());
    const badClosed = closeCode(bad);
    bad.send(Buffer.from([0xff, 0xfe, 0xfd]), { binary: false });
    expect(await badClosed).toBe(1007);
    await stillAnswers(host.port);
    expect(await tryWs(wsUrl(host.token), { Origin: origin() })).toEqual({ opened: true });
  });

  it('does not follow a symlink out of the static folder (L9)', async () => {
    expect((await fetch(`${origin()}/link.txt`)).status).toBe(404);
  });

  it('survives a bounded fuzz of random requests and frames from 127.0.0.1', async () => {
    // Deterministic, bounded in count and time: 300 raw requests + 100 frames.
    let seed = 0x5eed;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const pieces = [
      '/',
      '%',
      'zz',
      '%00',
      '..',
      'http://',
      ':',
      '@',
      '?token=',
      '\u00ff',
      ' ',
      '#',
      '//',
      'api',
    ];
    const port = host.port;
    const started = Date.now();
    let requests = 0;
    for (; requests < 300 && Date.now() - started < 20_000; requests++) {
      const target = Array.from({ length: 1 + rnd(6) }, () => pieces[rnd(pieces.length)]).join('');
      const method = ['GET', 'POST', 'PUT', 'X', ''][rnd(5)];
      const upgrade =
        rnd(2) === 0 ? 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n' : '';
      const junk = rnd(4) === 0 ? Buffer.from(Array.from({ length: 64 }, () => rnd(256))) : '';
      await raw(
        port,
        `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${upgrade}\r\n${String(junk)}`,
      );
    }
    let frames = 0;
    for (; frames < 100 && Date.now() - started < 40_000; frames++) {
      const ws = await openWs(wsUrl(host.token), origin());
      const closed = closeCode(ws);
      const choice = rnd(4);
      if (choice === 0) ws.send(Buffer.from(Array.from({ length: 1 + rnd(200) }, () => rnd(256))));
      else if (choice === 1)
        ws.send(JSON.stringify({ type: 'call', id: rnd(9), method: 'nope', params: rnd(3) }));
      else if (choice === 2)
        ws.send('{"type":"call","id":1,"method":"machines.list","params":' + '['.repeat(rnd(5000)));
      else ws.send(Buffer.from([0xc3, 0x28]), { binary: false });
      await Promise.race([closed, new Promise((r) => setTimeout(r, 200))]);
      ws.terminate();
    }
    expect(requests).toBeGreaterThan(50);
    expect(frames).toBeGreaterThan(20);
    await stillAnswers(port);
    expect(await tryWs(wsUrl(host.token), { Origin: origin() })).toEqual({ opened: true });
  }, 60_000);
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createDispatcher } from '../../electron/core/dispatcher.js';
import { startWebHost, type WebHost } from '../../electron/host/web-host.js';

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
});

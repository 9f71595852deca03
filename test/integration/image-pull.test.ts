/** `hlab image pull` for real: a loopback HTTP server serves our built image with its own SHA512SUMS. */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageStore } from '../../electron/images/store.js';
import { parseSums } from '../../electron/images/pull.js';
import { must, failure, newHome, newService } from './vm-env.js';

const FILE = 'debian-12-genericcloud-amd64.qcow2';
let server: http.Server;
let base: string;
let sums = '';
let source = '';

beforeAll(async () => {
  const { client } = newService(newHome('pull-src'));
  source = (await must(client, 'images.build', { name: 'debian-12' })).path;
  const h = createHash('sha512');
  for await (const chunk of createReadStream(source)) h.update(chunk as Buffer);
  sums = `${'0'.repeat(128)}  debian-12-nocloud-amd64.qcow2\n${h.digest('hex')}  ${FILE}\n`;
  server = http.createServer((req, res) => {
    if (req.url === '/good/SHA512SUMS') return res.end(sums);
    if (req.url === '/bad/SHA512SUMS')
      return res.end(sums.replace(/^[0-9a-f]{128}(?= {2}debian-12-genericcloud)/m, 'f'.repeat(128)));
    if (req.url === `/good/${FILE}` || req.url === `/bad/${FILE}`) {
      res.writeHead(200, { 'content-length': statSync(source).size });
      return createReadStream(source).pipe(res);
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => server?.close());

describe('image pull', () => {
  it('parses SHA512SUMS lines', () => {
    expect(parseSums(`${'a'.repeat(128)}  x.qcow2\n${'b'.repeat(128)} *y.qcow2\n`, 'y.qcow2')).toBe(
      'b'.repeat(128),
    );
    expect(parseSums('garbage', 'y.qcow2')).toBeUndefined();
  });

  it('downloads, verifies against SHA512SUMS and records a manifest', async () => {
    const home = newHome('pull');
    const { client, service } = newService(home, path.join(home, 'images'));
    const progress: number[] = [];
    const r = await client.call(
      'images.pull',
      { name: 'debian-12', baseUrl: `${base}/good/` },
      { onProgress: (p) => progress.push(p.current) },
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value).toMatchObject({ name: 'debian-12', source: 'pulled', sizeBytes: statSync(source).size });
    expect(progress.length).toBeGreaterThan(2);
    const stored = new ImageStore(service.context.images.dir);
    expect((await stored.verified('debian-12')).sha256).toBe(r.value.sha256);
  });

  it('discards a download whose checksum does not match', async () => {
    const home = newHome('pull-bad');
    const { client, service } = newService(home, path.join(home, 'images'));
    const err = await failure(client, 'images.pull', { name: 'debian-12', baseUrl: `${base}/bad/` });
    expect(err.code).toBe('image-corrupt');
    const dir = service.context.images.paths('debian-12').dir;
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
  });

  it('reports an unreachable source clearly', async () => {
    const home = newHome('pull-404');
    const { client } = newService(home, path.join(home, 'images'));
    const err = await failure(client, 'images.pull', { name: 'debian-12', baseUrl: `${base}/missing/` });
    expect(err.code).toBe('unavailable');
    expect(err.message).toContain('HTTP 404');
  });

  it('refuses to replace an image a machine stands on, and says which machine', async () => {
    const home = newHome('pull-in-use');
    const { client, service } = newService(home, path.join(home, 'images'));
    const first = await must(client, 'images.pull', { name: 'debian-12', baseUrl: `${base}/good/` });
    await must(client, 'machines.create', { name: 'standing' });
    const err = await failure(client, 'images.pull', { name: 'debian-12', baseUrl: `${base}/good/` });
    expect(err.code).toBe('conflict');
    expect(err.message).toMatch(
      /base of machine standing; replacing it would break it\. Nothing was changed\./,
    );
    expect((await new ImageStore(service.context.images.dir).verified('debian-12')).sha256).toBe(
      first.sha256,
    );
    await must(client, 'machines.destroy', { name: 'standing' });
    expect((await must(client, 'images.pull', { name: 'debian-12', baseUrl: `${base}/good/` })).sha256).toBe(
      first.sha256,
    );
  });
});

/** Serves an image as Debian's cloud image server would: the qcow2 beside a SHA512SUMS naming it, on 127.0.0.1. */
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PULL_SOURCES } from '../../electron/images/pull.js';

export interface CloudImageServer {
  /** The base URL, as `images.pull` / HLAB_PULL_BASE_URL take it. */
  url: string;
  close(): void;
}

export async function serveCloudImage(image: string): Promise<CloudImageServer> {
  const file = PULL_SOURCES['debian-12']!.file;
  const h = createHash('sha512');
  for await (const chunk of createReadStream(image)) h.update(chunk as Buffer);
  // Another image's line first, as in the real file: the right line must be picked by name.
  const sums = `${'0'.repeat(128)}  debian-12-nocloud-amd64.qcow2\n${h.digest('hex')}  ${file}\n`;
  const server = http.createServer((req, res) => {
    if (req.url === '/cloud/SHA512SUMS') return res.end(sums);
    if (req.url === `/cloud/${file}`) {
      res.writeHead(200, { 'content-length': statSync(image).size });
      return createReadStream(image).pipe(res);
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/cloud/`,
    close: () => server.close(),
  };
}

/**
 * `hlab image pull`: downloads Debian's official cloud image and verifies it against the
 * published SHA512SUMS before it is stored — for hosts that cannot build images (macOS, Windows,
 * no root). The base URL can be overridden (mirrors, tests).
 */
import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HlabError } from '../../shared/errors.js';
import type { ImageInfo, Progress } from '../../shared/types.js';
import type { ImageStore } from './store.js';

export const PULL_SOURCES: Record<string, { baseUrl: string; file: string }> = {
  'debian-12': {
    baseUrl: 'https://cloud.debian.org/images/cloud/bookworm/latest/',
    file: 'debian-12-genericcloud-amd64.qcow2',
  },
};

export function parseSums(text: string, file: string): string | undefined {
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{128})\s+\*?(.+)$/.exec(line.trim());
    if (m && m[2] === file) return m[1];
  }
  return undefined;
}

async function get(url: string, signal?: AbortSignal): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, { signal });
  } catch (err) {
    if (signal?.aborted) throw new HlabError('cancelled', 'The download was cancelled.');
    throw new HlabError(
      'unavailable',
      `Cannot download ${url}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`,
    );
  }
  if (!res.ok || !res.body)
    throw new HlabError('unavailable', `Download of ${url} failed: HTTP ${res.status}.`);
  return res;
}

export async function pullImage(
  store: ImageStore,
  name: string,
  opts: {
    baseUrl?: string;
    signal?: AbortSignal;
    progress?: (p: Progress) => void;
    /** Called before an existing image is replaced: may refuse (machines still stand on it). */
    beforeReplace?: (existing: ImageInfo) => Promise<void>;
  } = {},
): Promise<ImageInfo> {
  const source = PULL_SOURCES[name];
  if (!source)
    throw new HlabError(
      'not-found',
      `No download source for image "${name}" (known: ${Object.keys(PULL_SOURCES).join(', ')}).`,
    );
  const existing = store.get(name);
  if (existing) await opts.beforeReplace?.(existing);
  const base = (opts.baseUrl ?? source.baseUrl).replace(/\/?$/, '/');
  opts.progress?.({ current: 0, max: -1, description: `fetching ${base}SHA512SUMS` });
  const sums = await (await get(`${base}SHA512SUMS`, opts.signal)).text();
  const expected = parseSums(sums, source.file);
  if (!expected)
    throw new HlabError('image-corrupt', `${base}SHA512SUMS lists no checksum for ${source.file}.`);

  const p = store.paths(name);
  mkdirSync(p.dir, { recursive: true });
  const partial = path.join(p.dir, `${source.file}.download`);
  const res = await get(`${base}${source.file}`, opts.signal);
  const total = Number(res.headers.get('content-length') ?? -1);
  const hash = createHash('sha512');
  let received = 0;
  let lastReport = 0;
  const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
  body.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    received += chunk.length;
    if (received - lastReport > 4 * 1024 * 1024 || received === total) {
      lastReport = received;
      opts.progress?.({
        current: received,
        max: total > 0 ? total : -1,
        description: `downloading ${source.file} (${Math.round(received / 1048576)} MiB)`,
      });
    }
  });
  try {
    await pipeline(body, createWriteStream(partial), { signal: opts.signal });
  } catch (err) {
    rmSync(partial, { force: true });
    if (opts.signal?.aborted) throw new HlabError('cancelled', 'The download was cancelled.');
    throw new HlabError('unavailable', `Download of ${source.file} broke off: ${(err as Error).message}`);
  }
  const actual = hash.digest('hex');
  if (actual !== expected) {
    rmSync(partial, { force: true });
    throw new HlabError(
      'image-corrupt',
      `${source.file} does not match SHA512SUMS (expected ${expected.slice(0, 16)}…, got ${actual.slice(0, 16)}…); it was discarded.`,
      {
        expected,
        actual,
      },
    );
  }
  const info = await store.install(name, partial, {
    kernel: 'unknown (Debian genericcloud)',
    recipeHash: `sha512:${expected}`,
    source: 'pulled',
    packages: [],
    seeding: 'cloud-init',
  });
  opts.progress?.({ current: 1, max: 1, description: `verified ${source.file} against SHA512SUMS` });
  return info;
}

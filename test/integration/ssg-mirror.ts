/**
 * A signed stand-in for Debian's mirror, serving the REAL ssg-debian .deb for the OpenSCAP bench
 * in VM tests. The app reads SSG content only through an InRelease that gpgv verified and an index
 * that matches it. The mirror reachable here served a trixie InRelease that names other indexes
 * than the ones it serves (checked on 2026-12-04), so such a run would fail on the mirror, not on
 * the app. This fixture takes the .deb once from that mirror, checks it against the index it came
 * with, and serves it on 127.0.0.1 under an InRelease signed by a throwaway key. The app is told
 * about both through HLAB_SSG_MIRROR and HLAB_SSG_KEYRING, as a user with a mirror of their own is.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { DEFAULT_SSG_MIRROR, DEFAULT_SSG_SUITE, packageStanza } from '../../electron/bench/ssg-content.js';
import { throwawaySigner } from './gpg-signer.js';
import { IMAGE_DIR } from './vm-env.js';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

async function get(url: string): Promise<Buffer> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}

/** The real ssg-debian .deb and its stanza, downloaded once into the image cache. */
async function realDeb(): Promise<{ deb: Buffer; version: string }> {
  const dir = path.join(IMAGE_DIR, 'ssg-standin');
  const stamp = path.join(dir, 'current.json');
  if (existsSync(stamp)) {
    const s = JSON.parse(readFileSync(stamp, 'utf8')) as { version: string; sha256: string; file: string };
    const deb = existsSync(s.file) ? readFileSync(s.file) : undefined;
    if (deb && sha256(deb) === s.sha256) return { deb, version: s.version };
  }
  const base = `${DEFAULT_SSG_MIRROR}/dists/${DEFAULT_SSG_SUITE}`;
  const index = gunzipSync(await get(`${base}/main/binary-all/Packages.gz`)).toString('utf8');
  const st = packageStanza(index, 'ssg-debian');
  if (!st) throw new Error(`ssg-debian is not in ${base}`);
  const deb = await get(`${DEFAULT_SSG_MIRROR}/${st.filename}`);
  if (sha256(deb) !== st.sha256) throw new Error(`${st.filename} does not match its index`);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `ssg-debian_${st.version}_all.deb`);
  writeFileSync(`${file}.tmp`, deb);
  renameSync(`${file}.tmp`, file);
  writeFileSync(stamp, JSON.stringify({ version: st.version, sha256: st.sha256, file }));
  return { deb, version: st.version };
}

export interface SsgMirror {
  /** For HLAB_SSG_MIRROR and HLAB_SSG_KEYRING. */
  env: { HLAB_SSG_MIRROR: string; HLAB_SSG_KEYRING: string };
  version: string;
  close(): Promise<void>;
}

export async function serveSsgMirror(): Promise<SsgMirror> {
  const { deb, version } = await realDeb();
  const signer = throwawaySigner('ssg-standin@hlab.test');
  const filename = `pool/main/s/scap-security-guide/ssg-debian_${version}_all.deb`;
  const packages = gzipSync(
    `Package: ssg-debian\nVersion: ${version}\nArchitecture: all\nFilename: ${filename}\nSize: ${deb.length}\nSHA256: ${sha256(deb)}\n\n`,
  );
  const release = `Suite: ${DEFAULT_SSG_SUITE}\nSHA256:\n ${sha256(packages)} ${packages.length} main/binary-all/Packages.gz\n`;
  const inRelease = Buffer.from(signer.sign(release));
  const files = new Map<string, Buffer>([
    [`/debian/dists/${DEFAULT_SSG_SUITE}/InRelease`, inRelease],
    [`/debian/dists/${DEFAULT_SSG_SUITE}/main/binary-all/Packages.gz`, packages],
    [`/debian/dists/${DEFAULT_SSG_SUITE}/main/binary-all/by-hash/SHA256/${sha256(packages)}`, packages],
    [`/debian/${filename}`, deb],
  ]);
  const server = http.createServer((req, res) => {
    const body = files.get(req.url ?? '');
    res.writeHead(body ? 200 : 404, body ? { 'content-length': body.length } : {});
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    env: { HLAB_SSG_MIRROR: `http://127.0.0.1:${port}/debian`, HLAB_SSG_KEYRING: signer.keyring },
    version,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

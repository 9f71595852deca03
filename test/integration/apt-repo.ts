/**
 * A local Debian repository for VM tests: the packages steps install (newer kernel, auditd,
 * AppArmor, docker.io, cryptsetup-bin) and everything they need that the base image lacks, downloaded once by
 * the host from its own mirror into a cache outside the clone, and served on 127.0.0.1. A guest
 * reaches it as 10.0.2.2:PORT through the machine's package proxy once that entry is in its egress
 * allow list (`repo.egress`), so `apt-get update` takes ~2 s instead of ~40 s of parsing the full
 * mirror under TCG, and tests do not depend on the mirror's speed.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  createReadStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { buildImage } from '../../electron/images/builder.js';
import { ImageStore } from '../../electron/images/store.js';
import { IMAGE_DIR } from './vm-env.js';

export const REPO_PACKAGES = [
  'linux-image-cloud-amd64',
  'auditd',
  'apparmor',
  'docker.io',
  'lynis',
  'jq',
  'runsc',
  'openscap-scanner',
  'cryptsetup-bin',
];

/**
 * Packages the image already has, served anyway: the vulns bench reads an update's changelog from
 * the candidate .deb (libexpat1 for a package row, linux-cpupower for the kernel's).
 */
export const REPO_EXTRA = ['libexpat1', 'linux-cpupower'];

function closure(roots: string[], have: Set<string>): string[] {
  const out = execFileSync(
    'apt-cache',
    [
      'depends',
      '--recurse',
      '--no-recommends',
      '--no-suggests',
      '--no-conflicts',
      '--no-breaks',
      '--no-replaces',
      '--no-enhances',
      ...roots,
    ],
    { encoding: 'utf8', maxBuffer: 64 << 20 },
  );
  const names = new Set(
    out
      .split('\n')
      .filter((l) => l && !l.startsWith(' ') && !l.startsWith('<'))
      .map((l) => l.trim()),
  );
  return [...names].filter((n) => !have.has(n)).sort();
}

function packagesIndex(dir: string): string {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.deb'))
    .sort()
    .map((f) => {
      const file = path.join(dir, f);
      const control = execFileSync('dpkg-deb', ['-f', file], { encoding: 'utf8' }).trimEnd();
      const sha256 = createHash('sha256').update(readFileSync(file)).digest('hex');
      return `${control}\nFilename: ./${f}\nSize: ${statSync(file).size}\nSHA256: ${sha256}\n`;
    })
    .join('\n');
}

/**
 * Builds (or reuses) the cached repository: what the packages need beyond what the base image
 * (a built one: its manifest lists its packages) already has; keyed by that image and the list.
 */
export function ensureRepo(image = 'debian-12'): string {
  const manifest = JSON.parse(readFileSync(path.join(IMAGE_DIR, image, 'manifest.json'), 'utf8')) as {
    sha256: string;
    packages: string[];
  };
  const key = createHash('sha256')
    .update(manifest.sha256 + REPO_PACKAGES.join(' ') + REPO_EXTRA.join(' '))
    .digest('hex')
    .slice(0, 16);
  const dir = path.join(path.dirname(IMAGE_DIR), 'apt-repo', key);
  if (existsSync(path.join(dir, 'Packages'))) return dir;
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const have = new Set(manifest.packages.map((p) => p.split('=')[0] as string));
  aptDownload([...closure(REPO_PACKAGES, have), ...REPO_EXTRA], tmp);
  writeFileSync(path.join(tmp, 'Packages'), packagesIndex(tmp));
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return dir;
}

/**
 * The repository of a library image, building that image first when the cache has none: the
 * repository is keyed by the image's manifest, and a slow-tier file may be the first to need
 * either on a fresh machine (its machine is made later, under the egress it needs).
 */
export async function ensureImageRepo(image = 'debian-12'): Promise<string> {
  await buildImage(new ImageStore(IMAGE_DIR), image);
  return ensureRepo(image);
}

export interface RepoServer {
  port: number;
  /** The folder it serves (the .debs and their Packages index). */
  dir: string;
  /** The apt source line as the guest sees it. */
  sourceLine: string;
  /** The egress allow-list entry a filtered machine needs to reach it. */
  egress: string;
  close(): Promise<void>;
}

/** Downloads .deb files from the host's mirror into `cwd`; stale package lists are refreshed once. */
export function aptDownload(names: string[], cwd: string): void {
  const get = () =>
    execFileSync('apt-get', ['download', '-q', '-o', 'APT::Sandbox::User=root', ...names], {
      cwd,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  try {
    get();
  } catch {
    execFileSync('apt-get', ['update', '-q'], { stdio: 'ignore' });
    get();
  }
}

export async function serveRepo(dir: string): Promise<RepoServer> {
  const server = http.createServer((req, res) => {
    const name = path.basename(decodeURIComponent((req.url ?? '/').split('?')[0] as string));
    const file = path.join(dir, name);
    if (!name || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-length': statSync(file).size });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    dir,
    sourceLine: `deb [trusted=yes] http://10.0.2.2:${port}/ ./`,
    egress: `10.0.2.2:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Points the guest's apt at the local repository only (run before the snapshot a test restores to). */
export const useRepoScript = (r: RepoServer) =>
  [
    'set -e',
    'mkdir -p /etc/apt/hlab-disabled',
    'for f in /etc/apt/sources.list /etc/apt/sources.list.d/*; do [ -f "$f" ] && mv "$f" /etc/apt/hlab-disabled/ || true; done',
    `echo '${r.sourceLine}' > /etc/apt/sources.list.d/hlab-local.list`,
  ].join('\n');

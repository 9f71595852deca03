/**
 * The SCAP Security Guide content for Debian 12 (package ssg-debian). Debian 12's own ssg-debian
 * (0.1.65) has only Debian 10/11 datastreams; the newer suite publishes 0.1.76 with
 * ssg-debian12-ds.xml, architecture all. The host downloads that one .deb from the Debian mirror
 * (no apt sources change anywhere), checks it against the suite's signed index, and keeps it in the
 * image cache by version, so benches never download it twice.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { HlabError } from '../../shared/errors.js';
import { controlFields } from './deb-control.js';
import { which } from '../platform/which.js';
import { writeFileAtomic } from '../platform/atomic-write.js';

export const SSG_PACKAGE = 'ssg-debian';
export const DEFAULT_SSG_MIRROR = 'http://deb.debian.org/debian';
export const DEFAULT_SSG_SUITE = 'trixie';
const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
/** How long a cached .deb is used without asking the mirror whether a newer one exists. */
const RECHECK_MS = 24 * 3600_000;

export interface SsgContent {
  /** The cached .deb on the host. */
  file: string;
  version: string;
  sha256: string;
  /** Where it came from (mirror URL of the .deb). */
  source: string;
  /**
   * verified: InRelease signed by Debian's keyring (gpgv), the index matches what gpgv verified, the
   * .deb matches the index. unchecked: no gpgv/keyring on this host and the user allowed that
   * (HLAB_SSG_UNSIGNED=1). 'index-mismatch' is only in stamps written before it became a failure.
   */
  signature: 'verified' | 'unchecked' | 'index-mismatch';
}

export interface SsgFetchOptions {
  cacheDir: string;
  mirror?: string;
  suite?: string;
  signal?: AbortSignal;
  log?: (text: string) => void;
  fetchImpl?: typeof fetch;
  now?: () => number;
  /** Debian's archive keyring (InRelease is checked with gpgv). */
  keyring?: string;
  /** Use content whose InRelease this host cannot check (no gpgv or keyring): only when the user says so. */
  allowUnsigned?: boolean;
}

interface Stamp extends Omit<SsgContent, 'file'> {
  checkedAt: number;
}

export function ssgDir(cacheDir: string): string {
  return path.join(cacheDir, 'ssg');
}

/** The Packages stanza of one package in a Packages file (the newest version when several). */
export function packageStanza(
  index: string,
  name: string,
): { version: string; filename: string; sha256: string } | undefined {
  const found = index
    .split(/\n\n+/)
    .map((stanza) => {
      const field = controlFields(stanza);
      return {
        pkg: field.get('Package'),
        version: field.get('Version'),
        filename: field.get('Filename'),
        sha256: field.get('SHA256'),
      };
    })
    .filter((s) => s.pkg === name && s.version && s.filename && s.sha256);
  const last = found.at(-1);
  return last ? { version: last.version!, filename: last.filename!, sha256: last.sha256! } : undefined;
}

/** The SHA256 a Release/InRelease file names for one index path. */
export function releaseHash(release: string, indexPath: string): string | undefined {
  const sha = release.split(/^SHA256:\s*$/m)[1] ?? '';
  for (const line of sha.split('\n')) {
    const m = /^\s+([0-9a-f]{64})\s+\d+\s+(\S+)$/.exec(line);
    if (!m) {
      if (line && !line.startsWith(' ')) break;
      continue;
    }
    if (m[2] === indexPath) return m[1];
  }
  return undefined;
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** An index or a .deb from the mirror: more than this is not read. */
const DOWNLOAD_MAX = 256 << 20;
/** What a Packages.gz may expand to (bookworm's binary-all: 22 MB). */
const INDEX_TEXT_MAX = 256 << 20;
const SIGNED_HEAD = '-----BEGIN PGP SIGNED MESSAGE-----';
const SIGNATURE_TAIL = '-----END PGP SIGNATURE-----';

/**
 * The text gpgv verified, and nothing else: gpgv ignores unsigned text around a clear-signed
 * message and still exits 0, so the Release fields are read from its `--output`, and a file with
 * text outside the signed block is refused as apt refuses it. Undefined when this host cannot
 * check (no gpgv or no keyring). InRelease goes to gpgv on stdin: no file in a shared /tmp.
 */
export function verifiedRelease(inRelease: Buffer, keyring: string, where: string): string | undefined {
  if (!existsSync(keyring) || !which('gpgv')) return undefined;
  const text = inRelease.toString('utf8');
  if (
    !text.startsWith(SIGNED_HEAD) ||
    !text.trimEnd().endsWith(SIGNATURE_TAIL) ||
    text.indexOf(SIGNED_HEAD, 1) >= 0
  )
    throw new HlabError('command-failed', `${where} has text outside its signed block; not used.`);
  try {
    return execFileSync('gpgv', ['--keyring', keyring, '--output', '-', '-'], {
      input: inRelease,
      stdio: ['pipe', 'pipe', 'ignore'],
      maxBuffer: 16 << 20,
    }).toString('utf8');
  } catch {
    throw new HlabError('command-failed', `${where} did not verify with ${keyring}; not used.`);
  }
}

function cached(dir: string): Stamp | undefined {
  const stamp = path.join(dir, 'current.json');
  if (!existsSync(stamp)) return undefined;
  try {
    const s = JSON.parse(readFileSync(stamp, 'utf8')) as Stamp;
    const file = path.join(dir, debName(s.version));
    return existsSync(file) && sha256(readFileSync(file)) === s.sha256 ? s : undefined;
  } catch {
    return undefined;
  }
}

const debName = (version: string) => `${SSG_PACKAGE}_${version.replace(/[^A-Za-z0-9.+~-]/g, '_')}_all.deb`;

export async function obtainSsgContent(o: SsgFetchOptions): Promise<SsgContent> {
  const dir = ssgDir(o.cacheDir);
  const now = (o.now ?? Date.now)();
  const stamp = cached(dir);
  // What an earlier run kept counts only as checked as this run demands.
  const have =
    stamp && (stamp.signature === 'verified' || (o.allowUnsigned && stamp.signature === 'unchecked'))
      ? stamp
      : undefined;
  const withFile = (s: Stamp): SsgContent => {
    const { checkedAt: _checked, ...rest } = s;
    return { ...rest, file: path.join(dir, debName(s.version)) };
  };
  if (have && now - have.checkedAt < RECHECK_MS) return withFile(have);
  const mirror = (o.mirror ?? DEFAULT_SSG_MIRROR).replace(/\/+$/, '');
  const suite = o.suite ?? DEFAULT_SSG_SUITE;
  const get = async (url: string): Promise<Buffer> => {
    const res = await (o.fetchImpl ?? fetch)(url, { signal: o.signal ?? null });
    if (!res.ok) throw new HlabError('unavailable', `${url} answered ${res.status}.`);
    const size = Number(res.headers.get('content-length') ?? 0);
    if (size > DOWNLOAD_MAX)
      throw new HlabError('command-failed', `${url} is over ${DOWNLOAD_MAX >> 20} MiB; not read.`);
    const body = Buffer.from(await res.arrayBuffer());
    if (body.length > DOWNLOAD_MAX)
      throw new HlabError('command-failed', `${url} is over ${DOWNLOAD_MAX >> 20} MiB; not used.`);
    return body;
  };
  try {
    const inReleaseUrl = `${mirror}/dists/${suite}/InRelease`;
    const inRelease = await get(inReleaseUrl);
    const verified = verifiedRelease(inRelease, o.keyring ?? KEYRING, inReleaseUrl);
    if (verified === undefined && !o.allowUnsigned)
      throw new HlabError(
        'command-failed',
        `Cannot check ${inReleaseUrl}: this host has no gpgv or no Debian archive keyring (${o.keyring ?? KEYRING}). Install gpgv and debian-archive-keyring, or set HLAB_SSG_UNSIGNED=1 to use unchecked content.`,
      );
    const signature: SsgContent['signature'] = verified === undefined ? 'unchecked' : 'verified';
    const indexPath = 'main/binary-all/Packages.gz';
    const want = releaseHash(verified ?? inRelease.toString('utf8'), indexPath);
    if (!want) throw new HlabError('command-failed', `${inReleaseUrl} names no ${indexPath}; not used.`);
    // The index by its hash first (what apt does with Acquire-By-Hash), then by name.
    const byHash = await get(`${mirror}/dists/${suite}/main/binary-all/by-hash/SHA256/${want}`).catch(
      () => undefined,
    );
    const gz =
      byHash && sha256(byHash) === want ? byHash : await get(`${mirror}/dists/${suite}/${indexPath}`);
    if (want !== sha256(gz))
      throw new HlabError(
        'command-failed',
        `${mirror}/dists/${suite}/${indexPath} is not the index its InRelease names (a mirror mid-sync, or tampering); not used. Try again later or set HLAB_SSG_MIRROR.`,
      );
    let index: string;
    try {
      index = gunzipSync(gz, { maxOutputLength: INDEX_TEXT_MAX }).toString('utf8');
    } catch {
      throw new HlabError(
        'command-failed',
        `${mirror}/dists/${suite}/${indexPath} does not unpack within ${INDEX_TEXT_MAX >> 20} MiB; not used.`,
      );
    }
    const stanza = packageStanza(index, SSG_PACKAGE);
    if (!stanza)
      throw new HlabError(
        'not-found',
        `${SSG_PACKAGE} is not in ${mirror} ${suite} (main, architecture all).`,
      );
    const source = `${mirror}/${stanza.filename}`;
    const stamp: Stamp = {
      version: stanza.version,
      sha256: stanza.sha256,
      source,
      signature,
      checkedAt: now,
    };
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, debName(stanza.version));
    if (!(existsSync(file) && sha256(readFileSync(file)) === stanza.sha256)) {
      o.log?.(`downloading ${source}\n`);
      const deb = await get(source);
      if (sha256(deb) !== stanza.sha256)
        throw new HlabError(
          'command-failed',
          `${source} does not match the SHA256 its index names; not used.`,
        );
      writeFileAtomic(file, deb);
    }
    writeFileAtomic(path.join(dir, 'current.json'), `${JSON.stringify(stamp, null, 1)}\n`);
    return withFile(stamp);
  } catch (err) {
    // Offline later on: the version cached earlier still serves, and says how old its check is.
    if (have && !(err instanceof HlabError && err.code === 'command-failed')) {
      o.log?.(
        `${SSG_PACKAGE}: mirror not reachable (${(err as Error).message}); using cached ${have.version}\n`,
      );
      return withFile(have);
    }
    if (err instanceof HlabError) throw err;
    throw new HlabError(
      'unavailable',
      `Cannot fetch ${SSG_PACKAGE} from ${mirror} (${suite}): ${(err as Error).message}. Set HLAB_SSG_MIRROR to a Debian mirror this machine reaches.`,
    );
  }
}

/** Cached versions (for doctor-like listings and tests). */
export function cachedSsgVersions(cacheDir: string): string[] {
  const dir = ssgDir(cacheDir);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('_all.deb') && statSync(path.join(dir, f)).size > 0)
    .map((f) => f.slice(SSG_PACKAGE.length + 1, -'_all.deb'.length));
}

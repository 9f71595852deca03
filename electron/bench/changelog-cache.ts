/**
 * Changelogs of candidate .debs, kept on the host by package, version and architecture (the
 * archive never reuses that triple for different contents), with the .deb's SHA-256 they came from.
 * A .deb that ships no changelog is remembered too, so it is not downloaded again either.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface CachedChangelog {
  package: string;
  version: string;
  arch: string;
  sha256: string;
  /** changelog(.Debian).gz as shipped; absent when the .deb has none of its own. */
  changelog?: Buffer;
}

const safe = (s: string) => s.replace(/[^A-Za-z0-9.+~-]/g, '_');

export class ChangelogCache {
  constructor(private readonly dir: string) {}

  private base(pkg: string, version: string, arch: string): string {
    return path.join(this.dir, `${safe(pkg)}_${safe(version)}_${safe(arch)}`);
  }

  get(pkg: string, version: string, arch: string): CachedChangelog | undefined {
    const base = this.base(pkg, version, arch);
    try {
      const meta = JSON.parse(readFileSync(`${base}.json`, 'utf8')) as {
        sha256?: unknown;
        changelog?: unknown;
      };
      if (typeof meta.sha256 !== 'string') return undefined;
      const entry: CachedChangelog = { package: pkg, version, arch, sha256: meta.sha256 };
      if (meta.changelog === true) {
        if (!existsSync(`${base}.changelog.gz`)) return undefined;
        entry.changelog = readFileSync(`${base}.changelog.gz`);
      }
      return entry;
    } catch {
      return undefined; // absent or torn: read again from the mirror
    }
  }

  put(e: CachedChangelog): void {
    mkdirSync(this.dir, { recursive: true });
    const base = this.base(e.package, e.version, e.arch);
    if (e.changelog) {
      writeFileSync(`${base}.changelog.gz.tmp`, e.changelog);
      renameSync(`${base}.changelog.gz.tmp`, `${base}.changelog.gz`);
    }
    writeFileSync(`${base}.json.tmp`, `${JSON.stringify({ sha256: e.sha256, changelog: !!e.changelog })}\n`);
    renameSync(`${base}.json.tmp`, `${base}.json`);
  }
}

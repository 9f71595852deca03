/**
 * Changelogs of candidate .debs kept on the host, one folder per machine, by the .deb's SHA-256 (as
 * the machine's apt index names it). A changelog is read inside the guest, so it is that guest's
 * word: it may stand in that machine's own later reports, never in another machine's. A .deb that
 * ships no changelog is remembered too, so it is not downloaded again either.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface CachedChangelog {
  package: string;
  version: string;
  sha256: string;
  /** changelog(.Debian).gz as shipped; absent when the .deb has none of its own. */
  changelog?: Buffer;
}

export const SHA256_HEX = /^[0-9a-f]{64}$/;

export class ChangelogCache {
  constructor(private readonly dir: string) {}

  get(pkg: string, version: string, sha256: string | undefined): CachedChangelog | undefined {
    if (!sha256 || !SHA256_HEX.test(sha256)) return undefined;
    const base = path.join(this.dir, sha256);
    try {
      const meta = JSON.parse(readFileSync(`${base}.json`, 'utf8')) as { changelog?: unknown };
      const entry: CachedChangelog = { package: pkg, version, sha256 };
      if (meta.changelog === true) {
        if (!existsSync(`${base}.changelog.gz`)) return undefined;
        entry.changelog = readFileSync(`${base}.changelog.gz`);
      }
      return entry;
    } catch {
      return undefined; // absent or torn: read again in the guest
    }
  }

  put(e: CachedChangelog): void {
    if (!SHA256_HEX.test(e.sha256)) return;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const base = path.join(this.dir, e.sha256);
    if (e.changelog) {
      writeFileSync(`${base}.changelog.gz.tmp`, e.changelog);
      renameSync(`${base}.changelog.gz.tmp`, `${base}.changelog.gz`);
    }
    writeFileSync(`${base}.json.tmp`, `${JSON.stringify({ changelog: !!e.changelog })}\n`);
    renameSync(`${base}.json.tmp`, `${base}.json`);
  }
}

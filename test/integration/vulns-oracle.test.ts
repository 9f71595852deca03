/**
 * The changelog slicing of the vulns bench against Debian's own tool for it: apt-listchanges
 * (run from its .deb, as shipped) on real candidate .debs from the mirror, the kernel's changelog
 * (linux-cpupower, built from the same source as the signed image) and expat's. The ids must be the
 * same set; on amd64 ours leaves out only items marked for other architectures.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aptDownload } from './apt-repo.js';
import { cvesBetween, parseChangelog } from '../../electron/bench/changelog.js';

const PYTHON = '/usr/bin/python3';
let dir: string;

const deb = (name: string) =>
  path.join(
    dir,
    readdirSync(dir).find((f) => f.startsWith(`${name}_`))!,
  );

function changelogOf(file: string): string {
  const list = execFileSync('dpkg-deb', ['-c', file], { encoding: 'utf8' });
  const member = /\.\/usr\/share\/doc\/[^/\s]+\/changelog\.Debian\.gz/.exec(list)?.[0];
  if (!member) throw new Error(`${file} has no changelog.Debian.gz`);
  const tar = execFileSync('dpkg-deb', ['--fsys-tarfile', file], { maxBuffer: 256 << 20 });
  return gunzipSync(execFileSync('tar', ['-xO', member], { input: tar, maxBuffer: 256 << 20 })).toString(
    'utf8',
  );
}

/** apt-listchanges 3.24's ids for one .deb since a version (it does not filter by architecture). */
function listchanges(file: string, since: string): Set<string> {
  const root = path.join(dir, 'alc');
  const out = execFileSync(
    PYTHON,
    [
      path.join(root, 'usr/bin/apt-listchanges'),
      '-f',
      'text',
      '--which=changelogs',
      `--since=${since}`,
      file,
    ],
    // It finds its modules beside its script or in /usr/share/apt-listchanges; PYTHONPATH points there.
    {
      encoding: 'utf8',
      env: { ...process.env, PYTHONPATH: path.join(root, 'usr/share/apt-listchanges') },
      maxBuffer: 64 << 20,
    },
  );
  return new Set(out.match(/CVE-\d{4}-\d{4,}/g) ?? []);
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'hlab-vulns-oracle-'));
  aptDownload(['apt-listchanges', 'linux-cpupower', 'libexpat1'], dir);
  execFileSync('dpkg-deb', ['-x', deb('apt-listchanges'), path.join(dir, 'alc')]);
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('vulns changelog slicing agrees with apt-listchanges', () => {
  it('has python3-apt, which apt-listchanges imports', () => {
    expect(existsSync(PYTHON)).toBe(true);
    execFileSync(PYTHON, ['-c', 'import apt_pkg']);
  });

  it('the kernel: the same ids as apt-listchanges, minus only the items for other architectures', () => {
    const file = deb('linux-cpupower');
    const text = changelogOf(file);
    const entries = parseChangelog(text);
    const linux = entries.filter((e) => e.source === 'linux');
    // A running kernel some twenty uploads behind the candidate.
    const since = linux[Math.min(20, linux.length - 1)]!.version;
    const top = linux[0]!.version;
    const theirs = listchanges(file, since);
    const all = cvesBetween(entries, since, top, { source: 'linux' });
    const amd64 = cvesBetween(entries, since, top, { source: 'linux', arch: 'amd64' });
    expect(all.ids.length).toBeGreaterThan(100);
    expect(new Set(all.ids)).toEqual(theirs);
    const left = all.ids.filter((id) => !amd64.ids.includes(id));
    expect(amd64.ids.every((id) => theirs.has(id))).toBe(true);
    expect(left.length).toBeGreaterThan(0);
    // Every id left out is named in the slice only on lines of items marked for another architecture.
    for (const id of left.slice(0, 50)) {
      const lines = text.split('\n').filter((l) => l.includes(id));
      expect(
        lines.some((l) => /^\s*[-*+]\s+\[(x86|amd64)/.test(l)),
        id,
      ).toBe(false);
    }
  });

  it('a library: expat from 2.5.0-1 to the candidate', () => {
    const file = deb('libexpat1');
    const entries = parseChangelog(changelogOf(file));
    const theirs = listchanges(file, '2.5.0-1');
    const ours = cvesBetween(entries, '2.5.0-1', entries[0]!.version, { arch: 'amd64' });
    expect(ours.ids.length).toBeGreaterThan(0);
    expect(new Set(ours.ids)).toEqual(theirs);
  });
});

/**
 * The vulnerability view's pure parts: Debian version order (held to dpkg itself), changelog
 * slicing with the kernel's per-architecture items, the guest inventory as bookworm prints it
 * (recorded from a real VM with one package set back), and the bench built from them with the
 * changelog cache, so a second run downloads nothing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  CHANGELOG_MAX_LINES,
  cvesBetween,
  entryCves,
  globMatches,
  parseChangelog,
} from '../../electron/bench/changelog.js';
import { ChangelogCache } from '../../electron/bench/changelog-cache.js';
import { compareDebVersions } from '../../electron/bench/deb-version.js';
import {
  acceptedFetches,
  fetchScript,
  parseFetch,
  parseInventory,
  parseStanzas,
  plan,
  runVulns,
  runningKernelVersion,
} from '../../electron/bench/vulns.js';
import type { SshExecutor } from '../../electron/ssh/executor.js';

const FIXTURE = readFileSync(
  path.join(__dirname, '..', 'fixtures', 'vulns', 'inventory-bookworm.txt'),
  'utf8',
);

const KERNEL = `linux-signed-amd64 (6.1.192+2) bookworm-security; urgency=high

  * Sign kernel from linux 6.1.192-2

 -- Debian Kernel Team <debian-kernel@lists.debian.org>  Sat, 01 Nov 2026 10:00:00 +0000

linux (6.1.192-2) bookworm-security; urgency=high

  * New upstream stable update:
    https://www.kernel.org/pub/linux/kernel/v6.x/ChangeLog-6.1.191
    - io_uring/io-wq: don't lose the signal that ends work (CVE-2026-99228)
    - apparmor: fix out-of-bounds write when null terminating a label vec
      (CVE-2026-89761)
    - [arm*] serial: imx: serialize imx_uart_ports[] lifetime (CVE-2026-89740)
    - [x86] kvm: fix a thing (CVE-2026-11111)
    - [arm64,powerpc*] mm: other arches only
      (CVE-2026-22222)
  * [powerpc*] a top-level item for another arch (CVE-2026-33333)
    - nested under it (CVE-2026-44444)
  * back to every arch (CVE-2026-55555)

 -- Debian Kernel Team <debian-kernel@lists.debian.org>  Fri, 31 Oct 2026 10:00:00 +0000

linux (6.1.176-1) bookworm; urgency=medium

  * New upstream stable update (CVE-2026-00001)

 -- Debian Kernel Team <debian-kernel@lists.debian.org>  Fri, 01 Aug 2026 10:00:00 +0000
`;

describe('Debian version order', () => {
  it('agrees with dpkg --compare-versions on every pair from a real inventory and the tricky cases', () => {
    const installed = [...parseInventory(FIXTURE).installed.values()].map((v) => v.version);
    const tricky = [
      '1.0',
      '1.0-1',
      '1.0~rc1',
      '1.0~rc1-1',
      '1.0+b1',
      '1:0.9',
      '0:1.0',
      '1.0a',
      '1.0-1~deb12u1',
      '1.0-1+deb12u1',
      '1.0-1+deb12u10',
      '1.0-1+deb12u2',
      '6.1.192-2',
      '6.1.192+2',
      '6.1.170-3',
      '2.5.0-1',
      '2.5.0-1+deb12u5',
      '1.10',
      '1.9',
      '1.00',
      'a',
      '~',
      '~~',
      '~~a',
      '1.0.',
    ];
    const pool = [...new Set([...installed.slice(0, 40), ...tricky])];
    const pairs: Array<[string, string]> = [];
    for (let i = 0; i < pool.length; i++)
      for (let j = i; j < pool.length; j += 3) pairs.push([pool[i]!, pool[j]!]);
    const script =
      'while read -r a b; do if dpkg --compare-versions "$a" lt "$b"; then echo -1; elif dpkg --compare-versions "$a" eq "$b"; then echo 0; else echo 1; fi; done';
    const dpkg = execFileSync('sh', ['-c', script], {
      input: pairs.map(([a, b]) => `${a} ${b}`).join('\n') + '\n',
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'ignore'],
    })
      .trim()
      .split('\n')
      .map(Number);
    expect(dpkg).toHaveLength(pairs.length);
    const ours = pairs.map(([a, b]) => Math.sign(compareDebVersions(a, b)));
    const wrong = pairs.flatMap(([a, b], k) =>
      ours[k] === dpkg[k] ? [] : [`${a} vs ${b}: ours ${ours[k]}, dpkg ${dpkg[k]}`],
    );
    expect(wrong).toEqual([]);
    expect(pairs.length).toBeGreaterThan(300);
  });
});

describe('changelog slicing', () => {
  const entries = parseChangelog(KERNEL);

  it('reads entries with source, version and suite', () => {
    expect(entries.map((e) => `${e.source} ${e.version} ${e.suite}`)).toEqual([
      'linux-signed-amd64 6.1.192+2 bookworm-security',
      'linux 6.1.192-2 bookworm-security',
      'linux 6.1.176-1 bookworm',
    ]);
  });

  it('counts items for amd64 and x86, wrapped ids too, and leaves other architectures out', () => {
    expect(entryCves(entries[1]!, 'amd64').sort()).toEqual([
      'CVE-2026-11111',
      'CVE-2026-55555',
      'CVE-2026-89761',
      'CVE-2026-99228',
    ]);
    expect(entryCves(entries[1]!).length).toBe(8);
    expect(entryCves(entries[1]!, 'arm64')).toContain('CVE-2026-89740');
  });

  it('matches architecture globs literally: 70 stars cost nothing, a stray bracket throws nothing (V2)', () => {
    expect(globMatches('x86*', 'x86_64')).toBe(true);
    expect(globMatches('*64', 'amd64')).toBe(true);
    expect(globMatches('a*d*4', 'amd64')).toBe(true);
    expect(globMatches('arm*', 'amd64')).toBe(false);
    expect(globMatches('*x*x*', 'x')).toBe(false);
    expect(globMatches('amd64', 'amd64')).toBe(true);
    // Before the fix, 70 stars became /^.*.*….*b$/ and blocked the event loop for 8 s.
    const body = (prefix: string) => ({
      source: 'linux',
      version: '2',
      suite: 'bookworm',
      body: [`  - [${prefix}] Fix CVE-2026-00002`, '  * Fix CVE-2026-00003'],
    });
    const t = Date.now();
    expect(entryCves(body(`${'*'.repeat(70)}b`), 'amd64')).toEqual(['CVE-2026-00003']);
    expect(entryCves(body(`${'*'.repeat(5000)}b`), 'amd64')).toContain('CVE-2026-00003');
    expect(Date.now() - t).toBeLessThan(1000);
    // Not an architecture list: the item counts; nothing throws.
    expect(entryCves(body('x['), 'amd64').sort()).toEqual(['CVE-2026-00002', 'CVE-2026-00003']);
    expect(entryCves(body('x86*'), 'amd64').sort()).toEqual(['CVE-2026-00002', 'CVE-2026-00003']);
  });

  it('takes the entries after the installed version up to the candidate, for one source', () => {
    expect(cvesBetween(entries, '6.1.176-1', '6.1.192-2', { source: 'linux', arch: 'amd64' })).toEqual({
      ids: ['CVE-2026-11111', 'CVE-2026-55555', 'CVE-2026-89761', 'CVE-2026-99228'],
      entries: 1,
    });
    expect(cvesBetween(entries, '6.1.170-3', '6.1.192-2', { source: 'linux' }).ids).toContain(
      'CVE-2026-00001',
    );
    expect(cvesBetween(entries, '6.1.192-2', '6.1.192-2', { source: 'linux' })).toEqual({
      ids: [],
      entries: 0,
    });
  });

  it('reads a real Debian changelog of this host', () => {
    const file = '/usr/share/doc/openssh-client/changelog.Debian.gz';
    if (!existsSync(file)) return;
    const text = execFileSync('zcat', [file], { encoding: 'utf8' });
    const all = parseChangelog(text);
    expect(all.length).toBeGreaterThan(20);
    expect(all.every((e) => e.source === 'openssh')).toBe(true);
    // Every id in the text lies in some entry's body.
    const everywhere = new Set(text.match(/CVE-\d{4}-\d{4,}/g));
    const inEntries = new Set(all.flatMap((e) => entryCves(e)));
    expect([...everywhere].filter((id) => !inEntries.has(id))).toEqual([]);
  });
});

describe('the guest inventory', () => {
  const inv = parseInventory(FIXTURE);

  it('reads stanza fields by line start: a continuation line or a field inside a value is no field', () => {
    const [s] = parseStanzas(
      'Package: p\nVersion: 1\nDescription: x\rSHA256: ' +
        'e'.repeat(64) +
        '\n SHA256: ' +
        'f'.repeat(64) +
        '\nSHA256: ' +
        'a'.repeat(64) +
        '\nSHA256: ' +
        'b'.repeat(64) +
        '\n',
    );
    expect(s).toMatchObject({ package: 'p', version: '1', sha256: 'a'.repeat(64) });
  });

  it('parses what bookworm prints', () => {
    expect(inv.arch).toBe('amd64');
    expect(inv.release).toBe('6.1.0-47-cloud-amd64');
    expect(runningKernelVersion(inv.unameVersion)).toBe('6.1.170-3');
    expect(inv.installed.get('libexpat1')).toEqual({
      version: '2.5.0-1',
      source: 'expat',
      sourceVersion: '2.5.0-1',
    });
    expect(inv.pending).toEqual([{ name: 'libexpat1', from: '2.5.0-1', to: '2.5.0-1+deb12u5' }]);
    expect(inv.candidates[0]).toMatchObject({ package: 'libexpat1', source: 'expat', size: 107940 });
    expect(inv.kernels.length).toBeGreaterThan(5);
    expect(inv.cpupower.length).toBeGreaterThan(0);
  });

  it('plans one changelog per source and the kernel from linux-cpupower first', () => {
    const p = plan(inv);
    expect(p.groups).toEqual([
      {
        key: 'expat=2.5.0-1+deb12u5',
        source: 'expat',
        binaries: ['libexpat1'],
        installed: '2.5.0-1',
        candidate: '2.5.0-1+deb12u5',
      },
    ]);
    expect(p.kernel).toMatchObject({
      release: '6.1.0-47-cloud-amd64',
      running: '6.1.170-3',
      newest: { package: 'linux-image-6.1.0-56-cloud-amd64', version: '6.1.192-2' },
    });
    expect(p.wants.at(-1)).toEqual({
      key: 'linux=6.1.192-2',
      tries: [
        { package: 'linux-cpupower', version: '6.1.192-2' },
        { package: 'linux-image-6.1.0-56-cloud-amd64', version: '6.1.192-2' },
      ],
    });
  });

  it('puts nothing unsafe into the fetch script and reads its answers back', () => {
    const s = fetchScript([
      {
        key: 'x',
        tries: [
          { package: 'a;rm -rf /', version: '1' },
          { package: 'ok', version: '1:2.0-1' },
        ],
      },
    ]);
    expect(s).not.toContain('rm -rf /');
    expect(s).toContain('try ok 1:2.0-1 || true');
    const gz = gzipSync('x (1) unstable; urgency=low\n');
    const out = parseFetch(
      [
        '#hlab-download-failed a 1 E: no such version',
        `#hlab-deb ok 1:2.0-1 ${'a'.repeat(64)} ./usr/share/doc/ok/changelog.Debian.gz`,
        gz.toString('base64'),
        '#hlab-end',
        `#hlab-no-changelog b 2 ${'b'.repeat(64)}`,
      ].join('\n'),
    );
    expect(out.map((f) => [f.package, f.failed ?? '', f.changelog ? 'log' : ''])).toEqual([
      ['a', '', ''].map((v, i) => (i === 1 ? 'E: no such version' : v)),
      ['ok', '', 'log'],
      ['b', '', ''],
    ]);
    expect(out[1]!.changelog).toEqual(gz);
  });
});

describe('the vulns bench', () => {
  const expatLog = gzipSync(
    [
      'expat (2.5.0-1+deb12u5) bookworm-security; urgency=medium',
      '',
      '  * Fix CVE-2026-24515 and CVE-2026-25210.',
      '',
      ' -- M <m@example.org>  Mon, 01 Jun 2026 00:00:00 +0000',
      '',
      'expat (2.5.0-1+deb12u1) bookworm; urgency=medium',
      '',
      '  * Fix CVE-2023-52425.',
      '',
      ' -- M <m@example.org>  Mon, 01 Jun 2024 00:00:00 +0000',
      '',
      'expat (2.5.0-1) unstable; urgency=medium',
      '',
      '  * Fix CVE-2022-00001 (already installed).',
      '',
      ' -- M <m@example.org>  Mon, 01 Jun 2022 00:00:00 +0000',
      '',
    ].join('\n'),
  );
  const kernelLog = gzipSync(KERNEL.replace(/^linux-signed[^]*?\n\nlinux \(/, 'linux ('));

  // The SHA-256 of these .debs in the recorded apt index.
  const EXPAT_SHA = 'cae5ded666d8573dd33060bc66fbac21eea8b101a6b56e2af8bd590fcfa65d79';
  const CPUPOWER_SHA = 'e6bc65f990db3a7ddbd7c61a39a0d4ee6d711a4bd4f4c10dee0da182c4b1d862';

  function fakeGuest(extra: string[] = []) {
    const scripts: string[] = [];
    const ex = {
      runScript: async (script: string) => {
        scripts.push(script);
        if (script.includes('#hlab-installed')) return { exitCode: 0, stdout: FIXTURE, stderr: '' };
        const out = [
          `#hlab-deb libexpat1 2.5.0-1+deb12u5 ${EXPAT_SHA} ./usr/share/doc/libexpat1/changelog.Debian.gz`,
          expatLog.toString('base64'),
          '#hlab-end',
          `#hlab-deb linux-cpupower 6.1.192-2 ${CPUPOWER_SHA} ./usr/share/doc/linux-cpupower/changelog.Debian.gz`,
          kernelLog.toString('base64'),
          '#hlab-end',
          ...extra,
        ];
        return { exitCode: 0, stdout: out.join('\n'), stderr: '' };
      },
    };
    return { ex: ex as unknown as SshExecutor, scripts };
  }

  it('scores fixable CVEs (fewer is better), the kernel and each package, and downloads each changelog once', async () => {
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'hlab-vulns-'));
    const g = fakeGuest();
    const r = await runVulns(g.ex, 'm1', { cacheDir });
    expect(r).toMatchObject({ tool: 'vulns', lowerIsBetter: true, unit: 'fixable CVEs' });
    expect(r.vulns!.kernel).toMatchObject({ running: '6.1.170-3', entries: 2 });
    expect(r.vulns!.kernel.cves).toEqual([
      'CVE-2026-00001',
      'CVE-2026-11111',
      'CVE-2026-55555',
      'CVE-2026-89761',
      'CVE-2026-99228',
    ]);
    expect(r.vulns!.packages).toEqual([
      expect.objectContaining({
        source: 'expat',
        cves: ['CVE-2023-52425', 'CVE-2026-24515', 'CVE-2026-25210'],
        entries: 2,
        changelog: { package: 'libexpat1', version: '2.5.0-1+deb12u5', sha256: EXPAT_SHA },
      }),
    ]);
    expect(r.score).toBe(8);
    expect(r.tests.map((t) => [t.id, t.result])).toEqual([
      ['kernel', 'fail'],
      ['pkg:expat', 'fail'],
    ]);
    expect(r.tests[0]!.details).toBe(
      'kernel 6.1.0-47-cloud-amd64: running 6.1.170-3, newest linux-image-6.1.0-56-cloud-amd64 6.1.192-2, 5 CVEs fixed in between',
    );
    expect(g.scripts).toHaveLength(2);

    const again = fakeGuest();
    const r2 = await runVulns(again.ex, 'm1', { cacheDir });
    expect(again.scripts).toHaveLength(1); // the inventory only: both changelogs came from the cache
    expect(r2.score).toBe(8);
  });

  it('keeps a torn cache entry from counting: it is read again', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hlab-vulns-'));
    const cache = new ChangelogCache(dir);
    const sha = 'e'.repeat(64);
    cache.put({ package: 'p', version: '1:1.0-1', sha256: sha, changelog: Buffer.from('x') });
    expect(cache.get('p', '1:1.0-1', sha)?.changelog).toEqual(Buffer.from('x'));
    writeFileSync(path.join(dir, `${sha}.json`), '{"chan');
    expect(cache.get('p', '1:1.0-1', sha)).toBeUndefined();
    // A key is a hash, nothing else: no path is built from a name the guest chose.
    expect(cache.get('p', '1', '../../etc/passwd')).toBeUndefined();
  });

  it("keeps only the changelogs it asked for, from the .deb the apt index names, and only in that machine's cache (V1)", async () => {
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'hlab-vulns-'));
    const lie = gzipSync('openssl (9.9.9-1) bookworm; urgency=low\n\n  * nothing to see\n');
    const g = fakeGuest([
      // Not asked for: a guest planting a harmless changelog for another package's update.
      `#hlab-deb libssl3 3.0.99-1 ${'a'.repeat(64)} ./usr/share/doc/libssl3/changelog.Debian.gz`,
      lie.toString('base64'),
      '#hlab-end',
    ]);
    await runVulns(g.ex, 'm1', { cacheDir });
    expect(readdirSync(path.join(cacheDir, 'm1')).sort()).toEqual(
      [EXPAT_SHA, CPUPOWER_SHA].flatMap((h) => [`${h}.changelog.gz`, `${h}.json`]).sort(),
    );
    // Another machine reads nothing that m1's guest sent: it asks its own guest.
    const other = fakeGuest();
    await runVulns(other.ex, 'm2', { cacheDir });
    expect(other.scripts).toHaveLength(2);

    const wrongDeb = acceptedFetches(
      [{ package: 'libexpat1', version: '2.5.0-1+deb12u5', sha256: 'f'.repeat(64), changelog: lie }],
      [{ key: 'expat', tries: [{ package: 'libexpat1', version: '2.5.0-1+deb12u5' }] }],
      new Map([['libexpat1=2.5.0-1+deb12u5', EXPAT_SHA]]),
    );
    expect(wrongDeb).toEqual([]);
  });

  it('survives a changelog bomb from the guest: 200 KB of gzip that expands to 200 MiB of newlines (V1)', async () => {
    // Before the fix this aborted the process with a fatal V8 error, which no test can catch.
    const bomb = gzipSync(Buffer.alloc(200 << 20, 0x0a), { level: 9 });
    expect(bomb.length).toBeLessThan(300_000);
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'hlab-vulns-'));
    const ex = {
      runScript: async (script: string) =>
        script.includes('#hlab-installed')
          ? { exitCode: 0, stdout: FIXTURE, stderr: '' }
          : {
              exitCode: 0,
              stdout: [
                `#hlab-deb libexpat1 2.5.0-1+deb12u5 ${EXPAT_SHA} ./usr/share/doc/libexpat1/changelog.Debian.gz`,
                bomb.toString('base64'),
                '#hlab-end',
              ].join('\n'),
              stderr: '',
            },
    } as unknown as SshExecutor;
    const r = await runVulns(ex, 'm1', { cacheDir });
    expect(r.vulns!.packages.find((p) => p.source === 'expat')?.note).toMatch(
      /changelog expands past 32 MiB; not read/,
    );
    // A million blank lines (inside the limit) parse in bounded time and memory.
    const t = Date.now();
    expect(parseChangelog(`x (1) unstable; urgency=low\n${'\n'.repeat(5_000_000)}`)[0]!.body.length).toBe(
      CHANGELOG_MAX_LINES - 1,
    );
    expect(Date.now() - t).toBeLessThan(10_000);
  });
});

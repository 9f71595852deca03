/**
 * The vulnerability view's pure parts: Debian version order (held to dpkg itself), changelog
 * slicing with the kernel's per-architecture items, the guest inventory as bookworm prints it
 * (recorded from a real VM with one package set back), and the bench built from them with the
 * changelog cache, so a second run downloads nothing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { cvesBetween, entryCves, parseChangelog } from '../../electron/bench/changelog.js';
import { ChangelogCache } from '../../electron/bench/changelog-cache.js';
import { compareDebVersions } from '../../electron/bench/deb-version.js';
import {
  fetchScript,
  parseFetch,
  parseInventory,
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

  function fakeGuest() {
    const scripts: string[] = [];
    const ex = {
      runScript: async (script: string) => {
        scripts.push(script);
        if (script.includes('#hlab-installed')) return { exitCode: 0, stdout: FIXTURE, stderr: '' };
        const out = [
          `#hlab-deb libexpat1 2.5.0-1+deb12u5 ${'c'.repeat(64)} ./usr/share/doc/libexpat1/changelog.Debian.gz`,
          expatLog.toString('base64'),
          '#hlab-end',
          `#hlab-deb linux-cpupower 6.1.192-2 ${'d'.repeat(64)} ./usr/share/doc/linux-cpupower/changelog.Debian.gz`,
          kernelLog.toString('base64'),
          '#hlab-end',
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
        changelog: { package: 'libexpat1', version: '2.5.0-1+deb12u5', sha256: 'c'.repeat(64) },
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
    cache.put({
      package: 'p',
      version: '1:1.0-1',
      arch: 'amd64',
      sha256: 'e'.repeat(64),
      changelog: Buffer.from('x'),
    });
    expect(cache.get('p', '1:1.0-1', 'amd64')?.changelog).toEqual(Buffer.from('x'));
    writeFileSync(path.join(dir, 'p_1_1.0-1_amd64.json'), '{"sha2');
    expect(cache.get('p', '1:1.0-1', 'amd64')).toBeUndefined();
  });
});

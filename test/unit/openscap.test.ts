/**
 * OpenSCAP bench: oscap's recorded output from a Debian 12 VM (ssg-debian 0.1.76, oscap 1.3.7),
 * the tailoring it ran, the SSG content cache against a small fake mirror, SSG claims per step,
 * and which standards a parameter's value satisfies.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { throwawaySigner, type Signer } from '../integration/gpg-signer.js';
import { compareBench, type BenchResult } from '../../shared/bench.js';
import { stepClaims } from '../../shared/claims.js';
import { formatIssue, standardVerdicts, type StepDef } from '../../shared/steps.js';
import { parseOscap, profileId, tailoringXml } from '../../electron/bench/openscap.js';
import { obtainSsgContent, packageStanza, releaseHash } from '../../electron/bench/ssg-content.js';
import { loadLibrary, loadStep } from '../../electron/steps/load.js';
import { buildEvidence, sealEvidence } from '../../electron/recipes/evidence.js';
import { toHtml } from '../../electron/recipes/html-report.js';
import { Journal } from '../../electron/engine/journal.js';
import type { RunEvent } from '../../shared/runs.js';

const recorded = readFileSync(path.join(__dirname, '..', 'fixtures', 'openscap', 'eval-claims.txt'), 'utf8');
// The fake mirror's InRelease is not signed: test the chain below the signature.
const NO_KEYRING = '/nonexistent/keyring.gpg';
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe('oscap output', () => {
  it('reads rule results (Title\\r\\t… lines), exit code, unknown rules and the XCCDF score', () => {
    const p = parseOscap(recorded);
    expect(p.rc).toBe(2);
    expect(p.version).toMatch(/oscap\) 1\.3\.7/);
    expect(p.tests).toEqual([
      { id: 'all_apparmor_profiles_enforced', title: 'Enforce all AppArmor Profiles', result: 'skip' },
      {
        id: 'sysctl_kernel_kptr_restrict',
        title: 'Restrict Exposed Kernel Pointer Addresses Access',
        result: 'fail',
      },
      { id: 'sshd_disable_root_login', title: 'Disable SSH Root Login', result: 'pass' },
    ]);
    expect(p.unknownRules).toEqual(['no_such_rule']);
    expect(p.xccdfScore).toBe('50.000000');
  });

  it('marks errors and unknown results instead of counting them as passes', () => {
    const out =
      '#hlab-oscap-rc 2\nTitle\tA\nRule\txccdf_org.ssgproject.content_rule_a\nResult\terror\n#hlab-oscap-stderr\n#hlab-oscap-score\n';
    expect(parseOscap(out).tests).toEqual([{ id: 'a', title: 'A', result: 'fail', details: 'oscap: error' }]);
  });

  it('tailors exactly the given rules, and refuses ids that could break out of the XML', () => {
    const xml = tailoringXml(['sshd_disable_root_login', 'sshd_disable_root_login', 'grub2_enable_apparmor']);
    expect(xml.match(/<xccdf:select /g)).toHaveLength(2);
    expect(xml).toContain('idref="xccdf_org.ssgproject.content_rule_grub2_enable_apparmor" selected="true"');
    expect(() => tailoringXml(['a"/><x'])).toThrow(/not an SSG rule id/);
    expect(profileId('standard')).toBe('xccdf_org.ssgproject.content_profile_standard');
    expect(() => profileId('x y')).toThrow(/not an XCCDF profile id/);
  });
});

describe('SSG content from a Debian mirror', () => {
  const deb = Buffer.from('!<arch>\nnot really a deb, but bytes with a hash\n');
  const stanza = (version: string, hash: string) =>
    `Package: ssg-debian\nVersion: ${version}\nArchitecture: all\nFilename: pool/main/s/scap-security-guide/ssg-debian_${version}_all.deb\nSHA256: ${hash}\n`;
  const mirror = (index: string, opts: { staleIndex?: boolean; debBytes?: Buffer } = {}) => {
    const gz = gzipSync(`Package: other\nVersion: 1\n\n${index}`);
    const inRelease = `Suite: stable\nSHA256:\n ${opts.staleIndex ? 'f'.repeat(64) : sha(gz)} ${gz.length} main/binary-all/Packages.gz\n`;
    const hits: string[] = [];
    const fetchImpl = (async (url: string) => {
      hits.push(url);
      const body = url.endsWith('/InRelease')
        ? Buffer.from(inRelease)
        : url.endsWith('Packages.gz')
          ? gz
          : url.endsWith('.deb')
            ? (opts.debBytes ?? deb)
            : undefined;
      return body ? new Response(body, { status: 200 }) : new Response('', { status: 404 });
    }) as unknown as typeof fetch;
    return { fetchImpl, hits };
  };

  it('downloads the .deb once, checks it against the index, and reuses the cache', async () => {
    const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'hlab-ssg-'));
    const m = mirror(stanza('0.1.76-1', sha(deb)));
    const c = await obtainSsgContent({
      cacheDir,
      mirror: 'http://mirror.test/debian',
      fetchImpl: m.fetchImpl,
      keyring: NO_KEYRING,
      allowUnsigned: true,
    });
    expect(c).toMatchObject({ version: '0.1.76-1', sha256: sha(deb) });
    expect(readFileSync(c.file)).toEqual(deb);
    expect(m.hits.filter((h) => h.endsWith('.deb'))).toHaveLength(1);
    const again = await obtainSsgContent({
      cacheDir,
      mirror: 'http://mirror.test/debian',
      fetchImpl: m.fetchImpl,
      keyring: NO_KEYRING,
      allowUnsigned: true,
    });
    expect(again.file).toBe(c.file);
    expect(m.hits.filter((h) => h.endsWith('.deb'))).toHaveLength(1);
    // A day later it asks the mirror again, but the same version is not downloaded again.
    const later = await obtainSsgContent({
      cacheDir,
      mirror: 'http://mirror.test/debian',
      fetchImpl: m.fetchImpl,
      keyring: NO_KEYRING,
      allowUnsigned: true,
      now: () => Date.now() + 2 * 24 * 3600_000,
    });
    expect(later.version).toBe('0.1.76-1');
    expect(m.hits.filter((h) => h.endsWith('.deb'))).toHaveLength(1);
    // Offline: the cached version still serves.
    const offline = (async () => {
      throw new Error('getaddrinfo ENOTFOUND');
    }) as unknown as typeof fetch;
    const o = await obtainSsgContent({
      cacheDir,
      fetchImpl: offline,
      keyring: NO_KEYRING,
      allowUnsigned: true,
      now: () => Date.now() + 9 * 24 * 3600_000,
    });
    expect(o.version).toBe('0.1.76-1');
  });

  it('refuses a .deb whose bytes do not match the index, and keeps nothing', async () => {
    const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'hlab-ssg-'));
    const m = mirror(stanza('0.1.76-1', sha(deb)), { debBytes: Buffer.from('tampered') });
    await expect(
      obtainSsgContent({ cacheDir, fetchImpl: m.fetchImpl, keyring: NO_KEYRING, allowUnsigned: true }),
    ).rejects.toThrow(/does not match the SHA256/);
    expect(existsSync(path.join(cacheDir, 'ssg', 'ssg-debian_0.1.76-1_all.deb'))).toBe(false);
  });

  it('refuses an index its InRelease does not name: the .deb is never fetched (S1)', async () => {
    const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'hlab-ssg-'));
    const m = mirror(stanza('0.1.76-1', sha(deb)), { staleIndex: true });
    await expect(
      obtainSsgContent({ cacheDir, fetchImpl: m.fetchImpl, keyring: NO_KEYRING, allowUnsigned: true }),
    ).rejects.toThrow(/is not the index its InRelease names .*not used/);
    expect(m.hits.filter((h) => h.endsWith('.deb'))).toHaveLength(0);
  });

  it('refuses content it cannot check unless the user allowed it (S1)', async () => {
    const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'hlab-ssg-'));
    const m = mirror(stanza('0.1.76-1', sha(deb)));
    await expect(obtainSsgContent({ cacheDir, fetchImpl: m.fetchImpl, keyring: NO_KEYRING })).rejects.toThrow(
      /Cannot check .*InRelease: this host has no gpgv or no Debian archive keyring.*HLAB_SSG_UNSIGNED=1/,
    );
  });

  describe('a clear-signed InRelease, checked with gpgv against a throwaway key (S1, S2)', () => {
    let signer: Signer;
    const sign = (text: string) => signer.sign(text);
    const genuine = (gz: Buffer) =>
      `Suite: stable\nSHA256:\n ${sha(gz)} ${gz.length} main/binary-all/Packages.gz\n`;

    /** A mirror whose InRelease is what `inRelease` makes of the genuine release text. */
    const signedMirror = (inRelease: (genuineText: string, evilGz: Buffer) => string) => {
      const gz = gzipSync(`Package: other\nVersion: 1\n\n${stanza('0.1.76-1', sha(deb))}`);
      const evilDeb = Buffer.from('!<arch>\nnot the real ssg-debian at all\n');
      const evilGz = gzipSync(stanza('0.1.99', sha(evilDeb)));
      const text = inRelease(genuine(gz), evilGz);
      const hits: string[] = [];
      const fetchImpl = (async (url: string) => {
        hits.push(url);
        const body = url.endsWith('/InRelease')
          ? Buffer.from(text)
          : url.includes(sha(evilGz))
            ? evilGz
            : url.endsWith('Packages.gz') || url.includes(sha(gz))
              ? gz
              : url.endsWith('0.1.99_all.deb')
                ? evilDeb
                : url.endsWith('.deb')
                  ? deb
                  : undefined;
        return body ? new Response(body, { status: 200 }) : new Response('', { status: 404 });
      }) as unknown as typeof fetch;
      return { fetchImpl, hits };
    };

    beforeAll(() => {
      signer = throwawaySigner('mirror@hlab.test');
    }, 60_000);

    it('uses what gpgv verified', async () => {
      const m = signedMirror((t) => sign(t));
      const c = await obtainSsgContent({
        cacheDir: mkdtempSync(path.join(os.tmpdir(), 'hlab-ssg-')),
        fetchImpl: m.fetchImpl,
        keyring: signer.keyring,
      });
      expect(c).toMatchObject({ version: '0.1.76-1', signature: 'verified', sha256: sha(deb) });
    });

    it('refuses an unsigned SHA256 block before or after the signed one; nothing of it is downloaded', async () => {
      const evil = (gz: Buffer) => `SHA256:\n ${sha(gz)} ${gz.length} main/binary-all/Packages.gz\n\n`;
      for (const make of [
        (t: string, gz: Buffer) => evil(gz) + sign(t),
        (t: string, gz: Buffer) => sign(t) + evil(gz),
      ]) {
        const m = signedMirror(make);
        await expect(
          obtainSsgContent({
            cacheDir: mkdtempSync(path.join(os.tmpdir(), 'hlab-ssg-')),
            fetchImpl: m.fetchImpl,
            keyring: signer.keyring,
          }),
        ).rejects.toThrow(/has text outside its signed block; not used/);
        expect(m.hits.filter((h) => !h.endsWith('/InRelease'))).toEqual([]);
      }
    });

    it('refuses a signature that does not verify', async () => {
      const m = signedMirror((t) => sign(t).replace('Suite: stable', 'Suite: stab1e'));
      await expect(
        obtainSsgContent({
          cacheDir: mkdtempSync(path.join(os.tmpdir(), 'hlab-ssg-')),
          fetchImpl: m.fetchImpl,
          keyring: signer.keyring,
        }),
      ).rejects.toThrow(/did not verify with .*keyring\.gpg; not used/);
    });

    it('leaves nothing in the shared temporary folder (S2)', async () => {
      const before = readdirSync(os.tmpdir()).filter((f) => f.startsWith('hlab-inrelease'));
      const m = signedMirror((t) => sign(t));
      await obtainSsgContent({
        cacheDir: mkdtempSync(path.join(os.tmpdir(), 'hlab-ssg-')),
        fetchImpl: m.fetchImpl,
        keyring: signer.keyring,
      });
      expect(readdirSync(os.tmpdir()).filter((f) => f.startsWith('hlab-inrelease'))).toEqual(before);
    });
  });

  it('names the mirror when it cannot be reached and nothing is cached', async () => {
    const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'hlab-ssg-'));
    mkdirSync(path.join(cacheDir, 'ssg'));
    writeFileSync(path.join(cacheDir, 'ssg', 'current.json'), '{not json');
    const offline = (async () => {
      throw new Error('connect ECONNREFUSED');
    }) as unknown as typeof fetch;
    await expect(
      obtainSsgContent({
        cacheDir,
        mirror: 'http://m.test/d',
        fetchImpl: offline,
        keyring: NO_KEYRING,
        allowUnsigned: true,
      }),
    ).rejects.toThrow(/Cannot fetch ssg-debian from http:\/\/m.test\/d \(trixie\).*HLAB_SSG_MIRROR/);
  });

  it('parses Packages stanzas and Release hashes', () => {
    expect(
      packageStanza(
        `${stanza('0.1.75-1', 'a'.repeat(64))}\n${stanza('0.1.76-1', 'b'.repeat(64))}`,
        'ssg-debian',
      ),
    ).toMatchObject({ version: '0.1.76-1', sha256: 'b'.repeat(64) });
    expect(packageStanza('Package: x\nVersion: 1\n', 'ssg-debian')).toBeUndefined();
    const rel = `MD5Sum:\n ${'0'.repeat(32)} 1 main/binary-all/Packages.gz\nSHA256:\n ${'c'.repeat(64)} 12 main/binary-all/Packages.gz\n ${'d'.repeat(64)} 9 main/binary-all/Packages.xz\n`;
    expect(releaseHash(rel, 'main/binary-all/Packages.gz')).toBe('c'.repeat(64));
    expect(releaseHash(rel, 'main/binary-all/Packages')).toBeUndefined();
  });
});

describe('SSG claims and standards', () => {
  const bench = (tests: Array<[string, 'pass' | 'fail' | 'skip']>): BenchResult => ({
    tool: 'openscap',
    machine: 'm',
    at: '',
    score: tests.filter(([, r]) => r === 'pass').length,
    max: tests.length,
    tests: tests.map(([id, result]) => ({ id, result })),
    warnings: [],
    suggestions: [],
    meta: {},
  });

  it('gives each step the flips of the SSG rules it claims; exceptions accept a flip to fail', () => {
    const before = bench([
      ['sshd_disable_root_login', 'fail'],
      ['sysctl_net_ipv4_ip_forward', 'pass'],
      ['sysctl_kernel_kptr_restrict', 'fail'],
    ]);
    const after = bench([
      ['sshd_disable_root_login', 'pass'],
      ['sysctl_net_ipv4_ip_forward', 'fail'],
      ['sysctl_kernel_kptr_restrict', 'fail'],
    ]);
    const c = compareBench(before, after, [
      { id: 'keep-ip-forward', reason: 'Docker', tests: ['sysctl_net_ipv4_ip_forward'] },
    ]);
    expect(c.regressions).toEqual([]);
    expect(c.accepted.map((f) => f.id)).toEqual(['sysctl_net_ipv4_ip_forward']);
    const claims = stepClaims(
      [
        { step: 'sshd-hardening', benchmarks: { ssg: ['sshd_disable_root_login'] } },
        { step: 'kernel-sysctl', benchmarks: { ssg: ['sysctl_kernel_kptr_restrict'] } },
      ],
      { before: [before], after: [after], comparisons: [c] },
    );
    expect(claims.find((x) => x.step === 'sshd-hardening')?.fixed.map((f) => f.id)).toEqual([
      'sshd_disable_root_login',
    ]);
    expect(claims.find((x) => x.step === 'kernel-sysctl')?.unchanged).toEqual([
      'sysctl_kernel_kptr_restrict',
    ]);
  });

  it('says which standards a value satisfies and which it contradicts', () => {
    const sysctl = loadLibrary().steps.find((s) => s.id === 'kernel-sysctl') as StepDef;
    const v = standardVerdicts(sysctl, { kptrRestrict: 2, ptraceScope: 1 });
    expect(v.find((x) => x.param === 'kptrRestrict')).toEqual({
      param: 'kptrRestrict',
      value: 2,
      satisfies: ['Lynis 3.0.8 KRNL-6000 (default profile)'],
      contradicts: ['SSG 0.1.76 Debian 12 sysctl_kernel_kptr_restrict'],
    });
    expect(v.find((x) => x.param === 'ptraceScope')?.contradicts).toEqual([]);
    // Defaults count when a recipe does not set the value.
    expect(standardVerdicts(sysctl, {}).find((x) => x.param === 'ptraceScope')?.value).toBe(2);
  });

  it('every library step that claims SSG rules names ids of the right shape; a bad one gets file:line', () => {
    const claimed = loadLibrary().steps.flatMap((s) => s.benchmarks.ssg);
    expect(claimed.length).toBeGreaterThanOrEqual(30);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hlab-ssg-step-'));
    const f = path.join(dir, 'bad-claim.yaml');
    writeFileSync(
      f,
      'id: bad-claim\ntitle: t\narea: sysctl\nrisk: none\nbenchmarks:\n  ssg: [Not-A-Rule]\napply: "true"\nverify:\n  - { name: ok, run: "true" }\n',
    );
    const { issues } = loadStep(f);
    expect(issues.map((i) => formatIssue({ ...i, file: 'bad-claim.yaml' }))[0]).toMatch(
      /^bad-claim\.yaml:6: benchmarks\.ssg\[0\]: .*SSG rule id/,
    );
  });

  it('the report shows SSG flips, the standards each value satisfies and declared exceptions, escaped', () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'hlab-ssg-ev-'));
    const id = '20261124T000000-demo-ssg';
    const dir = path.join(home, 'runs', id);
    mkdirSync(dir, { recursive: true });
    const hostile = 'SSG <script>alert(1)</script>';
    writeFileSync(
      path.join(dir, 'ob.json'),
      JSON.stringify(
        bench([
          ['sysctl_kernel_kptr_restrict', 'fail'],
          ['sshd_disable_root_login', 'fail'],
        ]),
      ),
    );
    writeFileSync(
      path.join(dir, 'oa.json'),
      JSON.stringify(
        bench([
          ['sysctl_kernel_kptr_restrict', 'fail'],
          ['sshd_disable_root_login', 'pass'],
        ]),
      ),
    );
    const events: RunEvent[] = [
      {
        type: 'run-started',
        runId: id,
        recipe: 'demo',
        machine: 'm1',
        steps: ['kernel-sysctl'],
        pid: 1,
        exceptions: [
          {
            id: 'kptr-restrict-2',
            step: 'kernel-sysctl',
            reason: 'stricter <b>kept</b>',
            tests: ['sysctl_kernel_kptr_restrict'],
          },
        ],
      },
      {
        type: 'step-started',
        index: 0,
        step: 'kernel-sysctl',
        params: { kptrRestrict: 2 },
        benchmarks: { ssg: ['sysctl_kernel_kptr_restrict'] },
        standards: [
          { param: 'kptrRestrict', value: 2, satisfies: ['Lynis KRNL-6000'], contradicts: [hostile] },
        ],
      },
      { type: 'step-finished', index: 0, outcome: 'validated', durationMs: 1 },
      { type: 'bench-finished', phase: 'before', tool: 'openscap', score: 0, max: 2, file: 'ob.json' },
      { type: 'bench-finished', phase: 'after', tool: 'openscap', score: 1, max: 2, file: 'oa.json' },
      { type: 'run-finished', status: 'validated' },
    ];
    // Written by the engine's own journal, as a real run would.
    const journal = Journal.create(path.join(home, 'runs'), id);
    for (const e of events) journal.append(e);
    journal.close();
    const body = buildEvidence(path.join(home, 'runs'), id, '0.0.0');
    expect(body.steps[0]?.standards?.[0]?.contradicts).toEqual([hostile]);
    const html = toHtml(sealEvidence(body, home));
    const standards = html.slice(
      html.indexOf('Where standards disagree'),
      html.indexOf('Declared exceptions'),
    );
    expect(standards).toContain('<code>kptrRestrict = 2</code>');
    expect(standards).toContain('Lynis KRNL-6000');
    expect(standards).toContain('SSG &lt;script&gt;');
    const exceptions = html.slice(html.indexOf('Declared exceptions'), html.indexOf('Tools that ran'));
    expect(exceptions).toContain('<code>sysctl_kernel_kptr_restrict</code> openscap: fail');
    expect(exceptions).toContain('stricter &lt;b&gt;kept&lt;/b&gt;');
    expect(html).not.toMatch(/<script/);
    expect(html.slice(html.indexOf('Flipped tests'))).toContain('sshd_disable_root_login');
  });
});

describe('hlab run output', () => {
  it('says which standards a disputed value does not satisfy, when the step starts', async () => {
    const { formatEvent } = await import('../../electron/host/cli/run-output.js');
    const line = formatEvent(
      {
        type: 'step-started',
        index: 1,
        step: 'kernel-sysctl',
        params: {},
        standards: [{ param: 'kptrRestrict', value: 2, satisfies: ['Lynis'], contradicts: ['SSG'] }],
        seq: 3,
        at: '2026-11-24T10:00:00Z',
      },
      13,
    );
    expect(line).toBe('▶ [2/13] kernel-sysctl\n  kptrRestrict = 2: satisfies Lynis; NOT SSG');
  });
});

/** Evidence bundles: built from a journal, sealed, and any edit detected; exports from them. */
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import type { RunEvent } from '../../shared/runs.js';
import { compareBench } from '../../shared/bench.js';
import {
  buildEvidence,
  readEvidence,
  sealEvidence,
  verifyEvidence,
} from '../../electron/recipes/evidence.js';
import { toAnsible, toCloudInit, toShell } from '../../electron/recipes/exports.js';
import { refusedFreshLogins, toHtml } from '../../electron/recipes/html-report.js';
import type { EvidenceStep } from '../../shared/evidence.js';
import { evidenceKey, fingerprint, trustedKeys, trustKey } from '../../electron/recipes/trust.js';

function fakeRun(): { home: string; runs: string; id: string } {
  const home = mkdtempSync(path.join(os.tmpdir(), 'hlab-evidence-'));
  const runs = path.join(home, 'runs');
  const id = '20261123T000000-demo-abcdef';
  mkdirSync(path.join(runs, id), { recursive: true });
  const events: RunEvent[] = [
    { type: 'run-started', runId: id, recipe: 'demo', machine: 'm1', steps: ['a-step', 'b-step'], pid: 1 },
    { type: 'facts', phase: 'before', kernel: '6.1.0-47', image: 'debian-12', imageSha256: 'f'.repeat(64) },
    {
      type: 'step-started',
      index: 0,
      step: 'a-step',
      params: { x: 1 },
      title: 'A',
      script: '#!/bin/bash\necho applying A\ntouch /tmp/a',
      checks: [
        { name: 'a exists', run: 'test -e /tmp/a' },
        { name: 'login', probe: 'fresh-ssh-login' },
      ],
      reboot: false,
    },
    { type: 'snapshot-taken', index: 0, snapshot: 's0' },
    { type: 'apply-output', index: 0, stream: 'stdout', text: 'applying A\n' },
    { type: 'apply-finished', index: 0, exitCode: 0, scriptSha256: 'a'.repeat(64), durationMs: 5 },
    { type: 'check', index: 0, name: 'a exists', kind: 'run', pass: true, output: '' },
    { type: 'step-finished', index: 0, outcome: 'validated', durationMs: 9 },
    {
      type: 'step-started',
      index: 1,
      step: 'b-step',
      params: {},
      title: 'B',
      script: 'false',
      checks: [{ name: 'never', run: 'false' }],
      reboot: false,
    },
    { type: 'rollback-started', index: 1, reason: 'apply exited 1', snapshot: 's1' },
    { type: 'rollback-finished', index: 1, healthy: true, durationMs: 4000 },
    { type: 'step-finished', index: 1, outcome: 'rolled-back', reason: 'apply exited 1', durationMs: 4100 },
    { type: 'facts', phase: 'after', kernel: '6.1.0-56', image: 'debian-12', imageSha256: 'f'.repeat(64) },
    { type: 'run-finished', status: 'failed' },
  ];
  writeFileSync(
    path.join(runs, id, 'journal.jsonl'),
    events.map((e, seq) => JSON.stringify({ ...e, seq, at: new Date(seq * 1000).toISOString() })).join('\n') +
      '\n',
  );
  return { home, runs, id };
}

describe('evidence bundle', () => {
  const { home, runs, id } = fakeRun();
  const body = buildEvidence(runs, id, '0.1.0');
  const bundle = sealEvidence(body, home);

  it('records steps, scripts, checks, rollbacks, kernels and the base image', () => {
    expect(body.kernel).toEqual({ before: '6.1.0-47', after: '6.1.0-56' });
    expect(body.base.sha256).toBe('f'.repeat(64));
    expect(body.steps[0]).toMatchObject({
      id: 'a-step',
      outcome: 'validated',
      params: { x: 1 },
      output: 'applying A\n',
    });
    expect(body.steps[1]).toMatchObject({
      outcome: 'rolled-back',
      rollback: { healthy: true, durationMs: 4000 },
    });
    expect(body.journalSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('verifies as intact and signed by this installation', () => {
    expect(verifyEvidence(bundle, home)).toEqual({
      intact: true,
      problems: [],
      signedHere: true,
      signer: fingerprint(evidenceKey(home).publicPem),
      trustedAs: 'this installation',
      trusted: true,
    });
  });

  it('an edited bundle re-signed with another key is intact but NOT trusted, until that key is imported (M1)', () => {
    const attacker = mkdtempSync(path.join(os.tmpdir(), 'hlab-attacker-'));
    const edited = structuredClone(body);
    edited.run.status = 'validated';
    edited.kernel.after = '6.1.0-99';
    const forged = sealEvidence(edited, attacker);
    const v = verifyEvidence(forged, home);
    expect(v).toMatchObject({ intact: true, trusted: false, signedHere: false });
    expect(v.trustedAs).toBeUndefined();
    expect(v.signer).toBe(fingerprint(evidenceKey(attacker).publicPem));
    // A team exchanges keys on purpose: then the same bundle is trusted, under the name given.
    const colleague = mkdtempSync(path.join(os.tmpdir(), 'hlab-team-'));
    trustKey(colleague, evidenceKey(attacker).publicPem, 'alice');
    expect(verifyEvidence(forged, colleague)).toMatchObject({ trusted: true, trustedAs: 'alice' });
    expect(trustedKeys(colleague).map((k) => k.name)).toEqual(['this installation', 'alice']);
    expect(() => trustKey(colleague, 'not a key', 'bob')).toThrow(/PEM/);
  });

  it('refuses alg "none" and a bundle with a section removed and re-sealed (M1)', () => {
    const none = structuredClone(bundle);
    none.signature.alg = 'none' as 'ed25519';
    expect(verifyEvidence(none, home)).toMatchObject({ intact: false, trusted: false });
    expect(verifyEvidence(none, home).problems).toContain('signature');
    const cut = structuredClone(body) as Partial<typeof body>;
    delete cut.bench;
    delete cut.journalSha256;
    const resealed = sealEvidence(cut as typeof body, home);
    const v = verifyEvidence(resealed, home);
    expect(v.intact).toBe(false);
    expect(v.problems).toEqual(expect.arrayContaining(['missing bench', 'missing journalSha256']));
  });

  it('refuses a section it does not know: keys with "=" or a newline could make two bodies share a root (V3)', () => {
    const extra = { ...structuredClone(body), 'steps=x\nkernel': 'y' } as unknown as typeof body;
    const v = verifyEvidence(sealEvidence(extra, home), home);
    expect(v.intact).toBe(false);
    expect(v.problems).toContain(`unknown section ${JSON.stringify('steps=x\nkernel')}`);
  });

  it('detects a one-byte edit anywhere in the body', () => {
    const text = JSON.stringify(bundle);
    const at = text.indexOf('applying A');
    const edited = JSON.parse(`${text.slice(0, at)}b${text.slice(at + 1)}`) as typeof bundle;
    const v = verifyEvidence(edited, home);
    expect(v.intact).toBe(false);
    expect(v.problems).toContain('steps');
  });

  it('detects re-hashing after an edit without the signing key', () => {
    const forged = structuredClone(bundle);
    forged.body.steps[0]!.outcome = 'validated';
    forged.body.run.status = 'validated';
    const other = mkdtempSync(path.join(os.tmpdir(), 'hlab-forger-'));
    const resealed = sealEvidence(forged.body, other);
    // Self-consistent, but signed by another installation's key.
    expect(verifyEvidence(resealed, home)).toMatchObject({ intact: true, signedHere: false });
    // Keeping our public key while changing the root breaks the signature.
    const mixed = { ...resealed, signature: bundle.signature };
    expect(verifyEvidence(mixed, home).problems).toContain('signature');
  });

  it('exports only validated steps, as bash that parses', () => {
    const sh = toShell(bundle);
    expect(sh).toContain('touch /tmp/a');
    expect(sh).not.toContain('b-step');
    const f = path.join(home, 'export.sh');
    writeFileSync(f, sh);
    // bash -n also warns (stderr) about a here-document that never ends.
    expect(execFileSync('bash', ['-n', f], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })).toBe('');
    const r = spawnSync('bash', ['-n', f], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
  });

  it('exports an Ansible play of raw tasks and cloud-init user-data', () => {
    const play = YAML.parse(toAnsible(bundle)) as Array<{
      tasks: Array<Record<string, unknown>>;
      become: boolean;
    }>;
    expect(play[0]?.become).toBe(true);
    expect(play[0]?.tasks.map((t) => t.name)).toEqual([
      expect.stringMatching(/^a-step: apply/),
      'a-step: verify a exists',
    ]);
    const ci = toCloudInit(bundle);
    expect(ci.startsWith('#cloud-config\n')).toBe(true);
    const doc = YAML.parse(ci) as { write_files: Array<{ path: string; content: string }> };
    expect(doc.write_files[0]).toMatchObject({ path: '/var/lib/hardening-lab/steps/01-a-step.sh' });
  });

  it('renders a self-contained HTML report that escapes what it shows', () => {
    const html = toHtml(bundle);
    expect(html).not.toMatch(/<script|https?:\/\//);
    expect(html).toContain('ROLLED BACK');
    expect(html).toContain(bundle.root);
  });

  it('names the files a local docker-bench copy ran, with their hashes, escaped', () => {
    const withBench = structuredClone(body);
    withBench.bench.after = [
      {
        tool: 'docker-bench',
        machine: 'm1',
        at: '2026-11-24T00:00:00Z',
        score: 1,
        max: 2,
        tests: [],
        warnings: [],
        suggestions: [],
        meta: { version: '1.6.0<img src=x onerror=alert(1)>', source: 'local copy' },
        inputs: [{ path: 'tests/5_container_runtime.sh', sha256: 'ab'.repeat(32), bytes: 812 }],
      },
    ];
    const html = toHtml(sealEvidence(withBench, home));
    expect(html).toContain('<code>tests/5_container_runtime.sh</code>');
    expect(html).toContain('ab'.repeat(32));
    expect(html).toContain('1.6.0&lt;img src=x onerror=alert(1)&gt;');
    expect(html).not.toContain('<img');
    // A bundle from elsewhere with inputs that are not a list still renders.
    (withBench.bench.after[0] as unknown as { inputs: unknown }).inputs = 'nonsense';
    expect(toHtml(sealEvidence(withBench, home))).toContain('docker-bench');
  });

  it('hostile titles, kernel strings and ids never leave a shell comment (M2)', () => {
    const evil = structuredClone(body);
    evil.steps[0]!.title = 'harmless\ntouch /tmp/hlab-pwned-by-title #';
    evil.kernel.after = '6.1.0-47\r\ntouch /tmp/hlab-pwned-by-kernel #\u2028x';
    evil.base.image = 'debian-12\u0000\ntouch /tmp/hlab-pwned-by-image';
    const sh = toShell(sealEvidence(evil, home));
    for (const line of sh.split('\n').filter((l) => l.includes('hlab-pwned')))
      expect(line.trimStart().startsWith('#'), line).toBe(true);
    const f = path.join(home, 'evil.sh');
    writeFileSync(f, sh);
    expect(spawnSync('bash', ['-n', f], { encoding: 'utf8' }).stderr).toBe('');
    const badId = structuredClone(body);
    badId.steps[0]!.id = 'x; touch /tmp/hlab-pwned-by-id';
    expect(() => toShell(sealEvidence(badId, home))).toThrow(/not a step id/);
  });

  it('a non-numeric bench score from the guest never becomes markup in the report (M4)', () => {
    const evil = structuredClone(body);
    const payload = '<img src=x onerror=alert(1)>' as unknown as number;
    const side = { score: payload, max: payload };
    evil.bench.comparisons = [
      {
        tool: 'docker-bench',
        before: side,
        after: side,
        delta: payload,
        fixed: [],
        regressions: [],
        accepted: [],
      },
    ];
    const html = toHtml(sealEvidence(evil, home));
    expect(html).not.toContain('<img');
    expect(html).not.toContain('NaN');
    expect(html).toContain(`Content-Security-Policy" content="default-src 'none'`);
  });

  it('shows the vulnerability bench before and after, fewer as better, hostile guest strings escaped', () => {
    const withVulns = structuredClone(body);
    const vulns = (cves: string[], pkgNote: string) => ({
      tool: 'vulns' as const,
      machine: 'm1',
      at: '2026-11-24T00:00:00Z',
      score: cves.length,
      max: cves.length,
      lowerIsBetter: true,
      unit: 'fixable CVEs',
      tests: [],
      warnings: [],
      suggestions: [],
      meta: {},
      vulns: {
        kernel: {
          release: '6.1.0-47-cloud-amd64<img src=x>',
          running: cves.length ? '6.1.170-3' : '6.1.192-2',
          newest: { package: 'linux-image-6.1.0-56-cloud-amd64', version: '6.1.192-2' },
          cves,
          entries: cves.length ? 3 : 0,
        },
        packages: cves.length
          ? [
              {
                source: 'expat<script>',
                binaries: ['libexpat1'],
                installed: '2.5.0-1',
                candidate: '2.5.0-1+deb12u5',
                cves,
                entries: 1,
                note: pkgNote,
              },
            ]
          : [],
        distinct: cves.length,
      },
    });
    withVulns.bench.before = [vulns(['CVE-2026-1111', 'CVE-2026-2222'], '<img src=y>')];
    withVulns.bench.after = [vulns([], '')];
    withVulns.bench.comparisons = [compareBench(withVulns.bench.before[0]!, withVulns.bench.after[0]!)];
    const html = toHtml(sealEvidence(withVulns, home));
    expect(html).toContain('2 fixable CVEs');
    expect(html).toContain('0 fixable CVEs (-2, fewer is better)');
    expect(html).toContain(
      'running 6.1.170-3, newest linux-image-6.1.0-56-cloud-amd64 6.1.192-2, 2 CVEs fixed in between',
    );
    expect(html).toContain(
      'running 6.1.192-2, newest linux-image-6.1.0-56-cloud-amd64 6.1.192-2, 0 CVEs fixed in between',
    );
    expect(html).toContain('a lower bound');
    expect(html).not.toMatch(/<img|<script>/);
    // A bundle from elsewhere whose rows are not what we wrote still renders.
    (withVulns.bench.before[0] as unknown as { vulns: unknown }).vulns = { kernel: 'x', packages: 'y' };
    expect(toHtml(sealEvidence(withVulns, home))).toContain('kernel: not measured');
  });

  it('keeps the logins the run met, people first in the report, and says when sshd would not log failed keys', () => {
    const r = fakeRun();
    const dir = path.join(r.runs, r.id);
    const ev = (i: number, action: string, outcome: string, user: string, operator?: boolean) => ({
      id: `e${i}`,
      time: `2026-11-24T00:00:0${i}.000000Z`,
      machine: 'm1',
      hostname: 'lab',
      action,
      outcome,
      user,
      method: 'password',
      ...(operator ? { operator } : {}),
      process: 'sshd',
      raw: i === 2 ? 'Failed password for <img src=x> from 10.0.2.2 port 2 ssh2' : `line ${i}`,
    });
    writeFileSync(
      path.join(dir, 'events.jsonl'),
      [ev(3, 'ssh_login', 'success', 'root', true), ev(2, 'ssh_login_failed', 'failure', 'bob')]
        .map((e) => JSON.stringify(e))
        .join('\n') + '\n{"id":"torn',
    );
    const extra = [
      { type: 'events-collected', count: 2, total: 2, sshdLogLevel: 'INFO' },
      { type: 'events-collected', count: 0, total: 2, error: 'journalctl failed on "m1"' },
    ];
    appendFileSync(
      path.join(dir, 'journal.jsonl'),
      extra.map((e, k) => JSON.stringify({ ...e, seq: 100 + k, at: new Date().toISOString() })).join('\n') +
        '\n',
    );
    const b = buildEvidence(r.runs, r.id, '0.1.0');
    expect(b.logins?.total).toBe(2);
    expect(b.logins?.events.map((e) => e.id)).toEqual(['e2', 'e3']);
    expect(b.logins?.sshdLogLevel).toBe('INFO');
    expect(b.logins?.errors).toEqual(['journalctl failed on "m1"']);
    const sealed = sealEvidence(b, r.home);
    expect(verifyEvidence(sealed, r.home).intact).toBe(true);
    const html = toHtml(sealed);
    expect(html).toContain(
      "2 events: 1 of this app's own (logins with its key, its own sudo command lines); 1 others (sudo, sessions, other logins and attempts), 1 of them failed.",
    );
    expect(html).toContain('<b>sshd LogLevel INFO</b>');
    expect(html).toContain('ssh_login_failed');
    expect(html).not.toContain('<img');
    // Runs from before logins were kept have no section, and still render.
    expect(body.logins).toBeUndefined();
    expect(toHtml(bundle)).toContain('This run kept no login events.');
  });

  it('reading a file that is not evidence never echoes its content (L1)', () => {
    const secret = path.join(home, 'secret.txt');
    writeFileSync(secret, 'root:hunter2-secret:0:0\n');
    expect(() => readEvidence(secret)).toThrow(/is not valid JSON/);
    expect(() => readEvidence(secret)).not.toThrow(/hunter2/);
  });
});

describe("the report's logins section after a lock-out", () => {
  it("names the app's own failed fresh login from the run's record, escaped", () => {
    const step = (over: Partial<EvidenceStep>): EvidenceStep => ({
      index: 1,
      id: 'demo-sshd-lockout',
      title: 'Demo',
      params: {},
      reboot: false,
      script: '',
      scriptSha256: '',
      checks: [{ name: 'lab can log in', probe: 'fresh-ssh-login' }],
      outcome: 'rolled-back',
      output: '',
      results: [],
      durationMs: 1,
      ...over,
    });
    const html = refusedFreshLogins([
      step({
        results: [
          {
            name: 'lab can log in',
            kind: 'probe',
            pass: false,
            output: 'sshd refused the fresh key login: the change locks users out (<b>x</b>)',
          },
        ],
      }),
      step({
        index: 2,
        id: 'kernel-sysctl',
        checks: [],
        outcome: 'validated',
        results: [
          { name: 'health: fresh-ssh-login', kind: 'probe', pass: true, output: 'fresh login as lab' },
        ],
      }),
    ]);
    expect(html).toContain("This app's own fresh login failed");
    expect(html).toContain(
      'step 2 <code>demo-sshd-lockout</code> (rolled-back): sshd refused the fresh key login',
    );
    expect(html).toContain('&lt;b&gt;x&lt;/b&gt;');
    expect(html).not.toContain('kernel-sysctl');
    expect(refusedFreshLogins([])).toBe('');
  });
});

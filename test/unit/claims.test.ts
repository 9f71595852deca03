/** Per-step claims: a run's before/after benches read off by the ids each step declares. */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BenchResult } from '../../shared/bench.js';
import { stepClaims } from '../../shared/claims.js';
import type { RunEvent } from '../../shared/runs.js';
import { parseLynisReport } from '../../electron/bench/lynis.js';
import { runBenches, runClaims } from '../../electron/bench/index.js';
import { buildEvidence, sealEvidence } from '../../electron/recipes/evidence.js';
import { toHtml } from '../../electron/recipes/html-report.js';

const fixture = (f: string) => readFileSync(path.join(__dirname, '..', 'fixtures', 'lynis', f), 'utf8');
const report = fixture('report-debian12-planned.dat');
const log = fixture('log-matching-lines.txt');
const lynisBefore = parseLynisReport(report, 'm1', {}, log);
// After: kptr_restrict fixed (gone from details[], matching in the log); AppArmor still unmeasured.
const lynisAfter = parseLynisReport(
  report.replace(/^details\[\]=KRNL-6000\|sysctl\|[^\n]*field:kernel\.kptr_restrict;[^\n]*\n/m, ''),
  'm1',
  {},
  `${log}x Result: sysctl key kernel.kptr_restrict contains equal expected and current value (2)\n`,
);
const checks = (results: Array<'pass' | 'fail'>): BenchResult => ({
  tool: 'checks',
  machine: 'm1',
  at: '2026-11-23T00:00:00Z',
  score: results.filter((r) => r === 'pass').length,
  max: results.length,
  tests: [
    { id: 'kernel-sysctl/1', result: results[0] as 'pass' },
    { id: 'sshd-hardening/1', result: results[1] as 'pass' },
  ],
  warnings: [],
  suggestions: [],
  meta: {},
});

const steps = [
  { step: 'kernel-sysctl', outcome: 'validated', benchmarks: { lynis: ['KRNL-6000'], 'docker-bench': [] } },
  {
    step: 'apparmor-enforce',
    outcome: 'validated',
    benchmarks: { lynis: ['MACF-6208'], 'docker-bench': [] },
  },
  { step: 'sshd-hardening', outcome: 'rolled-back', benchmarks: { lynis: ['SSH-7408'], 'docker-bench': [] } },
];

describe('what each step claimed', () => {
  it('attributes flips to the step that declares their test id, and names what was not measured', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hlab-claims-'));
    const files = {
      lb: lynisBefore,
      la: lynisAfter,
      cb: checks(['fail', 'fail']),
      ca: checks(['pass', 'fail']),
    };
    for (const [k, v] of Object.entries(files)) writeFileSync(path.join(dir, `${k}.json`), JSON.stringify(v));
    const events: RunEvent[] = [
      ...steps.map((s, index) => ({
        type: 'step-started' as const,
        index,
        step: s.step,
        params: {},
        benchmarks: s.benchmarks,
      })),
      ...steps.map((s, index) => ({
        type: 'step-finished' as const,
        index,
        outcome: s.outcome as 'validated',
        durationMs: 1,
      })),
      ...(['before', 'after'] as const).flatMap((phase) =>
        (['lynis', 'checks'] as const).map((tool) => ({
          type: 'bench-finished' as const,
          phase,
          tool,
          score: 0,
          max: 100,
          file: `${tool[0]}${phase[0]}.json`,
        })),
      ),
    ];
    const stamped = events.map((e, seq) => ({ ...e, seq, at: '' }));
    const benches = runBenches(dir, stamped);
    const { comparisons } = benches;
    const claims = runClaims(stamped, benches);
    expect(comparisons).toHaveLength(2);
    const kernelLynis = claims.find((c) => c.step === 'kernel-sysctl' && c.tool === 'lynis');
    expect(kernelLynis?.fixed.map((f) => f.id)).toEqual(['KRNL-6000:kernel.kptr_restrict']);
    expect(kernelLynis?.unmeasured).toEqual([]);
    // MACF-6208 was skipped by Lynis (no AppArmor in that guest): claimed but not measured.
    const mac = claims.find((c) => c.step === 'apparmor-enforce');
    expect(mac).toMatchObject({ fixed: [], unchanged: [], unmeasured: ['MACF-6208'] });
    // Checks: each step owns its <step>/<n> tests.
    expect(
      claims.find((c) => c.step === 'kernel-sysctl' && c.tool === 'checks')?.fixed.map((f) => f.id),
    ).toEqual(['kernel-sysctl/1']);
    const sshd = claims.find((c) => c.step === 'sshd-hardening' && c.tool === 'checks');
    expect(sshd).toMatchObject({ outcome: 'rolled-back', fixed: [], unchanged: ['sshd-hardening/1'] });
  });

  it('a flip of a shared id goes to the step whose script names its setting', () => {
    const flip = (key: string) => ({ id: `KRNL-6000:${key}`, from: 'fail' as const, to: 'pass' as const });
    const lynis = { ...lynisAfter, tests: [{ id: 'KRNL-6000', result: 'warn' as const }] };
    const claims = stepClaims(
      [
        { step: 'kernel-sysctl', benchmarks: { lynis: ['KRNL-6000'] }, text: 'kernel.kptr_restrict = 2' },
        {
          step: 'network-sysctl',
          benchmarks: { lynis: ['KRNL-6000'] },
          text: 'echo "net.ipv4.conf.$k.rp_filter = 1"',
        },
      ],
      {
        before: [lynis],
        after: [lynis],
        comparisons: [
          {
            tool: 'lynis',
            before: { score: 1, max: 100 },
            after: { score: 2, max: 100 },
            delta: 1,
            fixed: [flip('kernel.kptr_restrict'), flip('net.ipv4.conf.all.rp_filter'), flip('kernel.sysrq')],
            regressions: [],
            accepted: [],
          },
        ],
      },
    );
    const ids = (step: string) => claims.find((c) => c.step === step)?.fixed.map((f) => f.id.split(':')[1]);
    // sysrq is named by neither script, so both steps that claim KRNL-6000 may have caused it.
    expect(ids('kernel-sysctl')).toEqual(['kernel.kptr_restrict', 'kernel.sysrq']);
    expect(ids('network-sysctl')).toEqual(['net.ipv4.conf.all.rp_filter', 'kernel.sysrq']);
  });

  it('journals older than the benchmarks field still give the checks share', () => {
    const claims = stepClaims([{ step: 'kernel-sysctl' }], {
      before: [checks(['pass', 'pass'])],
      after: [checks(['pass', 'pass'])],
      comparisons: [],
    });
    expect(claims).toEqual([
      expect.objectContaining({
        tool: 'checks',
        claimed: ['kernel-sysctl/1'],
        unchanged: ['kernel-sysctl/1'],
      }),
    ]);
  });

  it('the HTML report shows the per-step table from the evidence bundle', () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'hlab-claims-ev-'));
    const id = '20261123T000000-demo-claims';
    const dir = path.join(home, 'runs', id);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'lb.json'), JSON.stringify(lynisBefore));
    writeFileSync(path.join(dir, 'la.json'), JSON.stringify(lynisAfter));
    const events: RunEvent[] = [
      { type: 'run-started', runId: id, recipe: 'demo', machine: 'm1', steps: ['kernel-sysctl'], pid: 1 },
      {
        type: 'step-started',
        index: 0,
        step: 'kernel-sysctl',
        params: {},
        benchmarks: { lynis: ['KRNL-6000'] },
      },
      { type: 'step-finished', index: 0, outcome: 'validated', durationMs: 1 },
      { type: 'bench-finished', phase: 'before', tool: 'lynis', score: 62, max: 100, file: 'lb.json' },
      { type: 'bench-finished', phase: 'after', tool: 'lynis', score: 63, max: 100, file: 'la.json' },
      { type: 'run-finished', status: 'validated' },
    ];
    writeFileSync(
      path.join(dir, 'journal.jsonl'),
      events.map((e, seq) => JSON.stringify({ ...e, seq, at: new Date(seq).toISOString() })).join('\n') +
        '\n',
    );
    const html = toHtml(sealEvidence(buildEvidence(path.join(home, 'runs'), id, '0.0.0'), home));
    const section = html.slice(html.indexOf('What each step claimed'), html.indexOf('<h2>Flipped tests'));
    expect(section).toContain('<code>kernel-sysctl</code>');
    expect(section).toMatch(/<code>KRNL-6000<\/code><\/td>\s*<td>1<\/td>/);
  });
});

/** Bench parsers on real recorded output, and the before/after comparison. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareBench, type BenchResult } from '../../shared/bench.js';
import { checkItems, checksScript, parseChecksOutput, pickChecks } from '../../electron/bench/checks.js';
import { dockerBenchScript, parseDockerBench } from '../../electron/bench/docker-bench.js';
import { lynisCommand, matchingSettings, parseLynisReport } from '../../electron/bench/lynis.js';
import { loadLibrary } from '../../electron/steps/load.js';

const fixture = (...p: string[]) => readFileSync(path.join(__dirname, '..', 'fixtures', ...p), 'utf8');

describe('docker-bench-security log parser', () => {
  const r = parseDockerBench(fixture('docker-bench', 'report-1.3.6-trimmed.json'), 'm1');
  it('reads score, check count and every result with its id', () => {
    expect(r.tool).toBe('docker-bench');
    expect(r.score).toBe(6);
    expect(r.max).toBe(117);
    expect(r.meta.version).toBe('1.3.6');
    expect(r.tests.map((t) => t.id)).toEqual([
      '1.1.1',
      '1.1.2',
      '1.1.3',
      '1.1.5',
      '1.2.2',
      '2.2',
      '2.3',
      '2.9',
      '7.1',
    ]);
  });
  it('maps WARN to fail, PASS to pass, INFO to info, with details and remediation', () => {
    const byId = Object.fromEntries(r.tests.map((t) => [t.id, t]));
    expect(byId['2.2']?.result).toBe('fail');
    expect(byId['2.3']?.result).toBe('pass');
    expect(byId['1.1.2']).toMatchObject({ result: 'info', details: 'doubtfulusers: jubjubbird' });
    expect(r.suggestions.find((s) => s.id === '2.2')?.text).toMatch(/icc: false/);
    expect(r.warnings.map((w) => w.id)).toEqual(['1.1.1', '1.1.3', '2.2', '2.9']);
  });
  it('refuses output that is not its JSON log', () => {
    expect(() => parseDockerBench('Initializing docker-bench...', 'm1')).toThrow(/no valid JSON/);
    expect(() => parseDockerBench('{"score": 1}', 'm1')).toThrow(/no tests/);
  });
  it('fetches at a pinned commit and fails clearly without internet', () => {
    const s = dockerBenchScript(['check_2_2']);
    expect(s).toMatch(/tar.gz\/[0-9a-f]{40}/);
    expect(s).toContain('HLAB-NO-INTERNET');
    expect(s).toContain("-c 'check_2_2'");
  });
});

describe('lynis report parser', () => {
  const text = fixture('lynis', 'report-debian12-subset.dat');
  const r = parseLynisReport(text, 'm1');
  it('reads the hardening index, version and executed tests', () => {
    expect(r.tool).toBe('lynis');
    expect(r.score).toBe(Number(/^hardening_index=(\d+)/m.exec(text)?.[1]));
    expect(r.score).toBeGreaterThan(0);
    expect(r.meta.version).toMatch(/^3\./);
    expect(r.tests.filter((t) => !t.id.includes(':')).length).toBe(
      Number(r.meta.testsExecuted) +
        (text
          .match(/^tests_skipped=(.*)$/m)?.[1]
          ?.split('|')
          .filter(Boolean).length ?? 0),
    );
  });
  it('turns warnings into failed tests and suggestions into warn', () => {
    for (const w of r.warnings) expect(r.tests.find((t) => t.id === w.id)?.result).toBe('fail');
    const suggestedOnly = r.suggestions.find(
      (s) => !r.warnings.some((w) => w.id === s.id) && r.tests.some((t) => t.id === s.id),
    );
    expect(suggestedOnly).toBeDefined();
    expect(r.tests.find((t) => t.id === suggestedOnly!.id)?.result).toBe('warn');
  });
  it('expands sysctl details into per-key sub-tests', () => {
    const kptr = r.tests.find((t) => t.id === 'KRNL-6000:kernel.kptr_restrict');
    expect(kptr).toBeDefined();
    expect(kptr).toMatchObject({ result: 'fail', details: 'value 0, preferred 2' });
    // "1 2 3" lists acceptable values: a value of 2 must pass, 0 must not.
    const ptrace = r.tests.find((t) => t.id === 'KRNL-6000:kernel.yama.ptrace_scope');
    expect(ptrace?.result).toBe('fail');
    const hardened = parseLynisReport(text.replace(/(ptrace_scope;prefval:1 2 3;value:)0/, '$12'), 'm1');
    expect(hardened.tests.find((t) => t.id === 'KRNL-6000:kernel.yama.ptrace_scope')?.result).toBe('pass');
  });
  it('runs subsets: explicit test ids within their groups, or whole groups', () => {
    expect(lynisCommand({ tests: ['KRNL-6000', 'SSH-7408'], groups: ['ssh', 'kernel_hardening'] })).toContain(
      "--tests 'KRNL-6000 SSH-7408' --tests-from-group 'ssh kernel_hardening'",
    );
    expect(lynisCommand({})).toMatch(/--tests-from-group 'kernel kernel_hardening ssh/);
  });
});

describe('lynis settings that already match its profile (only in its log)', () => {
  const report = fixture('lynis', 'report-debian12-planned.dat');
  const log = fixture('lynis', 'log-matching-lines.txt');
  it('reads matching sysctl keys and sshd options from the log lines', () => {
    const ids = matchingSettings(log);
    expect(ids).toContain('KRNL-6000:kernel.randomize_va_space');
    expect(ids).toContain('SSH-7408:IgnoreRhosts');
    expect(ids.length).toBe(log.trim().split('\n').length);
  });
  it('turns them into passing sub-tests next to the differing ones from details[]', () => {
    const r = parseLynisReport(report, 'm1', {}, log);
    expect(r.tests.find((t) => t.id === 'KRNL-6000:kernel.randomize_va_space')?.result).toBe('pass');
    expect(r.tests.find((t) => t.id === 'SSH-7408:MaxAuthTries')?.result).toBe('fail');
    // Without the log a setting that gets fixed would just disappear from the report.
    expect(
      parseLynisReport(report, 'm1').tests.some((t) => t.id === 'KRNL-6000:kernel.randomize_va_space'),
    ).toBe(false);
  });
  it('a fixed sysctl flips fail -> pass in the comparison', () => {
    const before = parseLynisReport(report, 'm1', {}, log);
    const fixedReport = report.replace(
      /^details\[\]=KRNL-6000\|sysctl\|[^\n]*field:kernel\.kptr_restrict;[^\n]*\n/m,
      '',
    );
    expect(fixedReport).not.toBe(report);
    const after = parseLynisReport(
      fixedReport,
      'm1',
      {},
      `${log}2026-11-23 16:00:00 Result: sysctl key kernel.kptr_restrict contains equal expected and current value (2)\n`,
    );
    const c = compareBench(before, after);
    expect(c.fixed.map((f) => f.id)).toEqual(['KRNL-6000:kernel.kptr_restrict']);
    expect(c.regressions).toEqual([]);
  });
  it('ignores matching lines for a test that did not run', () => {
    const notRun = report.replace(/^tests_executed=.*$/m, 'tests_executed=AUTH-9284|');
    expect(
      parseLynisReport(notRun, 'm1', {}, log).tests.some((t) => t.id.startsWith('KRNL-6000:kernel.rand')),
    ).toBe(false);
  });
});

describe('own checks bench', () => {
  const lib = loadLibrary().steps;
  it('reuses every run check of the library plus kernel facts', () => {
    const items = checkItems(lib);
    const runChecks = lib.flatMap((s) => s.verify.filter((c) => c.run));
    expect(items.filter((i) => !i.id.includes('config/') && !i.id.startsWith('cmdline/'))).toHaveLength(
      runChecks.length,
    );
    expect(items.some((i) => i.id === 'kconfig/CONFIG_RANDOMIZE_BASE')).toBe(true);
    expect(checksScript(items.slice(0, 2))).toMatch(/base64 -d \| timeout 60 bash/);
  });
  it('scores from the markers and marks missing ones as skipped', () => {
    const items = checkItems(lib).slice(0, 3);
    const out = `noise\n@@hlab|${items[0]!.id}|0|ok\n@@hlab|${items[1]!.id}|1|value 0\n`;
    const r = parseChecksOutput(out, items, 'm1');
    expect(r.tests.map((t) => t.result)).toEqual(['pass', 'fail', 'skip']);
    expect(r.score).toBe(1);
    expect(r.max).toBe(2);
  });
  it('runs only the checks --tests names, and refuses an id the library does not have', () => {
    const items = checkItems(lib);
    expect(pickChecks(items, undefined, 'm1')).toBe(items);
    expect(pickChecks(items, ['lock-root/1', 'cmdline/nokaslr'], 'm1').map((i) => i.id)).toEqual(
      ['cmdline/nokaslr', 'lock-root/1'].sort(
        (a, b) => items.findIndex((i) => i.id === a) - items.findIndex((i) => i.id === b),
      ),
    );
    expect(() => pickChecks(items, ['lock-root/1', 'lock-root/99'], 'm1')).toThrow(
      /checks on "m1": no check "lock-root\/99"\. Check ids are STEP\/N/,
    );
  });
});

describe('before/after comparison', () => {
  const mk = (score: number, tests: BenchResult['tests']): BenchResult => ({
    tool: 'lynis',
    machine: 'm',
    at: '',
    score,
    max: 100,
    tests,
    warnings: [],
    suggestions: [],
    meta: {},
  });
  it('lists fixed tests and regressions, ignoring unscored ones', () => {
    const c = compareBench(
      mk(60, [
        { id: 'A', result: 'fail' },
        { id: 'B', result: 'pass' },
        { id: 'C', result: 'warn' },
        { id: 'D', result: 'info' },
      ]),
      mk(64, [
        { id: 'A', result: 'pass' },
        { id: 'B', result: 'fail' },
        { id: 'C', result: 'pass' },
        { id: 'D', result: 'pass' },
        { id: 'E', result: 'pass' },
      ]),
    );
    expect(c.delta).toBe(4);
    expect(c.fixed.map((f) => f.id)).toEqual(['A', 'C']);
    expect(c.regressions).toEqual([{ id: 'B', from: 'pass', to: 'fail' }]);
    expect(c.accepted).toEqual([]);
  });
  it('a flip to fail that a recipe exception names is accepted with its reason, not a regression', () => {
    const fwd = 'KRNL-6000:net.ipv4.conf.all.forwarding';
    const exceptions = [
      { id: 'keep-ip-forward', reason: 'Docker needs forwarding', tests: [fwd] },
      { id: 'unrelated', reason: 'no tests named' },
    ];
    const c = compareBench(
      mk(60, [
        { id: fwd, result: 'pass' },
        { id: 'B', result: 'pass' },
      ]),
      mk(61, [
        { id: fwd, result: 'fail' },
        { id: 'B', result: 'fail' },
      ]),
      exceptions,
    );
    expect(c.accepted).toEqual([
      { id: fwd, from: 'pass', to: 'fail', exception: 'keep-ip-forward', reason: 'Docker needs forwarding' },
    ]);
    expect(c.regressions.map((f) => f.id)).toEqual(['B']);
  });
});

/**
 * The Lynis run planner against the real Lynis test files (Debian's lynis package on the host,
 * installed by the test runner like the other system tools), and against the guest's shape of
 * the prepare output.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lynisGroupOrder, planLynis, type LynisFile } from '../../electron/bench/lynis-plan.js';
import { lynisPrepareCommand, parsePrepared } from '../../electron/bench/lynis.js';

const INCLUDE = '/usr/share/lynis/include';
const order = lynisGroupOrder(readFileSync('/usr/sbin/lynis', 'utf8'));
const files: LynisFile[] = order
  .filter((g) => existsSync(`${INCLUDE}/tests_${g}`))
  .map((g) => ({ group: g, text: readFileSync(`${INCLUDE}/tests_${g}`, 'utf8') }));

describe('lynis run planner (real Lynis test files)', () => {
  it('reads the group order from the lynis script', () => {
    expect(order[0]).toBe('boot_services');
    expect(order).toContain('kernel_hardening');
    expect(order.indexOf('ssh')).toBeLessThan(order.indexOf('kernel_hardening'));
  });
  it('adds the earlier tests whose variables a test needs, and nothing unrelated', () => {
    const p = planLynis(['SSH-7408', 'MACF-6208', 'ACCT-9630', 'KRNL-6000'], files);
    // SSH-7408 needs OPENSSHD_RUNNING and the options file (SSH-7402) and the version (SSH-7406).
    expect(p.tests).toEqual(expect.arrayContaining(['SSH-7402', 'SSH-7406', 'SSH-7408']));
    // MACF-6208 needs APPARMORFOUND from MACF-6204; ACCT-9630 needs LINUX_AUDITD_RUNNING from ACCT-9628.
    expect(p.tests).toEqual(expect.arrayContaining(['MACF-6204', 'MACF-6208', 'ACCT-9628', 'ACCT-9630']));
    expect(p.tests).not.toContain('SSH-7440');
    expect(p.tests.length).toBeLessThan(15);
    expect(p.groups).toEqual(['ssh', 'accounting', 'mac_frameworks', 'kernel_hardening']);
    expect(p.unknown).toEqual([]);
  });
  it('keeps Lynis order and reports ids no file registers', () => {
    const p = planLynis(['KRNL-6000', 'NOPE-0001', 'AUTH-9284'], files);
    expect(p.groups).toEqual(['authentication', 'kernel_hardening']);
    expect(p.tests.indexOf('AUTH-9284')).toBeLessThan(p.tests.indexOf('KRNL-6000'));
    expect(p.unknown).toEqual(['NOPE-0001']);
  });
  it('parses the prepare output the guest prints', () => {
    const script = readFileSync('/usr/sbin/lynis', 'utf8');
    const head = /INCLUDE_TESTS="boot_services[^"]*"/.exec(script)?.[0] ?? '';
    const out = `${head}\n#hlab-lynis-file ssh\n${files.find((f) => f.group === 'ssh')?.text}`;
    const parsed = parsePrepared(out);
    expect(parsed.order).toEqual(order);
    expect(parsed.files.map((f) => f.group)).toEqual(['ssh']);
    expect(planLynis(['SSH-7408'], parsed.files).tests).toEqual(['SSH-7402', 'SSH-7406', 'SSH-7408']);
    expect(lynisPrepareCommand(['SSH-7408', 'KRNL-6000'])).toContain("'--test-no (SSH-7408|KRNL-6000) '");
  });
});

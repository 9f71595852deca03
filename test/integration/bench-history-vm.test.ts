/**
 * A bench run now is compared with the same bench's previous result on that machine (ux review
 * I-11), through the CLI on a REAL VM: a subset of our checks, a change in the guest, the same
 * subset again — the second run names the test that flipped. Another subset is never compared.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchResult } from '../../shared/bench.js';
import { IMAGE_DIR, newHome } from './vm-env.js';

const M = 'bh1';
const home = newHome('bench-history');
const hlab = (...args: string[]) =>
  spawnSync(process.execPath, ['electron/host/hlab.mjs', ...args], {
    env: { ...process.env, HLAB_HOME: home, HLAB_IMAGE_DIR: IMAGE_DIR },
    encoding: 'utf8',
    timeout: 300_000,
  });
const SUBSET = 'lock-root/1 kernel-sysctl/1';

beforeAll(() => {
  const r = hlab('machine', 'create', M, '--ready');
  if (r.status !== 0) throw new Error(r.stderr);
}, 600_000);
afterAll(() => {
  hlab('machine', 'rm', M);
});

describe('bench now, compared with the last one', { timeout: 300_000 }, () => {
  it('names what changed since the same checks last ran, and only within one subset', () => {
    const first = hlab('bench', M, '--tool', 'checks', '--tests', SUBSET);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain('checks on bh1: 0/2');
    expect(first.stdout).toContain('first checks bench of this scope on bh1: nothing to compare with yet');

    const lock = hlab('exec', M, '--', 'sudo', 'passwd', '-l', 'root');
    expect(lock.status, lock.stderr).toBe(0);

    const second = hlab('bench', M, '--tool', 'checks', '--tests', SUBSET);
    expect(second.status, second.stderr).toBe(0);
    expect(second.stdout).toMatch(
      /^since \d{4}-\d\d-\d\dT[\d:.]+Z: 0\/2 → 1\/2 \(\+1\): 1 fixed, 0 regressions$/m,
    );
    expect(second.stdout).toContain('  fixed lock-root/1: fail → pass  root password is locked by passwd -l');

    // Another set of checks is its own scope, and --json is the result alone.
    const other = hlab('bench', M, '--tool', 'checks', '--tests', 'lock-root/1', '--json');
    expect(other.status, other.stderr).toBe(0);
    const r = JSON.parse(other.stdout) as BenchResult;
    expect([r.score, r.max, r.meta.tests]).toEqual([1, 1, 'lock-root/1']);
    const kept = JSON.parse(
      hlab('bench', M, '--tool', 'checks', '--tests', 'kernel-sysctl/1', '--json').stdout,
    ) as BenchResult;
    expect(kept.tests.map((t) => t.id)).toEqual(['kernel-sysctl/1']);

    const unknown = hlab('bench', M, '--tool', 'checks', '--tests', 'lock-root/99');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('checks on "bh1": no check "lock-root/99"');
    expect(unknown.stderr).not.toMatch(/\n\s+at /);

    // A tool that cannot pick tests says so instead of running its whole set as if it had.
    const whole = hlab('bench', M, '--tool', 'surface', '--tests', 'x');
    expect(whole.status).toBe(2);
    expect(whole.stderr).toContain('The surface bench always runs its whole set; only lynis, docker-bench');
  });
});

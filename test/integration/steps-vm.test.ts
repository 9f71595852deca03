/**
 * Every step of the library against the REAL VM, from a clean snapshot: its verify checks fail
 * before apply (so they can fail at all), pass after, apply is idempotent, and the lab user can
 * still log in with a fresh SSH connection and use sudo. (Probes and rollback belong to the run
 * engine and are tested with it.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../../shared/rpc.js';
import type { Service } from '../../electron/core/service.js';
import { SshExecutor } from '../../electron/ssh/executor.js';
import { defaultParams, loadLibrary } from '../../electron/steps/load.js';
import { renderScript } from '../../electron/steps/render.js';
import type { BenchResult } from '../../shared/bench.js';
import type { StepDef } from '../../shared/steps.js';
import { must, newHome, newService } from './vm-env.js';

const M = 'steps1';
let service: Service;
let client: ApiClient;
let ex: SshExecutor;
const { steps, issues } = loadLibrary();

beforeAll(async () => {
  ({ service, client } = newService(newHome('steps')));
  await must(client, 'machines.create', { name: M, memoryMiB: 1024, cpus: 2 });
  await must(client, 'machines.up', { name: M });
  await must(client, 'snapshots.take', { machine: M, snapshot: 'clean' });
  ex = new SshExecutor(() => service.context.machines.targetOf(M), service.context.knownHosts);
});

afterAll(async () => {
  ex?.reset();
  if (client) await client.call('machines.destroy', { name: M });
});

async function runChecks(s: StepDef): Promise<Array<{ name: string; pass: boolean; out: string }>> {
  const out = [];
  for (const v of s.verify.filter((c) => c.run)) {
    const r = await ex.runScript(renderScript(v.run as string, defaultParams(s)), { timeoutMs: 120_000 });
    out.push({ name: v.name, pass: r.exitCode === 0, out: (r.stdout + r.stderr).trim() });
  }
  return out;
}

describe('step library on the real VM', () => {
  it('loads without issues', () => expect(issues).toEqual([]));

  it('the surface bench counts what the machine exposes, and sees a new listener and SUID file', async () => {
    const count = (r: BenchResult, id: string) => r.surface?.categories.find((c) => c.id === id);
    const before = await must(client, 'bench.run', { machine: M, tool: 'surface' });
    expect(before).toMatchObject({ tool: 'surface', lowerIsBetter: true });
    expect(before.warnings).toEqual([]);
    expect(count(before, 'packages')!.count).toBeGreaterThan(100);
    expect(count(before, 'listening')!.items).toContain('tcp 0.0.0.0:22 sshd');
    expect(count(before, 'login-accounts')!.items).toEqual(['lab (/bin/bash, SSH key)']);
    await ex.runScript(
      // A second sshd is a real listener that every Debian image has the binary for.
      'install -m 4755 /usr/bin/true /usr/local/bin/suid-true && systemd-run --unit=hlab-listen /usr/sbin/sshd -D -p 7071 -o PidFile=none',
    );
    try {
      let after = await must(client, 'bench.run', { machine: M, tool: 'surface' });
      for (let i = 0; i < 10 && !count(after, 'listening')!.items.some((x) => x.includes(':7071')); i += 1)
        after = await must(client, 'bench.run', { machine: M, tool: 'surface' });
      expect(count(after, 'suid-sgid')!.items).toContain('/usr/local/bin/suid-true (-rwsr-xr-x root)');
      expect(count(after, 'listening')!.items.some((x) => x.includes(':7071'))).toBe(true);
      expect(after.score).toBeGreaterThan(before.score);
    } finally {
      await ex.runScript('systemctl stop hlab-listen; rm -f /usr/local/bin/suid-true');
    }
  }, 300_000);

  // Reboot steps and steps that install packages (aptUpdate) run in baseline-vm.test.ts through
  // the engine; demo steps are broken on purpose and tested as rollbacks.
  for (const step of steps.filter((s) => !s.reboot && !('aptUpdate' in s.params) && !s.demo)) {
    it(`${step.id}: verify fails before, passes after an idempotent apply; login and sudo survive`, async () => {
      ex.reset();
      await must(client, 'snapshots.restore', { machine: M, snapshot: 'clean' });
      const before = await runChecks(step);
      expect(
        before.some((c) => !c.pass),
        `some check must fail before apply: ${JSON.stringify(before)}`,
      ).toBe(true);
      for (let i = 0; i < 2; i += 1) {
        const r = await ex.runScript(renderScript(step.apply, defaultParams(step)), { timeoutMs: 300_000 });
        expect(r.exitCode, r.stderr).toBe(0);
      }
      const after = await runChecks(step);
      expect(after.filter((c) => !c.pass)).toEqual([]);
      const fresh = new SshExecutor(() => service.context.machines.targetOf(M), service.context.knownHosts);
      try {
        expect((await fresh.exec('id -un')).stdout.trim()).toBe('lab');
        expect((await fresh.sudo('id -u')).stdout.trim()).toBe('0');
      } finally {
        fresh.reset();
      }
      // A restore, two applies and a fresh login: 13-30 s each under TCG, more on a loaded host.
    }, 300_000);
  }
});

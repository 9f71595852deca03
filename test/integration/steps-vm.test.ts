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

/**
 * SELinux on the REAL VM (debian-12-thin, Debian's policy from the mirror through the egress
 * filter): selinux-permissive labels every file and boots permissive; an authorized_keys moved in
 * from /tmp (still labelled user_tmp_t) with fixLabels off locks the app out after the enforcing
 * reboot, and the engine rolls back once sshd has refused the key for the lock-out grace instead
 * of waiting out the boot timeout; with fixLabels on, the same machine enforces, sshd runs in
 * sshd_t and Docker still runs a container.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../electron/core/service.js';
import { runRecipe } from '../../electron/engine/run.js';
import { defaultParams, loadLibrary } from '../../electron/steps/load.js';
import type { ApiClient } from '../../shared/rpc.js';
import type { StampedEvent } from '../../shared/runs.js';
import type { ParamValue, RecipeDef } from '../../shared/steps.js';
import { must, newHome, newService, sh } from '../integration/vm-env.js';

const M = 'selinux1';
const IMAGE = 'debian-12-thin';
let service: Service;
let client: ApiClient;
const library = loadLibrary().steps;

const recipeOf = (id: string, step: string, over: Record<string, ParamValue> = {}): RecipeDef => ({
  id,
  title: id,
  base: IMAGE,
  onFailure: 'stop',
  finalReboot: false,
  bench: [],
  steps: [{ step, params: { ...defaultParams(library.find((s) => s.id === step)!), ...over } }],
  exceptions: [],
  file: `test/${id}.yaml`,
});

async function run(recipe: RecipeDef) {
  const seen: StampedEvent[] = [];
  const s = await runRecipe({
    ctx: service.context,
    recipe,
    library,
    machine: M,
    onEvent: (e) => seen.push(e),
  });
  return { step: s.steps[0]!, seen };
}

beforeAll(async () => {
  ({ service, client } = newService(newHome('selinux')));
  await must(client, 'images.build', { name: IMAGE });
  await must(client, 'machines.create', { name: M, image: IMAGE, memoryMiB: 1024, cpus: 2 });
  await must(client, 'machines.up', { name: M });
}, 900_000);
afterAll(async () => {
  if (client) await client.call('machines.destroy', { name: M });
});

describe('SELinux, the alternative MAC', { timeout: 1_800_000 }, () => {
  it('selinux-permissive labels every file and boots with SELinux as the major LSM', async () => {
    // Enforcing first is refused before it changes anything, naming the step that comes first.
    const early = await run(recipeOf('se-too-early', 'selinux-enforcing'));
    expect(early.step.outcome).toBe('rolled-back');
    expect(early.step.reason).toContain('run selinux-permissive first');
    const { step } = await run(recipeOf('se-permissive', 'selinux-permissive'));
    expect(step.outcome, step.reason).toBe('validated');
    expect(await sh(client, M, '/usr/sbin/getenforce')).toBe('Permissive');
    expect(await sh(client, M, 'cat /sys/kernel/security/lsm')).not.toMatch(/apparmor/);
  });

  it('rolls back the enforcing reboot that locks the app out (authorized_keys labelled user_tmp_t)', async () => {
    await sh(client, M, 'sudo -n chcon -t user_tmp_t ~/.ssh/authorized_keys');
    const { step, seen } = await run(
      recipeOf('se-mislabelled', 'selinux-enforcing', { fixLabels: false, denials: 'report' }),
    );
    expect(step.outcome).toBe('rolled-back');
    expect(step.reason).toMatch(/refused the key login for \d+ s: the machine locks the app out/);
    expect(seen.some((e) => e.type === 'rollback-finished' && e.healthy)).toBe(true);
    // The snapshot from before the step: permissive, the mislabel still there, logins work.
    expect(await sh(client, M, '/usr/sbin/getenforce')).toBe('Permissive');
    expect(await sh(client, M, 'ls -Z ~/.ssh/authorized_keys')).toMatch(/:user_tmp_t:/);
  });

  it('selinux-enforcing puts the labels back and enforces: sshd in sshd_t, sudo and Docker work', async () => {
    const { step } = await run(recipeOf('se-enforcing', 'selinux-enforcing'));
    expect(step.outcome, step.reason).toBe('validated');
    expect(await sh(client, M, '/usr/sbin/getenforce')).toBe('Enforcing');
    expect(await sh(client, M, 'ls -Z ~/.ssh/authorized_keys')).toMatch(/:ssh_home_t:/);
    expect(await sh(client, M, 'ps -eo label,comm | awk \'$2 == "sshd" { print $1 }\' | sort -u')).toMatch(
      /^system_u:system_r:sshd_t:s0$/,
    );
  });
});

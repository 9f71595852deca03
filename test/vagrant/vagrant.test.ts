/**
 * The Vagrant provider, live: real vagrant 2.3.4 + vagrant-libvirt driving a machine the app
 * created from a box built from our own base image. Runs inside the network namespace made by
 * netns.sh (libvirt's management network is a private-range bridge that must stay in there), so
 * the test process and its SSH connections run in it too (`npm test` arranges that).
 *
 * `npm test` runs the quick part (HLAB_VAGRANT_SUITE unset): the provider contract, adoption, and a
 * recipe whose lock-out is rolled back. `npm run test:slow` runs the part that boots or benches
 * again (HLAB_VAGRANT_SUITE=slow): the bench and evidence replay, the in-place reboot, halt and up —
 * 5.5 of the quick part's 10 minutes on a slow machine of this kind.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../../shared/rpc.js';
import type { Service } from '../../electron/core/service.js';
import { readEvents } from '../../electron/engine/journal.js';
import { runRecipe } from '../../electron/engine/run.js';
import { inlineStep } from '../integration/inline-step.js';
import { LOCKOUT_OUTCOMES, writeLockoutRecipe } from '../integration/lockout-recipe.js';
import { providerContract } from '../integration/provider-contract.js';
import { failure, must, newHome, newService, sh } from '../integration/vm-env.js';

const M = 'vg1';
const SLOW = process.env.HLAB_VAGRANT_SUITE === 'slow';
// Tests of the other part are not registered at all (not skipped): `npm test`'s last line stays a
// plain "N passed, N failed".
const skip = (() => undefined) as unknown as typeof it;
const quickIt = SLOW ? skip : it;
const slowIt = SLOW ? it : skip;
let service: Service;
let client: ApiClient;
let evidenceFile = '';

beforeAll(async () => {
  ({ service, client } = newService(newHome('vagrant')));
  const created = await must(client, 'machines.create', {
    name: M,
    provider: 'vagrant',
    memoryMiB: 1024,
    cpus: 2,
  });
  expect(created).toMatchObject({ provider: 'vagrant', state: 'stopped', image: 'debian-12' });
  await must(client, 'machines.up', { name: M });
});

afterAll(async () => {
  if (client) await client.call('machines.destroy', { name: M });
});

if (!SLOW)
  describe('Vagrant provider contract (live, vagrant-libvirt)', () => {
    providerContract(() => ({ client, machine: M, ssh: { host: /^\d+\.\d+\.\d+\.\d+$/, user: 'vagrant' } }));
  });

describe('Vagrant provider specifics', { timeout: 900_000 }, () => {
  quickIt('is listed as available with its capabilities, next to qemu', async () => {
    const providers = await must(client, 'providers.list', {});
    expect(providers.find((p) => p.kind === 'vagrant')).toMatchObject({
      available: true,
      version: expect.stringMatching(/^2\.\d+\.\d+$/),
      capabilities: { reboot: 'in-place', console: false, adoptExisting: true },
    });
  });

  quickIt(
    'adds an existing project by its directory, drives it, and forgetting it leaves the VM alone',
    async () => {
      const dir = path.join(service.context.home, 'vagrant', 'projects', M);
      const added = await must(client, 'machines.add', { name: 'vg-adopted', provider: 'vagrant', dir });
      expect(added).toMatchObject({ provider: 'vagrant', state: 'running', location: `${dir} (default)` });
      expect(await sh(client, 'vg-adopted', 'hostname')).toBe(M);
      await must(client, 'machines.destroy', { name: 'vg-adopted' });
      const list = await must(client, 'machines.list', {});
      expect(list.map((m) => m.name)).not.toContain('vg-adopted');
      expect(list.find((m) => m.name === M)?.state).toBe('running');

      const empty = mkdtempSync(path.join(os.tmpdir(), 'hlab-novagrantfile-'));
      const e1 = await failure(client, 'machines.add', { name: 'vg-bad', provider: 'vagrant', dir: empty });
      expect(e1).toMatchObject({ code: 'bad-request' });
      expect(e1.message).toContain('no Vagrantfile');
      const e2 = await failure(client, 'machines.add', {
        name: 'vg-bad',
        provider: 'vagrant',
        dir,
        vm: 'web',
      });
      expect(e2).toMatchObject({ code: 'vm-not-found' });
      expect(e2.message).toContain('it has: default');
      expect((await failure(client, 'machines.add', { name: M, provider: 'vagrant', dir })).code).toBe(
        'conflict',
      );
    },
  );

  // Both parts: the slow part replays this run's evidence.
  it('runs a recipe with a broken lockout step between two good ones: rolled back, the others validated', async () => {
    const file = writeLockoutRecipe(service.context.home, 'vagrant-lockout');
    const s = await must(client, 'runs.start', { recipe: file, machine: M });
    expect(s.steps.map((x) => x.outcome)).toEqual(LOCKOUT_OUTCOMES);
    const events = readEvents(service.context.paths.runs, s.id);
    expect(events.find((e) => e.type === 'rollback-finished')).toMatchObject({ healthy: true });
    expect(events.find((e) => e.type === 'facts')).toMatchObject({
      provider: 'vagrant',
      image: 'debian-12',
      imageSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(await sh(client, M, 'ls /etc/ssh/sshd_config.d/ | grep -c demo || true')).toBe('0');
    expect(await sh(client, M, '/usr/sbin/sysctl -n kernel.kptr_restrict')).toBe('2');
    const evidence = await must(client, 'recipes.export', { runId: s.id, format: 'evidence' });
    expect(JSON.parse(evidence.content)).toMatchObject({
      body: { base: { provider: 'vagrant', image: 'debian-12' } },
    });
    evidenceFile = path.join(service.context.home, evidence.filename);
    writeFileSync(evidenceFile, evidence.content);
    expect(
      (await must(client, 'snapshots.list', { machine: M })).filter((x) => x.name.startsWith('hlab-')),
    ).toEqual([]);
  });

  slowIt(
    'benches the machine (own checks) and replays that run’s evidence on it with the same outcome',
    async () => {
      const bench = await must(client, 'bench.run', { machine: M, tool: 'checks' });
      expect(bench.tests.find((t) => t.id.startsWith('kernel-sysctl/'))?.result).toBe('pass');
      expect(evidenceFile).not.toBe('');
      const replay = await must(client, 'recipes.validate', { evidence: evidenceFile, machine: M });
      expect(replay.differences).toEqual([]);
      expect(replay.match).toBe(true);
    },
  );

  slowIt(
    'a reboot step reboots in place: SSH goes away and comes back with a new boot id, checks run after',
    async () => {
      const bootBefore = await sh(client, M, 'cat /proc/sys/kernel/random/boot_id');
      const step = inlineStep('reboot-in-place', {
        reboot: true,
        risk: 'reboot',
        apply: 'echo kept > /etc/hlab-reboot-marker\n',
        verify: [{ name: 'marker survived the reboot', run: 'test "$(cat /etc/hlab-reboot-marker)" = kept' }],
      });
      const s = await runRecipe({
        ctx: service.context,
        machine: M,
        library: [step],
        recipe: {
          id: 'vagrant-reboot',
          title: 'reboot in place',
          base: 'debian-12',
          onFailure: 'stop',
          finalReboot: false,
          bench: [],
          steps: [{ step: step.id, params: {} }],
          exceptions: [],
          file: '(test)',
        },
      });
      expect(s.steps.map((x) => x.outcome)).toEqual(['validated']);
      const events = readEvents(service.context.paths.runs, s.id);
      expect(events.some((e) => e.type === 'reboot-finished')).toBe(true);
      expect(await sh(client, M, 'cat /proc/sys/kernel/random/boot_id')).not.toBe(bootBefore);
    },
  );

  slowIt('stops with vagrant halt and starts again with SSH answering', async () => {
    await must(client, 'machines.down', { name: M });
    expect((await must(client, 'machines.list', {})).find((m) => m.name === M)?.state).toBe('stopped');
    await must(client, 'machines.up', { name: M });
    expect(await sh(client, M, 'echo back')).toBe('back');
  });
});

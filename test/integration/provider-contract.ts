/**
 * The provider contract, run through the API against a real machine of a given provider. The
 * VirtualBox/Vagrant providers reuse it wherever they can run.
 */
import { expect, it } from 'vitest';
import type { ApiClient } from '../../shared/rpc.js';
import { failure, must, sh } from './vm-env.js';

export interface ContractSubject {
  client: ApiClient;
  machine: string;
  /** Where the provider's SSH endpoint is: QEMU forwards 127.0.0.1; Vagrant says where in ssh-config. */
  ssh?: { host: string | RegExp; user: string };
}

export function providerContract(get: () => ContractSubject): void {
  it('lists the machine as running with its SSH endpoint', async () => {
    const { client, machine, ssh = { host: '127.0.0.1', user: 'lab' } } = get();
    const m = (await must(client, 'machines.list', {})).find((x) => x.name === machine);
    expect(m).toMatchObject({ state: 'running', ssh: { user: ssh.user } });
    if (ssh.host instanceof RegExp) expect(m?.ssh?.host).toMatch(ssh.host);
    else expect(m?.ssh?.host).toBe(ssh.host);
  });

  it('runs commands over SSH with the machine key, passing exit codes and streams', async () => {
    const { client, machine } = get();
    expect(await sh(client, machine, 'hostname')).toBe(machine);
    const r = await must(client, 'machines.exec', { machine, command: 'echo out; echo err >&2; exit 7' });
    expect(r).toMatchObject({ exitCode: 7, stdout: 'out\n', stderr: 'err\n' });
    expect(await sh(client, machine, 'sudo -n id -u')).toBe('0');
  });

  it('takes a live snapshot, and restoring it undoes a change with SSH working again', async () => {
    const { client, machine } = get();
    const snap = await must(client, 'snapshots.take', { machine, snapshot: 'contract-before' });
    expect(snap).toMatchObject({ name: 'contract-before', live: true });
    await sh(client, machine, 'sudo touch /etc/hlab-contract-marker');
    await must(client, 'snapshots.restore', { machine, snapshot: 'contract-before' });
    expect(await sh(client, machine, 'test -e /etc/hlab-contract-marker && echo present || echo gone')).toBe(
      'gone',
    );
    const skew = Math.abs(Number(await sh(client, machine, 'date +%s')) - Date.now() / 1000);
    expect(skew).toBeLessThan(30);
    // Vagrant's restore alone takes 13.6 s quiet (machine C); with four TCG guests busy the whole
    // test passed 30 s (session 21). The limit is for a hang, not a speed target.
  }, 180_000);

  it('refuses duplicate and invalid snapshot names', async () => {
    const { client, machine } = get();
    expect((await failure(client, 'snapshots.take', { machine, snapshot: 'contract-before' })).code).toBe(
      'conflict',
    );
    for (const bad of ['has space', '123', '../x', '']) {
      expect((await failure(client, 'snapshots.take', { machine, snapshot: bad })).code).toBe(
        'snapshot-invalid',
      );
    }
  });

  it('restoring a snapshot that does not exist fails and leaves the VM exactly as it was', async () => {
    const { client, machine } = get();
    await sh(client, machine, 'echo kept > /tmp/state-marker');
    const bootId = await sh(client, machine, 'cat /proc/sys/kernel/random/boot_id');
    const uptime = Number(await sh(client, machine, 'cut -d" " -f1 /proc/uptime'));
    const err = await failure(client, 'snapshots.restore', { machine, snapshot: 'never-taken' });
    expect(err.code).toBe('snapshot-not-found');
    expect(err.message).toContain('never-taken');
    const m = (await must(client, 'machines.list', {})).find((x) => x.name === machine);
    expect(m?.state).toBe('running');
    expect(await sh(client, machine, 'cat /tmp/state-marker')).toBe('kept');
    expect(await sh(client, machine, 'cat /proc/sys/kernel/random/boot_id')).toBe(bootId);
    expect(Number(await sh(client, machine, 'cut -d" " -f1 /proc/uptime'))).toBeGreaterThan(uptime);
  });

  it('lists and deletes snapshots', async () => {
    const { client, machine } = get();
    expect((await must(client, 'snapshots.list', { machine })).map((s) => s.name)).toContain(
      'contract-before',
    );
    await must(client, 'snapshots.remove', { machine, snapshot: 'contract-before' });
    expect((await must(client, 'snapshots.list', { machine })).map((s) => s.name)).not.toContain(
      'contract-before',
    );
    expect((await failure(client, 'snapshots.remove', { machine, snapshot: 'contract-before' })).code).toBe(
      'snapshot-not-found',
    );
  });
}

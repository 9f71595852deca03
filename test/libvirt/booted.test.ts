/**
 * One guest booted (TCG) on a remote lab server, reached only over qemu+ssh:// and SSH through the
 * server: the engine's loop on it (a failing step rolled back, passing ones validated, evidence
 * naming provider and host), both restore paths, the guest's isolation, and adopting a domain
 * defined with plain virsh. `npm run test:slow` runs it inside the lab network namespace.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../../shared/rpc.js';
import type { Service } from '../../electron/core/service.js';
import { readEvents } from '../../electron/engine/journal.js';
import { ensureKeyPair } from '../../electron/ssh/keys.js';
import { forwardedSshPort } from '../../electron/providers/libvirt/domain-xml.js';
import { must, newHome, newService, sh } from '../integration/vm-env.js';
import { LOCKOUT_OUTCOMES, writeLockoutRecipe } from '../integration/lockout-recipe.js';
import { authorize, onHost, STATE, uriOf } from './lab-env.js';

const M = 'lb1';
let service: Service;
let client: ApiClient;
let web: ChildProcess | undefined;

beforeAll(async () => {
  ({ service, client } = newService(newHome('libvirt-booted')));
  await authorize(client);
  await must(client, 'hosts.add', { name: 'h1', uri: uriOf(1) });
  // h2 lets QEMU start the package-proxy connector (lab-hosts.sh).
  await must(client, 'hosts.add', { name: 'h2', uri: uriOf(2), packageProxy: true });
  await must(client, 'machines.create', { name: M, provider: 'libvirt', host: 'h2', memoryMiB: 1024 });
  await must(client, 'machines.up', { name: M });
});

afterAll(async () => {
  web?.kill();
  if (client) for (const m of [M, 'plain']) await client.call('machines.destroy', { name: m });
  onHost('h2', ['destroy', 'plain-dom']);
  onHost('h2', ['undefine', 'plain-dom']);
  onHost('h2', ['vol-delete', '--pool', 'hlab', 'plain-dom.qcow2']);
});

const connects = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect({ host, port, timeout: 3000 });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
    s.once('timeout', () => (s.destroy(), resolve(false)));
  });

describe('a booted machine on a remote lab server', { timeout: 900_000 }, () => {
  it('answers SSH only through the server: its forward is on the server loopback, not the lab network', async () => {
    const m = (await must(client, 'machines.list', {})).find((x) => x.name === M);
    expect(m).toMatchObject({ state: 'running', host: 'h2', ssh: { host: '127.0.0.1', user: 'lab' } });
    expect(await sh(client, M, 'hostname')).toBe(M);
    const port = forwardedSshPort(onHost('h2', ['dumpxml', `hlab-${M}`]).out);
    expect(port).toBeGreaterThan(0);
    expect(await connects('10.99.0.12', port!)).toBe(false);
    expect(await connects('10.99.0.12', 22)).toBe(true); // the server's own sshd is what the app uses
  });

  it('its guest reaches neither its server, the lab network nor the other server directly', async () => {
    const probe = (addr: string) =>
      sh(client, M, `timeout 5 bash -c '</dev/tcp/${addr}/22' 2>/dev/null && echo open || echo closed`);
    expect(await probe('10.0.2.2')).toBe('closed'); // the server's loopback through user networking
    expect(await probe('10.99.0.12')).toBe('closed'); // its server on the lab network
    expect(await probe('10.99.0.11')).toBe('closed'); // another server
  });

  it('reaches packages only through its allow list: the proxy here, over the server connection', async () => {
    // A web server on the lab network (inside h1's namespaces): reachable only once allowed.
    web = spawn('nsenter', [
      '-t',
      readFileSync(path.join(STATE, 'h1', 'pid'), 'utf8').trim(),
      '-n',
      process.execPath,
      '-e',
      "require('http').createServer((q, r) => r.end('served on the lab network\\n')).listen(8080, '10.99.0.11')",
    ]);
    await new Promise((r) => setTimeout(r, 1000));
    const fetch = (url: string) =>
      sh(
        client,
        M,
        `/usr/lib/apt/apt-helper download-file ${url} /tmp/got >/dev/null 2>&1 && cat /tmp/got || echo refused`,
      );
    expect(await fetch('http://10.99.0.11:8080/x')).toBe('refused');
    const policy = await must(client, 'machines.egress', { name: M, allow: ['10.99.0.11:8080'] });
    expect(policy).toMatchObject({ network: 'filtered', allow: ['10.99.0.11:8080'] });
    expect(await fetch('http://10.99.0.11:8080/x')).toBe('served on the lab network');
    expect(await fetch('http://10.99.0.12:22/')).toBe('refused');
    const recent = (await must(client, 'machines.egress', { name: M })).recent;
    expect(recent.some((e) => e.verdict === 'allowed' && e.target === '10.99.0.11:8080')).toBe(true);
    expect(recent.some((e) => e.verdict !== 'allowed' && e.target === '10.99.0.12:22')).toBe(true);
  });

  it('runs a recipe: the lockout rolled back, the others validated; evidence names provider and host', async () => {
    const file = writeLockoutRecipe(service.context.home, 'lv-lockout');
    const s = await must(client, 'runs.start', { recipe: file, machine: M });
    expect(s.steps.map((x) => x.outcome)).toEqual(LOCKOUT_OUTCOMES);
    const events = readEvents(service.context.paths.runs, s.id);
    expect(events.find((e) => e.type === 'rollback-finished')).toMatchObject({ healthy: true });
    expect(await sh(client, M, '/usr/sbin/sysctl -n kernel.kptr_restrict')).toBe('2');
    const evidence = await must(client, 'recipes.export', { runId: s.id, format: 'evidence' });
    expect(JSON.parse(evidence.content)).toMatchObject({
      body: { base: { provider: 'libvirt', image: 'debian-12', host: `h2 (${uriOf(2)})` } },
    });
  });

  it('benches it and reads its login events like any machine', async () => {
    const bench = await must(client, 'bench.run', { machine: M, tool: 'checks' });
    expect(bench.tests.find((t) => t.id.startsWith('kernel-sysctl/'))?.result).toBe('pass');
    const events = await must(client, 'events.collect', { machine: M });
    // The app's own logins through the server: accepted publickey logins of the lab user.
    expect(events.events.some((e) => e.action === 'ssh_login' && e.user === 'lab')).toBe(true);
  });

  it('restores a live snapshot both ways: through the monitor and with virsh snapshot-revert', async () => {
    await must(client, 'snapshots.take', { machine: M, snapshot: 'clean' });
    const revert = newService(service.context.home, undefined, { HLAB_LIBVIRT_RESTORE: 'revert' }).client;
    for (const [c, how] of [
      [client, 'monitor'],
      [revert, 'revert'],
    ] as const) {
      await sh(client, M, 'sudo touch /etc/hlab-marker');
      await must(c, 'snapshots.restore', { machine: M, snapshot: 'clean' });
      expect(await sh(client, M, 'test -e /etc/hlab-marker && echo left || echo gone'), how).toBe('gone');
      // The clock was set after the restore (fresh login + sudo in one connection).
      const skew = Math.abs(Number(await sh(client, M, 'date +%s')) - Date.now() / 1000);
      expect(skew, how).toBeLessThan(30);
    }
    await must(client, 'snapshots.remove', { machine: M, snapshot: 'clean' });
  });

  it('adopts a domain defined with plain virsh and drives it', async () => {
    await must(client, 'machines.down', { name: M, force: true });
    const key = ensureKeyPair(path.join(STATE, 'user-keys'), 'plain');
    const base = /base-[0-9a-f]{16}\.qcow2/.exec(onHost('h2', ['vol-list', 'hlab']).out)?.[0];
    expect(base).toBeDefined();
    const capacity = /Capacity:\s+(\d+) bytes/.exec(
      onHost('h2', ['vol-info', '--bytes', '--pool', 'hlab', base!]).out,
    )?.[1];
    expect(
      onHost('h2', [
        'vol-create-as',
        'hlab',
        'plain-dom.qcow2',
        capacity!,
        '--format',
        'qcow2',
        '--backing-vol',
        base!,
        '--backing-vol-format',
        'qcow2',
      ]).code,
    ).toBe(0);
    const xml = path.join(STATE, 'plain-dom.xml');
    writeFileSync(
      xml,
      `<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>plain-dom</name><memory unit='MiB'>1024</memory><vcpu>2</vcpu>
  <sysinfo type='fwcfg'><entry name='opt/hlab/seed'>user=lab
hostname=plain
key=${key.publicKey}
</entry></sysinfo>
  <os><type arch='x86_64' machine='pc'>hvm</type></os><features><acpi/></features><cpu mode='maximum'/>
  <devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/var/lib/libvirt/images/hlab/plain-dom.qcow2'/><target dev='vda' bus='virtio'/></disk></devices>
  <qemu:commandline><qemu:arg value='-netdev'/><qemu:arg value='user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:2298-:22'/><qemu:arg value='-device'/><qemu:arg value='virtio-net-pci,netdev=n0,addr=0x1e'/></qemu:commandline>
</domain>`,
    );
    expect(onHost('h2', ['define', xml]).code).toBe(0);
    const added = await must(client, 'machines.add', {
      name: 'plain',
      provider: 'libvirt',
      host: 'h2',
      vm: 'plain-dom',
      sshUser: 'lab',
      sshKeyFile: key.privatePath,
    });
    expect(added).toMatchObject({ adopted: true, state: 'stopped', host: 'h2' });
    await must(client, 'machines.up', { name: 'plain' });
    expect(await sh(client, 'plain', 'hostname')).toBe('plain');
    await must(client, 'machines.destroy', { name: 'plain' });
    expect(onHost('h2', ['domstate', 'plain-dom']).out.trim()).toBe('running'); // forgotten, not touched
  });
});

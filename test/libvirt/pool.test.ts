/**
 * Lab servers for real, without booting a guest: three independent libvirtd "hosts" (lab-hosts.sh,
 * each in its own namespaces with its own sshd), reached only over qemu+ssh:// from this test's
 * network namespace. Adding them (host keys pinned), capacity, placement across them, the verified
 * base volume and linked clones, snapshot metadata, libvirt's migration refusal, adopting a plain
 * virsh domain, and a host killed mid-test.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../../shared/rpc.js';
import type { Service } from '../../electron/core/service.js';
import { ensureKeyPair } from '../../electron/ssh/keys.js';
import type { LibvirtProvider } from '../../electron/providers/libvirt/provider.js';
import { parseLabUri, virshUri } from '../../electron/providers/libvirt/uri.js';
import { failure, must, newHome, newService } from '../integration/vm-env.js';
import { authorize, hostKeyFingerprint, killHost, onHost, onHostShell, STATE, uriOf } from './lab-env.js';

let service: Service;
let client: ApiClient;

beforeAll(async () => {
  ({ service, client } = newService(newHome('libvirt-pool')));
  await authorize(client);
});

afterAll(async () => {
  for (const m of ['p1', 'p2', 'p3', 'p4'])
    if (service.context.machines.exists(m)) await client.call('machines.destroy', { name: m });
  for (const h of ['h1', 'h2']) onHost(h, ['undefine', 'plain1']);
});

describe('lab servers over qemu+ssh (no guest booted)', { timeout: 180_000 }, () => {
  it('adds three servers, pinning each SSH host key, and lists what each has', async () => {
    for (const i of [1, 2, 3]) {
      // h2's QEMU may start the package-proxy connector (lab-hosts.sh); the others keep the sandbox.
      const h = await must(client, 'hosts.add', { name: `h${i}`, uri: uriOf(i), packageProxy: i === 2 });
      expect(h).toMatchObject({
        name: `h${i}`,
        reachable: true,
        accel: 'tcg',
        libvirtVersion: '9.0.0',
        packageProxy: i === 2,
      });
      expect(h.hostKey).toBe(hostKeyFingerprint(`h${i}`));
    }
    const list = await must(client, 'hosts.list', {});
    expect(list.map((h) => h.name)).toEqual(['h1', 'h2', 'h3']);
    for (const h of list) {
      expect(h.qemuVersion).toMatch(/^\d+\.\d+/);
      expect(h.cpus).toBeGreaterThan(0);
      expect(h.freeMiB).toBeGreaterThan(1024);
      expect(h.machines).toEqual([]);
    }
  });

  it('refuses a duplicate, a bad URI and a key the server does not accept, with the fix named', async () => {
    expect((await failure(client, 'hosts.add', { name: 'h1', uri: uriOf(1) })).code).toBe('conflict');
    const dup = await failure(client, 'hosts.add', { name: 'again', uri: uriOf(1) });
    expect(dup.message).toContain('Lab server "h1" already is');
    const bad = await failure(client, 'hosts.add', { name: 'x', uri: 'qemu+tcp://10.99.0.11/system' });
    expect(bad).toMatchObject({ code: 'bad-request' });
    const stranger = ensureKeyPair(mkdtempSync(path.join(os.tmpdir(), 'hlab-stranger-')), 'k');
    const refused = await failure(client, 'hosts.add', {
      name: 'x',
      uri: 'qemu+ssh://nobody@10.99.0.12/system',
      keyFile: stranger.privatePath,
    });
    expect(refused.code).toBe('ssh-auth');
    expect(refused.message).toContain('hlab hosts key');
    expect((await must(client, 'hosts.list', {})).map((h) => h.name)).toEqual(['h1', 'h2', 'h3']);
  });

  it('places new machines by headroom (they spread), uploads and checks the base once per server, clones it', async () => {
    const placed: string[] = [];
    for (const m of ['p1', 'p2', 'p3']) {
      const info = await must(client, 'machines.create', { name: m, provider: 'libvirt', memoryMiB: 2048 });
      expect(info).toMatchObject({ provider: 'libvirt', state: 'stopped' });
      expect(info.network).toBe(info.host === 'h2' ? 'filtered' : 'isolated');
      placed.push(info.host ?? '');
    }
    expect([...placed].sort()).toEqual(['h1', 'h2', 'h3']);
    const pinned = await must(client, 'machines.create', {
      name: 'p4',
      provider: 'libvirt',
      memoryMiB: 512,
      host: 'h2',
    });
    expect(pinned.host).toBe('h2');
    // h2 now holds two clones of one base volume: uploaded once, a backing chain for each.
    const vols = onHost('h2', ['vol-list', 'hlab']).out;
    expect(vols.match(/base-[0-9a-f]{16}\.qcow2/g)).toHaveLength(2); // name and path columns of one volume
    const p4 = onHost('h2', ['vol-dumpxml', '--pool', 'hlab', 'p4.qcow2']).out;
    expect(p4).toMatch(
      /<backingStore>\s*<path>\/var\/lib\/libvirt\/images\/hlab\/base-[0-9a-f]{16}\.qcow2<\/path>\s*<format type='qcow2'\/>/,
    );
    const h2 = (await must(client, 'hosts.list', {})).find((h) => h.name === 'h2');
    expect(h2?.machines.sort()).toEqual(
      [placed[0] === 'h2' ? 'p1' : placed[1] === 'h2' ? 'p2' : 'p3', 'p4'].sort(),
    );
  });

  it('the domain it defines isolates the guest: restricted user network, SSH only on the server loopback, packages through the proxy', () => {
    const xml = onHost('h2', ['dumpxml', 'hlab-p4']).out;
    expect(xml).toContain('user,id=hlab0,restrict=on,hostfwd=tcp:127.0.0.1:');
    expect(xml).not.toMatch(/<interface\b/);
    expect(xml).toContain("<entry name='opt/hlab/seed'>user=lab\nhostname=p4\nkey=ssh-ed25519 ");
    // Packages: QEMU joins each guest connection to the proxy address to the server's copy of the
    // connector (readable by QEMU's user), which joins a port on the server's loopback.
    expect(xml).toMatch(
      /guestfwd=tcp:10\.0\.2\.100:3142-cmd:\S*\/usr\/bin\/perl\S* \S*\/var\/lib\/libvirt\/images\/hlab\/hlab-egress-connect\.pl\S* \S*tcp:\d+/,
    );
    expect(xml).toContain('egress=http://10.0.2.100:3142');
    const mode = onHostShell('h2', 'stat -c %a /var/lib/libvirt/images/hlab/hlab-egress-connect.pl');
    expect(mode).toBe('644');
    // A server without --package-proxy: no connector, no proxy address, the guest reaches nothing.
    const elsewhere = onHost('h1', ['list', '--all', '--name'])
      .out.split('\n')
      .find((d) => d.startsWith('hlab-p'));
    const plain = onHost('h1', ['dumpxml', elsewhere ?? '']).out;
    expect(plain).toContain('user,id=hlab0,restrict=on,hostfwd=tcp:127.0.0.1:');
    expect(plain).not.toContain('guestfwd');
    expect(plain).not.toContain('egress=');
  });

  it('takes, lists and removes a disk-only snapshot of a stopped machine; libvirt then refuses to migrate it', async () => {
    const s = await must(client, 'snapshots.take', { machine: 'p4', snapshot: 'base' });
    expect(s).toMatchObject({ name: 'base', live: false });
    expect((await must(client, 'snapshots.list', { machine: 'p4' })).map((x) => x.name)).toEqual(['base']);
    expect(onHost('h2', ['snapshot-list', 'hlab-p4', '--name']).out.trim()).toBe('base');
    // A machine stays on its server: libvirt itself refuses to move a domain with internal snapshots.
    // (virsh connects to both servers, through the app's ssh wrapper and pinned keys.)
    const lv = service.context.machines.provider('libvirt') as LibvirtProvider;
    const dest = virshUri(parseLabUri(uriOf(1)), lv.pool.appKey().privatePath);
    const mig = await lv.pool.virsh('h2').raw(['migrate', '--offline', '--persistent', 'hlab-p4', dest]);
    expect(mig.code).not.toBe(0);
    expect(mig.stderr).toContain('cannot migrate domain with 1 snapshots');
    expect((await failure(client, 'snapshots.take', { machine: 'p4', snapshot: 'base' })).code).toBe(
      'conflict',
    );
    await must(client, 'snapshots.remove', { machine: 'p4', snapshot: 'base' });
    expect(await must(client, 'snapshots.list', { machine: 'p4' })).toEqual([]);
  });

  it('adopts a domain defined with plain virsh; forgetting it leaves the domain alone', async () => {
    const xml = path.join(STATE, 'plain1.xml');
    writeFileSync(
      xml,
      `<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'><name>plain1</name><memory unit='MiB'>768</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os><qemu:commandline><qemu:arg value='-netdev'/><qemu:arg value='user,id=n0,hostfwd=tcp:127.0.0.1:2299-:22'/></qemu:commandline></domain>`,
    );
    expect(onHost('h1', ['define', xml]).code).toBe(0);
    const key = ensureKeyPair(service.context.paths.keys, 'plain-user-key');
    const added = await must(client, 'machines.add', {
      name: 'plain',
      provider: 'libvirt',
      host: 'h1',
      vm: 'plain1',
      sshUser: 'debian',
      sshKeyFile: key.privatePath,
    });
    expect(added).toMatchObject({ adopted: true, host: 'h1', state: 'stopped', memoryMiB: 768, cpus: 1 });
    const missing = await failure(client, 'machines.add', {
      name: 'x',
      provider: 'libvirt',
      host: 'h1',
      vm: 'nope',
      sshUser: 'u',
      sshKeyFile: key.privatePath,
    });
    expect(missing.code).toBe('vm-not-found');
    expect(missing.message).toContain('plain1');
    await must(client, 'machines.destroy', { name: 'plain' });
    expect(onHost('h1', ['domstate', 'plain1']).out.trim()).toBe('shut off');
  });

  it('a server killed mid-test: its machines are unreachable with one clear error, the others keep working', async () => {
    const onH3 = (await must(client, 'machines.list', {})).find((m) => m.host === 'h3');
    expect(onH3).toBeDefined();
    killHost('h3');
    const t0 = Date.now();
    const list = await must(client, 'machines.list', {});
    const listMs = Date.now() - t0;
    // Bounded: the probe's timeout (12 s), not a hang; in practice ssh fails at once (no route).
    expect(listMs).toBeLessThan(30_000);
    const dead = list.find((m) => m.name === onH3?.name);
    expect(dead).toMatchObject({ state: 'unreachable', host: 'h3' });
    expect(dead?.note).toContain('Lab server "h3"');
    expect(list.filter((m) => m.host !== 'h3').every((m) => m.state === 'stopped')).toBe(true);
    const hosts = await must(client, 'hosts.list', {});
    expect(hosts.find((h) => h.name === 'h3')).toMatchObject({ reachable: false });
    expect(hosts.filter((h) => h.name !== 'h3').every((h) => h.reachable)).toBe(true);
    const doc = await must(client, 'app.doctor', {});
    expect(doc.checks.find((c) => c.id === 'host:h3')).toMatchObject({ ok: false });
    expect(doc.checks.find((c) => c.id === 'host:h3')?.detail).toContain('Lab server "h3"');
    expect(doc.checks.find((c) => c.id === 'host:h1')?.detail).toMatch(
      /^libvirt 9\.0\.0, QEMU [\d.]+, TCG, /,
    );
    const up = await failure(client, 'machines.up', { name: onH3!.name });
    expect(up.code).toBe('host-unreachable');
    const rm = await failure(client, 'machines.destroy', { name: onH3!.name });
    expect(rm.message).toContain('hlab hosts rm h3 --forget');
    // Placement skips it and says so.
    const p = await must(client, 'machines.create', { name: 'p5', provider: 'libvirt', memoryMiB: 256 });
    expect(['h1', 'h2']).toContain(p.host);
    await must(client, 'machines.destroy', { name: 'p5' });
    expect((await failure(client, 'hosts.remove', { name: 'h3' })).code).toBe('conflict');
    const forgot = await must(client, 'hosts.remove', { name: 'h3', forget: true });
    expect(forgot).toEqual({ removed: 'h3', forgot: [onH3!.name] });
  });

  it('destroying a machine removes its domain and its disk from the server', async () => {
    await must(client, 'machines.destroy', { name: 'p4' });
    expect(onHost('h2', ['dominfo', 'hlab-p4']).code).not.toBe(0);
    expect(onHost('h2', ['vol-list', 'hlab']).out).not.toContain('p4.qcow2');
  });
});

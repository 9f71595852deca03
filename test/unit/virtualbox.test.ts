/**
 * The VirtualBox provider on recorded real VBoxManage outputs (test/fixtures/virtualbox/, each
 * naming its source). VirtualBox cannot be installed here, so every command the provider runs is
 * checked against a transcript that fails on any unexpected command.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HlabError } from '../../shared/errors.js';
import type { CommandRunner } from '../../electron/providers/provider.js';
import { Machines } from '../../electron/machines/machines.js';
import { KnownHosts } from '../../electron/ssh/known-hosts.js';
import {
  parseError,
  parseListVms,
  parseSnapshots,
  parseVersion,
  parseVmInfo,
} from '../../electron/providers/virtualbox/parse.js';
import { VirtualBoxProvider, virtualBoxNetwork } from '../../electron/providers/virtualbox/provider.js';
import * as R from '../fixtures/virtualbox/recorded.js';

type Step = [cmd: string, args: string[], reply: R.Recorded];

/** A runner that replays a transcript in order and fails on anything it was not told to expect. */
function transcript(steps: Step[]): { runner: CommandRunner; left: () => Step[] } {
  const queue = [...steps];
  const runner: CommandRunner = async (cmd, args) => {
    const next = queue.shift();
    const got = [cmd, ...args].join(' ');
    if (!next) throw new Error(`unexpected command (transcript is over): ${got}`);
    const want = [next[0], ...next[1]].join(' ');
    if (got !== want) throw new Error(`unexpected command:\n  got  ${got}\n  want ${want}`);
    return { code: next[2].code, stdout: next[2].stdout, stderr: next[2].stderr };
  };
  return { runner, left: () => queue };
}

const UUID = '295e77c3-d922-4849-93de-4422b8c08880';
const VM = 'urfve6cb85a2_default_1458910687825_39001';
const V = 'VBoxManage';

function provider(steps: Step[]) {
  const t = transcript(steps);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hlab-vbox-'));
  const p = new VirtualBoxProvider({
    storeDir: path.join(dir, 'vbox'),
    imageDir: path.join(dir, 'images'),
    runner: t.runner,
    freePort: async () => 40222,
    retryDelayMs: 0,
  });
  return { p, t, dir };
}

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return (err as HlabError).code;
  }
  return 'no error';
}

describe('VBoxManage parsers on recorded outputs', () => {
  it("says a VirtualBox guest is not filtered, and before 7.0 reaches this host's loopback (N1)", () => {
    expect(virtualBoxNetwork(parseVersion(R.VERSION_OK.stdout)!)).toMatch(
      /not filtered.*before 7\.0 also this host's loopback services at 10\.0\.2\.2 \(natlocalhostreachable\).*--natlocalhostreachable1 off/,
    );
    expect(virtualBoxNetwork('7.0.20')).toMatch(/^not filtered: .*since 7\.0 not this host's loopback/);
  });

  it('reads versions past the vboxdrv WARNING banner and vendor suffixes', () => {
    expect(parseVersion(R.VERSION_WITH_VBOXDRV_WARNING.stdout)).toBe('6.0.12');
    expect(parseVersion(R.VERSION_OK.stdout)).toBe('5.2.6');
    expect(parseVersion(R.VERSION_VENDOR.stdout)).toBe('4.1.2');
  });

  it('lists VMs anchored on the UUID, and reads showvminfo key shapes (quoted keys, numbers, NAT rules)', () => {
    expect(parseListVms(R.LIST_VMS.stdout)).toHaveLength(3);
    expect(parseListVms(R.LIST_VMS.stdout)[0]).toEqual({
      name: 'boot2docker-vm',
      uuid: 'd4d92435-7863-43ab-9a4a-1b24654abcd8',
    });
    const info = parseVmInfo(R.SHOWVMINFO_RUNNING.stdout);
    expect(info).toMatchObject({
      name: VM,
      uuid: UUID,
      state: 'running',
      memoryMiB: 2048,
      cpus: 2,
      accessible: true,
    });
    expect(info.forwards[0]).toEqual({
      name: 'ssh',
      proto: 'tcp',
      hostIp: '127.0.0.1',
      hostPort: 2200,
      guestPort: 22,
    });
    expect(info.forwards).toHaveLength(3);
  });

  it('reads a nested snapshot tree with duplicate names and the current one', () => {
    const snaps = parseSnapshots(R.SNAPSHOT_LIST_TREE.stdout);
    expect(snaps.map((s) => s.name)).toEqual([
      'Imported',
      'Snapshot 1',
      'Snapshot 2',
      'Snapshot 3',
      'Snapshot 4',
      'Snapshot-Export',
      'Snapshot 5',
      'Snapshot 2',
    ]);
    expect(snaps.filter((s) => s.current).map((s) => s.uuid)).toEqual([
      'c857d1b8-4fd6-4044-9d2c-c6e465b3cdd4',
    ]);
  });

  it('keeps the tool’s own words and code from error lines', () => {
    expect(parseError(R.LOCKED.stderr)).toMatchObject({ code: 'VBOX_E_INVALID_OBJECT_STATE' });
    expect(parseError(R.STARTVM_NO_VMX.stderr)).toMatchObject({
      verr: 'VERR_VMX_NO_VMX',
      code: 'NS_ERROR_FAILURE',
    });
    expect(parseError(R.SNAPSHOT_RESTORE_MISSING.stderr)?.message).toBe(
      "Could not find a snapshot named 'Snapshot1'",
    );
    expect(parseError('0%...100%\n')).toBeUndefined();
  });
});

describe('VirtualBox provider on transcripts', () => {
  it('detect: available with a version; the vboxdrv warning (exit 0) makes it unavailable; missing binary says so', async () => {
    expect(await provider([[V, ['--version'], R.VERSION_OK]]).p.detect()).toEqual({
      available: true,
      version: '5.2.6',
      network: expect.stringMatching(/^not filtered: .*natlocalhostreachable/),
    });
    const warned = await provider([[V, ['--version'], R.VERSION_WITH_VBOXDRV_WARNING]]).p.detect();
    expect(warned).toMatchObject({ available: false, version: '6.0.12' });
    expect(warned.reason).toContain('vboxdrv kernel module is not loaded');
    const missing = new VirtualBoxProvider({
      storeDir: mkdtempSync(path.join(os.tmpdir(), 'hlab-vbox-')),
      imageDir: os.tmpdir(),
      vboxmanage: 'VBoxManage-not-installed-here',
      freePort: async () => 1,
    });
    expect(await missing.detect()).toMatchObject({
      available: false,
      reason: expect.stringContaining('not installed'),
    });
  });

  it('adds a running VM by name, reusing its own NAT rule to port 22 on 127.0.0.1', async () => {
    const { p, t } = provider([
      [V, ['list', 'vms'], R.LIST_VMS],
      [V, ['showvminfo', UUID, '--machinereadable'], R.SHOWVMINFO_RUNNING],
      [V, ['showvminfo', UUID, '--machinereadable'], R.SHOWVMINFO_RUNNING],
    ]);
    const info = await p.adopt({ name: 'web', provider: 'virtualbox', vm: VM, sshUser: 'vagrant' });
    expect(info).toMatchObject({
      provider: 'virtualbox',
      state: 'running',
      memoryMiB: 2048,
      cpus: 2,
      ssh: { host: '127.0.0.1', port: 2200, user: 'vagrant' },
    });
    expect(t.left()).toEqual([]);
  });

  it('adds a powered-off VM by UUID and gives it a NAT rule on 127.0.0.1 for SSH', async () => {
    const { p, t } = provider([
      [V, ['list', 'vms'], R.LIST_VMS],
      [V, ['showvminfo', UUID, '--machinereadable'], R.SHOWVMINFO_POWEROFF],
      [V, ['modifyvm', UUID, '--natpf1', 'hlab-ssh,tcp,127.0.0.1,40222,,22'], R.SILENT_OK],
      [V, ['showvminfo', UUID, '--machinereadable'], R.SHOWVMINFO_POWEROFF],
    ]);
    const info = await p.adopt({
      name: 'db',
      provider: 'virtualbox',
      vm: `{${UUID.toUpperCase()}}`,
      sshUser: 'me',
    });
    expect(info).toMatchObject({ state: 'stopped' });
    expect(info.ssh).toBeUndefined();
    expect(p.store.read('db').sshPort).toBe(40222);
    expect(t.left()).toEqual([]);
  });

  it('an unknown VM is vm-not-found; a missing key file and a missing user are bad requests', async () => {
    const { p } = provider([[V, ['list', 'vms'], R.LIST_VMS]]);
    expect(await code(p.adopt({ name: 'x', provider: 'virtualbox', vm: 'nope', sshUser: 'u' }))).toBe(
      'vm-not-found',
    );
    expect(await code(p.adopt({ name: 'x', provider: 'virtualbox', vm: VM }))).toBe('bad-request');
    expect(
      await code(
        p.adopt({ name: 'x', provider: 'virtualbox', vm: VM, sshUser: 'u', sshKeyFile: '/nonexistent/key' }),
      ),
    ).toBe('bad-request');
  });

  it('maps recorded errors: unknown VM, locked session (retried), VERR start failure, start with exit 1 but started', async () => {
    const { p } = provider([
      [V, ['list', 'vms'], R.LIST_VMS],
      [V, ['showvminfo', UUID, '--machinereadable'], R.SHOWVMINFO_POWEROFF],
      [V, ['modifyvm', UUID, '--natpf1', 'hlab-ssh,tcp,127.0.0.1,40222,,22'], R.LOCKED],
      [V, ['modifyvm', UUID, '--natpf1', 'hlab-ssh,tcp,127.0.0.1,40222,,22'], R.LOCKED],
      [V, ['modifyvm', UUID, '--natpf1', 'hlab-ssh,tcp,127.0.0.1,40222,,22'], R.SILENT_OK],
      [V, ['showvminfo', UUID, '--machinereadable'], R.SHOWVMINFO_POWEROFF],
      [V, ['showvminfo', UUID, '--machinereadable'], R.SHOWVMINFO_POWEROFF],
      [V, ['startvm', UUID, '--type', 'headless'], R.STARTVM_NO_VMX],
      [V, ['showvminfo', UUID, '--machinereadable'], R.SHOWVMINFO_POWEROFF],
      [V, ['startvm', UUID, '--type', 'headless'], { ...R.STARTVM_OK, code: 1 }],
      [V, ['showvminfo', UUID, '--machinereadable'], R.UNKNOWN_VM],
    ]);
    await p.adopt({ name: 'db', provider: 'virtualbox', vm: UUID, sshUser: 'me' });
    const err = await p.up('db').catch((e: HlabError) => e);
    expect(err).toMatchObject({ code: 'vm-crashed', details: { verr: 'VERR_VMX_NO_VMX' } });
    expect((err as HlabError).message).toContain('VT-x is not available (VERR_VMX_NO_VMX)');
    expect(await p.up('db')).toEqual({ host: '127.0.0.1', port: 40222, user: 'me' });
    expect(await code(p.get('db'))).toBe('vm-not-found');
  });

  it('snapshots: none is an empty list (exit 1 on stdout); take is live on a running VM; duplicates refused', async () => {
    const { p, t } = provider([
      [V, ['list', 'vms'], R.LIST_VMS],
      [V, ['showvminfo', UUID, '--machinereadable'], R.SHOWVMINFO_RUNNING],
      [V, ['showvminfo', UUID, '--machinereadable'], R.SHOWVMINFO_RUNNING],
      [V, ['snapshot', UUID, 'list', '--machinereadable'], R.SNAPSHOT_LIST_NONE],
      [V, ['snapshot', UUID, 'list', '--machinereadable'], R.SNAPSHOT_LIST_NONE],
      [V, ['showvminfo', UUID, '--machinereadable'], R.SHOWVMINFO_RUNNING],
      [V, ['snapshot', UUID, 'take', 'clean', '--live'], R.SNAPSHOT_TAKE],
      [V, ['snapshot', UUID, 'list', '--machinereadable'], R.SNAPSHOT_LIST_TREE],
    ]);
    await p.adopt({ name: 'web', provider: 'virtualbox', vm: VM, sshUser: 'vagrant' });
    expect(await p.snapshots.list('web')).toEqual([]);
    expect(await p.snapshots.take('web', 'clean')).toMatchObject({ name: 'clean', live: true });
    expect(await code(p.snapshots.take('web', 'Imported'))).toBe('conflict');
    expect(await code(p.snapshots.take('web', '../x'))).toBe('snapshot-invalid');
    expect(t.left()).toEqual([]);
  });

  it('restore: refused while running (VirtualBox needs it off), missing snapshot left untouched, by UUID when off', async () => {
    const { p, t } = provider([
      [V, ['list', 'vms'], R.LIST_VMS],
      [V, ['showvminfo', UUID, '--machinereadable'], R.SHOWVMINFO_RUNNING],
      [V, ['showvminfo', UUID, '--machinereadable'], R.SHOWVMINFO_RUNNING],
      // running: refused by us, before VBoxManage could say "Cannot delete the current state"
      [V, ['snapshot', UUID, 'list', '--machinereadable'], R.SNAPSHOT_LIST_TREE],
      [V, ['showvminfo', UUID, '--machinereadable'], R.SHOWVMINFO_RUNNING],
      // missing snapshot: looked up first, nothing else runs
      [V, ['snapshot', UUID, 'list', '--machinereadable'], R.SNAPSHOT_LIST_ONE],
      // off: restored by the snapshot's UUID
      [V, ['snapshot', UUID, 'list', '--machinereadable'], R.SNAPSHOT_LIST_TREE],
      [V, ['showvminfo', UUID, '--machinereadable'], R.SHOWVMINFO_POWEROFF],
      [V, ['snapshot', UUID, 'restore', 'c857d1b8-4fd6-4044-9d2c-c6e465b3cdd4'], R.SNAPSHOT_RESTORE],
      // the tool's own refusal (someone started it meanwhile) keeps its words
      [V, ['snapshot', UUID, 'list', '--machinereadable'], R.SNAPSHOT_LIST_TREE],
      [V, ['showvminfo', UUID, '--machinereadable'], R.SHOWVMINFO_POWEROFF],
      [V, ['snapshot', UUID, 'restore', '7e5b4165-91ec-4091-a74c-a5709d584530'], R.RESTORE_RUNNING],
    ]);
    await p.adopt({ name: 'web', provider: 'virtualbox', vm: VM, sshUser: 'vagrant' });
    expect(await code(p.snapshots.restore('web', 'Imported'))).toBe('vm-state');
    expect(await code(p.snapshots.restore('web', 'nosuch'))).toBe('snapshot-not-found');
    expect(await p.snapshots.restore('web', 'Snapshot-Export')).toMatchObject({ name: 'Snapshot-Export' });
    const raced = await p.snapshots.restore('web', 'Imported').catch((e: HlabError) => e);
    expect(raced).toMatchObject({ code: 'vm-state', details: { vboxCode: 'VBOX_E_INVALID_VM_STATE' } });
    expect((raced as HlabError).message).toContain('Cannot delete the current state of the running machine');
    expect(t.left()).toEqual([]);
  });

  it('the machine layer powers a running VM off, restores, and starts it again (restoreNeedsPowerOff)', async () => {
    const { p, t, dir } = provider([
      [V, ['list', 'vms'], R.LIST_VMS],
      [V, ['showvminfo', UUID, '--machinereadable'], R.SHOWVMINFO_RUNNING],
      [V, ['showvminfo', UUID, '--machinereadable'], R.SHOWVMINFO_RUNNING],
      // Machines.restore: state, snapshot looked up, power off (forced), restore, start
      [V, ['showvminfo', UUID, '--machinereadable'], R.SHOWVMINFO_RUNNING],
      [V, ['snapshot', UUID, 'list', '--machinereadable'], R.SNAPSHOT_LIST_TREE],
      [V, ['showvminfo', UUID, '--machinereadable'], R.SHOWVMINFO_RUNNING],
      [V, ['controlvm', UUID, 'poweroff'], R.SILENT_OK],
      [V, ['snapshot', UUID, 'list', '--machinereadable'], R.SNAPSHOT_LIST_TREE],
      [V, ['showvminfo', UUID, '--machinereadable'], R.SHOWVMINFO_POWEROFF],
      [V, ['snapshot', UUID, 'restore', '7e5b4165-91ec-4091-a74c-a5709d584530'], R.SNAPSHOT_RESTORE],
      [V, ['showvminfo', UUID, '--machinereadable'], R.SHOWVMINFO_POWEROFF],
      [V, ['showvminfo', UUID, '--machinereadable'], R.SHOWVMINFO_POWEROFF],
      [V, ['startvm', UUID, '--type', 'headless'], R.STARTVM_OK],
      // waitReady asks where SSH is; with a 1 ms budget it gives up before connecting
      [V, ['showvminfo', UUID, '--machinereadable'], R.SHOWVMINFO_RUNNING],
    ]);
    await p.adopt({ name: 'web', provider: 'virtualbox', vm: VM, sshUser: 'vagrant' });
    const key = path.join(dir, 'key');
    writeFileSync(key, 'not a key');
    const machines = new Machines({
      providers: [p],
      keysDir: path.join(dir, 'keys'),
      knownHosts: new KnownHosts(path.join(dir, 'known_hosts.json')),
    });
    const err = await machines.restore('web', 'Imported', { timeoutMs: 1 }).catch((e: HlabError) => e);
    expect(t.left()).toEqual([]);
    expect((err as HlabError).code).toBe('ssh-timeout');
  });

  it('creates from our image: VDI template once, linked clone, seed as DMI serial, NAT rule on 127.0.0.1', async () => {
    const tpl = 'hlab-template-debian-12-0123456789ab';
    const tplUuid = '11111111-2222-3333-4444-555555555555';
    const vmUuid = '66666666-7777-8888-9999-000000000000';
    const list = (extra: string) => ({ ...R.LIST_VMS, stdout: R.LIST_VMS.stdout + extra });
    const dir0 = mkdtempSync(path.join(os.tmpdir(), 'hlab-vbox-'));
    const image = {
      name: 'debian-12',
      path: '/images/debian-12.qcow2',
      sha256: '0123456789ab'.padEnd(64, '0'),
      source: 'built' as const,
    };
    const vdi = path.join(dir0, 'images', `${tpl}.vdi`);
    const seedArg = (key: string) =>
      `hlab-seed:${Buffer.from(`user=lab\nhostname=lab1\nkey=${key}\n`).toString('base64')}`;
    const t = transcript([
      [V, ['list', 'vms'], R.LIST_VMS],
      ['qemu-img', ['convert', '-O', 'vdi', image.path, vdi], R.SILENT_OK],
      [V, ['createvm', '--name', tpl, '--ostype', 'Debian_64', '--register'], R.SILENT_OK],
      [V, ['list', 'vms'], list(`"${tpl}" {${tplUuid}}\n`)],
      [
        V,
        ['modifyvm', tplUuid, '--memory', '1024', '--cpus', '2', '--nic1', 'nat', '--ioapic', 'on'],
        R.SILENT_OK,
      ],
      [V, ['storagectl', tplUuid, '--name', 'SATA', '--add', 'sata', '--portcount', '1'], R.SILENT_OK],
      [
        V,
        [
          'storageattach',
          tplUuid,
          '--storagectl',
          'SATA',
          '--port',
          '0',
          '--device',
          '0',
          '--type',
          'hdd',
          '--medium',
          vdi,
        ],
        R.SILENT_OK,
      ],
      [V, ['snapshot', tplUuid, 'take', 'base'], R.SNAPSHOT_TAKE],
      [
        V,
        ['clonevm', tplUuid, '--snapshot', 'base', '--options', 'link', '--name', 'hlab-lab1', '--register'],
        R.CLONEVM,
      ],
      [V, ['list', 'vms'], list(`"${tpl}" {${tplUuid}}\n"hlab-lab1" {${vmUuid}}\n`)],
      [V, ['modifyvm', vmUuid, '--memory', '1024', '--cpus', '2'], R.SILENT_OK],
      [
        V,
        [
          'setextradata',
          vmUuid,
          'VBoxInternal/Devices/pcbios/0/Config/DmiSystemSerial',
          seedArg('ssh-ed25519 AAAAtest hlab-lab1'),
        ],
        R.SILENT_OK,
      ],
      [V, ['modifyvm', vmUuid, '--natpf1', 'hlab-ssh,tcp,127.0.0.1,40222,,22'], R.SILENT_OK],
      [V, ['showvminfo', vmUuid, '--machinereadable'], R.SHOWVMINFO_POWEROFF],
    ]);
    const p = new VirtualBoxProvider({
      storeDir: path.join(dir0, 'vbox'),
      imageDir: path.join(dir0, 'images'),
      runner: t.runner,
      freePort: async () => 40222,
    });
    const info = await p.create({
      name: 'lab1',
      image,
      memoryMiB: 1024,
      cpus: 2,
      publicKey: 'ssh-ed25519 AAAAtest hlab-lab1',
    });
    expect(info).toMatchObject({ provider: 'virtualbox', image: 'debian-12', state: 'stopped' });
    expect(await p.facts('lab1')).toEqual({
      provider: 'virtualbox',
      image: 'debian-12',
      imageSha256: image.sha256,
    });
    expect(t.left()).toEqual([]);
  });

  it('create and add say why VirtualBox cannot be used here before trying (vboxdrv not loaded)', async () => {
    const { p, t, dir } = provider([[V, ['--version'], R.VERSION_WITH_VBOXDRV_WARNING]]);
    const machines = new Machines({
      providers: [p],
      keysDir: path.join(dir, 'keys'),
      knownHosts: new KnownHosts(path.join(dir, 'known_hosts.json')),
    });
    const err = await machines
      .adopt({ name: 'x', provider: 'virtualbox', vm: VM, sshUser: 'u' })
      .catch((e: HlabError) => e);
    expect(err).toMatchObject({ code: 'unavailable' });
    expect((err as HlabError).message).toContain('vboxdrv kernel module is not loaded');
    expect(t.left()).toEqual([]);
  });
});

/** The libvirt provider's pure parts, on outputs recorded from libvirt 9.0 / QEMU 7.2 (test/fixtures/libvirt). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { domainXml, forwardedSshPort } from '../../electron/providers/libvirt/domain-xml.js';
import {
  firstIpv4,
  parseDomainList,
  parseNodeFacts,
  parseSnapshotList,
} from '../../electron/providers/libvirt/parse.js';
import { knownHostsName, parseLabUri, virshUri } from '../../electron/providers/libvirt/uri.js';
import { hostKeyLine } from '../../electron/providers/libvirt/host-ssh.js';
import { virshMessage } from '../../electron/providers/libvirt/virsh.js';

const fixture = (f: string) => readFileSync(path.join(__dirname, '..', 'fixtures', 'libvirt', f), 'utf8');

describe('lab server URIs', () => {
  it('accepts the local daemon and qemu+ssh with a user, normalised', () => {
    expect(parseLabUri('qemu:///system')).toEqual({ transport: 'local', uri: 'qemu:///system' });
    expect(parseLabUri('qemu+ssh://lab@server-1.example:2222/system')).toEqual({
      transport: 'ssh',
      uri: 'qemu+ssh://lab@server-1.example:2222/system',
      user: 'lab',
      host: 'server-1.example',
      port: 2222,
    });
    expect(knownHostsName({ host: '10.99.0.11', port: 22 })).toBe('10.99.0.11');
    expect(knownHostsName({ host: 'h', port: 2222 })).toBe('[h]:2222');
  });

  it.each([
    ['qemu+tcp://h/system', 'uses "qemu+tcp"'],
    ['qemu+ssh://h/system', 'needs a user name'],
    ['qemu+ssh://lab@h/session', 'must end in /system'],
    ['qemu+ssh://lab@h/system?command=sh', 'may not carry a query'],
    ['qemu+ssh://lab:pw@h/system', 'may not carry a query, fragment or password'],
    ['qemu+ssh://-oProxyCommand=x@h/system', 'needs a user name'],
    ['not a uri', 'is not a URI'],
  ])('refuses %s', (uri, why) => {
    expect(() => parseLabUri(uri)).toThrow(why);
  });

  it('gives virsh the key file and no terminal prompts', () => {
    const u = parseLabUri('qemu+ssh://lab@h/system');
    expect(virshUri(u, '/k/id ed25519')).toBe('qemu+ssh://lab@h/system?keyfile=%2Fk%2Fid+ed25519&no_tty=1');
    expect(virshUri(parseLabUri('qemu:///system'), '/k')).toBe('qemu:///system');
  });
});

describe('virsh outputs', () => {
  it('reads versions, CPUs and memory (page cache counts as free)', () => {
    expect(parseNodeFacts(fixture('node-facts.txt'))).toEqual({
      libvirtVersion: '9.0.0',
      qemuVersion: '7.2.22',
      cpus: 2,
      memoryMiB: 24105,
      freeMiB: Math.floor((22611148 + 3432 + 755156) / 1024),
    });
  });

  it('reads domain states, running and shut off', () => {
    expect(parseDomainList(fixture('list-all.txt'))).toEqual(new Map([['hlab-lv1', 'running']]));
    expect(parseDomainList(fixture('list-all-off.txt'))).toEqual(new Map([['hlab-lv1', 'shut off']]));
  });

  it('reads snapshots: with RAM (running) and disk only (shutoff)', () => {
    expect(parseSnapshotList(fixture('snapshot-list-mixed.txt'))).toEqual([
      { name: 'off1', createdAt: '2026-12-05T00:00:18.000Z', state: 'shutoff' },
      { name: 's1', createdAt: '2026-12-04T23:59:47.000Z', state: 'running' },
      { name: 's2', createdAt: '2026-12-05T00:00:15.000Z', state: 'running' },
    ]);
  });

  it('finds the SSH forward in a running domain, and a lease address', () => {
    expect(forwardedSshPort(fixture('dumpxml-running.xml'))).toBe(39372);
    expect(forwardedSshPort('<domain><name>x</name></domain>')).toBeUndefined();
    const lease =
      ' vnet0      52:54:00:6f:1a:0c    ipv4         192.168.121.23/24\n vnet0  52:54:00:6f:1a:0c ipv6 fe80::1/64';
    expect(firstIpv4(lease)).toBe('192.168.121.23');
    expect(firstIpv4(' vnet0 52:54:00:6f:1a:0c ipv4 300.1.1.1/24')).toBeUndefined();
  });

  it('puts virsh errors on one line without their prefixes', () => {
    expect(virshMessage('error: failed to connect to the hypervisor\nerror: Cannot recv data: x\n')).toBe(
      'failed to connect to the hypervisor Cannot recv data: x',
    );
  });
});

describe('domain XML', () => {
  const xml = domainXml({
    domain: 'hlab-t1',
    machine: 't1',
    accel: 'tcg',
    memoryMiB: 1024,
    cpus: 2,
    diskPath: '/var/lib/libvirt/images/hlab/t1.qcow2',
    sshPort: 40022,
    seed: "user=lab\nhostname=t1\nkey=ssh-ed25519 AAAA x<y>&'\n",
  });

  it('restricts the guest network and forwards SSH on the server loopback only', () => {
    expect(xml).toContain("<qemu:arg value='user,id=hlab0,restrict=on,hostfwd=tcp:127.0.0.1:40022-:22'/>");
    expect(xml).not.toMatch(/<interface\b/);
    expect(forwardedSshPort(xml)).toBe(40022);
  });

  it('escapes the seed it carries as fw_cfg and picks TCG or KVM', () => {
    expect(xml).toContain(
      "<entry name='opt/hlab/seed'>user=lab\nhostname=t1\nkey=ssh-ed25519 AAAA x&lt;y&gt;&amp;&apos;\n</entry>",
    );
    expect(xml).toContain("<domain type='qemu'");
    expect(xml).toContain("<cpu mode='maximum'/>");
    expect(
      domainXml({
        ...{ domain: 'd', machine: 'm', memoryMiB: 1, cpus: 1, diskPath: '/d', sshPort: 1, seed: '' },
        accel: 'kvm',
      }),
    ).toContain("<domain type='kvm'");
  });
});

describe('lab server host keys', () => {
  it('names the key type from the blob and refuses a malformed one', () => {
    const blob = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.alloc(36, 1)]);
    expect(hostKeyLine(blob)).toBe(`ssh-ed25519 ${blob.toString('base64')}`);
    const bad = Buffer.concat([Buffer.from([0, 0, 0, 5]), Buffer.from('a b\nc')]);
    expect(() => hostKeyLine(bad)).toThrow('malformed host key');
  });
});

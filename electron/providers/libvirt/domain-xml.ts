/**
 * The domain XML the app defines for a lab machine. Its network is QEMU user networking with
 * restrict=on, exactly as the embedded provider runs it: the guest reaches neither the lab server
 * nor other guests nor the lab network, and its SSH is forwarded to the server's 127.0.0.1 only.
 * libvirt has no element for a restricted user network with a loopback forward, so those two
 * arguments go through <qemu:commandline> (libvirt logs the domain as "tainted: custom-argv").
 * With egress, QEMU starts the connector for each guest connection to 10.0.2.100:3142, which joins
 * it to a port on the server's loopback that the app forwards to the machine's allow-list proxy.
 * The seed travels as fw_cfg `opt/hlab/seed` (<sysinfo type='fwcfg'>), as with the embedded provider.
 */
import { filteredNetdevOnServer } from '../egress/egress.js';

export interface DomainSpec {
  domain: string;
  machine: string;
  accel: 'kvm' | 'tcg';
  memoryMiB: number;
  cpus: number;
  diskPath: string;
  sshPort: number;
  seed: string;
  /** The package proxy: the server's copy of the connector and the loopback port it joins. */
  egress?: { connector: string; port: number };
}

const QEMU_NS = 'http://libvirt.org/schemas/domain/qemu/1.0';
export const HLAB_NS = 'https://hardening-lab.invalid/libvirt/1';

export const xmlText = (s: string) =>
  s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');

export function domainXml(d: DomainSpec): string {
  const cpu = d.accel === 'kvm' ? `<cpu mode='host-passthrough'/>` : `<cpu mode='maximum'/>`;
  return `<domain type='${d.accel === 'kvm' ? 'kvm' : 'qemu'}' xmlns:qemu='${QEMU_NS}'>
  <name>${xmlText(d.domain)}</name>
  <title>Hardening Lab machine ${xmlText(d.machine)}</title>
  <metadata><hlab:machine xmlns:hlab='${HLAB_NS}' name='${xmlText(d.machine)}'/></metadata>
  <memory unit='MiB'>${d.memoryMiB}</memory>
  <vcpu>${d.cpus}</vcpu>
  <sysinfo type='fwcfg'><entry name='opt/hlab/seed'>${xmlText(d.seed)}</entry></sysinfo>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <features><acpi/></features>
  ${cpu}
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='writeback' discard='unmap'/>
      <source file='${xmlText(d.diskPath)}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <serial type='pty'/>
    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
    <memballoon model='none'/>
  </devices>
  <qemu:commandline>
    <qemu:arg value='-netdev'/>
    <qemu:arg value='${xmlText(d.egress ? filteredNetdevOnServer('hlab0', d.sshPort, d.egress.connector, d.egress.port) : restrictedNetdev(d.sshPort))}'/>
    <qemu:arg value='-device'/>
    <qemu:arg value='virtio-net-pci,netdev=hlab0,bus=pci.0,addr=0x1f'/>
  </qemu:commandline>
</domain>
`;
}

export const restrictedNetdev = (sshPort: number) =>
  `user,id=hlab0,restrict=on,hostfwd=tcp:127.0.0.1:${sshPort}-:22`;

/** The SSH port a defined domain forwards (its live or stored XML), if it is one of ours. */
export function forwardedSshPort(xml: string): number | undefined {
  const m = /hostfwd=tcp:127\.0\.0\.1:(\d{1,5})-:22/.exec(xml);
  const port = m ? Number(m[1]) : NaN;
  return port > 0 && port < 65536 ? port : undefined;
}

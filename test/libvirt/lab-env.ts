/** The lab servers of test/libvirt/lab-hosts.sh, as a test sees them (it runs inside their network namespace). */
import { appendFileSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { ApiClient } from '../../shared/rpc.js';
import { must } from '../integration/vm-env.js';

export const STATE = process.env.HLAB_LV_STATE ?? '/tmp/hlab-lab-hosts';
const SCRIPT = path.join(__dirname, 'lab-hosts.sh');

export const uriOf = (i: number) => `qemu+ssh://root@10.99.0.1${i}/system`;

/** Lets the app's lab-server key in on every host (they share one authorized_keys file). */
export async function authorize(client: ApiClient): Promise<void> {
  const { publicKey } = await must(client, 'hosts.key', {});
  appendFileSync(path.join(STATE, 'authorized_keys'), `${publicKey}\n`);
}

/** The host key fingerprint as ssh-keygen prints it, read from the host's own key file. */
export function hostKeyFingerprint(h: string): string {
  const r = spawnSync('ssh-keygen', ['-l', '-f', path.join(STATE, h, 'ssh_host_ed25519_key.pub')], {
    encoding: 'utf8',
  });
  return r.stdout.split(' ')[1] ?? '';
}

/** virsh run directly against a host's own daemon (inside its namespaces): the test's independent view. */
export function onHost(h: string, args: string[]): { code: number; out: string } {
  const pid = readFileSync(path.join(STATE, h, 'pid'), 'utf8').trim();
  const r = spawnSync('nsenter', ['-t', pid, '-m', '-n', 'virsh', '-c', 'qemu:///system', '-q', ...args], {
    encoding: 'utf8',
  });
  return { code: r.status ?? 1, out: `${r.stdout}${r.stderr}` };
}

/** A command in a host's mount namespace (its private /var/lib/libvirt), output trimmed. */
export function onHostShell(h: string, command: string): string {
  const pid = readFileSync(path.join(STATE, h, 'pid'), 'utf8').trim();
  return spawnSync('nsenter', ['-t', pid, '-m', 'sh', '-c', command], { encoding: 'utf8' }).stdout.trim();
}

export function killHost(h: string): void {
  spawnSync('bash', [SCRIPT, 'kill', h], { stdio: 'inherit' });
}

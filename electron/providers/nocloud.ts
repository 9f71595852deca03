/**
 * cloud-init's NoCloud seed for machines made from cloud images (Debian genericcloud and the
 * like): the user with its key, the hostname, and the machine's own SSH host key — made by the
 * app, so it is pinned before the first login instead of trusted on first use. Providers attach
 * these two files as a volume labelled `cidata`; nothing of it is baked into the shared base.
 */
import { stringify } from 'yaml';
import { GUEST_APT_PROXY_FILE } from '../../shared/egress.js';

export interface NocloudSeed {
  /** cloud-init runs its once-per-instance modules (users, host keys) when this changes. */
  instanceId: string;
  hostname: string;
  user: string;
  publicKey: string;
  hostKey?: { private: string; public: string };
  /** A filtered machine: apt goes through the app's proxy, and DNS fails at once instead of timing out. */
  aptProxyConf?: string;
}

/** A filtered guest has no DNS: a resolver on its own loopback answers "refused" at once. */
export const NO_DNS_RESOLV_CONF =
  '# Hardening Lab: this machine reaches the network only through the package proxy (no DNS).\nnameserver 127.0.0.1\n';

export const NOCLOUD_LABEL = 'cidata';

export function nocloudFiles(s: NocloudSeed): { 'meta-data': string; 'user-data': string } {
  const config = {
    users: [
      {
        name: s.user,
        shell: '/bin/bash',
        groups: ['sudo'],
        sudo: 'ALL=(ALL) NOPASSWD:ALL',
        lock_passwd: true,
        ssh_authorized_keys: [s.publicKey.trim()],
      },
    ],
    disable_root: true,
    ssh_pwauth: false,
    preserve_hostname: false,
    hostname: s.hostname,
    manage_etc_hosts: true,
    ...(s.hostKey
      ? {
          ssh_deletekeys: true,
          // Only the key the app made and pinned: no other host key type to be offered instead.
          ssh_genkeytypes: [],
          ssh_keys: { ed25519_private: s.hostKey.private, ed25519_public: s.hostKey.public.trim() },
        }
      : {}),
    // A lab machine is changed by recipes, not by cloud-init at boot.
    package_update: false,
    package_upgrade: false,
    // Images without the locales package fail this module, and a failed unit fails every health check.
    locale: false,
    ...(s.aptProxyConf
      ? {
          write_files: [
            { path: GUEST_APT_PROXY_FILE, content: s.aptProxyConf, permissions: '0644' },
            { path: '/etc/resolv.conf', content: NO_DNS_RESOLV_CONF, permissions: '0644' },
          ],
        }
      : {}),
  };
  return {
    'meta-data': stringify({ 'instance-id': s.instanceId, 'local-hostname': s.hostname }, { lineWidth: 0 }),
    'user-data': `#cloud-config\n${stringify(config, { lineWidth: 0 })}`,
  };
}

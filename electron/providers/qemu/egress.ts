/**
 * The egress filter of QEMU machines. A filtered guest runs with `restrict=on` user networking: it
 * reaches neither the host's loopback (10.0.2.2) nor the network, only one forwarded address,
 * 10.0.2.100:3142, where QEMU starts egress-proxy.mjs for each connection. That proxy relays apt's
 * requests to the HOST:PORT entries of the machine's allow list (Debian's mirrors, plus what the
 * user adds) and refuses the rest. The guest learns the proxy's address from its seed.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { EgressLogEntry } from '../../../shared/types.js';
import { appPath } from '../../platform/app-root.js';
import { nodeCommand } from '../../platform/node-command.js';
import { qemuOptValue } from '../../platform/socket-path.js';
// g_shell_parse_argv, which QEMU uses to split a guestfwd cmd, reads sh quoting.
import { shQuote } from '../../ssh/executor.js';

export const PROXY_GUEST_ADDRESS = '10.0.2.100';
export const PROXY_GUEST_PORT = 3142;
export const PROXY_URL = `http://${PROXY_GUEST_ADDRESS}:${PROXY_GUEST_PORT}`;

/** Debian's mirrors, as our image and Debian's cloud images name them (http, and https via CONNECT). */
export const DEFAULT_EGRESS_ALLOW = [
  'deb.debian.org:80',
  'deb.debian.org:443',
  'security.debian.org:80',
  'security.debian.org:443',
];

const PROXY_SCRIPT = appPath('electron', 'providers', 'qemu', 'egress-proxy.mjs');

/** The file the proxy reads at each connection: a change takes effect without a restart. */
export function writeEgressPolicy(file: string, machine: string, allow: string[]): void {
  writeFileSync(
    file,
    `${JSON.stringify({ machine, allow: [...DEFAULT_EGRESS_ALLOW, ...allow] }, null, 1)}\n`,
    { mode: 0o600 },
  );
}

/** The -netdev value of a filtered machine. */
export function filteredNetdev(sshPort: number, policyFile: string, logFile: string): string {
  const cmd = [...nodeCommand(), '--no-warnings', PROXY_SCRIPT, policyFile, logFile].map(shQuote).join(' ');
  return [
    'user',
    'id=n0',
    'restrict=on',
    `hostfwd=tcp:127.0.0.1:${sshPort}-:22`,
    `guestfwd=tcp:${PROXY_GUEST_ADDRESS}:${PROXY_GUEST_PORT}-cmd:${qemuOptValue(cmd)}`,
  ].join(',');
}

/** The seed line that tells the guest (hlab-seed, cloud-init) to use the proxy and expect no DNS. */
export const EGRESS_SEED_LINE = `egress=${PROXY_URL}\n`;

/** The apt configuration a filtered guest gets, in GUEST_APT_PROXY_FILE (the same text from hlab-seed). */
export const APT_PROXY_CONF = `// Hardening Lab: this machine reaches the network only through the app's package proxy.\nAcquire::http::Proxy "${PROXY_URL}";\nAcquire::https::Proxy "${PROXY_URL}";\n`;

/** The proxy's latest log entries (JSON lines; a torn or foreign line is skipped). */
export function recentEgress(file: string, max = 20): EgressLogEntry[] {
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(-max);
  const out: EgressLogEntry[] = [];
  for (const l of lines) {
    try {
      const e = JSON.parse(l) as EgressLogEntry;
      if (typeof e.time === 'string' && typeof e.verdict === 'string') out.push(e);
    } catch {
      // a line torn by a concurrent append
    }
  }
  return out;
}

/**
 * The egress filter of QEMU machines. A filtered guest runs with `restrict=on` user networking: it
 * reaches neither the host's loopback (10.0.2.2) nor the network, only one forwarded address,
 * 10.0.2.100:3142. QEMU starts the small egress-connect.pl for each connection there, which joins it
 * to the machine's one long-lived proxy (egress-proxy.mjs on a Unix socket in the machine folder).
 * That proxy bounds the connections, relays apt's requests to the HOST:PORT entries of the
 * machine's allow list (Debian's mirrors, plus what the user adds) and refuses the rest. The guest
 * learns the proxy's address from its seed.
 */
import { spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import net from 'node:net';
import type { EgressLogEntry } from '../../../shared/types.js';
import { HlabError } from '../../../shared/errors.js';
import { appPath } from '../../platform/app-root.js';
import { nodeCommand } from '../../platform/node-command.js';
import { qemuOptValue } from '../../platform/socket-path.js';
// g_shell_parse_argv, which QEMU uses to split a guestfwd cmd, reads sh quoting.
import { shQuote } from '../../ssh/executor.js';
import { processRuns, readPid } from '../../platform/pids.js';

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

const PROXY_SCRIPT = appPath('electron', 'providers', 'egress', 'egress-proxy.mjs');
/** What the proxy's command line holds: a recycled pid is not taken for it. */
const PROXY_MARKER = 'egress-proxy';
export const CONNECT_SCRIPT = appPath('electron', 'providers', 'egress', 'egress-connect.pl');
/** Perl starts the per-connection connector; Debian's perl-base is Essential, so it is always there. */
const PERL = ['/usr/bin/perl', '/bin/perl'].find((p) => existsSync(p)) ?? 'perl';

/** The file the proxy reads at each connection: a change takes effect without a restart. */
export function writeEgressPolicy(file: string, machine: string, allow: string[]): void {
  writeFileSync(
    file,
    `${JSON.stringify({ machine, allow: [...DEFAULT_EGRESS_ALLOW, ...allow] }, null, 1)}\n`,
    { mode: 0o600 },
  );
}

/** The -netdev value of a filtered machine: each guest connection is joined to the proxy's socket. */
export function filteredNetdev(sshPort: number, proxySocket: string): string {
  const cmd = [PERL, CONNECT_SCRIPT, proxySocket].map(shQuote).join(' ');
  return [
    'user',
    'id=n0',
    'restrict=on',
    `hostfwd=tcp:127.0.0.1:${sshPort}-:22`,
    `guestfwd=tcp:${PROXY_GUEST_ADDRESS}:${PROXY_GUEST_PORT}-cmd:${qemuOptValue(cmd)}`,
  ].join(',');
}

/**
 * The same network for a guest on a lab server: the connector is the server's copy of
 * egress-connect.pl, joined to a port on the server's loopback that the app forwards to its proxy.
 */
export function filteredNetdevOnServer(
  id: string,
  sshPort: number,
  connector: string,
  egressPort: number,
): string {
  const cmd = ['/usr/bin/perl', connector, `tcp:${egressPort}`].map(shQuote).join(' ');
  return [
    'user',
    `id=${id}`,
    'restrict=on',
    `hostfwd=tcp:127.0.0.1:${sshPort}-:22`,
    `guestfwd=tcp:${PROXY_GUEST_ADDRESS}:${PROXY_GUEST_PORT}-cmd:${qemuOptValue(cmd)}`,
  ].join(',');
}

export interface EgressProxyFiles {
  /** The Unix socket the connector joins guest connections to. */
  egressSocket: string;
  egressPolicy: string;
  egressLog: string;
  egressPid: string;
  /** The machine's QEMU pidfile (a lab machine: the app process relaying to it): the proxy ends when that process has gone. */
  pid: string;
}

const proxyAccepts = (socket: string) =>
  new Promise<boolean>((resolve) => {
    const c = net.connect(socket);
    c.once('connect', () => (c.destroy(), resolve(true)));
    c.once('error', () => resolve(false));
  });

/** Whether a proxy answers on `socket` within `ms` (false early when `gone()` says it died). */
export async function waitForProxy(socket: string, ms = 10_000, gone = () => false): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await proxyAccepts(socket)) return true;
    if (gone()) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}

/** The machine's proxy process, when its pidfile names one that still runs. */
function proxyPid(file: string): number | undefined {
  const pid = readPid(file);
  return processRuns(pid, PROXY_MARKER) ? pid : undefined;
}

/**
 * Starts the machine's proxy for a QEMU about to start, replacing one left from before: each QEMU
 * gets its own, and a proxy ends by itself once the QEMU it watches has gone (a guest reboot ends
 * QEMU, the next start brings a new one). Detached like QEMU, so a restarted app finds it running.
 * Returns at once; `ready` settles when the socket answers, so Node's start overlaps QEMU's.
 */
export function startEgressProxy(machine: string, f: EgressProxyFiles): { ready: Promise<void> } {
  stopEgressProxy(f);
  const [cmd, ...pre] = nodeCommand();
  const errFile = `${f.egressLog}.stderr`;
  const errFd = openSync(errFile, 'w', 0o600);
  const child = spawn(
    cmd as string,
    [...pre, '--no-warnings', PROXY_SCRIPT, f.egressSocket, f.egressPolicy, f.egressLog, f.pid],
    { detached: true, stdio: ['ignore', 'ignore', errFd] },
  );
  closeSync(errFd);
  child.unref();
  writeFileSync(f.egressPid, `${child.pid}\n`, { mode: 0o600 });
  const ready = (async () => {
    if (await waitForProxy(f.egressSocket, 10_000, () => child.exitCode !== null)) return;
    const err = existsSync(errFile) ? readFileSync(errFile, 'utf8').trim() : '';
    throw new HlabError(
      'vm-crashed',
      `The egress proxy of machine "${machine}" did not start${err ? `: ${err.split('\n').slice(-3).join(' ')}` : ''}.`,
      { machine },
    );
  })();
  // Awaited by the caller once QEMU is up; a failure before that must not be an unhandled rejection.
  ready.catch(() => undefined);
  return { ready };
}

/**
 * Ends the machine's proxy (machine stopped or destroyed, or a new one about to start) and waits
 * until it has gone, so an old proxy never outlives the moment a new one binds the same path.
 */
export function stopEgressProxy(f: Pick<EgressProxyFiles, 'egressPid' | 'egressSocket'>): void {
  const pid = proxyPid(f.egressPid);
  if (pid) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
    const pause = new Int32Array(new SharedArrayBuffer(4));
    for (let i = 0; i < 100 && processRuns(pid, PROXY_MARKER); i += 1) Atomics.wait(pause, 0, 0, 10);
    if (processRuns(pid, PROXY_MARKER))
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone in between
      }
  }
  rmSync(f.egressPid, { force: true });
  rmSync(f.egressSocket, { force: true });
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

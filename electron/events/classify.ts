/**
 * One journald JSON record (journalctl -o json) → one AuthEvent, by the exact wording of
 * OpenSSH 9.2p1, sudo 1.9.13 and systemd-logind 252 in Debian 12 (notes: container-host-controls
 * B1-B3). Lines that are none of these are not events. Every login arrives from the same NAT
 * address, so the app's own logins are told apart by the key fingerprint sshd logs.
 */
import { createHash } from 'node:crypto';
import { alertOf, type AuthEvent, type EventAction, type EventOutcome } from '../../shared/events.js';
import { stripControls } from '../../shared/guest-text.js';

export type JournalRecord = Record<string, unknown>;

/** journald writes non-UTF-8 or non-printable values as arrays of byte values. */
function field(r: JournalRecord, name: string): string | undefined {
  const v = r[name];
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.every((b) => typeof b === 'number'))
    return Buffer.from(v as number[]).toString('utf8');
  return undefined;
}

const FROM = String.raw`from (\S+) port (\d+)`;
/** "Accepted|Failed METHOD for USER from IP port N ssh2[: KEYTYPE SHA256:…]" (auth.c auth_log). */
const authLine = (m: RegExpExecArray): Partial<AuthEvent> => ({
  method: m[1],
  user: m[2],
  sourceIp: m[3],
  sourcePort: Number(m[4]),
  keyFingerprint: m[6],
});
const SSHD: Array<{
  re: RegExp;
  action: EventAction;
  outcome: EventOutcome;
  pick: (m: RegExpExecArray) => Partial<AuthEvent>;
}> = [
  {
    re: new RegExp(String.raw`^Accepted (\S+) for (\S+) ${FROM} ssh2(?:: (\S+) (SHA256:\S+))?`),
    action: 'ssh_login',
    outcome: 'success',
    pick: authLine,
  },
  {
    re: new RegExp(
      String.raw`^Failed (\S+) for (?:invalid user )?(\S+) ${FROM} ssh2(?:: (\S+) (SHA256:\S+))?`,
    ),
    action: 'ssh_login_failed',
    outcome: 'failure',
    pick: authLine,
  },
  {
    re: new RegExp(String.raw`^Invalid user (\S*) ${FROM}`),
    action: 'ssh_invalid_user',
    outcome: 'failure',
    pick: (m) => ({ user: m[1], sourceIp: m[2], sourcePort: Number(m[3]) }),
  },
  {
    re: new RegExp(String.raw`^maximum authentication attempts exceeded for (?:invalid user )?(\S+) ${FROM}`),
    action: 'ssh_max_auth_tries',
    outcome: 'failure',
    pick: (m) => ({ user: m[1], sourceIp: m[2], sourcePort: Number(m[3]) }),
  },
  {
    re: /^User (\S+) from (\S+) not allowed because/,
    action: 'ssh_user_not_allowed',
    outcome: 'failure',
    pick: (m) => ({ user: m[1], sourceIp: m[2] }),
  },
  {
    re: /^(?:Connection closed|Disconnected) by (?:authenticating|invalid) user (\S+) (\S+) port (\d+) \[preauth\]/,
    action: 'ssh_preauth_disconnect',
    outcome: 'failure',
    pick: (m) => ({ user: m[1], sourceIp: m[2], sourcePort: Number(m[3]) }),
  },
  {
    re: /^Disconnected from user (\S+) (\S+) port (\d+)/,
    action: 'ssh_disconnect',
    outcome: 'success',
    pick: (m) => ({ user: m[1], sourceIp: m[2], sourcePort: Number(m[3]) }),
  },
];

/** sudo pads the user name to 8 columns: "    alice : TTY=pts/0 ; PWD=… ; USER=root ; COMMAND=…". */
function sudoEvent(msg: string): Partial<AuthEvent> | undefined {
  const m = /^\s*(\S+) : (.*)$/.exec(msg);
  if (!m) return undefined;
  const parts = (m[2] as string).split(' ; ');
  const command = parts.find((p) => p.startsWith('COMMAND='))?.slice('COMMAND='.length);
  if (!command) return undefined;
  const failed = !parts[0]?.startsWith('TTY=') && !parts[0]?.startsWith('PWD=');
  return {
    action: failed ? 'sudo_failed' : 'sudo',
    outcome: failed ? 'failure' : 'success',
    user: m[1],
    command,
  };
}

/**
 * The exact command lines this app runs through sudo (its step scripts, the events reader, its
 * probes, clock set and reboot), as sudo logs them. Only a successful sudo counts as the app's: a
 * refused one is always shown. Anyone else running these very lines is indistinguishable, and it
 * only hides them in a view the user chose to narrow; nothing is dropped or kept from a SIEM.
 */
const APP_SUDO = [
  /^\/usr\/bin\/env(?: [A-Z_][A-Z0-9_]*=\S*)* bash \/tmp\/hlab-script-\d+-[0-9a-z]+\.sh$/,
  // sudo quotes an argument with spaces: COMMAND=/usr/bin/sh -c 'echo "#hlab-sshd-loglevel …'
  /^\/(?:usr\/)?bin\/sh -c '?echo "#hlab-sshd-loglevel /,
  // …and its quick read just before a rollback, without the LogLevel question.
  /^\/(?:usr\/)?bin\/sh -c '?journalctl -o json --no-pager +(?:--since=@\d+ +)?_COMM=sshd _COMM=sudo _COMM=systemd-logind'?$/,
  /^\/(?:usr\/)?bin\/true$/,
  /^\/(?:usr\/)?bin\/date -u -s @\d+$/,
  /^\/usr\/sbin\/sshd -T -C user=root,host=x,addr=127\.0\.0\.1$/,
  /^\/(?:usr\/)?bin\/systemd-run --no-block --on-active=1 --unit=hlab-reboot \/bin\/systemctl reboot$/,
];

export const isAppSudo = (command: string | undefined): boolean =>
  command !== undefined && APP_SUDO.some((re) => re.test(command));

function logindEvent(msg: string): Partial<AuthEvent> | undefined {
  const open = /^New session (\S+) of user (\S+)\.$/.exec(msg);
  if (open) return { action: 'session_open', outcome: 'success', user: open[2] };
  const close = /^Removed session (\S+)\.$/.exec(msg);
  if (close) return { action: 'session_close', outcome: 'success' };
  return undefined;
}

/**
 * The programs whose records are events, known by the fields journald itself sets from the
 * sending process (`_COMM`, `_EXE`, `_UID`, `_SYSTEMD_UNIT`), never by SYSLOG_IDENTIFIER, which any
 * client sets (`logger -t sshd "Accepted publickey for root…"`). What Debian 12 records (seen on
 * the VM): sshd's monitor logs as root; a user's own sshd child logs its disconnect as that user,
 * in ssh.service's cgroup, often after it exited (no `_EXE`); sudo logs as the invoking user from
 * /usr/bin/sudo; logind as root.
 */
export const EVENT_SOURCES: Record<string, { exe: readonly string[] }> = {
  sshd: { exe: ['/usr/sbin/sshd', '/sbin/sshd'] },
  sudo: { exe: ['/usr/bin/sudo', '/bin/sudo'] },
  'systemd-logind': { exe: ['/usr/lib/systemd/systemd-logind', '/lib/systemd/systemd-logind'] },
};

/** How far a record is trusted: as root (everything), as a user's sshd child (its disconnect), or not. */
type Trust = 'root' | 'session' | undefined;

/** The program a record really came from, and how far it is trusted. */
function trustedSource(r: JournalRecord): { comm: string; trust: Trust } | undefined {
  const comm = field(r, '_COMM');
  const src = comm !== undefined && Object.hasOwn(EVENT_SOURCES, comm) ? EVENT_SOURCES[comm] : undefined;
  if (!comm || !src) return undefined;
  const exe = field(r, '_EXE');
  // journald reads _EXE from /proc when the record arrives; a sender that already exited has none.
  if (exe !== undefined && !src.exe.includes(exe)) return undefined;
  const root = field(r, '_UID') === '0';
  if (comm === 'sudo') return exe !== undefined ? { comm, trust: 'root' } : undefined;
  if (root) return { comm, trust: 'root' };
  // An ordinary user cannot put a process into ssh.service's cgroup; its sshd child stays there.
  if (comm === 'sshd' && field(r, '_SYSTEMD_UNIT') === 'ssh.service') return { comm, trust: 'session' };
  return undefined;
}

/** Microseconds since the epoch that a Date can hold (±8.64e15 ms). */
const MAX_MICROS = 8_640_000_000_000_000_000n;

export function classify(
  r: JournalRecord,
  machine: string,
  operatorFingerprints: ReadonlySet<string> = new Set(),
): AuthEvent | undefined {
  const raw = field(r, 'MESSAGE');
  const msg = raw === undefined ? undefined : stripControls(raw.slice(0, 8192));
  const source = trustedSource(r);
  const ident = source?.comm;
  const cursor = field(r, '__CURSOR');
  const micros = field(r, '_SOURCE_REALTIME_TIMESTAMP') ?? field(r, '__REALTIME_TIMESTAMP');
  if (!msg || !ident || !cursor || !micros || !/^\d{1,20}$/.test(micros) || BigInt(micros) >= MAX_MICROS)
    return undefined;
  let found: Partial<AuthEvent> | undefined;
  if (ident === 'sshd') {
    for (const p of SSHD) {
      const m = p.re.exec(msg);
      if (m) {
        found = { action: p.action, outcome: p.outcome, ...p.pick(m) };
        break;
      }
    }
  } else if (ident === 'sudo') found = sudoEvent(msg);
  else if (ident === 'systemd-logind') found = logindEvent(msg);
  if (!found?.action || !found.outcome) return undefined;
  // A user's own sshd child only says its session ended; nothing it says is a login.
  if (source?.trust === 'session' && found.action !== 'ssh_disconnect') return undefined;
  const us = BigInt(micros);
  const time = `${new Date(Number(us / 1000n)).toISOString().slice(0, 19)}.${String(us % 1_000_000n).padStart(6, '0')}Z`;
  const pid = Number(field(r, '_PID') ?? field(r, 'SYSLOG_PID'));
  const clean = Object.fromEntries(
    Object.entries(found).filter(([, v]) => v !== undefined),
  ) as Partial<AuthEvent>;
  const operator = found.keyFingerprint
    ? operatorFingerprints.has(found.keyFingerprint)
    : found.action === 'sudo' && isAppSudo(found.command)
      ? true
      : undefined;
  const alert = alertOf({ action: found.action, outcome: found.outcome, user: clean.user, operator });
  return {
    id: createHash('sha256').update(`${machine}\0${cursor}`).digest('hex').slice(0, 32),
    time,
    machine,
    hostname: stripControls(field(r, '_HOSTNAME') ?? machine).slice(0, 255),
    ...(clean as Pick<AuthEvent, 'action' | 'outcome'>),
    ...(operator !== undefined ? { operator } : {}),
    ...(alert ? { alert } : {}),
    process: ident,
    ...(Number.isInteger(pid) && pid > 0 ? { pid } : {}),
    raw: msg,
  };
}

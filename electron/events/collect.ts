/**
 * Reads login events from a guest's journal over the machine's SSH session (journalctl -o json,
 * as root, or as the app's user where it is in systemd-journal) and classifies them. Reads resume from a time,
 * not a journal cursor: a restored snapshot rewinds the journal and re-uses its sequence numbers,
 * so a cursor could skip what happened after the restore; events already seen are dropped by id. The
 * app's own logins are recognised by the fingerprint of the machine's key, the one sshd logs
 * with "Accepted publickey". Whether sshd logs failed key attempts at all depends on its LogLevel
 * (VERBOSE), which is read with the events.
 */
import { whatItSaid } from '../../shared/said.js';
import ssh2 from 'ssh2';
import type { AuthEvent } from '../../shared/events.js';
import { HlabError } from '../../shared/errors.js';
import type { SshExecutor } from '../ssh/executor.js';
import { fingerprint } from '../ssh/known-hosts.js';
import { classify, EVENT_SOURCES, type JournalRecord } from './classify.js';

const COMMANDS = Object.keys(EVENT_SOURCES);
const LOGLEVEL_MARK = '#hlab-sshd-loglevel ';

/** SHA256:… of the public half of a private key in OpenSSH format, as sshd logs it. */
export function keyFingerprint(privateKey: string): string | undefined {
  const parsed = ssh2.utils.parseKey(privateKey);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) return undefined;
  return fingerprint(key.getPublicSSH());
}

export function journalCommand(sinceMicros?: number, follow = false): string {
  // One second earlier than the last event: equal timestamps are kept, duplicates dropped by id.
  const from = sinceMicros ? `--since=@${Math.max(0, Math.floor(sinceMicros / 1e6) - 1)}` : '';
  // Matched by the process name journald records, not the identifier a client may claim.
  const matches = COMMANDS.map((c) => `_COMM=${c}`).join(' ');
  return `journalctl -o json --no-pager ${follow ? '--follow --lines=0 ' : ''}${from} ${matches}`;
}

export interface Collected {
  events: AuthEvent[];
  /** The newest event's time in µs: where the next read starts. */
  sinceMicros?: number;
  /** sshd's effective LogLevel: below VERBOSE, failed key attempts are never logged. */
  sshdLogLevel?: string;
}

/** Each complete line of journalctl's JSON output, classified, minus events already seen. */
export function parseJournal(
  text: string,
  machine: string,
  operators: ReadonlySet<string>,
  seen: ReadonlySet<string> = new Set(),
): { events: AuthEvent[]; sinceMicros?: number } {
  const events: AuthEvent[] = [];
  let since: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    let r: JournalRecord;
    try {
      r = JSON.parse(line) as JournalRecord;
    } catch {
      continue;
    }
    let e;
    try {
      e = classify(r, machine, operators);
    } catch {
      continue; // one odd record must not stop the collection from this machine
    }
    if (!e || seen.has(e.id)) continue;
    events.push(e);
    const t = Number(r.__REALTIME_TIMESTAMP);
    if (Number.isFinite(t)) since = Math.max(since ?? 0, t);
  }
  return { events, ...(since ? { sinceMicros: since } : {}) };
}

export async function collectEvents(
  ex: SshExecutor,
  machine: string,
  o: {
    sinceMicros?: number;
    seen?: ReadonlySet<string>;
    operators: ReadonlySet<string>;
    signal?: AbortSignal;
    /** Also ask sshd for its LogLevel (default); a rollback's read skips it to be quicker. */
    sshdLevel?: boolean;
    /** Through sudo (default): the app's user is not in systemd-journal on every machine. */
    asRoot?: boolean;
  },
): Promise<Collected> {
  const level = `echo "${LOGLEVEL_MARK}$(sshd -T 2>/dev/null | sed -n 's/^loglevel //p')"; `;
  const r = await ex.run(`${o.sshdLevel === false ? '' : level}${journalCommand(o.sinceMicros)}`, {
    asRoot: o.asRoot !== false || o.sshdLevel !== false,
    signal: o.signal,
    timeoutMs: 120_000,
  });
  if (r.exitCode !== 0)
    throw new HlabError(
      'command-failed',
      `journalctl failed on "${machine}" (exit ${r.exitCode}): ${whatItSaid(r.stderr, '', 2)}`,
      { machine },
    );
  const lvl = r.stdout.split('\n').find((l) => l.startsWith(LOGLEVEL_MARK));
  const sshdLogLevel = lvl?.slice(LOGLEVEL_MARK.length).trim() || undefined;
  const parsed = parseJournal(r.stdout, machine, o.operators, o.seen);
  return {
    ...parsed,
    ...(parsed.sinceMicros === undefined && o.sinceMicros ? { sinceMicros: o.sinceMicros } : {}),
    ...(sshdLogLevel ? { sshdLogLevel } : {}),
  };
}

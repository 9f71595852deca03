/**
 * Login and audit events from a guest, in one model: what sshd, sudo and systemd-logind logged,
 * classified, with the raw line kept. Rendered as ECS JSON for SIEMs (electron/events/).
 */

export const EVENT_ACTIONS = [
  'ssh_login',
  'ssh_login_failed',
  'ssh_invalid_user',
  'ssh_preauth_disconnect',
  'ssh_max_auth_tries',
  'ssh_user_not_allowed',
  'ssh_disconnect',
  'session_open',
  'session_close',
  'sudo',
  'sudo_failed',
] as const;
export type EventAction = (typeof EVENT_ACTIONS)[number];
export type EventOutcome = 'success' | 'failure' | 'unknown';

export interface AuthEvent {
  /** Stable across re-reads (the journal cursor, hashed): a SIEM can de-duplicate resent events. */
  id: string;
  /** ISO 8601 with microseconds, from the journal's realtime timestamp. */
  time: string;
  /** The machine's name in this app. */
  machine: string;
  /** The guest's own hostname as the journal recorded it. */
  hostname: string;
  action: EventAction;
  outcome: EventOutcome;
  user?: string;
  sourceIp?: string;
  sourcePort?: number;
  /** publickey, password, keyboard-interactive, ... */
  method?: string;
  /** SHA256:... of the key that logged in (sshd's Accepted/Failed publickey lines). */
  keyFingerprint?: string;
  /** This app's own doing: a login with its key for the machine, or one of its own sudo command lines. */
  operator?: boolean;
  /** sudo: the command line it ran (or refused). */
  command?: string;
  /** Why a person should look at this at once (alertOf): a login outside the one way in, and the like. */
  alert?: string;
  process: string;
  pid?: number;
  raw: string;
}

/**
 * Attempts that a host with one way in (the single-entry-point step) never sees from its
 * orchestrator: someone else tried. The operator's own events are never alerts.
 */
export function alertOf(e: Pick<AuthEvent, 'action' | 'user' | 'operator' | 'outcome'>): string | undefined {
  if (e.operator) return undefined;
  switch (e.action) {
    case 'ssh_user_not_allowed':
      return `${e.user ?? 'an account'} is not allowed to log in (AllowUsers)`;
    case 'ssh_invalid_user':
      return `a login as ${e.user ? `"${e.user}", ` : ''}an account that does not exist`;
    case 'ssh_max_auth_tries':
      return 'too many authentication attempts on one connection';
    case 'sudo_failed':
      return `sudo refused ${e.user ?? 'a user'}`;
    case 'ssh_login':
    case 'ssh_login_failed':
      return e.user === 'root'
        ? `a ${e.outcome === 'success' ? '' : 'failed '}root login over SSH`
        : undefined;
    default:
      return undefined;
  }
}

/** ECS 8 field names (elastic.co ECS reference): what Splunk and Elastic searches expect. */
export function toEcs(e: AuthEvent): Record<string, unknown> {
  const auth = !e.action.startsWith('sudo');
  const type =
    e.action === 'session_close' || e.action === 'ssh_disconnect' || e.action === 'ssh_preauth_disconnect'
      ? ['end']
      : e.outcome === 'failure'
        ? ['start', 'denied']
        : ['start'];
  return {
    '@timestamp': e.time,
    ecs: { version: '8.11.0' },
    event: {
      kind: 'event',
      category: auth
        ? ['authentication', ...(e.action.startsWith('session') ? ['session'] : [])]
        : ['process'],
      type,
      action: e.action,
      outcome: e.outcome,
      id: e.id,
    },
    host: { hostname: e.hostname, name: e.machine },
    ...(e.user ? { user: { name: e.user }, related: { user: [e.user] } } : {}),
    ...(e.sourceIp ? { source: { ip: e.sourceIp, ...(e.sourcePort ? { port: e.sourcePort } : {}) } } : {}),
    process: {
      name: e.process,
      ...(e.pid ? { pid: e.pid } : {}),
      ...(e.command ? { command_line: e.command } : {}),
    },
    ...(e.method || e.keyFingerprint || e.operator !== undefined || e.alert
      ? {
          hlab: {
            ...(e.alert ? { alert: e.alert } : {}),
            ...(e.method ? { method: e.method } : {}),
            ...(e.keyFingerprint ? { key_fingerprint: e.keyFingerprint } : {}),
            ...(e.operator !== undefined ? { operator: e.operator } : {}),
          },
        }
      : {}),
    message: e.raw,
  };
}

export type EventDestinationKind = 'syslog' | 'hec';

/** A SIEM destination as listed anywhere: never with its token. */
export interface EventDestination {
  id: string;
  kind: EventDestinationKind;
  /** syslog: HOST:PORT (TCP); hec: the collector's base URL. */
  target: string;
  index?: string;
  /** Only these machines' events; all when absent. */
  machines?: string[];
  hasToken?: boolean;
  /** Said wherever the destination is shown: e.g. a HEC token that travels in clear text. */
  warning?: string;
}

/** Loopback names and addresses: plain http there never leaves the machine. */
const LOOPBACK_HOST = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

/** Why a HEC URL is risky, or undefined. */
export function hecWarning(target: string): string | undefined {
  try {
    const u = new URL(target);
    if (u.protocol === 'http:' && !LOOPBACK_HOST.test(u.hostname))
      return `plain http to ${u.host}: the HEC token and the events travel in clear text; use https`;
  } catch {
    return undefined;
  }
  return undefined;
}

export interface EventDestinationSpec {
  kind: EventDestinationKind;
  target: string;
  token?: string;
  index?: string;
  machines?: string[];
}

export interface DestinationState {
  id: string;
  sink: string;
  backlog: number;
  delivered: number;
  lastError?: string;
  /** Events that did not fit into the bounded queue while the receiver was away. */
  dropped?: number;
}

export interface EventsView {
  machine: string;
  events: AuthEvent[];
  /** sshd's LogLevel on the guest: below VERBOSE, failed key attempts are never logged. */
  sshdLogLevel?: string;
  forward: DestinationState[];
}

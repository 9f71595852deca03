/**
 * Where login events live on the host: per machine, the events collected so far (for the Events
 * view and scripts) and where the next read resumes; per SIEM destination, its spool; and the
 * destinations themselves, in a 0600 file because a HEC token is a secret. Nothing here ever puts
 * a token into a listing, a log line or an error.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { readJsonLines } from '../platform/jsonl.js';
import {
  hecWarning,
  type AuthEvent,
  type EventDestination,
  type EventDestinationSpec,
} from '../../shared/events.js';
import { HlabError } from '../../shared/errors.js';
import { Spool } from './spool.js';
import { HecSink, SyslogTcpSink, type Sink } from './sinks.js';
import { writeFileAtomic } from '../platform/atomic-write.js';

interface StoredDestination extends EventDestination {
  token?: string;
}

interface MachineState {
  sinceMicros?: number;
  /** Ids of the newest events, to drop what a time-based re-read returns again. */
  seen: string[];
}

const SEEN_KEPT = 2000;
/** Per machine: events.jsonl is rotated to events.jsonl.1 past this size. */
export const EVENT_LOG_MAX = 8 << 20;

const writePrivate = (file: string, text: string) => writeFileAtomic(file, text, { mode: 0o600 });

export class EventStore {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  private machineDir(machine: string): string {
    const d = path.join(this.dir, 'machines', machine);
    mkdirSync(d, { recursive: true, mode: 0o700 });
    return d;
  }

  state(machine: string): MachineState {
    const f = path.join(this.machineDir(machine), 'state.json');
    if (!existsSync(f)) return { seen: [] };
    try {
      const s = JSON.parse(readFileSync(f, 'utf8')) as MachineState;
      return {
        ...(typeof s.sinceMicros === 'number' ? { sinceMicros: s.sinceMicros } : {}),
        seen: Array.isArray(s.seen) ? s.seen : [],
      };
    } catch {
      return { seen: [] };
    }
  }

  /** Records new events: the machine's log first, then every destination's spool. */
  record(machine: string, events: AuthEvent[], sinceMicros?: number): void {
    const d = this.machineDir(machine);
    if (events.length) {
      const log = path.join(d, 'events.jsonl');
      // A guest makes events: the machine's log keeps the newest EVENT_LOG_MAX bytes or so.
      if ((statSync(log, { throwIfNoEntry: false })?.size ?? 0) > EVENT_LOG_MAX) renameSync(log, `${log}.1`);
      appendFileSync(log, events.map((e) => `${JSON.stringify(e)}\n`).join(''), { mode: 0o600 });
    }
    for (const dest of this.destinations())
      if (!dest.machines?.length || dest.machines.includes(machine)) this.spool(dest.id).append(events);
    const prev = this.state(machine);
    writePrivate(
      path.join(d, 'state.json'),
      JSON.stringify({
        ...((sinceMicros ?? prev.sinceMicros) ? { sinceMicros: sinceMicros ?? prev.sinceMicros } : {}),
        seen: [...prev.seen, ...events.map((e) => e.id)].slice(-SEEN_KEPT),
      }),
    );
  }

  list(machine: string): AuthEvent[] {
    const log = path.join(this.machineDir(machine), 'events.jsonl');
    return [...readJsonLines<AuthEvent>(`${log}.1`), ...readJsonLines<AuthEvent>(log)];
  }

  private configFile(): string {
    return path.join(this.dir, 'forward.json');
  }

  private stored(): StoredDestination[] {
    const f = this.configFile();
    if (!existsSync(f)) return [];
    try {
      const v = JSON.parse(readFileSync(f, 'utf8')) as { destinations?: StoredDestination[] };
      return Array.isArray(v.destinations) ? v.destinations : [];
    } catch {
      throw new HlabError(
        'bad-request',
        `${f} is not valid JSON: fix or remove it (it holds the SIEM destinations).`,
      );
    }
  }

  /** Destinations as shown anywhere: the token is never included, only whether one is set. */
  destinations(): EventDestination[] {
    return this.stored().map(({ token, ...d }) => {
      const warning = d.kind === 'hec' ? hecWarning(d.target) : undefined;
      return { ...d, ...(token ? { hasToken: true } : {}), ...(warning ? { warning } : {}) };
    });
  }

  addDestination(spec: EventDestinationSpec): EventDestination {
    const id = `${spec.kind}-${randomBytes(3).toString('hex')}`;
    let d: StoredDestination;
    if (spec.kind === 'syslog') {
      const m = /^(?:tcp:\/\/)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(spec.target);
      const port = Number(m?.[2]);
      if (!m || port < 1 || port > 65535)
        throw new HlabError(
          'bad-request',
          `syslog target "${spec.target}" must be HOST:PORT (TCP, RFC 5424 with octet counting).`,
        );
      d = { id, kind: 'syslog', target: `${m[1]}:${port}` };
    } else {
      let u: URL;
      try {
        u = new URL(spec.target);
      } catch {
        throw new HlabError(
          'bad-request',
          `HEC target "${spec.target}" is not a URL (https://splunk.example:8088).`,
        );
      }
      if (!/^https?:$/.test(u.protocol) || u.username || u.password)
        throw new HlabError(
          'bad-request',
          'HEC target must be an http(s) URL without credentials in it; give the token separately.',
        );
      if (!spec.token || !/^[\x21-\x7e]{8,256}$/.test(spec.token))
        throw new HlabError(
          'bad-request',
          'HEC needs its token (8-256 printable characters, from --token-file or HLAB_HEC_TOKEN).',
        );
      d = {
        id,
        kind: 'hec',
        target: `${u.origin}${u.pathname.replace(/\/+$/, '')}`,
        token: spec.token,
        ...(spec.index ? { index: spec.index } : {}),
      };
    }
    if (spec.machines?.length) d.machines = spec.machines;
    writePrivate(this.configFile(), `${JSON.stringify({ destinations: [...this.stored(), d] }, null, 1)}\n`);
    return this.destinations().find((x) => x.id === id) as EventDestination;
  }

  removeDestination(id: string): void {
    const all = this.stored();
    if (!all.some((d) => d.id === id)) throw new HlabError('not-found', `No SIEM destination "${id}".`);
    writePrivate(
      this.configFile(),
      `${JSON.stringify({ destinations: all.filter((d) => d.id !== id) }, null, 1)}\n`,
    );
    rmSync(path.join(this.dir, 'spool', id), { recursive: true, force: true });
  }

  spool(id: string): Spool {
    return new Spool(path.join(this.dir, 'spool', id));
  }

  sink(id: string): Sink {
    const d = this.stored().find((x) => x.id === id);
    if (!d) throw new HlabError('not-found', `No SIEM destination "${id}".`);
    if (d.kind === 'syslog') {
      const i = d.target.lastIndexOf(':');
      return new SyslogTcpSink(d.target.slice(0, i).replace(/^\[|\]$/g, ''), Number(d.target.slice(i + 1)));
    }
    return new HecSink(d.target, d.token ?? '', d.index ? { index: d.index } : {});
  }
}

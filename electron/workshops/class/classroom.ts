/**
 * A class: N seats (one workshop machine each) made before anyone joins, the links to them, and
 * every seat action — always on a seat the caller's session names, never one from a request.
 * What the trainer's dashboard shows is pushed on every change.
 */
import { HlabError } from '../../../shared/errors.js';
import type { CheckResult, WorkshopStatus } from '../../../shared/workshops.js';
import type { ClassInfo, SeatState, SeatTile, SeatView } from '../../../shared/class.js';
import type { ApiEvents } from '../../../shared/api.js';
import type { KnownHosts } from '../../ssh/known-hosts.js';

export type SeatNotice = ApiEvents['seat.notice'];
import type { Client } from 'ssh2';
import type { SshTarget } from '../../ssh/session.js';
import type { ProgressStore } from '../progress.js';
import type { WorkshopOp, WorkshopSessions } from '../session.js';
import type { AuditEntry, AuditLog } from './audit.js';
import { CLASS_LIMITS, RateLimiter } from './limits.js';
import { SeatTerminal, type Viewer } from './seat-terminal.js';
import { ClassTokens } from './tokens.js';

export interface ClassroomDeps {
  sessions: WorkshopSessions;
  progress: ProgressStore;
  knownHosts: KnownHosts;
  targetOf(machine: string): Promise<SshTarget>;
  /** A login a Reset of this machine just proved, for its next terminal (taken once). */
  provenLogin?(machine: string, target: SshTarget): Client | undefined;
  /** Destroys a machine that never became a seat, or all of them at class end. */
  destroy(machine: string): Promise<void>;
  audit: AuditLog;
  changed(info: ClassInfo): void;
  /**
   * Holds the machine for one changing job across processes (a CLI beside the class server must
   * not restore a seat under its check); absent, only this process's own seat lock applies.
   */
  hold?<T>(machine: string, job: string, who: string, fn: () => Promise<T>): Promise<T>;
}

interface Seat {
  seat: string;
  machine: string;
  host: string;
  state: SeatState;
  detail?: string;
  trainee: string;
  joined: boolean;
  lastActivity?: string;
  lockedOut: boolean;
  terminal?: SeatTerminal;
  /** Notices for the trainee's open pages (take-over, a reset by the trainer). */
  listeners: Map<number, (n: SeatNotice) => void>;
}

/** How many times a seat is tried (each time on a new machine) before it is reported failed. */
export const SEAT_ATTEMPTS = 3;

const LOCKOUT_CODES = new Set(['ssh-auth', 'ssh-refused', 'ssh-timeout', 'timeout', 'host-unreachable']);

export class Classroom {
  readonly tokens = new ClassTokens();
  private readonly seats = new Map<string, Seat>();
  private readonly checks = new RateLimiter(CLASS_LIMITS.check);
  private readonly resetLimit = new RateLimiter(CLASS_LIMITS.reset);
  private readonly busy = new Set<string>();
  readonly startedAt = new Date().toISOString();

  constructor(
    private readonly deps: ClassroomDeps,
    readonly meta: Pick<ClassInfo, 'workshop' | 'title' | 'url' | 'fingerprint' | 'certificate'>,
  ) {}

  info(): ClassInfo {
    return {
      ...this.meta,
      startedAt: this.startedAt,
      seats: [...this.seats.values()].map((s) => this.tile(s)),
    };
  }

  seatNames(): string[] {
    return [...this.seats.keys()];
  }

  machineOf(seat: string): string {
    return this.seat(seat).machine;
  }

  tileOf(seat: string): SeatTile {
    return this.tile(this.seat(seat));
  }

  /** What a trainee's page shows about itself. */
  view(seat: string): SeatView {
    const s = this.ready(seat);
    return {
      seat,
      trainee: s.trainee || seat,
      workshop: this.meta.title,
      fingerprint: this.meta.fingerprint,
      takenOver: s.terminal?.takenOver ?? false,
    };
  }

  audit(e: AuditEntry): void {
    this.deps.audit.write(e);
  }

  /**
   * Makes one seat ready: a workshop machine with its setup done and its first snapshot taken. A
   * failed try is destroyed and the seat tried again on a new machine name.
   */
  async provision(
    seat: string,
    host: string,
    machineName: (attempt: number) => string,
    start: (machine: string, op: WorkshopOp) => Promise<void>,
    op: WorkshopOp,
  ): Promise<boolean> {
    const s: Seat = {
      seat,
      machine: machineName(0),
      host,
      state: 'provisioning',
      trainee: '',
      joined: false,
      lockedOut: false,
      listeners: new Map(),
    };
    this.seats.set(seat, s);
    for (let attempt = 0; attempt < SEAT_ATTEMPTS; attempt += 1) {
      if (op.signal.aborted) break;
      s.machine = machineName(attempt);
      this.update(s, {
        state: 'provisioning',
        detail: attempt ? `try ${attempt + 1} of ${SEAT_ATTEMPTS}` : 'starting',
      });
      try {
        await start(s.machine, op);
        this.update(s, { state: 'ready', detail: undefined });
        this.deps.audit.write({ who: seat, event: 'seat-ready', detail: s.machine });
        return true;
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        this.deps.audit.write({ who: seat, event: 'seat-failed', detail: `${s.machine}: ${why}` });
        await this.deps.destroy(s.machine).catch(() => undefined);
        this.update(s, { state: 'failed', detail: why });
      }
    }
    return false;
  }

  /** A trainee's page joined with a name (checked by the caller): on the seat and in its progress. */
  join(seat: string, trainee: string, from: string): void {
    const s = this.seat(seat);
    const p = this.deps.progress.get(s.machine);
    if (p) this.deps.progress.save({ ...p, trainee });
    this.deps.audit.write({ who: seat, event: 'joined', from, detail: trainee });
    this.update(s, { trainee, joined: true });
  }

  // ---- the trainee's actions (seat from the session) ----

  status(seat: string): WorkshopStatus {
    const s = this.ready(seat);
    return this.deps.sessions.status(s.machine);
  }

  async check(seat: string, op: WorkshopOp): Promise<CheckResult> {
    const s = this.ready(seat);
    this.limit(this.checks, seat, 'Check');
    return this.exclusive(s, 'checking', async () => {
      try {
        const r = await this.deps.sessions.check(s.machine, op);
        this.deps.audit.write({
          who: seat,
          event: 'check',
          detail: `${r.challenge}: ${r.pass ? 'pass' : 'fail'}`,
        });
        this.update(s, { lockedOut: r.loginFailed === true });
        return r;
      } catch (err) {
        if (err instanceof HlabError && LOCKOUT_CODES.has(err.code)) this.update(s, { lockedOut: true });
        throw err;
      }
    });
  }

  hint(seat: string): WorkshopStatus {
    const s = this.ready(seat);
    const r = this.deps.sessions.hint(s.machine);
    this.deps.audit.write({ who: seat, event: 'hint' });
    this.touch(s);
    return r;
  }

  async reset(seat: string, op: WorkshopOp, by: 'trainee' | 'trainer' = 'trainee'): Promise<WorkshopStatus> {
    const s = this.ready(seat);
    this.limit(this.resetLimit, seat, 'Reset');
    return this.exclusive(s, 'resetting', async () => {
      s.terminal?.close('the seat was reset to the start of the challenge');
      const r = await this.deps.sessions.reset(s.machine, op);
      this.deps.audit.write({ who: by === 'trainer' ? 'trainer' : seat, event: 'reset', detail: seat });
      if (by === 'trainer')
        this.notify(s, 'reset', 'Your trainer reset this seat to the start of the challenge.');
      this.update(s, { lockedOut: false });
      return r;
    });
  }

  async solve(seat: string, op: WorkshopOp): Promise<CheckResult> {
    const s = this.ready(seat);
    return this.exclusive(s, 'running the solution', async () => {
      const r = await this.deps.sessions.solve(s.machine, op);
      this.deps.audit.write({ who: seat, event: 'solve', detail: r.challenge });
      return r;
    });
  }

  async attach(seat: string, viewer: Viewer, size: { cols: number; rows: number }): Promise<string> {
    const s = this.ready(seat);
    s.terminal ??= new SeatTerminal(
      seat,
      () => this.deps.targetOf(s.machine),
      this.deps.knownHosts,
      (t) => this.deps.provenLogin?.(s.machine, t),
    );
    try {
      const id = await s.terminal.attach(viewer, size);
      this.touch(s);
      return id;
    } catch (err) {
      if (err instanceof HlabError && LOCKOUT_CODES.has(err.code)) this.update(s, { lockedOut: true });
      throw err;
    }
  }

  detach(seat: string, client: number): void {
    const s = this.seats.get(seat);
    if (!s) return;
    if (s.terminal?.detach(client)) {
      this.deps.audit.write({ who: 'trainer', event: 'hand-back', detail: `${seat} (the trainer left)` });
      this.notify(s, 'hand-back', 'Your trainer handed the terminal back to you.');
    }
    s.listeners.delete(client);
    this.update(s, {});
  }

  input(seat: string, role: 'trainee' | 'trainer', data: string): void {
    const s = this.ready(seat);
    if (!s.terminal?.input(role, data)) {
      if (role === 'trainee' && s.terminal?.takenOver)
        throw new HlabError(
          'permission',
          'Your trainer has taken over this terminal; you can type again when they hand it back.',
        );
      if (role === 'trainer')
        throw new HlabError('permission', `Take over ${seat} before typing into its terminal.`);
      throw new HlabError('not-found', 'The terminal is not open; reconnect it.');
    }
    if (role === 'trainee') s.lastActivity = new Date().toISOString();
  }

  resize(seat: string, cols: number, rows: number): void {
    this.ready(seat).terminal?.resize(cols, rows);
  }

  ack(seat: string, role: 'trainee' | 'trainer', chars: number): void {
    this.ready(seat).terminal?.ack(role, chars);
  }

  listen(seat: string, client: number, fn: (n: SeatNotice) => void): void {
    this.seat(seat).listeners.set(client, fn);
  }

  takenOver(seat: string): boolean {
    return this.seat(seat).terminal?.takenOver ?? false;
  }

  // ---- the trainer's actions ----

  takeover(seat: string, on: boolean): SeatTile {
    const s = this.ready(seat);
    if (!s.terminal) throw new HlabError('not-found', `${seat} has no terminal open: watch it first.`);
    s.terminal.takenOver = on;
    this.deps.audit.write({ who: 'trainer', event: on ? 'take-over' : 'hand-back', detail: seat });
    this.notify(
      s,
      on ? 'take-over' : 'hand-back',
      on
        ? 'Your trainer has taken over your terminal and is typing in it. You can watch.'
        : 'Your trainer handed the terminal back to you.',
    );
    return this.update(s, {});
  }

  watched(seat: string): void {
    this.deps.audit.write({ who: 'trainer', event: 'watch', detail: seat });
    this.update(this.seat(seat), {});
  }

  revoke(seat: string): SeatTile {
    const s = this.seat(seat);
    this.tokens.revoke({ role: 'trainee', seat });
    s.terminal?.close('the trainer revoked this seat’s link');
    this.deps.audit.write({ who: 'trainer', event: 'revoke', detail: seat });
    return this.update(s, { joined: false });
  }

  /** A new link for a seat (the old one and its sessions stop working). */
  newLink(seat: string): string {
    const s = this.ready(seat);
    const token = this.tokens.issue({ role: 'trainee', seat });
    this.deps.audit.write({ who: 'trainer', event: 'new-link', detail: seat });
    this.update(s, { joined: false });
    return token;
  }

  /** Ends the class: links and sessions die, terminals close, machines are destroyed. */
  async end(): Promise<void> {
    this.tokens.end();
    for (const s of this.seats.values()) s.terminal?.close('the class ended');
    this.deps.audit.write({ who: 'trainer', event: 'class-ended' });
    for (const s of this.seats.values()) {
      await this.deps.destroy(s.machine).catch(() => undefined);
    }
  }

  // ---- internals ----

  private seat(seat: string): Seat {
    const s = this.seats.get(seat);
    if (!s) throw new HlabError('not-found', `This class has no ${seat}.`);
    return s;
  }

  private ready(seat: string): Seat {
    const s = this.seat(seat);
    if (s.state === 'provisioning' || s.state === 'failed')
      throw new HlabError('unavailable', `${seat} is not ready (${s.detail ?? s.state}).`);
    return s;
  }

  private limit(limiter: RateLimiter, seat: string, what: string): void {
    const wait = limiter.take(seat);
    if (wait > 0) {
      this.deps.audit.write({ who: seat, event: 'rate-limited', detail: what });
      throw new HlabError('busy', `${what} is limited per seat; try again in ${wait} s.`);
    }
  }

  /** One check, reset or solve per seat at a time: a second click is refused, not queued. */
  private async exclusive<T>(s: Seat, doing: string, fn: () => Promise<T>): Promise<T> {
    if (this.busy.has(s.seat))
      throw new HlabError(
        'busy',
        `${s.seat} is busy ${s.detail ?? ''}; wait for it to finish.`.replace(' ;', ';'),
      );
    this.busy.add(s.seat);
    this.update(s, { state: 'busy', detail: doing });
    try {
      const hold = this.deps.hold?.bind(this.deps);
      return await (hold
        ? hold(s.machine, `${doing} (class seat ${s.seat})`, `the class, ${s.seat}`, fn)
        : fn());
    } finally {
      this.busy.delete(s.seat);
      this.update(s, { state: 'ready', detail: undefined });
    }
  }

  private notify(s: Seat, kind: SeatNotice['kind'], text: string): void {
    const takenOver = s.terminal?.takenOver ?? false;
    for (const fn of s.listeners.values()) fn({ kind, text, takenOver });
  }

  private touch(s: Seat): void {
    this.update(s, { lastActivity: new Date().toISOString() });
  }

  private update(s: Seat, patch: Partial<Omit<Seat, 'seat' | 'listeners' | 'terminal'>>): SeatTile {
    Object.assign(s, patch);
    for (const k of Object.keys(patch) as Array<keyof typeof patch>) if (patch[k] === undefined) delete s[k];
    this.deps.changed(this.info());
    return this.tile(s);
  }

  private tile(s: Seat): SeatTile {
    const p = this.deps.progress.get(s.machine);
    const cs = p?.challenges ?? [];
    const sum = (f: (c: (typeof cs)[number]) => number) => cs.reduce((n, c) => n + f(c), 0);
    return {
      seat: s.seat,
      machine: s.machine,
      host: s.host,
      state: s.state,
      ...(s.detail ? { detail: s.detail } : {}),
      trainee: s.trainee,
      joined: s.joined,
      revoked: !this.tokens.live({ role: 'trainee', seat: s.seat }),
      challenge: p ? (p.challenges[p.current]?.id ?? 'finished') : '',
      passed: cs.filter((c) => c.status === 'passed').length,
      total: cs.length,
      attempts: sum((c) => c.attempts),
      hints: sum((c) => c.hintsShown),
      resets: sum((c) => c.resets),
      solveUsed: sum((c) => (c.solveUsed ? 1 : 0)),
      ...(s.lastActivity ? { lastActivity: s.lastActivity } : {}),
      lockedOut: s.lockedOut,
      takenOver: s.terminal?.takenOver ?? false,
      watchers: s.terminal?.watchers ?? 0,
    };
  }
}

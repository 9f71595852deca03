/**
 * One shell per seat, shared by whoever looks at it: the trainee types; the trainer may watch
 * (read-only) or take over (then only the trainer types, and the trainee is told). New viewers
 * get the recent output first so they see roughly what is on the screen. The trainee's acks drive
 * flow control; with no trainee attached the output is acknowledged as it is sent.
 */
import type { Client } from 'ssh2';
import type { SshTarget } from '../../ssh/session.js';
import type { KnownHosts } from '../../ssh/known-hosts.js';
import { TerminalSession } from '../../ssh/terminal.js';

export interface Viewer {
  /** The client's id in the dispatcher: one attachment per client and seat. */
  client: number;
  role: 'trainee' | 'trainer';
  data(id: string, chunk: string): void;
  exit(id: string, reason: string): void;
}

/** Output kept for viewers who attach later. */
export const REPLAY_CHARS = 64 * 1024;
/** Watchers (trainer tabs) per seat. */
export const MAX_VIEWERS = 4;

export class SeatTerminal {
  private session?: TerminalSession;
  private opening?: Promise<TerminalSession>;
  private readonly viewers = new Map<number, Viewer>();
  private replay = '';
  private epoch = 0;
  takenOver = false;

  constructor(
    readonly seat: string,
    private readonly target: () => Promise<SshTarget>,
    private readonly knownHosts: KnownHosts,
    /** The login a Reset of this seat just proved, if one waits (no second handshake). */
    private readonly proven?: (target: SshTarget) => Client | undefined,
  ) {}

  /** The id carried by this shell's terminal.data events (new after every reopen). */
  get id(): string {
    return `${this.seat}.${this.epoch}`;
  }

  get watchers(): number {
    return [...this.viewers.values()].filter((v) => v.role === 'trainer').length;
  }

  async attach(viewer: Viewer, size: { cols: number; rows: number }): Promise<string> {
    const others = [...this.viewers.values()].filter((v) => v.client !== viewer.client);
    if (others.length >= MAX_VIEWERS) throw new Error(`seat ${this.seat} already has ${MAX_VIEWERS} viewers`);
    const session = await this.open(size);
    this.viewers.set(viewer.client, viewer);
    if (this.replay) viewer.data(this.id, this.replay);
    if (viewer.role === 'trainee') session.resize(size.cols, size.rows);
    return this.id;
  }

  /** Removes a viewer; a trainer who leaves while typing hands the terminal back. Returns whether that happened. */
  detach(client: number): boolean {
    const v = this.viewers.get(client);
    this.viewers.delete(client);
    const handBack = v?.role === 'trainer' && this.takenOver && this.watchers === 0;
    if (handBack) this.takenOver = false;
    // The shell lives while anyone looks at it; a page reload reattaches to a new one.
    if (this.viewers.size === 0) this.close('nobody is attached');
    return handBack;
  }

  /** Input from a viewer: the trainee unless the trainer took over; then the trainer only. */
  input(role: 'trainee' | 'trainer', data: string): boolean {
    if (!this.session || (role === 'trainee') === this.takenOver) return false;
    this.session.write(data);
    return true;
  }

  resize(cols: number, rows: number): void {
    this.session?.resize(cols, rows);
  }

  ack(role: 'trainee' | 'trainer', chars: number): void {
    if (role === 'trainee') this.session?.ack(chars);
  }

  /** Ends the shell (a reset restored the VM under it); viewers see why and reattach. */
  close(reason: string): void {
    const s = this.session;
    this.session = undefined;
    s?.close(reason);
  }

  private async open(size: { cols: number; rows: number }): Promise<TerminalSession> {
    if (this.session) return this.session;
    this.opening ??= (async () => {
      this.epoch += 1;
      this.replay = '';
      const id = this.id;
      const target = await this.target();
      const session = await TerminalSession.open(
        target,
        this.knownHosts,
        size,
        {
          data: (chunk) => this.fanOut(id, chunk),
          exit: (reason) => {
            if (this.session === session) this.session = undefined;
            for (const v of this.viewers.values()) v.exit(id, reason);
          },
        },
        this.proven?.(target),
      );
      this.session = session;
      return session;
    })().finally(() => (this.opening = undefined));
    return this.opening;
  }

  private fanOut(id: string, chunk: string): void {
    this.replay = (this.replay + chunk).slice(-REPLAY_CHARS);
    const viewers = [...this.viewers.values()];
    for (const v of viewers) v.data(id, chunk);
    if (!viewers.some((v) => v.role === 'trainee')) this.session?.ack(chunk.length);
  }
}

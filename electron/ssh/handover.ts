/**
 * A login a restore just proved, handed to the terminal that opens next on that machine.
 *
 * A workshop Reset proves a fresh key login and sudo on the restored guest, and the trainee's new
 * terminal then logged in again: a second handshake and key exchange, ~0.9 s under TCG, in the
 * middle of the trainee's wait. The proven connection is made after the restore, to the same
 * endpoint, with the same host-key check, so the terminal may take it instead. One per machine,
 * for a few seconds: a connection nobody takes is closed, and a new restore drops the old one.
 */
import type { Client } from 'ssh2';

/** How long a proven login waits for its terminal. */
export const HANDOVER_MS = 10_000;

interface Held {
  client: Client;
  endpoint: string;
  timer: ReturnType<typeof setTimeout>;
}

export class LoginHandover {
  private readonly held = new Map<string, Held>();

  constructor(private readonly ttlMs = HANDOVER_MS) {}

  /** Keeps `client` for the next terminal on `machine` at `endpoint` (user@host:port). */
  put(machine: string, endpoint: string, client: Client): void {
    this.drop(machine);
    const timer = setTimeout(() => this.drop(machine), this.ttlMs);
    timer.unref();
    const held = { client, endpoint, timer };
    client.once('close', () => {
      if (this.held.get(machine) === held) this.forget(machine);
    });
    this.held.set(machine, held);
  }

  /** The kept login, once, when it is still open and to the same endpoint; otherwise nothing. */
  take(machine: string, endpoint: string): Client | undefined {
    const h = this.held.get(machine);
    if (!h) return undefined;
    this.forget(machine);
    if (h.endpoint === endpoint) return h.client;
    h.client.end();
    return undefined;
  }

  drop(machine: string): void {
    const h = this.held.get(machine);
    if (!h) return;
    this.forget(machine);
    h.client.end();
  }

  /** Closes every kept login: a CLI command that ends must not wait for a terminal that never comes. */
  dropAll(): void {
    for (const machine of [...this.held.keys()]) this.drop(machine);
  }

  get size(): number {
    return this.held.size;
  }

  private forget(machine: string): void {
    const h = this.held.get(machine);
    if (h) clearTimeout(h.timer);
    this.held.delete(machine);
  }
}

export const endpointOf = (t: { user: string; host: string; port: number }): string =>
  `${t.user}@${t.host}:${t.port}`;

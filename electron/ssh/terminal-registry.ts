/** Open terminals by id; closed with their client, or when their machine is restored or stopped. */
import { randomUUID } from 'node:crypto';
import { HlabError } from '../../shared/errors.js';
import type { TerminalSession } from './terminal.js';

export class TerminalRegistry {
  private sessions = new Map<string, TerminalSession>();

  add(session: TerminalSession): string {
    const id = randomUUID();
    this.sessions.set(id, session);
    return id;
  }

  get(id: string): TerminalSession {
    const s = this.sessions.get(id);
    if (!s)
      throw new HlabError('not-found', `No open terminal "${id}" (it was closed or its machine restarted).`);
    return s;
  }

  remove(id: string): void {
    this.sessions.delete(id);
  }

  /** A restore or shutdown ends the machine's shells; tabs show the reason and offer to reconnect. */
  closeMachine(machine: string, reason: string): void {
    for (const [id, s] of this.sessions) {
      if (s.machine === machine) {
        s.close(reason);
        this.sessions.delete(id);
      }
    }
  }
}

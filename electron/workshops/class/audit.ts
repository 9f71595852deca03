/**
 * The class's audit log: one JSON line per thing that happened (who connected, checks, resets,
 * trainer visits, refusals). Fields from requests are cut to a bounded length; the file stops
 * growing at a cap and says so once, so a flood cannot fill the trainer's disk.
 */
import { appendFileSync, statSync } from 'node:fs';

export interface AuditEntry {
  /** seat-N, trainer, or "-" for a request that named no valid link or session. */
  who: string;
  event: string;
  /** Remote address of the request or socket. */
  from?: string;
  detail?: string;
}

export const AUDIT_CAP = 32 * 1024 * 1024;
const FIELD_MAX = 300;

const clip = (s: string) => (s.length > FIELD_MAX ? `${s.slice(0, FIELD_MAX)}…` : s);

export class AuditLog {
  private full = false;

  constructor(
    readonly file: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  write(e: AuditEntry): void {
    if (this.full) return;
    const line = JSON.stringify({
      at: this.now().toISOString(),
      who: clip(e.who),
      event: clip(e.event),
      ...(e.from ? { from: clip(e.from) } : {}),
      ...(e.detail ? { detail: clip(e.detail) } : {}),
    });
    let size = 0;
    try {
      size = statSync(this.file).size;
    } catch {
      // not written yet
    }
    if (size + line.length > AUDIT_CAP) {
      this.full = true;
      appendFileSync(
        this.file,
        JSON.stringify({ at: this.now().toISOString(), event: 'audit-log-full' }) + '\n',
        { mode: 0o600 },
      );
      return;
    }
    appendFileSync(this.file, line + '\n', { mode: 0o600 });
  }
}

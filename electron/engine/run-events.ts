/**
 * The logins and login attempts a run causes or meets, kept with the run: read from the guest's
 * journal after each step's verification (before a rollback rewinds the disk, and the journal with
 * it), before the final reboot and at the end, de-duplicated, appended to events.jsonl in the run's
 * folder. The evidence bundle carries them.
 */
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { readJsonLines } from '../platform/jsonl.js';
import type { AuthEvent } from '../../shared/events.js';
import type { RunEvent } from '../../shared/runs.js';
import { collectEvents, keyFingerprint } from '../events/collect.js';
import type { SshExecutor } from '../ssh/executor.js';
import type { SshTarget } from '../ssh/session.js';

export const RUN_EVENTS_FILE = 'events.jsonl';
/** The bundle keeps at most this many (a brute-force run would otherwise swell it). */
export const RUN_EVENTS_MAX = 5000;

export class RunEvents {
  private readonly seen = new Set<string>();
  private sinceMicros?: number;
  private operators = new Set<string>();
  /** The app's user is in systemd-journal: the read before a rollback needs no sudo. */
  private readsJournal = false;

  constructor(
    private readonly machine: string,
    private readonly runDir: string,
    private readonly emit: (e: RunEvent) => void,
  ) {}

  /**
   * From now on, by the guest's clock (its journal's timestamps are the guest's); and whether the
   * app's user may read the journal itself, in the same round trip.
   */
  async start(ex: SshExecutor, target: SshTarget): Promise<void> {
    const fp = keyFingerprint(target.privateKey);
    if (fp) this.operators = new Set([fp]);
    const [clock = '', groups = ''] = (await ex.exec('date +%s%6N; id -Gn')).stdout.split('\n');
    const now = Number(clock.trim());
    if (Number.isFinite(now) && now > 0) this.sinceMicros = now;
    this.readsJournal = groups.trim().split(/\s+/).includes('systemd-journal');
  }

  /**
   * Never fails the run: a journal that cannot be read is journaled as such. `quick`: just before
   * a rollback, where every millisecond delays the restore, sshd's LogLevel is not asked again
   * (the report uses the last one read), and sudo is skipped where the user may read the journal.
   */
  async collect(ex: SshExecutor, signal?: AbortSignal, quick = false): Promise<void> {
    if (this.sinceMicros === undefined) return;
    try {
      // Always from the run's start: a rollback rewinds the guest's clock until the clock fix, so
      // events logged in between carry earlier times than the last one read; `seen` de-duplicates.
      const got = await collectEvents(ex, this.machine, {
        sinceMicros: this.sinceMicros,
        seen: this.seen,
        operators: this.operators,
        // sshd -T needs root; the journal alone does not when the user may read it.
        ...(quick ? { sshdLevel: false, asRoot: !this.readsJournal } : {}),
        ...(signal ? { signal } : {}),
      });
      for (const e of got.events) this.seen.add(e.id);
      if (got.events.length)
        appendFileSync(
          path.join(this.runDir, RUN_EVENTS_FILE),
          got.events.map((e) => `${JSON.stringify(e)}\n`).join(''),
        );
      this.emit({
        type: 'events-collected',
        count: got.events.length,
        total: this.seen.size,
        ...(got.sshdLogLevel ? { sshdLogLevel: got.sshdLogLevel } : {}),
      });
    } catch (err) {
      if (signal?.aborted) return;
      this.emit({ type: 'events-collected', count: 0, total: this.seen.size, error: (err as Error).message });
    }
  }
}

/** A run's events as kept, oldest first; a torn last line (a crash mid-append) is left out. */
export function readRunEvents(runDir: string): AuthEvent[] {
  return readJsonLines<AuthEvent>(path.join(runDir, RUN_EVENTS_FILE)).sort((a, b) =>
    String(a.time).localeCompare(String(b.time)),
  );
}

/**
 * At-least-once delivery: events are appended to an on-disk queue (fsync'ed) before anything is
 * sent, and the acknowledged offset moves only after a sink confirmed a batch. A receiver that is
 * down, a killed process or a full disk on the receiver's side never loses an event; a batch that
 * was sent but not confirmed is sent again (events carry stable ids for de-duplication).
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readSync,
  readFileSync,
  renameSync,
  statSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import type { AuthEvent } from '../../shared/events.js';

export class Spool {
  private readonly queue: string;
  private readonly offsetFile: string;

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.queue = path.join(dir, 'queue.jsonl');
    this.offsetFile = path.join(dir, 'offset');
  }

  append(events: AuthEvent[]): void {
    if (!events.length) return;
    // After a crash mid-append the file ends in half a line: end it, so the next event stands alone.
    const size = this.size();
    let torn = false;
    if (size > 0) {
      const last = Buffer.alloc(1);
      const rfd = openSync(this.queue, 'r');
      try {
        readSync(rfd, last, 0, 1, size - 1);
      } finally {
        closeSync(rfd);
      }
      torn = last[0] !== 10;
    }
    const fd = openSync(this.queue, 'a', 0o600);
    try {
      writeSync(fd, (torn ? '\n' : '') + events.map((e) => `${JSON.stringify(e)}\n`).join(''));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  private offset(): number {
    if (!existsSync(this.offsetFile)) return 0;
    const n = Number(readFileSync(this.offsetFile, 'utf8').trim());
    return Number.isSafeInteger(n) && n >= 0 ? n : 0;
  }

  private size(): number {
    return existsSync(this.queue) ? statSync(this.queue).size : 0;
  }

  /** Up to max unacknowledged events, and the offset that acknowledges exactly them. */
  peek(max: number): { events: AuthEvent[]; end: number } {
    const start = this.offset();
    if (start >= this.size()) return { events: [], end: start };
    const buf = readFileSync(this.queue).subarray(start);
    const events: AuthEvent[] = [];
    let end = start;
    let from = 0;
    // Only complete lines: a torn last line (a crash mid-append) is not an event yet.
    for (let nl = buf.indexOf(10, from); nl >= 0 && events.length < max; nl = buf.indexOf(10, from)) {
      const line = buf.subarray(from, nl).toString('utf8');
      from = nl + 1;
      end = start + from;
      if (!line.trim()) continue;
      try {
        events.push(JSON.parse(line) as AuthEvent);
      } catch {
        // An unreadable line is skipped rather than blocking every event behind it.
      }
    }
    return { events, end };
  }

  private writeOffset(n: number): void {
    const tmp = `${this.offsetFile}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, String(n));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.offsetFile);
  }

  ack(end: number): void {
    if (end < this.size()) return this.writeOffset(end);
    // Fully drained: start the queue again rather than let it grow forever. The offset goes to 0
    // first: a crash in between re-sends what was confirmed (allowed) instead of skipping new events.
    this.writeOffset(0);
    closeSync(openSync(this.queue, 'w', 0o600));
  }

  /** Events written but not yet confirmed by the receiver. */
  backlog(): number {
    return this.peek(Number.MAX_SAFE_INTEGER).events.length;
  }
}

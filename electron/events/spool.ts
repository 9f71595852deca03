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
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import type { AuthEvent } from '../../shared/events.js';

/**
 * A guest makes events (a failed login is one): a queue for a receiver that stays away is bounded.
 * Past the limit new events are counted as dropped, and the count is shown, instead of filling
 * the host's disk.
 */
export const SPOOL_MAX_BYTES = 64 << 20;
/** What one peek reads at most, whatever the batch size. */
const PEEK_WINDOW = 4 << 20;

export class Spool {
  private readonly queue: string;
  private readonly offsetFile: string;
  private readonly droppedFile: string;

  constructor(
    readonly dir: string,
    private readonly maxBytes = SPOOL_MAX_BYTES,
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.queue = path.join(dir, 'queue.jsonl');
    this.offsetFile = path.join(dir, 'offset');
    this.droppedFile = path.join(dir, 'dropped');
  }

  /** Events that did not fit into the queue since it last drained. */
  dropped(): number {
    if (!existsSync(this.droppedFile)) return 0;
    const n = Number(readFileSync(this.droppedFile, 'utf8').trim());
    return Number.isSafeInteger(n) && n > 0 ? n : 0;
  }

  append(events: AuthEvent[]): void {
    if (!events.length) return;
    const size = this.size();
    let room = this.maxBytes - size;
    const lines = events
      .map((e) => `${JSON.stringify(e)}\n`)
      .filter((line) => (room -= Buffer.byteLength(line)) >= 0);
    if (lines.length < events.length)
      writeFileSync(this.droppedFile, String(this.dropped() + events.length - lines.length), { mode: 0o600 });
    if (!lines.length) return;
    // After a crash mid-append the file ends in half a line: end it, so the next event stands alone.
    const torn = size > 0 && this.readFrom(size - 1, 1)[0] !== 10;
    const fd = openSync(this.queue, 'a', 0o600);
    try {
      writeSync(fd, (torn ? '\n' : '') + lines.join(''));
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

  /** The bytes after `start`, at most `max` of them. */
  private readFrom(start: number, max: number): Buffer {
    const len = Math.max(0, Math.min(max, this.size() - start));
    const buf = Buffer.alloc(len);
    if (!len) return buf;
    const fd = openSync(this.queue, 'r');
    try {
      const n = readSync(fd, buf, 0, len, start);
      return buf.subarray(0, n);
    } finally {
      closeSync(fd);
    }
  }

  /** Up to max unacknowledged events, and the offset that acknowledges exactly them. */
  peek(max: number): { events: AuthEvent[]; end: number } {
    const start = this.offset();
    if (start >= this.size()) return { events: [], end: start };
    const buf = this.readFrom(start, PEEK_WINDOW);
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
    // One line longer than the window can never be sent: skip it rather than stall the queue.
    if (!events.length && end === start && buf.length === PEEK_WINDOW) {
      const nl = buf.indexOf(10);
      return { events: [], end: nl < 0 ? start + buf.length : start + nl + 1 };
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
    rmSync(this.droppedFile, { force: true });
  }

  /**
   * Events written but not yet confirmed by the receiver: complete `{…}` lines after the offset,
   * counted in windows (a torn line ended later is `{…` without its `}`).
   */
  backlog(): number {
    let n = 0;
    let prev = 10;
    let lineStart = 10;
    for (let at = this.offset(), size = this.size(); at < size; at += PEEK_WINDOW) {
      const buf = this.readFrom(at, PEEK_WINDOW);
      if (!buf.length) break;
      for (const byte of buf) {
        if (byte === 10) {
          if (lineStart === 0x7b && prev === 0x7d) n += 1;
          lineStart = 10;
        } else if (prev === 10) lineStart = byte;
        prev = byte;
      }
    }
    return n;
  }
}

/**
 * Moves a spool's events to its sink in batches, retrying with exponential backoff while the
 * receiver is down. The spool is the truth: whatever happens here, an event leaves the queue only
 * after the sink confirmed it.
 */
import type { Sink } from './sinks.js';
import type { Spool } from './spool.js';

export interface ForwarderState {
  sink: string;
  backlog: number;
  delivered: number;
  /** The last failure (the sink's label and the cause; never a secret). */
  lastError?: string;
  retryInMs?: number;
  /** Events that did not fit into the bounded queue while the receiver was away. */
  dropped?: number;
}

export interface ForwarderOptions {
  batch?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  onState?: (s: ForwarderState) => void;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

const defaultSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });

export class Forwarder {
  private delivered = 0;
  private lastError: string | undefined;

  constructor(
    private readonly spool: Spool,
    private readonly sink: Sink,
    private readonly o: ForwarderOptions = {},
  ) {}

  state(extra: Partial<ForwarderState> = {}): ForwarderState {
    const dropped = this.spool.dropped();
    return {
      sink: this.sink.label,
      backlog: this.spool.backlog(),
      delivered: this.delivered,
      ...(dropped ? { dropped } : {}),
      ...(this.lastError ? { lastError: this.lastError } : {}),
      ...extra,
    };
  }

  /** One attempt: true when the queue is empty afterwards. */
  async flushOnce(signal?: AbortSignal): Promise<boolean> {
    for (;;) {
      const { events, end } = this.spool.peek(this.o.batch ?? 100);
      if (!events.length) {
        if (end > 0) this.spool.ack(end);
        return true;
      }
      await this.sink.deliver(events, signal);
      this.spool.ack(end);
      this.delivered += events.length;
      this.lastError = undefined;
      this.o.onState?.(this.state());
    }
  }

  /** Until the queue is empty (or cancelled), waiting longer after each failure. */
  async drain(signal?: AbortSignal): Promise<ForwarderState> {
    let wait = this.o.minBackoffMs ?? 500;
    const sleep = this.o.sleep ?? defaultSleep;
    while (!signal?.aborted) {
      try {
        if (await this.flushOnce(signal)) break;
      } catch (err) {
        this.lastError = (err as Error).message;
        this.o.onState?.(this.state({ retryInMs: wait }));
        await sleep(wait, signal);
        wait = Math.min(wait * 2, this.o.maxBackoffMs ?? 30_000);
      }
    }
    return this.state();
  }
}

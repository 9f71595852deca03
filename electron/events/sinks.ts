/**
 * Where events go. A sink confirms a batch only when the receiver has taken it: for syslog over
 * TCP (no application acknowledgement exists) one connection per batch, half-closed after the last
 * frame, and confirmed only when the receiver closes its side cleanly after reading everything — a
 * receiver that dies with the batch unread resets the connection instead. For HEC, a 200 whose
 * body says code 0.
 */
import net from 'node:net';
import type { AuthEvent } from '../../shared/events.js';
import { HlabError } from '../../shared/errors.js';
import { hecBatch, octetFrame, toRfc5424, type HecOptions } from './formats.js';

export interface Sink {
  /** Names the receiver for logs and the UI; never contains a secret. */
  readonly label: string;
  deliver(events: AuthEvent[], signal?: AbortSignal): Promise<void>;
}

export class SyslogTcpSink implements Sink {
  readonly label: string;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly timeoutMs = 10_000,
  ) {
    this.label = `syslog tcp://${host}:${port} (RFC 5424, octet counting)`;
  }

  deliver(events: AuthEvent[], signal?: AbortSignal): Promise<void> {
    const payload = Buffer.concat(events.map((e) => octetFrame(toRfc5424(e))));
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: this.host, port: this.port });
      let failed: Error | undefined;
      const fail = (err: Error) => {
        failed ??= err;
        socket.destroy();
      };
      const timer = setTimeout(() => fail(new Error(`no close within ${this.timeoutMs} ms`)), this.timeoutMs);
      const onAbort = () => fail(new Error('cancelled'));
      signal?.addEventListener('abort', onAbort, { once: true });
      socket.on('error', fail);
      socket.on('connect', () => socket.end(payload));
      // The receiver read up to our FIN and closed: it has the batch.
      socket.on('end', () => socket.end());
      socket.on('close', (hadError) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (failed || hadError)
          reject(
            new HlabError(
              'unavailable',
              `${this.label}: ${(failed ?? new Error('connection reset')).message}`,
            ),
          );
        else resolve();
      });
      socket.resume();
    });
  }
}

/** A HEC answer is a small JSON object: more is not read. */
export const HEC_REPLY_MAX = 64 * 1024;

/** The first `max` bytes of a response body; the rest is cancelled, never buffered. */
export async function boundedText(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let n = 0;
  try {
    while (n < max) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      n += value.length;
    }
  } catch {
    // a reply cut off: what came is enough to judge
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, max).toString('utf8');
}

/** Splunk's documented HEC status codes, by number only. */
function hecReason(code: unknown): string {
  const known: Record<number, string> = {
    1: 'token disabled',
    2: 'token is required',
    3: 'invalid authorization',
    4: 'invalid token',
    5: 'no data',
    6: 'invalid data format',
    7: 'incorrect index',
    9: 'server is busy',
  };
  return typeof code === 'number' && known[code] ? ` (HEC code ${code}: ${known[code]})` : '';
}

export class HecSink implements Sink {
  readonly label: string;

  constructor(
    private readonly url: string,
    private readonly token: string,
    private readonly options: HecOptions = {},
    private readonly timeoutMs = 10_000,
  ) {
    const u = new URL(url);
    // The label is shown and logged: never the token, nor credentials in the URL.
    this.label = `Splunk HEC ${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
  }

  async deliver(events: AuthEvent[], signal?: AbortSignal): Promise<void> {
    const endpoint = `${this.url.replace(/\/+$/, '')}/services/collector/event`;
    const timeout = AbortSignal.timeout(this.timeoutMs);
    let res: Response;
    try {
      res = await fetch(endpoint, {
        method: 'POST',
        headers: { authorization: `Splunk ${this.token}`, 'content-type': 'application/json' },
        body: hecBatch(events, this.options),
        // A redirect is a failure: a 307 elsewhere would get the batch and confirm it for the receiver.
        redirect: 'manual',
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      throw new HlabError('unavailable', `${this.label}: ${cause}`);
    }
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel().catch(() => undefined);
      throw new HlabError(
        'unavailable',
        `${this.label}: answered ${res.status}, a redirect, which is not followed`,
      );
    }
    const text = await boundedText(res, HEC_REPLY_MAX);
    let code: unknown;
    try {
      code = (JSON.parse(text) as { code?: unknown }).code;
    } catch {
      code = undefined;
    }
    if (res.status !== 200 || code !== 0)
      // The reply is the receiver's text: never echoed (it may quote the token in any spelling).
      throw new HlabError('unavailable', `${this.label}: answered ${res.status}${hecReason(code)}`);
  }
}

/**
 * The caller's half of a kept connection (see keeper.ts): where a machine's keeper listens, the
 * frames it answers with, and running or dropping through it. It loads no SSH library, so the
 * CLI's fast path for `hlab exec` can use it without loading the rest of the app.
 */
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { HlabError, type ErrorCode } from '../../shared/errors.js';
import type { ExecResult } from '../../shared/types.js';
import { socketPath } from '../platform/socket-path.js';
import type { ExecOptions } from './session.js';

export const MAX_REQUEST = 1 << 20;

export const keeperSocket = (home: string, machine: string) =>
  socketPath(path.join(home, 'run', `keep-${machine}.sock`));

export type Frame =
  | { t: 'o' | 'e'; d: string }
  | { t: 'x'; code: number; ms: number }
  | { t: 'f'; why: string }
  | { t: 'err'; code: ErrorCode; message: string };

/** Reads newline-ended JSON values from a socket, at most `max` bytes per value. */
export function lines(s: net.Socket, max: number, onLine: (v: unknown) => void, onBad: () => void): void {
  let buf = '';
  s.setEncoding('utf8');
  s.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        onLine(JSON.parse(line));
      } catch {
        return onBad();
      }
    }
    if (buf.length > max) onBad();
  });
}

/**
 * Runs a command through the machine's keeper. Undefined when there is none, or it could not start
 * the command: the caller then connects itself.
 */
export function execKept(
  sock: string,
  command: string,
  opts: ExecOptions = {},
): Promise<ExecResult | undefined> {
  if (!existsSync(sock)) return Promise.resolve(undefined);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const c = net.connect(sock);
    let stdout = '';
    let stderr = '';
    let output = false;
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener('abort', onAbort);
      c.destroy();
      fn();
    };
    const onAbort = () => finish(() => reject(new HlabError('cancelled', `Cancelled: ${command}`)));
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    c.once('error', () => finish(() => (output ? reject(lost()) : resolve(undefined))));
    c.once('close', () => finish(() => (output ? reject(lost()) : resolve(undefined))));
    const lost = () => new HlabError('ssh-refused', `The kept connection ended during "${command}".`);
    c.once('connect', () =>
      c.write(`${JSON.stringify({ command, ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}) })}\n`),
    );
    lines(
      c,
      MAX_REQUEST * 64,
      (v) => {
        const f = v as Frame;
        if (f.t === 'o' || f.t === 'e') {
          output = true;
          if (f.t === 'o') {
            stdout += f.d;
            opts.onStdout?.(f.d);
          } else {
            stderr += f.d;
            opts.onStderr?.(f.d);
          }
        } else if (f.t === 'x')
          finish(() => resolve({ exitCode: f.code, stdout, stderr, durationMs: Date.now() - started }));
        else if (f.t === 'f') finish(() => resolve(undefined));
        else if (f.t === 'err') finish(() => reject(new HlabError(f.code, f.message)));
      },
      () => finish(() => reject(new HlabError('internal', `The keeper for "${command}" answered garbage.`))),
    );
  });
}

/** Tells a machine's keeper to let its connection go (before a restore, stop or destroy). */
export async function dropKept(sock: string): Promise<void> {
  if (!existsSync(sock)) return;
  await new Promise<void>((resolve) => {
    const c = net.connect(sock);
    c.once('connect', () => c.end(`${JSON.stringify({ quit: true })}\n`));
    c.once('close', () => resolve());
    c.once('error', () => resolve());
  });
}

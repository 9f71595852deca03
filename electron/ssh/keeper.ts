/**
 * A machine's SSH connection kept between CLI calls, like OpenSSH's ControlPersist: a background
 * process holds one authenticated connection and serves commands over a Unix socket in the
 * private data folder, so `hlab exec` pays for an exec channel only, not a new handshake and login
 * (0.4 s of the 0.85 s a call took under TCG). The keeper ends when it has been idle for a while,
 * when its connection drops (a 1 s keepalive notices a restored or stopped guest within ~2 s), or
 * when it is told to (snapshot restore, stop, destroy). A request it cannot start is answered
 * "failed before start" and the caller connects as before: nothing depends on a keeper existing.
 */
import { chmodSync, existsSync, mkdirSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Client } from 'ssh2';
import { HlabError, type ErrorCode } from '../../shared/errors.js';
import { socketPath } from '../platform/socket-path.js';
import type { ExecResult } from '../../shared/types.js';
import { exec, type ExecOptions } from './session.js';

/** Idle time after which a keeper lets its connection go (OpenSSH's ControlPersist is often 60 s). */
export const KEEP_IDLE_MS = 60_000;
/** Keepalive for kept connections: a guest that stops answering is let go within ~2 s. */
export const KEEP_ALIVE = { intervalMs: 1_000, countMax: 2 };
const MAX_REQUEST = 1 << 20;

export const keeperSocket = (home: string, machine: string) =>
  socketPath(path.join(home, 'run', `keep-${machine}.sock`));

type Frame =
  | { t: 'o' | 'e'; d: string }
  | { t: 'x'; code: number; ms: number }
  | { t: 'f'; why: string }
  | { t: 'err'; code: ErrorCode; message: string };

interface Request {
  command?: unknown;
  timeoutMs?: unknown;
  quit?: unknown;
}

const send = (s: net.Socket, f: Frame) => {
  if (!s.destroyed) s.write(`${JSON.stringify(f)}\n`);
};

/** Reads newline-ended JSON values from a socket, at most `max` bytes per value. */
function lines(s: net.Socket, max: number, onLine: (v: unknown) => void, onBad: () => void): void {
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

/** Is a keeper answering on this socket? (A stale file from a keeper that died is not one.) */
function answering(sock: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(sock);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

/**
 * Serves commands on `sock` over the connection `open` makes, until idle, dropped or told to quit.
 * Resolves when the keeper has ended (its socket removed).
 */
export async function serveKeeper(o: {
  sock: string;
  open: () => Promise<Client>;
  idleMs?: number;
}): Promise<void> {
  const idleMs = o.idleMs ?? KEEP_IDLE_MS;
  mkdirSync(path.dirname(o.sock), { recursive: true, mode: 0o700 });
  if (existsSync(o.sock)) {
    if (await answering(o.sock)) return; // another keeper already serves this machine
    unlinkSync(o.sock);
  }
  const client = await o.open();
  let active = 0;
  let idle: NodeJS.Timeout | undefined;
  let done!: () => void;
  const ended = new Promise<void>((resolve) => (done = resolve));
  const server = net.createServer();
  let quitting = false;
  const quit = () => {
    if (quitting) return;
    quitting = true;
    clearTimeout(idle);
    server.close();
    try {
      unlinkSync(o.sock);
    } catch {
      // already gone
    }
    client.end();
    done();
  };
  const arm = () => {
    clearTimeout(idle);
    if (active === 0) idle = setTimeout(quit, idleMs);
  };
  client.on('close', quit);
  client.on('error', quit);
  server.on('connection', (s) => {
    s.on('error', () => s.destroy());
    const abort = new AbortController();
    s.on('close', () => abort.abort());
    let taken = false;
    lines(
      s,
      MAX_REQUEST,
      (v) => {
        if (taken) return;
        taken = true;
        const req = (v && typeof v === 'object' ? v : {}) as Request;
        if (req.quit === true) {
          s.end();
          return quit();
        }
        if (typeof req.command !== 'string' || !req.command) {
          send(s, { t: 'err', code: 'bad-request', message: 'command must be a non-empty string.' });
          return s.end();
        }
        const timeoutMs =
          typeof req.timeoutMs === 'number' && Number.isInteger(req.timeoutMs) && req.timeoutMs > 0
            ? req.timeoutMs
            : undefined;
        active++;
        clearTimeout(idle);
        let started = false;
        const opts: ExecOptions = {
          signal: abort.signal,
          ...(timeoutMs ? { timeoutMs } : {}),
          onStdout: (d) => {
            started = true;
            send(s, { t: 'o', d });
          },
          onStderr: (d) => {
            started = true;
            send(s, { t: 'e', d });
          },
        };
        exec(client, req.command, opts)
          .then(
            (r) => send(s, { t: 'x', code: r.exitCode, ms: r.durationMs }),
            (err: unknown) => {
              const e = err instanceof HlabError ? err : undefined;
              if (e?.code === 'timeout' || e?.code === 'cancelled')
                send(s, { t: 'err', code: e.code, message: e.message });
              else if (started)
                send(s, {
                  t: 'err',
                  code: 'ssh-refused',
                  message: `The kept connection broke: ${(err as Error).message}`,
                });
              else {
                // Could not even start: the connection is not what it was. Let the caller connect.
                send(s, { t: 'f', why: (err as Error).message });
                quit();
              }
            },
          )
          .finally(() => {
            active--;
            s.end();
            arm();
          });
      },
      () => s.destroy(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.sock, () => resolve());
  }).catch((err: unknown) => {
    client.end();
    throw err;
  });
  chmodSync(o.sock, 0o600);
  arm();
  return ended;
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

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
import { HlabError } from '../../shared/errors.js';
import { exec, type ExecOptions } from './session.js';
import { lines, MAX_REQUEST, type Frame } from './keeper-client.js';

export { dropKept, execKept, keeperSocket } from './keeper-client.js';

/** Idle time after which a keeper lets its connection go (OpenSSH's ControlPersist is often 60 s). */
export const KEEP_IDLE_MS = 60_000;
/** Keepalive for kept connections: a guest that stops answering is let go within ~2 s. */
export const KEEP_ALIVE = { intervalMs: 1_000, countMax: 2 };

interface Request {
  command?: unknown;
  timeoutMs?: unknown;
  quit?: unknown;
}

const send = (s: net.Socket, f: Frame) => {
  if (!s.destroyed) s.write(`${JSON.stringify(f)}\n`);
};

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

/**
 * SSH on ssh2 (pure-JS path is enough): connect with the machine key and pinned host key, exec
 * with streamed output, timeout and AbortSignal, and wait-for-SSH. Errors are typed for the UI.
 */
import os from 'node:os';
import { StringDecoder } from 'node:string_decoder';
import ssh2, { type Client, type ConnectConfig } from 'ssh2';
import { HlabError } from '../../shared/errors.js';
import type { ExecResult, Progress } from '../../shared/types.js';
import type { KnownHosts } from './known-hosts.js';

/** What a connection needs from a host-key store: accept (and maybe pin) or throw. */
export type HostKeyCheck = Pick<KnownHosts, 'check'>;

export interface SshTarget {
  machine: string;
  host: string;
  port: number;
  user: string;
  privateKey: string;
}

export interface ExecOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
}

/** What one exec keeps of each stream: a guest decides how much it prints. */
export const KEEP_BYTES = 16 << 20;
/** Past this many bytes of output (both streams) the command is ended: no result needs more. */
export const OUTPUT_LIMIT = 64 << 20;

const where = (t: SshTarget) => `${t.user}@${t.host}:${t.port} (machine "${t.machine}")`;

function classify(err: Error & { level?: string; code?: string }, t: SshTarget): HlabError {
  if (err instanceof HlabError) return err;
  if (err.level === 'client-authentication') {
    return new HlabError('ssh-auth', `SSH key login refused for ${where(t)}.`, { machine: t.machine });
  }
  if (err.code === 'ECONNREFUSED')
    return new HlabError('ssh-refused', `Connection refused by ${where(t)}.`, {
      machine: t.machine,
      beforeHandshake: true,
    });
  if (/timed out/i.test(err.message)) {
    return new HlabError('ssh-timeout', `SSH handshake with ${where(t)} timed out.`, { machine: t.machine });
  }
  return new HlabError('ssh-refused', `SSH connection to ${where(t)} failed: ${err.message}`, {
    machine: t.machine,
    ...(DROPPED.has(err.code ?? '') || /lost before handshake/i.test(err.message)
      ? { beforeHandshake: true }
      : {}),
  });
}

/**
 * The connection went before sshd said a word: nothing was sent, so trying again is safe. sshd
 * re-executes itself on every reload (a trainee's `systemctl reload ssh`, a step's, a workshop
 * setup's), and for that moment QEMU's port forward accepts and then resets the connection.
 */
const DROPPED = new Set(['ECONNRESET', 'EPIPE', 'ECONNREFUSED']);

export const droppedBeforeHandshake = (err: unknown): boolean =>
  err instanceof HlabError && err.details?.beforeHandshake === true;

/** ssh2's hostVerifier for a machine's pinned key; a refusal is handed to `refused` for the error. */
export function pinnedHostKey(
  knownHosts: HostKeyCheck,
  machine: string,
  refused: (err: HlabError) => void,
): (key: Buffer) => boolean {
  return (key) => {
    try {
      knownHosts.check(machine, key);
      return true;
    } catch (err) {
      refused(err as HlabError);
      return false;
    }
  };
}

export function connect(
  t: SshTarget,
  knownHosts: HostKeyCheck,
  opts: {
    timeoutMs?: number;
    signal?: AbortSignal;
    /** How often to ask the server for a sign of life, and how many misses close the connection. */
    keepalive?: { intervalMs: number; countMax: number };
  } = {},
): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    let hostKeyError: HlabError | undefined;
    const onAbort = () => {
      client.end();
      reject(new HlabError('cancelled', 'The operation was cancelled.'));
    };
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const config: ConnectConfig = {
      host: t.host,
      port: t.port,
      username: t.user,
      privateKey: t.privateKey,
      readyTimeout: opts.timeoutMs ?? 20_000,
      keepaliveInterval: opts.keepalive?.intervalMs ?? 5_000,
      keepaliveCountMax: opts.keepalive?.countMax ?? 3,
      hostVerifier: pinnedHostKey(knownHosts, t.machine, (err) => (hostKeyError = err)),
    };
    let settled = false;
    client
      // Every exchange here is a small request awaiting a small answer: without TCP_NODELAY,
      // Nagle's algorithm and the peer's delayed ACK hold each exec's round trip ~80 ms (measured:
      // 171 ms → 90 ms per exec on a kept connection under TCG). OpenSSH sets it too.
      .once('connect', () => client.setNoDelay(true))
      .once('ready', () => {
        settled = true;
        opts.signal?.removeEventListener('abort', onAbort);
        resolve(client);
      })
      // ssh2 may emit 'error' several times, and after 'ready' too: never leave one unhandled.
      .on('error', (err) => {
        if (settled) return;
        settled = true;
        opts.signal?.removeEventListener('abort', onAbort);
        client.end();
        reject(hostKeyError ?? classify(err, t));
      })
      .connect(config);
  });
}

const TAIL_LINES = 20;
export const tail = (s: string, n = TAIL_LINES) => s.split('\n').slice(-n).join('\n');

function signalNumber(name: string): number {
  const sig = (name.startsWith('SIG') ? name : `SIG${name}`) as NodeJS.Signals;
  return os.constants.signals[sig] ?? 0;
}

/** The last `keep` bytes of a stream, with how many were dropped before them. */
class OutputTail {
  private chunks: Buffer[] = [];
  private kept = 0;
  dropped = 0;
  private readonly decoder = new StringDecoder('utf8');

  constructor(private readonly keep: number) {}

  /** Adds a chunk; returns its text for a live listener. */
  add(d: Buffer): string {
    this.chunks.push(d);
    this.kept += d.length;
    while (this.kept > this.keep && this.chunks.length) {
      const first = this.chunks[0]!;
      const over = this.kept - this.keep;
      if (first.length <= over) {
        this.chunks.shift();
        this.kept -= first.length;
        this.dropped += first.length;
      } else {
        this.chunks[0] = first.subarray(over);
        this.kept -= over;
        this.dropped += over;
      }
    }
    return this.decoder.write(d);
  }

  text(): string {
    const body = Buffer.concat(this.chunks).toString('utf8');
    return this.dropped ? `[output truncated: the first ${this.dropped} bytes were dropped]\n${body}` : body;
  }
}

export function exec(client: Client, command: string, opts: ExecOptions = {}): Promise<ExecResult> {
  const started = Date.now();
  const first = command.split('\n')[0]!.slice(0, 200);
  return new Promise((resolve, reject) => {
    client.exec(command, (err, stream) => {
      if (err) return reject(new HlabError('command-failed', `Could not start "${first}": ${err.message}`));
      const out = new OutputTail(KEEP_BYTES);
      const errOut = new OutputTail(KEEP_BYTES);
      let total = 0;
      let settled = false;
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        fn();
      };
      const onAbort = () =>
        finish(() => {
          stream.close();
          reject(new HlabError('cancelled', `Cancelled: ${first}`));
        });
      const timer = opts.timeoutMs
        ? setTimeout(
            () =>
              finish(() => {
                stream.close();
                reject(
                  new HlabError('timeout', `"${first}" did not finish within ${opts.timeoutMs} ms.`, {
                    stdout: tail(out.text()),
                    stderr: tail(errOut.text()),
                  }),
                );
              }),
            opts.timeoutMs,
          )
        : undefined;
      if (opts.signal?.aborted) return onAbort();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      /** Keeps a stream's tail, passes its text on, and ends the command past OUTPUT_LIMIT. */
      const collect = (kept: OutputTail, listener?: (chunk: string) => void) => (d: Buffer) => {
        if (settled) return;
        total += d.length;
        // Kept first, always: `listener?.(kept.add(d))` would skip the add when there is no listener.
        const text = kept.add(d);
        listener?.(text);
        if (total > OUTPUT_LIMIT)
          finish(() => {
            stream.close();
            reject(
              new HlabError(
                'command-failed',
                `"${first}" printed more than ${OUTPUT_LIMIT >> 20} MiB and was ended; no command of this app needs that much.`,
                { stdout: tail(out.text()), stderr: tail(errOut.text()) },
              ),
            );
          });
      };
      stream.on('data', collect(out, opts.onStdout));
      stream.stderr.on('data', collect(errOut, opts.onStderr));
      stream.on('close', (code: number | null, signal?: string) =>
        finish(() =>
          resolve({
            // Like a shell: a command killed by signal N exits 128+N (ssh2 names it SIGxxx).
            exitCode: code ?? (signal ? 128 + signalNumber(signal) : 255),
            stdout: out.text(),
            stderr: errOut.text(),
            durationMs: Date.now() - started,
            ...(out.dropped || errOut.dropped
              ? { truncated: { stdoutBytes: out.dropped, stderrBytes: errOut.dropped } }
              : {}),
          }),
        ),
      );
    });
  });
}

const lockedOut = (t: SshTarget, ms: number) =>
  new HlabError(
    'ssh-auth',
    `sshd on ${where(t)} answers but refused the key login for ${Math.round(ms / 1000)} s: the machine locks the app out.`,
    { machine: t.machine },
  );

/**
 * How long to wait before the next attempt. Right after a live restore the guest's port resets
 * connections for ~120 ms and then answers (measured under TCG): a 500 ms pause there wasted
 * ~0.4 s of every rollback and Reset. So the first 2 s retry every 50 ms (a refused attempt costs
 * a few ms), and only then at the slower pace a boot needs.
 */
export function retryPause(elapsedMs: number, retryMs = 500): number {
  return elapsedMs < 2000 ? Math.min(50, retryMs) : retryMs;
}

/** Retries until the guest answers a command over SSH (boot, restore, reboot). */
export async function waitForSsh(
  t: SshTarget,
  knownHosts: HostKeyCheck,
  opts: {
    timeoutMs: number;
    signal?: AbortSignal;
    progress?: (p: Progress) => void;
    isAlive?: () => Promise<void>;
    /** The command that proves readiness (built per attempt); `true` by default. */
    probe?: () => string;
    /** Pause between attempts (default 500 ms). */
    retryMs?: number;
    /** Stop once sshd has answered but refused the key for this long, every attempt. */
    authRefusedGraceMs?: number;
    /** Takes the connection that proved readiness, instead of it being closed (a terminal next). */
    keep?: (client: Client) => void;
    /** Told as each attempt starts: a breakdown names the wait for sshd apart from the login that answered. */
    onAttempt?: () => void;
  },
): Promise<void> {
  const started = Date.now();
  let last: HlabError | undefined;
  let refusedSince: number | undefined;
  while (Date.now() - started < opts.timeoutMs) {
    if (opts.signal?.aborted) throw new HlabError('cancelled', 'The operation was cancelled.');
    await opts.isAlive?.();
    const elapsed = Date.now() - started;
    opts.progress?.({
      current: elapsed,
      max: opts.timeoutMs,
      description: `waiting for SSH on ${t.host}:${t.port} (${Math.round(elapsed / 1000)} s)`,
    });
    opts.onAttempt?.();
    try {
      const client = await connect(t, knownHosts, {
        timeoutMs: Math.min(15_000, opts.timeoutMs),
        signal: opts.signal,
      });
      let kept = false;
      try {
        const r = await exec(client, opts.probe?.() ?? 'true', { timeoutMs: 15_000, signal: opts.signal });
        if (r.exitCode === 0) {
          if (opts.keep) opts.keep(client);
          kept = Boolean(opts.keep);
          return;
        }
      } finally {
        if (!kept) client.end();
      }
    } catch (err) {
      const e = err as HlabError;
      if (e.code === 'host-key-changed' || e.code === 'cancelled') throw e;
      last = e;
      refusedSince = e.code === 'ssh-auth' ? (refusedSince ?? Date.now()) : undefined;
      if (refusedSince !== undefined && opts.authRefusedGraceMs !== undefined)
        if (Date.now() - refusedSince >= opts.authRefusedGraceMs)
          throw lockedOut(t, Date.now() - refusedSince);
    }
    await new Promise((r) => setTimeout(r, retryPause(Date.now() - started, opts.retryMs)));
  }
  throw new HlabError(
    'ssh-timeout',
    `SSH on ${where(t)} did not answer within ${Math.round(opts.timeoutMs / 1000)} s${last ? ` (last: ${last.message.replace(/\.$/, '')})` : ''}.`,
    {
      machine: t.machine,
      lastError: last?.message,
    },
  );
}

/** How long a connection reset before sshd's greeting is tried again: sshd's reload gap is ~0.1–0.5 s. */
export const RELOAD_GAP_MS = 3000;

/** A connect that rides over sshd's reload (see droppedBeforeHandshake); any other failure is final. */
export async function connectThroughReload(
  target: SshTarget,
  knownHosts: KnownHosts,
  signal?: AbortSignal,
): Promise<Client> {
  const started = Date.now();
  for (;;) {
    try {
      return await connect(target, knownHosts, { signal });
    } catch (err) {
      if (!droppedBeforeHandshake(err) || Date.now() - started > RELOAD_GAP_MS || signal?.aborted) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
